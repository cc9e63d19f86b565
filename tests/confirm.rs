//! Before the first write (the real binary against the sandbox): the org's host and
//! name, the plan and `Continue? [y/N]` on a pseudo-terminal (yes, no, --yes), no
//! question and no plan pass off a terminal, `--max-changes` with and without the
//! plan, and the `--limit-rows` canary. Writes are counted by the sandbox.

mod common;

use common::*;
use genesys_sandbox::{Org, Sandbox, SandboxConfig};
use std::path::{Path, PathBuf};

/// A file of `changing` rows that set a new title and `same` rows already up to date.
fn file(sb: &Sandbox, dir: &Path, changing: usize, same: usize) -> PathBuf {
    let ids = sb.user_ids();
    let mut rows = Vec::new();
    for id in ids.iter().take(changing) {
        rows.push(format!("{id},Canary Title"));
    }
    for id in ids.iter().skip(changing).take(same) {
        let title = sb.user(id).unwrap()["title"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(!title.is_empty(), "seeded users have a title");
        rows.push(format!("{id},{title}"));
    }
    csv(dir, "users.csv", "id,title", &rows)
}

/// Report rows (header dropped) as (line, status, reason).
fn report(path: &Path) -> Vec<(String, String, String)> {
    read_csv(path)
        .into_iter()
        .skip(1)
        .map(|r| (r[0].clone(), r[2].clone(), r[6].clone()))
        .collect()
}

fn user_list_reads(sb: &Sandbox) -> u64 {
    count(&sb.stats(), "GET /api/v2/users 200")
}

#[tokio::test]
async fn off_a_terminal_the_org_goes_to_the_log_without_a_question_or_a_plan_pass() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&sb, dir.path(), 3, 1);
    let run = genupdate(&sb, &["apply", s(&f), "--output", "json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let host = sb.url().trim_start_matches("http://").to_string();
    assert!(
        run.stderr
            .contains(&format!("writing to {host} (org \"genupdate sandbox\")")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("4 rows"), "{}", run.stderr);
    assert!(!run.stderr.contains("Continue?"), "{}", run.stderr);
    assert!(!run.stderr.contains("before any write"), "{}", run.stderr);
    let v = run.summary();
    assert_eq!(v["api_host"], host.as_str());
    assert_eq!(v["org_name"], "genupdate sandbox");
    assert!(v.get("forecast").is_none(), "no plan pass: {v}");
    assert_eq!(count(&sb.stats(), "PATCH "), 3);
    assert_eq!(count(&sb.stats(), "GET /api/v2/organizations/me 200"), 1);
}

#[tokio::test]
async fn a_403_on_the_org_only_drops_its_name() {
    let sb = sandbox(SandboxConfig {
        org: Org {
            forbidden: true,
            ..Org::default()
        },
        ..small()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&sb, dir.path(), 2, 0);
    let run = genupdate(&sb, &["apply", s(&f), "--output", "json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("(the org's name could not be read)"),
        "{}",
        run.stderr
    );
    let v = run.summary();
    assert!(v["api_host"].is_string(), "{v}");
    assert!(v.get("org_name").is_none(), "{v}");
    assert_eq!(count(&sb.stats(), "GET /api/v2/organizations/me 403"), 1);
    assert_eq!(count(&sb.stats(), "PATCH "), 2, "the run went on");
}

#[tokio::test]
async fn max_changes_without_a_plan_stops_at_the_n_plus_first_write() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&sb, dir.path(), 5, 2);
    let rep = dir.path().join("report.csv");
    let failed = dir.path().join("failed.csv");
    let run = genupdate(
        &sb,
        &[
            "apply",
            s(&f),
            "--max-changes",
            "3",
            "--report",
            s(&rep),
            "--failed",
            s(&failed),
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let v = run.summary();
    assert_eq!(v["exit_reason"], "max_changes", "{v}");
    assert_eq!(v["max_changes"], 3);
    assert_eq!(v["updated"], 3);
    assert_eq!(v["unchanged"], 2, "unchanged rows are still diffed");
    assert_eq!(v["reasons"]["max_changes"], 2);
    assert_eq!(count(&sb.stats(), "PATCH "), 3, "exactly N users written");
    let rows = report(&rep);
    let skipped: Vec<_> = rows.iter().filter(|r| r.2 == "max_changes").collect();
    assert_eq!(skipped.len(), 2, "{rows:?}");
    assert!(skipped.iter().all(|r| r.1 == "skipped"), "{rows:?}");
    assert_eq!(
        read_csv(&failed).len(),
        3,
        "header + the two rows to feed back"
    );
}

#[tokio::test]
async fn limit_rows_applies_a_canary_and_exits_0() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&sb, dir.path(), 6, 1);
    let rep = dir.path().join("report.csv");
    let failed = dir.path().join("failed.csv");
    let run = genupdate(
        &sb,
        &[
            "apply",
            s(&f),
            "--limit-rows",
            "2",
            "--report",
            s(&rep),
            "--failed",
            s(&failed),
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let v = run.summary();
    assert_eq!(v["exit_reason"], "limit", "{v}");
    assert_eq!(
        (v["updated"].as_u64(), v["skipped"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(v["reasons"]["limit"], 4);
    assert_eq!(count(&sb.stats(), "PATCH "), 2);
    assert_eq!(read_csv(&failed).len(), 5, "header + the four held back");
    // The rest goes through on the next run; the canary's rows are unchanged then.
    let run = genupdate(&sb, &["apply", s(&failed), "--output", "json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.summary()["updated"], 4);
}

#[tokio::test]
async fn a_dry_run_shows_what_the_guards_would_do() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&sb, dir.path(), 4, 0);
    let run = genupdate(
        &sb,
        &[
            "apply",
            s(&f),
            "--dry-run",
            "--max-changes",
            "1",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let v = run.summary();
    assert_eq!(v["exit_reason"], "max_changes", "{v}");
    assert_eq!(
        (v["planned"].as_u64(), v["skipped"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(writes(&sb.stats()), 0);
}

#[cfg(unix)]
fn start_on(sb: &Sandbox, f: &Path, extra: &[&str]) -> pty::OnPty {
    let mut a = vec!["apply", s(f)];
    a.extend_from_slice(extra);
    pty::OnPty::start(sb, &a)
}

/// Wait (off the async workers, so the sandbox keeps serving) for `needle`.
#[cfg(unix)]
async fn shows(mut p: pty::OnPty, needle: &'static str) -> (pty::OnPty, bool) {
    tokio::task::spawn_blocking(move || {
        let ok = p.wait_for(needle);
        (p, ok)
    })
    .await
    .unwrap()
}

#[cfg(unix)]
async fn finish(p: pty::OnPty) -> Run {
    tokio::task::spawn_blocking(move || p.finish())
        .await
        .unwrap()
}

#[cfg(unix)]
#[tokio::test]
async fn on_a_terminal_the_plan_comes_first_and_yes_writes_it_without_reading_again() {
    // The same file off a terminal, for the number of user reads a run needs.
    let plain = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&plain, dir.path(), 3, 2);
    assert_eq!(genupdate(&plain, &["apply", s(&f)]).await.code, 0);
    let reads_off_a_terminal = user_list_reads(&plain);

    let sb = sandbox(small()).await;
    let (mut p, asked) = shows(start_on(&sb, &f, &["--output", "json"]), "Continue? [y/N]").await;
    assert!(asked, "{}", p.text());
    assert_eq!(writes(&sb.stats()), 0, "nothing written before the answer");
    p.answer("y");
    let run = finish(p).await;
    let host = sb.url().trim_start_matches("http://").to_string();
    for want in [
        format!("about to write to {host} (org \"genupdate sandbox\")"),
        "5 rows: 3 users will change, 2 unchanged, 0 failing".to_string(),
        "estimated time:".to_string(),
    ] {
        assert!(run.stderr.contains(&want), "{want}: {}", run.stderr);
    }
    assert_eq!(run.code, 0, "{run:?}");
    let v = run.summary();
    assert_eq!(v["updated"], 3, "{v}");
    assert_eq!(v["forecast"]["changing"], 3, "{v}");
    assert_eq!(count(&sb.stats(), "PATCH "), 3);
    assert_eq!(
        user_list_reads(&sb),
        reads_off_a_terminal,
        "the writes used the users the plan read"
    );
    assert_eq!(count(&sb.stats(), "GET /api/v2/users/{id} "), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn on_a_terminal_no_writes_nothing_and_exits_0_declined() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&sb, dir.path(), 3, 0);
    let rep = dir.path().join("report.csv");
    let (mut p, asked) = shows(
        start_on(&sb, &f, &["--output", "json", "--report", s(&rep)]),
        "Continue? [y/N]",
    )
    .await;
    assert!(asked, "{}", p.text());
    p.answer("n");
    let run = finish(p).await;
    assert_eq!(run.code, 0, "{run:?}");
    let v = run.summary();
    assert_eq!(v["exit_reason"], "declined", "{v}");
    assert_eq!(v["forecast"]["changing"], 3, "{v}");
    assert_eq!(writes(&sb.stats()), 0);
    assert!(!rep.exists(), "a declined run writes no report");
}

#[cfg(unix)]
#[tokio::test]
async fn on_a_terminal_yes_flag_shows_the_plan_and_does_not_ask() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&sb, dir.path(), 2, 1);
    let run = finish(start_on(&sb, &f, &["--yes"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("Continue?"), "{}", run.stderr);
    assert!(
        run.stderr.contains("2 users will change, 1 unchanged"),
        "{}",
        run.stderr
    );
    assert_eq!(count(&sb.stats(), "PATCH "), 2);
}

#[cfg(unix)]
#[tokio::test]
async fn on_a_terminal_a_plan_over_max_changes_writes_nothing_and_asks_nothing() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&sb, dir.path(), 5, 1);
    let rep = dir.path().join("report.csv");
    let run = finish(start_on(
        &sb,
        &f,
        &[
            "--max-changes",
            "3",
            "--output",
            "json",
            "--report",
            s(&rep),
        ],
    ))
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stderr.contains("Continue?"), "{}", run.stderr);
    assert!(
        run.stderr.contains("more than --max-changes 3"),
        "{}",
        run.stderr
    );
    let v = run.summary();
    assert_eq!(v["exit_reason"], "max_changes", "{v}");
    assert_eq!(v["reasons"]["max_changes"], 5, "{v}");
    assert_eq!(v["unchanged"], 1, "{v}");
    assert_eq!(writes(&sb.stats()), 0, "stopped before any write");
}

#[cfg(unix)]
#[tokio::test]
async fn on_a_terminal_limit_rows_takes_exactly_the_first_changing_rows() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&sb, dir.path(), 6, 0);
    let rep = dir.path().join("report.csv");
    let run = finish(start_on(
        &sb,
        &f,
        &[
            "-y",
            "--limit-rows",
            "2",
            "--concurrency",
            "8",
            "--report",
            s(&rep),
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("--limit-rows 2: only the first 2 of them are written"),
        "{}",
        run.stderr
    );
    let rows = report(&rep);
    let statuses: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "updated", "updated", "skipped", "skipped", "skipped", "skipped"
        ],
        "file order: {rows:?}"
    );
    assert_eq!(count(&sb.stats(), "PATCH "), 2);
}

#[cfg(unix)]
#[tokio::test]
async fn a_user_changed_between_the_plan_and_the_answer_is_caught_by_its_version() {
    let api = start(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&api.sb, dir.path(), 2, 0);
    let id = api.sb.user_ids()[0].clone();
    let (mut p, asked) = shows(start_on(&api.sb, &f, &[]), "Continue? [y/N]").await;
    assert!(asked, "{}", p.text());
    // Another integration changes the user while the admin reads the plan.
    let path = format!("/api/v2/users/{id}");
    let body = serde_json::json!({"department": "Changed Meanwhile", "version": api.version(&id)});
    let (status, _) = api.patch(&path, body).await;
    assert!(status.is_success(), "{status}");
    p.answer("yes");
    let run = finish(p).await;
    assert_eq!(run.code, 0, "{run:?}");
    let user = api.sb.user(&id).unwrap();
    assert_eq!(user["title"], "Canary Title");
    assert_eq!(
        user["department"], "Changed Meanwhile",
        "the other change survives"
    );
    assert!(
        api.sb.stats().version_conflicts >= 1,
        "the stale version was refused"
    );
}
