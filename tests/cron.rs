//! Cron-grade runs: crash and re-run, the run lock, the error budget, signals, the
//! deadline, and the JSON summary on every exit path. The real binary, the real
//! sandbox, loopback only.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{ModelUser, csv, genupdate, genupdate_env, read_csv, s, sandbox};
use genesys_sandbox::{Faults, Quirks, Sandbox, SandboxConfig};

/// 40 requests per second with 20 ms latency: a 300-row run takes ~8 s, long
/// enough to interrupt.
fn slow(users: usize) -> SandboxConfig {
    SandboxConfig {
        users,
        rate_limit: 40,
        rate_window: Duration::from_secs(1),
        faults: Faults {
            latency: Duration::from_millis(20),
            ..Faults::default()
        },
        quirks: Quirks::none(),
        ..SandboxConfig::default()
    }
}

fn title_rows(sb: &Sandbox, n: usize, title: &str) -> Vec<String> {
    sb.user_ids()
        .iter()
        .take(n)
        .map(|id| format!("{id},{title}"))
        .collect()
}

fn spawn(sb: &Sandbox, args: &[&str]) -> tokio::process::Child {
    common::command(sb, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn genupdate")
}

/// Wait (bounded) until the sandbox has applied at least `n` user writes.
async fn until_writes(sb: &Sandbox, n: u64) {
    let started = Instant::now();
    while sb.stats().writes_per_user.values().sum::<u64>() < n {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never reached {n} writes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signal(child: &tokio::process::Child, sig: i32) {
    let pid = child.id().expect("running child") as i32;
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(pid, sig) };
}

fn json_summary(stdout: &str) -> serde_json::Value {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout holds exactly the JSON summary: {stdout:?}"
    );
    serde_json::from_str(lines[0]).expect("the summary is JSON")
}

fn report_statuses(path: &Path) -> Vec<String> {
    read_csv(path)[1..].iter().map(|r| r[2].clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_mid_run_a_plain_rerun_finishes_with_no_row_written_twice() {
    let sb = sandbox(slow(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(
        dir.path(),
        "crash.csv",
        "id,title",
        &title_rows(&sb, 300, "After Crash"),
    );
    let mut child = spawn(&sb, &["apply", s(&file)]);
    until_writes(&sb, 60).await;
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let at_kill: u64 = sb.stats().writes_per_user.values().sum();
    assert!(at_kill < 300, "killed mid-run ({at_kill} writes)");

    let run = genupdate(&sb, &["apply", s(&file)]).await;
    assert_eq!(
        run.code, 0,
        "the stale lock is taken over and the run finishes: {run:?}"
    );
    let stats = sb.stats();
    let total: u64 = stats.writes_per_user.values().sum();
    assert!(
        total <= 300 + 8,
        "{total} writes for 300 rows (at most the in-flight ones twice)"
    );
    for id in sb.user_ids().iter().take(300) {
        assert_eq!(
            sb.model_user(id).unwrap().title.as_deref(),
            Some("After Crash")
        );
        assert_eq!(
            stats.writes_per_user.get(id).copied(),
            Some(1),
            "{id} written exactly once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_overlapping_run_exits_5_naming_the_lock_holder() {
    let sb = sandbox(slow(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(
        dir.path(),
        "lock.csv",
        "id,title",
        &title_rows(&sb, 200, "Locked"),
    );
    let first = spawn(&sb, &["apply", s(&file)]);
    until_writes(&sb, 5).await;
    let second = genupdate(&sb, &["apply", s(&file), "--output", "json"]).await;
    assert_eq!(second.code, 5, "{second:?}");
    let summary = json_summary(&second.stdout);
    assert_eq!(summary["exit_reason"], "lock_held");
    let pid = first.id().unwrap();
    assert!(
        summary["error"]
            .as_str()
            .unwrap()
            .contains(&format!("pid {pid}")),
        "{summary}"
    );
    let out = first.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_left_by_a_dead_run_is_taken_over() {
    let sb = sandbox(SandboxConfig {
        users: 20,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(
        dir.path(),
        "stale.csv",
        "id,title",
        &title_rows(&sb, 20, "Stale"),
    );
    let lock = dir.path().join("custom.lock");
    std::fs::write(
        &lock,
        r#"{"pid":999999,"host":"gone","started":"2026-01-01T02:00:00Z"}"#,
    )
    .unwrap();
    let run = genupdate(&sb, &["apply", s(&file), "--lock", s(&lock)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("taking over the lock"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_errors_stops_new_rows_exits_4_and_writes_a_complete_report() {
    let sb = sandbox(SandboxConfig {
        users: 50,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for i in 0..300 {
        rows.push(format!("{:08x}-0000-4000-8000-000000000000,Ghost", i + 1));
    }
    let file = csv(dir.path(), "budget.csv", "id,title", &rows);
    let report = dir.path().join("report.csv");
    let run = genupdate(
        &sb,
        &[
            "apply",
            s(&file),
            "--max-errors",
            "5",
            "--concurrency",
            "1",
            "--report",
            s(&report),
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(json_summary(&run.stdout)["exit_reason"], "error_budget");
    let statuses = report_statuses(&report);
    assert_eq!(statuses.len(), 300, "one line per input row");
    let skipped = statuses.iter().filter(|s| *s == "skipped").count();
    assert!(skipped > 0, "rows after the budget ran out are skipped");
    assert_eq!(
        statuses.iter().filter(|s| *s == "failed").count() + skipped,
        300
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_rows_writes_the_report_and_exits_130() {
    let sb = sandbox(slow(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(
        dir.path(),
        "term.csv",
        "id,title",
        &title_rows(&sb, 300, "Terminated"),
    );
    let report = dir.path().join("report.csv");
    let child = spawn(
        &sb,
        &[
            "apply",
            s(&file),
            "--report",
            s(&report),
            "--output",
            "json",
        ],
    );
    until_writes(&sb, 40).await;
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = json_summary(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(summary["exit_reason"], "interrupted");
    let rows = read_csv(&report);
    assert_eq!(rows.len(), 301, "one report line per input row");
    let updated: Vec<&Vec<String>> = rows[1..].iter().filter(|r| r[2] == "updated").collect();
    assert!(
        rows[1..]
            .iter()
            .all(|r| r[2] == "updated" || r[2] == "skipped"),
        "no row left half-done"
    );
    assert_eq!(summary["updated"].as_u64(), Some(updated.len() as u64));
    for r in &updated {
        assert_eq!(
            sb.model_user(&r[1]).unwrap().title.as_deref(),
            Some("Terminated")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let sb = sandbox(SandboxConfig {
        faults: Faults {
            latency: Duration::from_secs(20),
            ..Faults::default()
        },
        ..slow(50)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(
        dir.path(),
        "twice.csv",
        "id,title",
        &title_rows(&sb, 50, "Twice"),
    );
    let mut child = spawn(&sb, &["apply", s(&file)]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    signal(&child, libc::SIGINT);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let asked = Instant::now();
    signal(&child, libc::SIGINT);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits promptly")
        .unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(asked.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_stops_cleanly_and_marks_rows_not_attempted() {
    let sb = sandbox(slow(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(
        dir.path(),
        "late.csv",
        "id,title",
        &title_rows(&sb, 300, "Late"),
    );
    let report = dir.path().join("report.csv");
    let failed = dir.path().join("failed.csv");
    let run = genupdate(
        &sb,
        &[
            "apply",
            s(&file),
            "--deadline",
            "2s",
            "--report",
            s(&report),
            "--failed",
            s(&failed),
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let summary = json_summary(&run.stdout);
    assert_eq!(summary["exit_reason"], "deadline");
    assert!(
        run.stderr.contains("deadline"),
        "warned at start: {}",
        run.stderr
    );
    let rows = read_csv(&report);
    assert_eq!(rows.len(), 301);
    let skipped: Vec<&Vec<String>> = rows[1..].iter().filter(|r| r[2] == "skipped").collect();
    assert!(!skipped.is_empty() && skipped.iter().all(|r| r[6] == "deadline"));
    let refeed = read_csv(&failed);
    assert_eq!(
        refeed.len() - 1,
        skipped.len(),
        "the skipped rows are ready to feed back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_summary_is_the_only_stdout_on_every_exit_path() {
    let sb = sandbox(SandboxConfig {
        users: 20,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let good = csv(
        dir.path(),
        "good.csv",
        "id,title",
        &[format!("{},Json", ids[0])],
    );
    let partial = csv(
        dir.path(),
        "partial.csv",
        "id,title",
        &[
            format!("{},Json", ids[1]),
            "0badc0de-0000-4000-8000-000000000000,Json".to_string(),
        ],
    );
    let invalid = csv(
        dir.path(),
        "invalid.csv",
        "id,title",
        &["not-a-uuid,Json".to_string()],
    );

    #[allow(clippy::type_complexity)]
    let cases: Vec<(Vec<&str>, Vec<(&str, &str)>, i32, &str)> = vec![
        (
            vec!["apply", s(&good), "--output", "json"],
            vec![],
            0,
            "completed",
        ),
        (
            vec!["apply", s(&partial), "--output", "json"],
            vec![],
            1,
            "rows_failed",
        ),
        (
            vec!["apply", s(&invalid), "--output", "json"],
            vec![],
            3,
            "invalid_input",
        ),
        (
            vec!["apply", s(&good), "--output", "json"],
            vec![("GENESYSCLOUD_OAUTHCLIENT_SECRET", "wrong-secret")],
            4,
            "aborted",
        ),
        (
            vec![
                "apply",
                s(&good),
                "--output",
                "json",
                "--region",
                "us-east-9",
            ],
            vec![],
            2,
            "usage",
        ),
    ];
    for (args, env, code, reason) in cases {
        let run = genupdate_env(&sb, &args, &env).await;
        assert_eq!(run.code, code, "{args:?}: {run:?}");
        let summary = json_summary(&run.stdout);
        assert_eq!(summary["exit_reason"], reason, "{args:?}");
        assert_eq!(summary["exit_code"], code);
    }
}
