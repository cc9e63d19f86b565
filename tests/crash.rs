//! `kill -9` at a random moment loses no record of a write: after each killed run,
//! `genupdate recover` of the journal (or the undo file, when the run got that
//! far) and `genupdate apply` of the undo file bring every user back to a snapshot
//! taken before the run. A stuck row (its PATCH never answers) sits among the first
//! rows, so a slow row cannot hold back the record of the others.
//! Regression: kill -9 after 6 s left 292 writes on the server and 0 rows in the
//! undo file; a re-run then called those users `unchanged` and their old values
//! were gone for good.

mod common;

use std::time::Duration;

use common::stall::{Stall, StallProxy};
use common::{command, comparable, csv, genupdate, s, sandbox};
use genesys_sandbox::{Faults, Quirks, SandboxConfig};
use serde_json::Value;

/// Runs in the loop; each prints its seed.
const RUNS: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_a_random_moment_loses_no_record_of_a_write() {
    let base: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u32>)
        .into();
    let mut restored = 0;
    for run in 0..RUNS {
        let seed = base.wrapping_add(run);
        println!("crash run {run}: seed {seed} (CRASH_SEED={base} repeats the loop)");
        let sb = sandbox(SandboxConfig {
            users: 80,
            seed,
            quirks: Quirks {
                restricted_share: 0.0,
                deleted_share: 0.0,
                ..Quirks::realistic()
            },
            faults: Faults {
                latency: Duration::from_millis(10),
                latency_jitter: Duration::from_millis(8),
                ..Faults::default()
            },
            ..SandboxConfig::unlimited()
        })
        .await;
        let ids = sb.writable_user_ids();
        let before: Vec<Value> = ids
            .iter()
            .map(|id| comparable(&sb.user(id).unwrap()))
            .collect();
        let proxy = StallProxy::start(&sb.url(), Stall::User(ids[1].clone())).await;
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| format!("{id},Crash {seed} {i},Dept {i},+1 317 555 {:04}", i))
            .collect();
        let file = csv(
            dir.path(),
            "users.csv",
            "id,title,department,phone:WORK",
            &rows,
        );
        let undo = dir.path().join("undo.csv");
        let journal = dir.path().join("undo.csv.journal");
        let mut cmd = command(
            &sb,
            &["apply", s(&file), "--undo", s(&undo), "--concurrency", "4"],
        );
        cmd.env("GENESYSCLOUD_REGION", proxy.url());
        cmd.stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("genupdate starts");
        // Kill at a random moment measured in progress, not wall time (a busy
        // machine starts slowly): after 0 to 70 writes, plus 0 to 100 ms.
        let mix = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
        let target = mix % 71;
        let extra_ms = (mix >> 16) % 101;
        let started = std::time::Instant::now();
        while common::writes(&sb.stats()) < target && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(extra_ms)).await;
        let wait_ms = started.elapsed().as_millis();
        child.start_kill().expect("SIGKILL");
        let out = child
            .wait_with_output()
            .await
            .expect("the killed run is reaped");
        drop(out);
        let written = ids
            .iter()
            .zip(&before)
            .filter(|(id, b)| comparable(&sb.user(id).unwrap()) != **b)
            .count();
        if journal.exists() {
            let rec = genupdate(&sb, &["recover", s(&journal), "--undo", s(&undo)]).await;
            assert_eq!(rec.code, 0, "seed {seed}: {rec:?}");
        }
        if written > 0 {
            assert!(
                undo.exists(),
                "seed {seed}: {written} users changed and no record"
            );
            let back = genupdate(&sb, &["apply", s(&undo)]).await;
            assert!(back.code == 0, "seed {seed}: {back:?}");
            restored += 1;
        }
        for (id, b) in ids.iter().zip(&before) {
            assert_eq!(
                &comparable(&sb.user(id).unwrap()),
                b,
                "seed {seed} (killed after {wait_ms} ms, {written} users changed): {id} is back"
            );
        }
        println!(
            "crash run {run}: killed after {target} writes + {extra_ms} ms ({wait_ms} ms), {written} users changed, all restored"
        );
    }
    println!("{RUNS} killed runs, {restored} with writes to undo, every user restored");
}
