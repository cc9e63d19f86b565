//! Regression tests for the data-safety holes of the hardening issue, each driving
//! the real binary against the sandbox (through a misbehaving proxy where needed).

mod common;

use std::time::Duration;

use common::stall::{Stall, StallProxy};
use common::{csv, genupdate, genupdate_env, read_csv, s, sandbox, small, writes};
use genesys_sandbox::SandboxConfig;
use serde_json::json;

async fn run_via(proxy: &StallProxy, sb: &genesys_sandbox::Sandbox, args: &[&str]) -> common::Run {
    genupdate_env(sb, args, &[("GENESYSCLOUD_REGION", &proxy.url())]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_path_that_is_the_input_is_refused_before_any_work() {
    // Regression: `--report users.csv` replaced the input with a partial report, even
    // in a dry run.
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let id = sb.user_ids()[0].clone();
    let file = csv(dir.path(), "users.csv", "id,title", &[format!("{id},Kept")]);
    let before = std::fs::read(&file).unwrap();
    let alias = format!("{}/./users.csv", dir.path().display());
    for extra in [&["--dry-run"][..], &[][..]] {
        let mut args = vec!["apply", s(&file), "--report", alias.as_str()];
        args.extend_from_slice(extra);
        let run = genupdate(&sb, &args).await;
        assert_eq!(run.code, 2, "{run:?}");
        assert!(
            run.stderr.contains("--report") && run.stderr.contains("input"),
            "{}",
            run.stderr
        );
    }
    let undo = dir.path().join("u.csv");
    let run = genupdate(
        &sb,
        &["apply", s(&file), "--report", s(&undo), "--undo", s(&undo)],
    )
    .await;
    assert_eq!(run.code, 2, "report and undo on one path: {run:?}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the input is untouched"
    );
    assert_eq!(sb.stats().requests, 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_cannot_be_written_sends_no_write() {
    // Regression: 1,000 PATCHes went out while the undo file held 181 rows.
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = sb
        .user_ids()
        .iter()
        .map(|id| format!("{id},Full Disk"))
        .collect();
    let file = csv(dir.path(), "users.csv", "id,title", &rows);
    let undo = dir.path().join("undo.csv");
    let run = genupdate(
        &sb,
        &[
            "apply",
            s(&file),
            "--report",
            "/dev/full",
            "--undo",
            s(&undo),
        ],
    )
    .await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("/dev/full"),
        "the error names the file: {}",
        run.stderr
    );
    assert_eq!(writes(&sb.stats()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2xx_with_an_unreadable_body_is_a_landed_write() {
    // Regression: a PATCH answered 200 with HTML was reported failed, with no undo,
    // although the server applied it.
    let sb = sandbox(small()).await;
    let proxy = StallProxy::start(&sb.url(), Stall::HtmlAfterPatch).await;
    let dir = tempfile::tempdir().unwrap();
    let id = sb.user_ids()[0].clone();
    let old = sb.user(&id).unwrap()["title"].clone();
    let file = csv(
        dir.path(),
        "users.csv",
        "id,title",
        &[format!("{id},Landed")],
    );
    let report = dir.path().join("report.csv");
    let undo = dir.path().join("undo.csv");
    let run = run_via(
        &proxy,
        &sb,
        &[
            "apply",
            s(&file),
            "--report",
            s(&report),
            "--undo",
            s(&undo),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(read_csv(&report)[1][2], "updated");
    assert_eq!(sb.user(&id).unwrap()["title"], "Landed");
    assert_eq!(
        read_csv(&undo)[1][1],
        old.as_str().unwrap(),
        "the undo file knows it"
    );
    let stats = sb.stats();
    assert_eq!(
        stats.writes_per_user.get(&id).copied().unwrap_or(0),
        1,
        "re-read, not re-sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_in_a_bulk_read_are_confirmed_and_a_malformed_user_costs_only_itself() {
    // Regression: a user missing from a bulk read was reported not_found with a 404
    // never received; one malformed user failed all 100 rows of its batch.
    let sb = sandbox(small()).await;
    let ids = sb.user_ids();
    let proxy = StallProxy::start(
        &sb.url(),
        Stall::MangleBulk {
            drop: ids[3].clone(),
            malform: ids[5].clone(),
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = ids
        .iter()
        .take(30)
        .map(|id| format!("{id},Confirmed"))
        .collect();
    let file = csv(dir.path(), "users.csv", "id,title", &rows);
    let report = dir.path().join("report.csv");
    let run = run_via(&proxy, &sb, &["apply", s(&file), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let rep = read_csv(&report);
    assert!(rep[1..].iter().all(|r| r[2] == "updated"), "{rep:?}");
    for id in ids.iter().take(30) {
        assert_eq!(sb.user(id).unwrap()["title"], "Confirmed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_api_is_an_outage_reported_as_timeouts_not_conflicts() {
    // Regression: a PATCH that never answered was retried and reported `conflict`,
    // "the user kept changing under us", with status 200.
    let sb = sandbox(SandboxConfig {
        users: 40,
        ..small()
    })
    .await;
    let proxy = StallProxy::start(&sb.url(), Stall::Writes).await;
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = sb
        .user_ids()
        .iter()
        .map(|id| format!("{id},Hung"))
        .collect();
    let file = csv(dir.path(), "users.csv", "id,title", &rows);
    let report = dir.path().join("report.csv");
    let started = std::time::Instant::now();
    let run = run_via(
        &proxy,
        &sb,
        &[
            "apply",
            s(&file),
            "--timeout",
            "1",
            "--report",
            s(&report),
            "--output",
            "json",
        ],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stdout.contains("\"exit_reason\":\"unreachable\""),
        "{}",
        run.stdout
    );
    let rep = read_csv(&report);
    assert!(rep[1..].iter().all(|r| r[6] != "conflict"), "{rep:?}");
    assert!(rep[1..].iter().any(|r| r[6] == "timeout"), "{rep:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_files_round_trip_values_a_plain_cell_cannot_carry() {
    // Regression: genupdate refused its own undo file for a trailing space, a tab or
    // a zero-width space, and wrote a title that was literally #CLEAR as the marker.
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let awkward = [
        "Agent ",
        "Tab\there",
        "zero\u{200B}width",
        "#CLEAR",
        "=1+1",
        "'=x",
    ];
    for (id, title) in ids.iter().zip(awkward) {
        let mut doc = sb.user(id).unwrap();
        doc["title"] = json!(title);
        sb.put_user(id, doc).unwrap();
    }
    let rows: Vec<String> = ids
        .iter()
        .take(awkward.len())
        .map(|id| format!("{id},Plain"))
        .collect();
    let file = csv(dir.path(), "users.csv", "id,title", &rows);
    let undo = dir.path().join("undo.csv");
    let run = genupdate(&sb, &["apply", s(&file), "--undo", s(&undo)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let check = genupdate(&sb, &["validate", s(&undo)]).await;
    assert_eq!(
        check.code, 0,
        "genupdate accepts its own undo file: {check:?}"
    );
    let back = genupdate(&sb, &["apply", s(&undo)]).await;
    assert_eq!(back.code, 0, "{back:?}");
    for (id, title) in ids.iter().zip(awkward) {
        assert_eq!(sb.user(id).unwrap()["title"], title, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_ctrl_c_keeps_the_first_runs_before_values() {
    // Regression: a re-run replaced the undo file (101 rows -> 61), so the original
    // values of the first run's users were lost.
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let originals: Vec<_> = ids
        .iter()
        .take(10)
        .map(|id| sb.user(id).unwrap()["title"].clone())
        .collect();
    let undo = dir.path().join("undo.csv");
    let first: Vec<String> = ids
        .iter()
        .take(10)
        .map(|id| format!("{id},First"))
        .collect();
    let file = csv(dir.path(), "users.csv", "id,title", &first);
    assert_eq!(
        genupdate(&sb, &["apply", s(&file), "--undo", s(&undo)])
            .await
            .code,
        0
    );
    let second: Vec<String> = ids
        .iter()
        .take(10)
        .map(|id| format!("{id},Second"))
        .collect();
    let file = csv(dir.path(), "users.csv", "id,title", &second);
    assert_eq!(
        genupdate(&sb, &["apply", s(&file), "--undo", s(&undo)])
            .await
            .code,
        0
    );
    assert_eq!(read_csv(&undo).len(), 11, "never shrunk");
    assert_eq!(genupdate(&sb, &["apply", s(&undo)]).await.code, 0);
    for (id, title) in ids.iter().zip(&originals) {
        assert_eq!(
            &sb.user(id).unwrap()["title"],
            title,
            "{id} has its original title"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_panic_is_a_failed_row_and_a_non_zero_exit() {
    // Regression: a worker's panic was logged and its row vanished; the run said
    // "completed" with exit 0.
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = sb
        .user_ids()
        .iter()
        .take(5)
        .map(|id| format!("{id},Panic"))
        .collect();
    let file = csv(dir.path(), "users.csv", "id,title", &rows);
    let report = dir.path().join("report.csv");
    let run = genupdate_env(
        &sb,
        &[
            "apply",
            s(&file),
            "--report",
            s(&report),
            "--output",
            "json",
        ],
        &[("GENUPDATE_FAULT_PANIC_LINE", "3")],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let rep = read_csv(&report);
    assert_eq!(rep.len(), 6, "one line per row: {rep:?}");
    let r = rep.iter().find(|r| r[0] == "3").expect("line 3 reported");
    assert_eq!(
        (r[2].as_str(), r[6].as_str()),
        ("failed", "aborted"),
        "{r:?}"
    );
    assert_eq!(rep.iter().filter(|r| r[2] == "updated").count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_turns_a_journal_into_an_undo_file() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let original = sb.user(&ids[0]).unwrap()["title"].clone();
    let journal = dir.path().join("run.journal");
    let entry = json!({"line": 2, "id": ids[0], "before": [["title", original]]});
    std::fs::write(&journal, format!("{entry}\n")).unwrap();
    let file = csv(
        dir.path(),
        "users.csv",
        "id,title",
        &[format!("{},Changed", ids[0])],
    );
    assert_eq!(genupdate(&sb, &["apply", s(&file)]).await.code, 0);
    let undo = dir.path().join("undo.csv");
    let run = genupdate(&sb, &["recover", s(&journal), "--undo", s(&undo)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(genupdate(&sb, &["apply", s(&undo)]).await.code, 0);
    assert_eq!(sb.user(&ids[0]).unwrap()["title"], original);
}
