//! The apply benchmark: genupdate against the sandbox at several sizes and limits,
//! next to a naive client, with the numbers admins choose a tool by.
//!
//! Run: `cargo bench --bench apply` (all scenarios, ~10 minutes), or
//! `cargo bench --bench apply -- quick` (the 1,000-row scenario only), or
//! `cargo bench --bench apply -- memory` (1,000,000 rows with limits off: peak RSS of
//! apply and of validate), or `cargo bench --bench apply -- pace` (2,000 rows at 100
//! requests per 2 s with 20 ms latency, then the same with faults on, checking every
//! user afterwards), or `cargo bench --bench apply -- sync` (a 20,000-user org, a
//! CSV of profile columns listing every user with 1% changed, keyed by id and then
//! by email, at the sandbox's default pace: the whole-org scan against the ideal of
//! one write per changed row plus one read per 500 users), or
//! `cargo bench --bench apply -- memberships` (`MEMBER_USERS` users, default 1,000,
//! each added to the same three queues at the sandbox's default pace, then the same
//! file again: member writes and reads against their bounds, requests per changed
//! membership).
//!
//! The sandbox runs in this process; genupdate runs as a child process (the real
//! binary) so its peak RSS and CPU time are its own, read with wait4(2).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use genesys_sandbox::{Faults, Quirks, Sandbox, SandboxConfig};

struct Scenario {
    rows: usize,
    limit: u32,
    window_secs: u64,
    concurrency: usize,
}

struct Measured {
    requests: u64,
    too_many: u64,
    during_retry_after: u64,
    wall: Duration,
    rss_mib: f64,
    cpu: Duration,
    exit: i32,
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mode = args.first().map(String::as_str).unwrap_or("all");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match mode {
        "memory" => rt.block_on(memory()),
        "quick" | "1k" => rt.block_on(table(&SCENARIOS[..1])),
        "10k" => rt.block_on(table(&SCENARIOS[1..2])),
        "100k" => rt.block_on(table(&SCENARIOS[2..])),
        "pace" => rt.block_on(pace_and_faults()),
        "sync" => rt.block_on(sync()),
        "memberships" => rt.block_on(memberships()),
        _ => rt.block_on(table(SCENARIOS)),
    }
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        rows: 1_000,
        limit: 100,
        window_secs: 2,
        concurrency: 8,
    },
    Scenario {
        rows: 10_000,
        limit: 1_000,
        window_secs: 2,
        concurrency: 32,
    },
    Scenario {
        rows: 100_000,
        limit: 2_000,
        window_secs: 2,
        concurrency: 64,
    },
];

async fn table(scenarios: &[Scenario]) {
    println!(
        "| rows | limit | requests | req/row | 429s | in Retry-After | wall s | ideal s | efficiency | naive wall s | speed-up | peak RSS MiB | CPU s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for sc in scenarios {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = SandboxConfig {
            users: sc.rows,
            rate_limit: sc.limit,
            rate_window: Duration::from_secs(sc.window_secs),
            faults: Faults {
                latency: Duration::from_millis(20),
                ..Faults::default()
            },
            quirks: Quirks::none(),
            ..SandboxConfig::default()
        };
        let sb = Sandbox::start(cfg.clone()).await.expect("sandbox");
        let file = dir.path().join("bench.csv");
        write_csv(&file, &sb.user_ids(), "Benchmarked");
        let g = run_genupdate(&sb, &file, sc.concurrency).await;
        sb.shutdown().await;

        let rate = sc.limit as f64 / sc.window_secs as f64;
        let needed = sc.rows as f64 + (sc.rows as f64 / 100.0).ceil();
        let ideal = needed / rate;

        let sb = Sandbox::start(cfg).await.expect("sandbox");
        let naive_wall = naive(&sb, sc.concurrency).await;
        sb.shutdown().await;

        println!(
            "| {} | {}/{}s | {} | {:.3} | {} | {} | {:.1} | {:.1} | {:.3} | {:.1} | {:.2}x | {:.1} | {:.1} |{}",
            sc.rows,
            sc.limit,
            sc.window_secs,
            g.requests,
            g.requests as f64 / sc.rows as f64,
            g.too_many,
            g.during_retry_after,
            g.wall.as_secs_f64(),
            ideal,
            ideal / g.wall.as_secs_f64(),
            naive_wall.as_secs_f64(),
            naive_wall.as_secs_f64() / g.wall.as_secs_f64(),
            g.rss_mib,
            g.cpu.as_secs_f64(),
            if g.exit == 0 {
                String::new()
            } else {
                format!(" exit {}", g.exit)
            }
        );
    }
}

async fn pace_and_faults() {
    let rows = 2_000;
    for faulty in [false, true] {
        let faults = if faulty {
            Faults {
                error_5xx: 0.03,
                drop_before: 0.01,
                drop_after_write: 0.01,
                concurrent_writer: 0.05,
                revoke_token: 0.002,
                latency: Duration::from_millis(20),
                ..Faults::default()
            }
        } else {
            Faults {
                latency: Duration::from_millis(20),
                ..Faults::default()
            }
        };
        let cfg = SandboxConfig {
            users: rows,
            rate_limit: 100,
            rate_window: Duration::from_secs(2),
            token_ttl: if faulty {
                Duration::from_secs(5)
            } else {
                Duration::from_secs(86_400)
            },
            faults,
            quirks: Quirks::none(),
            ..SandboxConfig::default()
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let sb = Sandbox::start(cfg).await.expect("sandbox");
        let file = dir.path().join("pace.csv");
        let ids = sb.user_ids();
        write_csv(&file, &ids, "Paced");
        let g = run_genupdate(&sb, &file, 8).await;
        let wrong = ids
            .iter()
            .enumerate()
            .filter(|(i, id)| {
                sb.user(id)
                    .and_then(|u| u["title"].as_str().map(str::to_string))
                    != Some(format!("Paced {i}"))
            })
            .count();
        let max_writes = sb
            .stats()
            .writes_per_user
            .values()
            .copied()
            .max()
            .unwrap_or(0);
        let ideal = (rows as f64 + (rows as f64 / 100.0).ceil()) / 50.0;
        println!(
            "{} {rows} rows at 100/2s, 20 ms: exit {}, {} requests, {} 429s ({:.2} per 1,000), {} in Retry-After, \
             {:.1} s wall vs {:.1} s ideal (efficiency {:.3}), users wrong {wrong}, max writes per user {max_writes}, tokens {}",
            if faulty { "faults on: " } else { "faults off:" },
            g.exit,
            g.requests,
            g.too_many,
            g.too_many as f64 * 1000.0 / g.requests.max(1) as f64,
            g.during_retry_after,
            g.wall.as_secs_f64(),
            ideal,
            ideal / g.wall.as_secs_f64(),
            sb.stats().tokens_issued,
        );
        sb.shutdown().await;
    }
}

async fn memory() {
    let rows = 1_000_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = Sandbox::start(SandboxConfig {
        users: rows,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    })
    .await
    .expect("sandbox");
    let file = dir.path().join("million.csv");
    write_csv(&file, &sb.user_ids(), "Million");
    let v = measure(
        std::process::Command::new(env!("CARGO_BIN_EXE_genupdate"))
            .arg("validate")
            .arg(&file),
    )
    .await;
    println!(
        "validate {rows} rows: {:.2} s wall, {:.1} MiB peak RSS, exit {}",
        v.1.as_secs_f64(),
        v.0.rss_mib,
        v.0.exit
    );
    let g = run_genupdate(&sb, &file, 32).await;
    println!(
        "apply {rows} rows (limits off): {:.1} s wall, {} requests, {:.1} MiB peak RSS, {:.1} s CPU, exit {}",
        g.wall.as_secs_f64(),
        g.requests,
        g.rss_mib,
        g.cpu.as_secs_f64(),
        g.exit
    );
}

/// A nightly whole-org sync: every user listed, 1% changed, keyed by id then by email.
async fn sync() {
    let users = std::env::var("SYNC_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000usize);
    let cfg = SandboxConfig {
        users,
        quirks: Quirks::none(),
        ..SandboxConfig::default()
    };
    let changed = users / 100;
    let ideal_requests = changed as f64 + (users as f64 / 500.0).ceil();
    let rate = cfg.rate_limit as f64 / cfg.rate_window.as_secs_f64();
    println!(
        "| key | users | changed | requests | ideal requests | bound (1.1x) | wall s | ideal s | exit |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for key in ["id", "email"] {
        let sb = Sandbox::start(cfg.clone()).await.expect("sandbox");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("sync.csv");
        let mut text = format!("{key},name,title,department\n");
        for (i, id) in sb.user_ids().iter().enumerate() {
            let u = sb.user(id).expect("seeded user");
            let field = |k: &str| u[k].as_str().unwrap_or_default().to_string();
            let title = if i % 100 == 0 {
                format!("Synced {i}")
            } else {
                field("title")
            };
            let k = if key == "id" {
                id.clone()
            } else {
                field("email")
            };
            text.push_str(&format!(
                "{k},{},{title},{}\n",
                field("name"),
                field("department")
            ));
        }
        std::fs::write(&file, text).expect("write the CSV");
        sb.reset_stats();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_genupdate"));
        cmd.args(["apply", "--quiet", "--key", key])
            .arg(&file)
            .env("GENESYSCLOUD_REGION", sb.url())
            .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox-client")
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox-secret");
        let (m, wall) = measure(&mut cmd).await;
        let requests = sb.stats().requests;
        println!(
            "| {key} | {users} | {changed} | {requests} | {ideal_requests} | {:.0} | {:.1} | {:.1} | {} |",
            1.1 * ideal_requests,
            wall.as_secs_f64(),
            ideal_requests / rate,
            m.exit
        );
        sb.shutdown().await;
    }
}

async fn memberships() {
    let users = std::env::var("MEMBER_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000usize);
    let cfg = SandboxConfig {
        users,
        quirks: Quirks::none(),
        ..SandboxConfig::default()
    };
    let sb = Sandbox::start(cfg).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("members.csv");
    let ids = sb.writable_user_ids();
    let queues = ["Support", "Sales Inbound", "Billing"];
    let before: usize = queues
        .iter()
        .map(|q| {
            sb.queue_member_ids(&sb.queue_id(q).expect("seeded queue"))
                .len()
        })
        .sum();
    let mut text = String::from("id,queues:add\n");
    for id in &ids {
        text.push_str(&format!("{id},{}\n", queues.join(";")));
    }
    std::fs::write(&file, text).expect("write the CSV");
    println!(
        "| run | users | memberships changed | requests | member writes (bound) | member-list reads (bound) | lookups | requests per changed membership | wall s | peak RSS MiB | exit |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for run in ["first", "again"] {
        sb.reset_stats();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_genupdate"));
        cmd.args(["apply", "--quiet"])
            .arg(&file)
            .env("GENESYSCLOUD_REGION", sb.url())
            .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox-client")
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox-secret");
        let (m, wall) = measure(&mut cmd).await;
        let st = sb.stats();
        let count = |prefix: &str| -> u64 {
            st.by_route
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, v)| *v)
                .sum()
        };
        let writes = count("POST /api/v2/routing/queues/{queueId}/members")
            + count("PATCH /api/v2/routing/queues/{queueId}/members");
        let reads = count("GET /api/v2/routing/queues/{queueId}/members");
        let lookups = count("GET /api/v2/routing/queues ");
        let after: usize = queues
            .iter()
            .map(|q| {
                sb.queue_member_ids(&sb.queue_id(q).expect("seeded queue"))
                    .len()
            })
            .sum();
        let pages: usize = queues
            .iter()
            .map(|q| {
                sb.queue_member_ids(&sb.queue_id(q).expect("seeded queue"))
                    .len()
                    .div_ceil(100)
            })
            .sum();
        let changed = if run == "first" { after - before } else { 0 };
        let per = if changed > 0 {
            format!("{:.3}", st.requests as f64 / changed as f64)
        } else {
            "-".into()
        };
        println!(
            "| {run} | {} | {changed} | {} | {writes} ({}) | {reads} ({}) | {lookups} | {per} | {:.1} | {:.1} | {} |",
            ids.len(),
            st.requests,
            3 * ids.len().div_ceil(100),
            2 * pages,
            wall.as_secs_f64(),
            m.rss_mib,
            m.exit
        );
    }
    sb.shutdown().await;
}

fn write_csv(path: &Path, ids: &[String], title: &str) {
    let mut text = String::with_capacity(ids.len() * 60);
    text.push_str("id,title\n");
    for (i, id) in ids.iter().enumerate() {
        text.push_str(&format!("{id},{title} {i}\n"));
    }
    std::fs::write(path, text).expect("write the CSV");
}

async fn run_genupdate(sb: &Sandbox, file: &Path, concurrency: usize) -> Measured {
    sb.reset_stats();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_genupdate"));
    cmd.args([
        "apply",
        "--quiet",
        "--concurrency",
        &concurrency.to_string(),
    ])
    .arg(file)
    .env("GENESYSCLOUD_REGION", sb.url())
    .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox-client")
    .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox-secret");
    let (mut m, wall) = measure(&mut cmd).await;
    let stats = sb.stats();
    m.requests = stats.requests;
    m.too_many = stats.too_many_requests;
    m.during_retry_after = stats.during_retry_after;
    m.wall = wall;
    m
}

/// Run a child to completion: CPU time from wait4(2), peak RSS from the child's own
/// `VmHWM`, polled until it exits. (wait4's `ru_maxrss` is no use here: Linux carries
/// the parent's RSS at fork across exec, and the parent holds the whole sandbox.)
#[allow(clippy::zombie_processes)] // the child is reaped with wait4(2), not Child::wait
async fn measure(cmd: &mut std::process::Command) -> (Measured, Duration) {
    let started = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn genupdate");
    let pid = child.id() as libc::pid_t;
    let status_file = format!("/proc/{pid}/status");
    let peak_kib = Arc::new(AtomicU64::new(0));
    let poll = {
        let peak_kib = peak_kib.clone();
        tokio::spawn(async move {
            loop {
                if let Some(kib) = std::fs::read_to_string(&status_file)
                    .ok()
                    .and_then(|s| vm_hwm_kib(&s))
                {
                    peak_kib.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let (status, usage) = tokio::task::spawn_blocking(move || {
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our own child, not yet reaped; both pointers are valid.
        unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        (status, usage)
    })
    .await
    .expect("wait4");
    poll.abort();
    let wall = started.elapsed();
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (
        Measured {
            requests: 0,
            too_many: 0,
            during_retry_after: 0,
            wall,
            rss_mib: peak_kib.load(Ordering::Relaxed) as f64 / 1024.0,
            cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
            exit,
        },
        wall,
    )
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What the tutorials do: a fixed pool of workers, one GET and one PATCH per user,
/// each worker sleeping its own Retry-After on a 429; no shared pacing.
async fn naive(sb: &Sandbox, workers: usize) -> Duration {
    let http = reqwest::Client::new();
    let base = sb.url();
    let token: serde_json::Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("sandbox-client", Some("sandbox-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = Arc::new(
        token["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    let ids = Arc::new(sb.user_ids());
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (http, base, token, ids, next, done) = (
            http.clone(),
            base.clone(),
            token.clone(),
            ids.clone(),
            next.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(id) = ids.get(i) else { break };
                let user: serde_json::Value = loop {
                    let r = http
                        .get(format!("{base}/api/v2/users/{id}"))
                        .bearer_auth(&*token)
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 429 => sleep_retry_after(&r).await,
                        Ok(r) if r.status().is_success() => {
                            break r.json().await.unwrap_or_default();
                        }
                        _ => tokio::time::sleep(Duration::from_secs(1)).await,
                    }
                };
                let version = user["version"].as_i64().unwrap_or(1);
                loop {
                    let body =
                        serde_json::json!({ "title": format!("Naive {i}"), "version": version });
                    let r = http
                        .patch(format!("{base}/api/v2/users/{id}"))
                        .bearer_auth(&*token)
                        .json(&body)
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 429 => sleep_retry_after(&r).await,
                        Ok(_) => break,
                        Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    started.elapsed()
}

async fn sleep_retry_after(r: &reqwest::Response) {
    let secs = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1);
    tokio::time::sleep(Duration::from_secs(secs)).await;
}
