//! Fault injection: every case runs the real binary's `genupdate apply` of 1,000 rows
//! against a sandbox with faults on, then checks every user's final state:
//!
//! - each row is right (its fields hold the CSV's values) or reported `failed` with a
//!   reason, and the report has 1,000 lines in input order;
//! - no other writer's change is lost: every certification marker the sandbox's
//!   concurrent writer appended is still there, and every field the CSV does not name
//!   is as it was before the run (apart from `version` and `certifications`);
//! - no write is applied twice: the CSV changes only profile fields (title and
//!   department), so each row needs exactly one PATCH, and `writes_per_user` is 1 for
//!   every updated row, lost-response rows resolved by re-reading included.
//!
//! The durations are scaled down so that the whole file runs in well under
//! two minutes; each case says how. Run with
//! `cargo test --test faults -- --nocapture --test-threads=1` to see one result line
//! per case.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{ModelUser, Run, csv, genupdate_env, read_csv, s, sandbox};
use genesys_sandbox::{Faults, Quirks, Sandbox, SandboxConfig, SandboxStats};
use genupdate::model::User;
use serde_json::Value;

/// Rows per case.
const N: usize = 1000;

/// The concurrent writer's certification marker (src/sandbox/state.rs).
const MARKER: &str = "sandbox-concurrent-writer-";

/// `per_second` requests per 1 s window per token (0 = no limit), 1,000 users.
fn org(per_second: u32) -> SandboxConfig {
    SandboxConfig {
        users: N,
        rate_limit: per_second,
        rate_window: Duration::from_secs(1),
        quirks: Quirks::none(),
        ..SandboxConfig::default()
    }
}

/// Fault settings switched on for a window of the run, then `after` (normally what
/// the sandbox was started with).
struct Window {
    on: Edge,
    off: Edge,
    faults: Faults,
    after: Faults,
}

/// When a window opens or closes.
enum Edge {
    /// Once the sandbox has seen this many requests (the run is under way).
    Requests(u64),
    /// Once the sandbox has answered a 429 burst (the fault has fired).
    FirstBurst,
}

async fn reached(sb: &Sandbox, edge: &Edge) {
    let poll = Duration::from_millis(5);
    match edge {
        Edge::Requests(n) => {
            while sb.stats().requests < *n {
                tokio::time::sleep(poll).await;
            }
        }
        Edge::FirstBurst => {
            while sb.stats().burst_429s == 0 {
                tokio::time::sleep(poll).await;
            }
        }
    }
}

/// What one case produced, for the checks and the result line.
struct Outcome {
    run: Run,
    summary: Value,
    stats: SandboxStats,
    report: Vec<Vec<String>>,
    elapsed: Duration,
    max_writes: u64,
    updated: usize,
    failed: usize,
}

/// The values row `i` of case `case` sets.
fn want(case: &str, i: usize) -> (String, String) {
    (
        format!("Fault {case} title {i}"),
        format!("Fault {case} dept"),
    )
}

/// Run `genupdate apply` of 1,000 title+department rows against `sb` with `args`
/// added, optionally switching faults on for a window, and check every user.
async fn apply_and_check(
    case: &str,
    sb: &Sandbox,
    args: &[&str],
    env: &[(&str, &str)],
    window: Option<Window>,
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    assert_eq!(ids.len(), N);
    let before: Vec<User> = ids.iter().map(|id| sb.model_user(id).unwrap()).collect();
    let rows: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let (t, d) = want(case, i);
            format!("{id},{t},{d}")
        })
        .collect();
    let file = csv(dir.path(), "users.csv", "id,title,department", &rows);
    let report = dir.path().join("report.csv");
    let failed = dir.path().join("failed.csv");
    let undo = dir.path().join("undo.csv");
    let mut all: Vec<&str> = vec![
        "apply",
        s(&file),
        "--report",
        s(&report),
        "--failed",
        s(&failed),
        "--undo",
        s(&undo),
        "--output",
        "json",
    ];
    all.extend_from_slice(args);

    let started = Instant::now();
    let run = {
        let run = genupdate_env(sb, &all, env);
        tokio::pin!(run);
        let toggle = async {
            if let Some(w) = &window {
                reached(sb, &w.on).await;
                sb.set_faults(w.faults.clone());
                reached(sb, &w.off).await;
                sb.set_faults(w.after.clone());
            }
            std::future::pending::<()>().await
        };
        tokio::select! {
            r = &mut run => r,
            _ = toggle => unreachable!(),
        }
    };
    let elapsed = started.elapsed();
    if let Some(w) = &window {
        sb.set_faults(w.after.clone());
    }
    let stats = sb.stats();
    let summary: Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("{case}: stdout is the JSON summary ({e}): {run:?}"));
    if run.code != 0 {
        eprintln!(
            "{case}: exit {}; stderr tail:\n{}",
            run.code,
            tail(&run.stderr, 15)
        );
    }
    let report = read_csv(&report);
    let out = check(case, sb, &ids, &before, &report, &stats);
    check_undo(case, sb, &ids, &before, &read_csv(&undo));
    let failed_rows = read_csv(&failed);
    assert_eq!(
        failed_rows.len() - 1,
        out.1,
        "{case}: the --failed file holds exactly the failed rows"
    );
    Outcome {
        max_writes: stats.writes_per_user.values().copied().max().unwrap_or(0),
        updated: out.0,
        failed: out.1,
        run,
        summary,
        stats,
        report,
        elapsed,
    }
}

/// Every user, every row. Returns (updated, failed).
fn check(
    case: &str,
    sb: &Sandbox,
    ids: &[String],
    before: &[User],
    report: &[Vec<String>],
    stats: &SandboxStats,
) -> (usize, usize) {
    assert_eq!(
        report.len(),
        N + 1,
        "{case}: one report line per row plus the header"
    );
    assert_eq!(report[0][..3], ["line", "id", "status"].map(String::from));
    let (mut updated, mut failed) = (0, 0);
    let mut markers = 0u64;
    for (i, id) in ids.iter().enumerate() {
        let line = &report[i + 1];
        assert_eq!(line[0], (i + 2).to_string(), "{case}: input order");
        assert_eq!(&line[1], id, "{case}: input order");
        let after = sb.model_user(id).unwrap();
        let (title, dept) = want(case, i);
        let landed = after.title.as_deref() == Some(&title[..])
            && after.department.as_deref() == Some(&dept[..]);
        let writes = stats.writes_per_user.get(id).copied().unwrap_or(0);
        match line[2].as_str() {
            "updated" => {
                updated += 1;
                assert!(
                    landed,
                    "{case}: row {} reported updated but the user holds {:?} / {:?}",
                    i + 2,
                    after.title,
                    after.department
                );
                assert_eq!(
                    writes,
                    1,
                    "{case}: row {} needs one PATCH and must be applied exactly once",
                    i + 2
                );
            }
            "failed" => {
                failed += 1;
                assert!(
                    !line[6].is_empty() && !line[5].is_empty(),
                    "{case}: a failed row carries a reason and a message: {line:?}"
                );
                assert!(writes <= 1, "{case}: row {} written {writes} times", i + 2);
            }
            other => panic!("{case}: row {} has status {other}: {line:?}", i + 2),
        }

        // Fields the CSV does not name are untouched; certifications only grew by
        // the concurrent writer's markers.
        let old = &before[i];
        let certs = |u: &User| -> Vec<String> {
            u.other
                .get("certifications")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let (old_certs, new_certs) = (certs(old), certs(&after));
        assert!(
            new_certs.starts_with(&old_certs),
            "{case}: {id}'s certifications were not rewritten: {old_certs:?} -> {new_certs:?}"
        );
        for extra in &new_certs[old_certs.len()..] {
            assert!(
                extra.starts_with(MARKER),
                "{case}: {id}: unexpected certification {extra}"
            );
        }
        markers += (new_certs.len() - old_certs.len()) as u64;
        let mut a = after.clone();
        let mut b = old.clone();
        for u in [&mut a, &mut b] {
            u.version = 0;
            u.other.remove("certifications");
            u.title = None;
            u.department = None;
        }
        assert_eq!(a, b, "{case}: {id}: a field the CSV does not name changed");
        if !landed {
            // A failed row left the user as it was (or fully changed; never half).
            assert_eq!(
                (after.title.as_deref(), after.department.as_deref()),
                (old.title.as_deref(), old.department.as_deref()),
                "{case}: {id}: half a row applied"
            );
        }
    }
    assert_eq!(
        markers, stats.concurrent_writes,
        "{case}: every change the other writer made is still there"
    );
    let strangers: Vec<&String> = stats
        .writes_per_user
        .keys()
        .filter(|k| !ids.contains(k))
        .collect();
    assert!(strangers.is_empty(), "{case}: writes to {strangers:?}");
    (updated, failed)
}

/// The undo file names exactly the users whose values changed, with the values
/// they had before (the clear marker where they were empty).
fn check_undo(case: &str, sb: &Sandbox, ids: &[String], before: &[User], undo: &[Vec<String>]) {
    assert_eq!(undo[0], ["id", "title", "department"].map(String::from));
    let by_id: BTreeMap<&str, &Vec<String>> =
        undo[1..].iter().map(|r| (r[0].as_str(), r)).collect();
    assert_eq!(
        by_id.len(),
        undo.len() - 1,
        "{case}: one undo line per user"
    );
    let cell = |v: &Option<String>| match v.as_deref() {
        None | Some("") => "#CLEAR".to_string(),
        Some(v) => genupdate::report::neutralise(v),
    };
    let mut changed = 0;
    for (i, id) in ids.iter().enumerate() {
        let (old, now) = (&before[i], sb.model_user(id).unwrap());
        if (&now.title, &now.department) == (&old.title, &old.department) {
            assert!(
                !by_id.contains_key(id.as_str()),
                "{case}: {id} did not change but is in the undo file"
            );
            continue;
        }
        changed += 1;
        let row = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{case}: {id} changed but is missing from the undo file"));
        assert_eq!(
            (&row[1], &row[2]),
            (&cell(&old.title), &cell(&old.department)),
            "{case}: {id}: the undo file restores the values from before the run"
        );
    }
    assert_eq!(changed, by_id.len(), "{case}: undo lines for unknown users");
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

/// The one-line result, quoted in the closing note.
fn line(case: &str, o: &Outcome, extra: &str) {
    eprintln!(
        "RESULT {case}: exit {}, updated {}/failed {}, requests {} (sandbox saw {}), 429s {}, \
         retries {}, writes max per user {}, {:.1} s; {extra}",
        o.run.code,
        o.updated,
        o.failed,
        num(&o.summary, "requests"),
        o.stats.requests,
        num(&o.summary, "too_many_requests"),
        num(&o.summary, "retries"),
        o.max_writes,
        o.elapsed.as_secs_f64(),
    );
}

fn assert_clean(case: &str, o: &Outcome) {
    assert_eq!(o.run.code, 0, "{case}: {:?}", o.run);
    assert_eq!(o.failed, 0, "{case}: {:?}", o.report);
    assert_eq!(o.updated, N);
    assert_eq!(o.max_writes, 1, "{case}: no write applied twice");
    assert_eq!(num(&o.summary, "updated"), N as u64, "{}", o.summary);
}

// ---------------------------------------------------------------------------------

/// (a) 5xx bursts. The "10% for 30 s" is scaled to 10% for the middle 600
/// requests of the run (~3 s at the sandbox's 200 requests/s): a background task
/// switches `error_5xx = 0.1` on at the 200th request and off at the 800th with
/// `set_faults`. Counted in requests, not seconds, so a busy machine that slows the run
/// does not shrink the burst.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_bursts() {
    let sb = sandbox(org(200)).await;
    let window = Window {
        on: Edge::Requests(200),
        off: Edge::Requests(800),
        faults: Faults {
            error_5xx: 0.1,
            ..Faults::default()
        },
        after: Faults::default(),
    };
    let o = apply_and_check("a-5xx", &sb, &[], &[], Some(window)).await;
    line(
        "(a) 10% 5xx for 600 requests (~3 s)",
        &o,
        &format!("injected 5xx {}", o.stats.injected_5xx),
    );
    assert_clean("a", &o);
    assert!(o.stats.injected_5xx >= 20, "{:?}", o.stats);
}

/// (b) Connections dropped before the request is applied (5% of API requests,
/// reads included) and after a write was applied (5% of applied writes). Whole run,
/// no rate limit (~2 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_dropped_connections() {
    let sb = sandbox(SandboxConfig {
        faults: Faults {
            drop_before: 0.05,
            drop_after_write: 0.05,
            ..Faults::default()
        },
        ..org(0)
    })
    .await;
    let o = apply_and_check("b-drops", &sb, &[], &[], None).await;
    line(
        "(b) 5% dropped before, 5% after writes",
        &o,
        &format!(
            "dropped before {}, dropped after write {} (each resolved by a re-read: 1 write)",
            o.stats.dropped_before, o.stats.dropped_after
        ),
    );
    assert_clean("b", &o);
    assert!(o.stats.dropped_before > 10 && o.stats.dropped_after > 10);
}

/// (c) Latency spikes beyond the client timeout: `--timeout 1` and an added latency
/// uniform in 0..1.05 s (525 ± 525 ms), so ~5% of requests take longer than 1 s.
/// No rate limit; `--concurrency 128` keeps the run short despite the latency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_latency_beyond_the_client_timeout() {
    let sb = sandbox(SandboxConfig {
        faults: Faults {
            latency: Duration::from_millis(525),
            latency_jitter: Duration::from_millis(525),
            ..Faults::default()
        },
        ..org(0)
    })
    .await;
    let o = apply_and_check(
        "c-latency",
        &sb,
        &["--timeout", "1", "--concurrency", "128"],
        &[],
        None,
    )
    .await;
    // A request the client gave up on is counted on arrival but never answered.
    let answered: u64 = o.stats.by_route.values().sum();
    let timed_out = o.stats.requests - answered;
    let rereads = common::count(&o.stats, "GET /api/v2/users/{id} ");
    line(
        "(c) latency 0-1.05 s, --timeout 1",
        &o,
        &format!(
            "timed out {timed_out}, single re-reads after a timed-out PATCH {rereads}, \
             version conflicts {}",
            o.stats.version_conflicts
        ),
    );
    assert_clean("c", &o);
    assert!(timed_out >= 10, "some requests timed out: {:?}", o.stats);
    assert!(rereads > 0, "timed-out PATCHes were resolved by re-reading");
}

/// (d) Tokens expiring every 2 s plus 0.5% random revocation. 200 requests/s and
/// 30 ± 20 ms latency (so several requests are in flight when a token dies), so the
/// run lasts ~5-6 s: two or three expiries and a handful of revocations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d_tokens_expire_and_are_revoked() {
    let sb = sandbox(SandboxConfig {
        token_ttl: Duration::from_secs(2),
        faults: Faults {
            revoke_token: 0.005,
            latency: Duration::from_millis(30),
            latency_jitter: Duration::from_millis(20),
            ..Faults::default()
        },
        ..org(200)
    })
    .await;
    let o = apply_and_check("d-tokens", &sb, &[], &[], None).await;
    line(
        "(d) token ttl 2 s + 0.5% revocation",
        &o,
        &format!(
            "tokens issued {}, revoked {}, 401s {}",
            o.stats.tokens_issued, o.stats.revoked, o.stats.unauthorized
        ),
    );
    assert_clean("d", &o);
    assert!(o.stats.tokens_issued >= 3, "{:?}", o.stats);
}

/// Regression (d): a token revoked while requests were in flight made them all renew
/// and replay at once; when the fresh token was revoked too before any of them came
/// back, genupdate took it for wrong credentials and aborted the run (exit 4), although
/// earlier tokens had worked. Here the first token is revoked after 200 requests and
/// the next two tokens on first sight; the third fresh token works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d_regression_a_revoked_fresh_token_mid_run_does_not_abort() {
    let sb = sandbox(SandboxConfig {
        faults: Faults {
            latency: Duration::from_millis(10),
            ..Faults::default()
        },
        ..org(300)
    })
    .await;
    let proxy = Proxy::start(
        &sb.url(),
        Rule::RevokeFresh {
            after: 200,
            fresh: 2,
        },
    )
    .await;
    let region = proxy.url();
    let o = apply_and_check(
        "d-fresh",
        &sb,
        &[],
        &[("GENESYSCLOUD_REGION", &region)],
        None,
    )
    .await;
    line(
        "(d regression) first token revoked mid-run, next two on first sight",
        &o,
        &format!(
            "proxy 401s {}, tokens issued {}",
            proxy.counts.revoked.load(Ordering::Relaxed),
            o.stats.tokens_issued
        ),
    );
    assert_clean("d-fresh", &o);
    assert_eq!(o.stats.tokens_issued, 4, "{:?}", o.stats);
}

/// (e) A 5% concurrent writer (per user served by a read, bulk reads included); half
/// of the stale-version PATCHes are answered 400 "does not match the current
/// version" instead of 409. Whole run, no rate limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_concurrent_writer() {
    let sb = sandbox(SandboxConfig {
        faults: Faults {
            concurrent_writer: 0.05,
            conflict_400_share: 0.5,
            ..Faults::default()
        },
        ..org(0)
    })
    .await;
    let o = apply_and_check("e-writer", &sb, &[], &[], None).await;
    line(
        "(e) 5% concurrent writer",
        &o,
        &format!(
            "concurrent writes {} (all markers kept), version conflicts {}",
            o.stats.concurrent_writes, o.stats.version_conflicts
        ),
    );
    assert_clean("e", &o);
    assert!(o.stats.concurrent_writes >= 20, "{:?}", o.stats);
}

/// (f) A 429 storm: a burst is a 429 during which every request of the client is
/// answered 429 with a Retry-After (1-10 s) counting down. Scaled so the run stays
/// short yet always has one: 0.05% of requests start a burst, and once the run has
/// sent 300 requests every request does until the first burst has started (switched
/// with `set_faults`; a few ms, so a few requests start one). No rate limit
/// and 10 ± 5 ms latency, so several requests are in flight when a burst starts; the
/// run is ~2 s of work plus the bursts' Retry-Afters.
///
/// `during_retry_after` counts requests *sent* (judged on arrival, before the added
/// latency) while a Retry-After the sandbox issued is in force. genupdate pauses every
/// worker on a 429, so the only such requests can be ones sent in the instant between
/// the sandbox issuing a 429 and genupdate reading it: at most `concurrency - 1` per
/// 429 that was itself sent before any Retry-After. Requests already in flight when a
/// burst starts are answered 429 too but were sent before it, so they do not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f_429_storm() {
    let base = Faults {
        burst_429: 0.0005,
        burst_retry_after: (1, 10),
        latency: Duration::from_millis(10),
        latency_jitter: Duration::from_millis(5),
        ..Faults::default()
    };
    let sb = sandbox(SandboxConfig {
        faults: base.clone(),
        ..org(0)
    })
    .await;
    let window = Window {
        on: Edge::Requests(300),
        off: Edge::FirstBurst,
        faults: Faults {
            burst_429: 1.0,
            ..base.clone()
        },
        after: base,
    };
    let o = apply_and_check("f-429", &sb, &["--concurrency", "8"], &[], Some(window)).await;
    let st = &o.stats;
    let before_ra = st.too_many_requests.saturating_sub(st.during_retry_after);
    line(
        "(f) 429 storm, Retry-After 1-10 s",
        &o,
        &format!(
            "sandbox 429s {} (burst {}; {before_ra} to requests sent before any Retry-After, \
             i.e. in flight when a burst started), during_retry_after {}",
            st.too_many_requests, st.burst_429s, st.during_retry_after
        ),
    );
    assert_clean("f", &o);
    assert!(before_ra >= 1, "{st:?}");
    assert!(
        st.during_retry_after <= 7 * before_ra,
        "only requests in flight when a burst started may arrive during its Retry-After: {st:?}"
    );
}

/// (g) A long Retry-After. The 300 s against the default `--max-retry-after`
/// of 180 s is scaled to 4 s against `--max-retry-after 2`: work that draws it is
/// deferred to the end of the run and retried after its Retry-After.
///
/// The sandbox's 429 bursts are per OAuth client, not per route: it cannot refuse
/// only "part of the traffic" for long. So this case runs twice. (g2) is the
/// faithful version: a small proxy in front of the sandbox answers the PATCHes of
/// every 10th user with 429 and a Retry-After counting down to 4 s after the first
/// of them (a quota on that part of the traffic) and forwards everything else; the
/// other 90% must go on meanwhile (no rate limit: ~2 s of work). (g1) uses the
/// sandbox's own burst as it is: after 300 requests (~1 s) every request starts a 4 s
/// burst until the first has (`burst_429 = 1.0`, switched off again with
/// `set_faults`), so for 4 s every request of the client is refused; rows refused
/// with more than 2 s left are deferred, the rest pause (300 requests/s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_long_retry_after_on_all_traffic_defers_rows_to_the_end() {
    let sb = sandbox(org(300)).await;
    let window = Window {
        on: Edge::Requests(300),
        off: Edge::FirstBurst,
        faults: Faults {
            burst_429: 1.0,
            burst_retry_after: (4, 4),
            ..Faults::default()
        },
        after: Faults::default(),
    };
    let o = apply_and_check(
        "g1-long",
        &sb,
        &["--max-retry-after", "2"],
        &[],
        Some(window),
    )
    .await;
    let st = &o.stats;
    line(
        "(g1) one 4 s client-wide burst, --max-retry-after 2",
        &o,
        &format!(
            "sandbox 429s {}, during_retry_after {} (requests that drew a deferral instead of \
             a pause, and deferred rows back after their own Retry-After)",
            st.too_many_requests, st.during_retry_after
        ),
    );
    assert_clean("g1", &o);
    assert!(st.burst_429s > 0, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g2_long_retry_after_on_part_of_the_traffic_defers_only_that_part() {
    let sb = sandbox(org(0)).await;
    let limited: Vec<String> = sb.user_ids().into_iter().step_by(10).collect();
    let n_limited = limited.len();
    let proxy = Proxy::start(
        &sb.url(),
        Rule::LongRetryAfter {
            limited,
            hold: Duration::from_secs(4),
        },
    )
    .await;
    let region = proxy.url();
    let o = apply_and_check(
        "g2-part",
        &sb,
        &["--max-retry-after", "2"],
        &[("GENESYSCLOUD_REGION", &region)],
        None,
    )
    .await;
    let p = &proxy.counts;
    let refused = p.refused.load(Ordering::Relaxed);
    let others = p.others_during.load(Ordering::Relaxed);
    line(
        "(g2) proxy: Retry-After up to 4 s on every 10th user's PATCH, --max-retry-after 2",
        &o,
        &format!(
            "proxy 429s {refused} for {n_limited} limited rows, back before their \
             Retry-After {}, other PATCHes done while the quota held {others}",
            p.early.load(Ordering::Relaxed)
        ),
    );
    assert_clean("g2", &o);
    assert!(
        refused >= 30,
        "part of the traffic drew the long Retry-After"
    );
    assert_eq!(
        p.early.load(Ordering::Relaxed),
        0,
        "no deferred row came back before its Retry-After"
    );
    assert!(
        others > 100, // a stalled run gives ~0; the count itself depends on the machine
        "the rest of the traffic went on while part of it was deferred"
    );
}

/// Regression (g): a row whose write landed but whose response was lost, and whose
/// re-read then drew a long Retry-After, was deferred without what it had done: at
/// the end of the run the re-read showed the change in place, so the row was reported
/// `unchanged` and the undo file missed the user. The proxy applies the PATCHes of 20
/// users but holds their responses past `--timeout 1`, then answers the first re-read
/// of each with a Retry-After of 4 s (> `--max-retry-after 2`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g_regression_a_deferred_row_keeps_the_write_that_landed() {
    let sb = sandbox(org(0)).await;
    let users: Vec<String> = sb.user_ids().into_iter().skip(5).step_by(50).collect();
    let n = users.len() as u64;
    let proxy = Proxy::start(
        &sb.url(),
        Rule::LostThenDeferred {
            users,
            hold_response: Duration::from_millis(1300),
            retry_after: 4,
        },
    )
    .await;
    let region = proxy.url();
    let o = apply_and_check(
        "g-lost-deferred",
        &sb,
        &["--max-retry-after", "2", "--timeout", "1"],
        &[("GENESYSCLOUD_REGION", &region)],
        None,
    )
    .await;
    let p = &proxy.counts;
    line(
        "(g regression) lost PATCH response, then a deferred re-read",
        &o,
        &format!(
            "responses lost {}, re-reads deferred {}",
            p.lost.load(Ordering::Relaxed),
            p.deferred_reads.load(Ordering::Relaxed)
        ),
    );
    assert_clean("g-lost-deferred", &o);
    assert_eq!(p.lost.load(Ordering::Relaxed), n);
    assert_eq!(p.deferred_reads.load(Ordering::Relaxed), n);
}

/// (a') A 5xx from a gateway after the write was applied upstream (the sandbox's own
/// 5xx are never applied, so a proxy does it): the first PATCH of every 20th user is
/// applied and answered 504. The retry with the same version gets 409; the re-read
/// shows the change in place. Regression: the row was reported `unchanged` and left
/// out of the undo file, although this run made the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regression_a_write_applied_behind_a_504_is_reported_and_undoable() {
    let sb = sandbox(org(0)).await;
    let users: Vec<String> = sb.user_ids().into_iter().skip(3).step_by(20).collect();
    let n = users.len() as u64;
    let proxy = Proxy::start(&sb.url(), Rule::AppliedThen504 { users }).await;
    let region = proxy.url();
    let o = apply_and_check(
        "a-504-applied",
        &sb,
        &[],
        &[("GENESYSCLOUD_REGION", &region)],
        None,
    )
    .await;
    line(
        "(a') 504 after the write was applied upstream",
        &o,
        &format!(
            "applied-then-504 {}, version conflicts {}",
            proxy.counts.applied_504.load(Ordering::Relaxed),
            o.stats.version_conflicts
        ),
    );
    assert_clean("a-504-applied", &o);
    assert_eq!(proxy.counts.applied_504.load(Ordering::Relaxed), n);
}

/// Regression (g): a dry run whose bulk reads drew a long Retry-After deferred its
/// rows, and the deferred rows were then run through the write path: a dry run sent
/// PATCHes. Every API request starts a 4 s burst until 100 ms after the first did (so
/// the limits and bulk reads all draw Retry-After 4 > `--max-retry-after 2`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g_regression_a_dry_run_with_deferred_reads_sends_no_writes() {
    let sb = sandbox(SandboxConfig {
        faults: Faults {
            burst_429: 1.0,
            burst_retry_after: (4, 4),
            ..Faults::default()
        },
        ..org(300)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let rows: Vec<String> = ids.iter().take(200).map(|id| format!("{id},Dry")).collect();
    let file = csv(dir.path(), "dry.csv", "id,title", &rows);
    let report = dir.path().join("report.csv");
    let args = [
        "apply",
        "--dry-run",
        s(&file),
        "--report",
        s(&report),
        "--max-retry-after",
        "2",
        // The limits read is deferred too: without --rate the pace falls back to 300/min.
        "--rate",
        "18000",
        "--output",
        "json",
    ];
    let run = genupdate_env(&sb, &args, &[]);
    tokio::pin!(run);
    let run = tokio::select! {
        r = &mut run => r,
        _ = reached(&sb, &Edge::FirstBurst) => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            sb.set_faults(Faults::default());
            run.await
        }
    };
    let stats = sb.stats();
    eprintln!(
        "RESULT (g dry-run regression): exit {}, writes {}, 429s {}",
        run.code,
        common::writes(&stats),
        stats.too_many_requests
    );
    assert!(stats.burst_429s > 0, "the reads were deferred: {stats:?}");
    assert_eq!(common::writes(&stats), 0, "a dry run never writes");
    assert_eq!(run.code, 0, "{run:?}");
    let lines = read_csv(&report);
    assert_eq!(lines.len(), 201);
    assert!(lines[1..].iter().all(|l| l[2] == "planned"), "{lines:?}");
}

/// (h) The token endpoint throttled: tokens live 3 s (renewed 0.75 s before expiry)
/// and the token endpoint allows 1 request per 2.5 s window, so every renewal is
/// first answered 400 invalid_request "rate limit exceeded" and retried with backoff
/// (the real endpoint's limit is per minute against lifetimes of minutes to hours;
/// both are scaled to seconds). 200 API requests/s (500 per 2.5 s): ~5-6 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h_token_endpoint_throttled() {
    let sb = sandbox(SandboxConfig {
        users: N,
        rate_limit: 500,
        rate_window: Duration::from_millis(2500),
        token_ttl: Duration::from_secs(3),
        token_rate_limit: 1,
        quirks: Quirks::none(),
        ..SandboxConfig::default()
    })
    .await;
    let o = apply_and_check("h-token", &sb, &[], &[], None).await;
    let st = &o.stats;
    line(
        "(h) token endpoint 1 per 2.5 s, ttl 3 s",
        &o,
        &format!(
            "token requests {}, throttled (400 rate limit exceeded) {}, issued {}, 401s {}",
            st.token_requests, st.token_rate_limited, st.tokens_issued, st.unauthorized
        ),
    );
    assert_clean("h", &o);
    assert!(st.token_rate_limited > 0, "{st:?}");
}

// --- a proxy in front of the sandbox, for what the sandbox cannot do itself -------

/// What the proxy does besides forwarding.
enum Rule {
    /// PATCHes of these users are answered 429 with the time left until `hold` after
    /// the first of them as Retry-After (a quota on part of the traffic).
    LongRetryAfter {
        limited: Vec<String>,
        hold: Duration,
    },
    /// After `after` API requests the first token is revoked, and the next `fresh`
    /// tokens are revoked the first time they are presented (a 401 for each).
    RevokeFresh { after: u64, fresh: usize },
    /// For these users the PATCH is applied but its response held back for
    /// `hold_response` (past the client's timeout: the response is lost), and the first
    /// single read of the user is answered 429 with `retry_after` seconds.
    LostThenDeferred {
        users: Vec<String>,
        hold_response: Duration,
        retry_after: u64,
    },
    /// The first PATCH of each of these users is applied upstream but answered 504,
    /// as a gateway that timed out waiting for the backend would.
    AppliedThen504 { users: Vec<String> },
}

#[derive(Default)]
struct ProxyCounts {
    /// 429s sent for the limited part of the traffic.
    refused: AtomicU64,
    /// Limited PATCHes that came back before the Retry-After they were given.
    early: AtomicU64,
    /// Other PATCHes answered 2xx while the quota was in force.
    others_during: AtomicU64,
    /// 401s sent by `RevokeFresh`.
    revoked: AtomicU64,
    /// `LostThenDeferred`: PATCH responses held back, and reads answered 429.
    lost: AtomicU64,
    deferred_reads: AtomicU64,
    /// `AppliedThen504`: applied writes answered 504.
    applied_504: AtomicU64,
}

struct Proxy {
    addr: std::net::SocketAddr,
    counts: Arc<ProxyCounts>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    rule: Rule,
    /// `LongRetryAfter`: when the quota resets (set by the first limited PATCH).
    until: std::sync::Mutex<Option<Instant>>,
    /// `LongRetryAfter`: per limited user, the end of the Retry-After it was given.
    told: std::sync::Mutex<BTreeMap<String, Instant>>,
    /// `LostThenDeferred`: users whose single read was already refused once.
    refused_reads: std::sync::Mutex<Vec<String>>,
    /// `RevokeFresh`: bearer tokens in order of first sight, and whether revoked.
    tokens: std::sync::Mutex<Vec<(String, bool)>>,
    api_requests: AtomicU64,
    counts: Arc<ProxyCounts>,
}

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

fn genesys_error(status: StatusCode, code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "status": status.as_u16(), "code": code, "message": message,
        "contextId": "proxy", "details": [], "errors": [],
    })
}

/// The user id of `/api/v2/users/{id}` (query ignored).
fn user_of(pq: &str) -> Option<&str> {
    let rest = pq.strip_prefix("/api/v2/users/")?;
    let id = rest.split('?').next()?;
    (!id.contains('/') && id != "bulk").then_some(id)
}

impl ProxyState {
    /// The answer the rule gives instead of forwarding, if any.
    fn intercept(&self, method: &Method, pq: &str, bearer: Option<&str>) -> Option<Response> {
        let now = Instant::now();
        match &self.rule {
            Rule::LongRetryAfter { limited, hold } => {
                let user = user_of(pq)?;
                if method != Method::PATCH || !limited.iter().any(|l| l == user) {
                    return None;
                }
                if self
                    .told
                    .lock()
                    .unwrap()
                    .get(user)
                    .is_some_and(|d| now < *d)
                {
                    self.counts.early.fetch_add(1, Ordering::Relaxed);
                }
                let until = *self.until.lock().unwrap().get_or_insert(now + *hold);
                if now >= until {
                    return None;
                }
                let secs = (until - now).as_secs_f64().ceil().max(1.0) as u64;
                self.told
                    .lock()
                    .unwrap()
                    .insert(user.to_string(), now + Duration::from_secs(secs));
                self.counts.refused.fetch_add(1, Ordering::Relaxed);
                let msg = format!(
                    "Rate limit exceeded the maximum. Retry the request in [{secs}] seconds"
                );
                let body = genesys_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too.many.requests.retry.after",
                    &msg,
                );
                Some(
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", secs.to_string())],
                        axum::Json(body),
                    )
                        .into_response(),
                )
            }
            Rule::LostThenDeferred {
                users, retry_after, ..
            } => {
                let user = user_of(pq)?;
                if method != Method::GET || !users.iter().any(|u| u == user) {
                    return None;
                }
                let mut refused = self.refused_reads.lock().unwrap();
                if refused.iter().any(|u| u == user) {
                    return None;
                }
                refused.push(user.to_string());
                self.counts.deferred_reads.fetch_add(1, Ordering::Relaxed);
                let msg = format!(
                    "Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
                );
                let body = genesys_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too.many.requests.retry.after",
                    &msg,
                );
                Some(
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", retry_after.to_string())],
                        axum::Json(body),
                    )
                        .into_response(),
                )
            }
            Rule::AppliedThen504 { .. } => None,
            Rule::RevokeFresh { after, fresh } => {
                if !pq.starts_with("/api/v2/") {
                    return None;
                }
                let n = self.api_requests.fetch_add(1, Ordering::Relaxed) + 1;
                let bearer = bearer?.to_string();
                let mut tokens = self.tokens.lock().unwrap();
                let i = match tokens.iter().position(|(t, _)| *t == bearer) {
                    Some(i) => i,
                    None => {
                        tokens.push((bearer, false));
                        tokens.len() - 1
                    }
                };
                let revoke_now = (i == 0 && n > *after) || (1..=*fresh).contains(&i);
                if revoke_now {
                    tokens[i].1 = true;
                }
                if !tokens[i].1 {
                    return None;
                }
                self.counts.revoked.fetch_add(1, Ordering::Relaxed);
                let body = genesys_error(
                    StatusCode::UNAUTHORIZED,
                    "bad.credentials",
                    "Invalid login credentials.",
                );
                Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())
            }
        }
    }
}

async fn forward(State(st): State<Arc<ProxyState>>, req: Request) -> Response {
    let method = req.method().clone();
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    if let Some(r) = st.intercept(&method, &pq, bearer.as_deref()) {
        return r;
    }
    let quota = *st.until.lock().unwrap();
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 24)
        .await
        .unwrap_or_default();
    let mut out = st
        .http
        .request(parts.method.clone(), format!("{}{pq}", st.upstream))
        .body(bytes.to_vec());
    for name in ["authorization", "content-type", "accept"] {
        if let Some(v) = parts.headers.get(name) {
            out = out.header(name, v.as_bytes());
        }
    }
    let Ok(resp) = out.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = resp.status();
    if method == Method::PATCH && status.is_success() && quota.is_some_and(|q| started < q) {
        st.counts.others_during.fetch_add(1, Ordering::Relaxed);
    }
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap_or_default();
    if let Rule::LostThenDeferred {
        users,
        hold_response,
        ..
    } = &st.rule
        && method == Method::PATCH
        && user_of(&pq).is_some_and(|u| users.iter().any(|x| x == u))
    {
        st.counts.lost.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(*hold_response).await;
    }
    if let Rule::AppliedThen504 { users } = &st.rule
        && method == Method::PATCH
        && status.is_success()
        && let Some(u) = user_of(&pq).filter(|u| users.iter().any(|x| x == u))
    {
        let mut seen = st.refused_reads.lock().unwrap();
        if !seen.iter().any(|x| x == u) {
            seen.push(u.to_string());
            st.counts.applied_504.fetch_add(1, Ordering::Relaxed);
            let body = genesys_error(
                StatusCode::GATEWAY_TIMEOUT,
                "gateway.timeout",
                "The request timed out.",
            );
            return (StatusCode::GATEWAY_TIMEOUT, axum::Json(body)).into_response();
        }
    }
    let mut r = (status, body.to_vec()).into_response();
    for name in ["retry-after", "inin-correlation-id", "content-type"] {
        if let Some(v) = headers.get(name) {
            r.headers_mut().insert(name, v.clone());
        }
    }
    r
}

impl Proxy {
    async fn start(upstream: &str, rule: Rule) -> Proxy {
        let counts = Arc::new(ProxyCounts::default());
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            rule,
            until: std::sync::Mutex::new(None),
            told: std::sync::Mutex::new(BTreeMap::new()),
            tokens: std::sync::Mutex::new(Vec::new()),
            refused_reads: std::sync::Mutex::new(Vec::new()),
            api_requests: AtomicU64::new(0),
            counts: counts.clone(),
        });
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy { addr, counts, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
