//! A deadline and a signal end a run in every phase: the token request, the bulk
//! reads, the name resolution, the writes and a Retry-After pause. The real binary
//! runs against a proxy that stalls one phase; each run must end well within a
//! generous bound (a bound on a hang, not a timing benchmark) with the right exit.
//! Regression: `--deadline 15s` took 180 s with bulk reads answered 429 Retry-After
//! 60, 306 s when the bulk GET never answered, 324 s when the token endpoint never
//! answered; after SIGTERM during bulk reads a run was still sending 400 s later.

mod common;

use std::time::{Duration, Instant};

use common::stall::{Stall, StallProxy};
use common::{command, csv, s, sandbox, small};
use genesys_sandbox::SandboxConfig;

/// Far above the 2 s deadline, far below the minutes a hang used to take.
const BOUND: Duration = Duration::from_secs(25);

async fn run_stalled(stall: Stall, signal: bool) -> (i32, Duration, String) {
    let sb = sandbox(SandboxConfig {
        users: 30,
        ..small()
    })
    .await;
    let proxy = StallProxy::start(&sb.url(), stall).await;
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = sb
        .user_ids()
        .iter()
        .map(|id| format!("{id},Deadline,3"))
        .collect();
    let file = csv(dir.path(), "d.csv", "id,title,skill:Billing", &rows);
    let mut args = vec!["apply", s(&file), "--output", "json"];
    if !signal {
        args.extend(["--deadline", "2s"]);
    }
    let mut cmd = command(&sb, &args);
    cmd.env("GENESYSCLOUD_REGION", proxy.url());
    cmd.stdout(std::process::Stdio::piped());
    let started = Instant::now();
    let child = cmd.spawn().expect("genupdate starts");
    if signal {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        if let Some(pid) = child.id() {
            // SAFETY: sending a signal to our own child process.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
    }
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the run ends")
        .expect("wait");
    (
        out.status.code().unwrap_or(-1),
        started.elapsed(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn deadline_ends(stall: Stall) {
    let what = format!("{stall:?}");
    let (code, took, stdout) = run_stalled(stall, false).await;
    assert!(took < BOUND, "{what}: the deadline run took {took:?}");
    assert_eq!(code, 1, "{what}: the deadline's exit code: {stdout}");
    assert!(
        stdout.contains("\"exit_reason\":\"deadline\""),
        "{what}: {stdout}"
    );
}

async fn sigterm_ends(stall: Stall) {
    let what = format!("{stall:?}");
    let (code, took, stdout) = run_stalled(stall, true).await;
    assert!(took < BOUND, "{what}: the run took {took:?} after SIGTERM");
    assert_eq!(code, 130, "{what}: {stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_ends_a_run_whose_token_request_never_answers() {
    deadline_ends(Stall::Token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_ends_a_run_whose_bulk_read_never_answers() {
    deadline_ends(Stall::BulkRead).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_ends_a_retry_after_pause_on_the_bulk_reads() {
    deadline_ends(Stall::BulkRead429(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_ends_a_run_whose_name_resolution_never_answers() {
    deadline_ends(Stall::Resolution).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_ends_a_run_whose_writes_never_answer() {
    deadline_ends(Stall::Writes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_ends_a_retry_after_pause_on_the_writes() {
    deadline_ends(Stall::Writes429(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_a_run_in_every_phase() {
    for stall in [
        Stall::Token,
        Stall::BulkRead,
        Stall::BulkRead429(60),
        Stall::Resolution,
        Stall::Writes,
        Stall::Writes429(60),
    ] {
        sigterm_ends(stall).await;
    }
}
