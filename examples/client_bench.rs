//! How close the client gets to a rate limit without breaking it, measured against
//! the in-process sandbox (20 ms latency, limits per 2 s window).
//!
//! Scenario 1: token limit 100 per 2 s, reported by the limits endpoint; 2,000
//! requests (one bulk GET of 10 users, then a PATCH of each) from 8 workers through
//! one Client; tokens live 10 s so renewals happen during the run.
//! Scenario 2: a user-endpoint limit of 60 per 2 s that the limits endpoint does not
//! report, under the same token limit; once with the 429 `limit` object, once without.
//!
//! Run: cargo run --release --example client_bench [-- REQUESTS [SCENARIO...]]
//! (SCENARIO is 1, 2a or 2b; all three by default.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use genesys_sandbox::{Faults, Quirks, Sandbox, SandboxConfig};
use genupdate::client::{Client, ClientConfig, renew_margin};
use genupdate::config::{Credentials, resolve_region};
use genupdate::secret::Secret;

type Error = Box<dyn std::error::Error + Send + Sync>;

const WINDOW: Duration = Duration::from_secs(2);
const WORKERS: usize = 8;

struct Scenario {
    name: &'static str,
    user_limit: u32,
    omit_limit: bool,
    requests: u64,
    token_ttl: Duration,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let requests: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let scenarios = [
        Scenario {
            name: "1: token limit 100/2s, known from the limits endpoint",
            user_limit: 0,
            omit_limit: false,
            requests,
            token_ttl: Duration::from_secs(10),
        },
        Scenario {
            name: "2a: unreported user limit 60/2s, 429 carries `limit`",
            user_limit: 60,
            omit_limit: false,
            requests: requests * 3 / 4,
            token_ttl: Duration::from_secs(86_400),
        },
        Scenario {
            name: "2b: unreported user limit 60/2s, 429 without `limit`",
            user_limit: 60,
            omit_limit: true,
            requests: requests * 3 / 4,
            token_ttl: Duration::from_secs(86_400),
        },
    ];
    let only: Vec<String> = std::env::args().skip(2).collect();
    for s in &scenarios {
        let id = s.name.split(':').next().unwrap_or_default();
        if only.is_empty() || only.iter().any(|o| o == id) {
            run(s).await?;
        }
    }
    Ok(())
}

async fn run(sc: &Scenario) -> Result<(), Error> {
    let sb = Sandbox::start(SandboxConfig {
        rate_limit: 100,
        rate_window: WINDOW,
        user_rate_limit: sc.user_limit,
        report_user_limit: false,
        omit_limit_in_429: sc.omit_limit,
        token_ttl: sc.token_ttl,
        faults: Faults {
            latency: Duration::from_millis(20),
            ..Faults::default()
        },
        quirks: Quirks::none(),
        ..SandboxConfig::default()
    })
    .await?;
    let creds = Credentials::ClientCredentials {
        client_id: "sandbox-client".into(),
        client_secret: Secret::new("sandbox-secret"),
    };
    let cfg = ClientConfig::new(resolve_region(&sb.url(), false)?, creds);
    let client = Client::connect(cfg).await?;
    let binding = if sc.user_limit > 0 {
        sc.user_limit
    } else {
        100
    };
    let limit_per_s = binding as f64 / WINDOW.as_secs_f64();
    let ids = sb.user_ids();
    let before = sb.stats();
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();

    // Sample the governor's rate to see when it settles under the binding limit.
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sampler = {
        let c = client.clone();
        let samples = samples.clone();
        tokio::spawn(async move {
            loop {
                let sample = (
                    start.elapsed(),
                    c.rate_per_minute(),
                    c.stats().too_many_requests,
                );
                if let Ok(mut v) = samples.lock() {
                    v.push(sample);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let c = client.clone();
        let sent = sent.clone();
        let mine: Vec<String> = ids.iter().skip(w).step_by(WORKERS).cloned().collect();
        let total = sc.requests;
        tasks.push(tokio::spawn(async move {
            let take = |n: u64| sent.fetch_add(n, Ordering::SeqCst) < total;
            let mut at = 0usize;
            let mut n = 0u64;
            while take(1) {
                let chunk: Vec<String> = (0..10)
                    .map(|k| mine[(at + k) % mine.len()].clone())
                    .collect();
                at += 10;
                for u in c.get_users(&chunk, &[]).await? {
                    if !take(1) {
                        break;
                    }
                    n += 1;
                    c.patch_user(
                        &u.id,
                        &json!({"version": u.version, "title": format!("Bench {n}")}),
                    )
                    .await?;
                }
            }
            Ok::<(), genupdate::client::ApiError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = start.elapsed();
    sampler.abort();
    let samples: Vec<(Duration, f64, u64)> = samples.lock().map(|v| v.clone()).unwrap_or_default();

    let s = sb.stats();
    let cs = client.stats();
    let api = (s.requests - s.token_requests) - (before.requests - before.token_requests);
    let achieved = api as f64 / elapsed.as_secs_f64();
    let tpr = s.too_many_requests - before.too_many_requests;
    println!("== scenario {}", sc.name);
    println!(
        "   {api} API requests in {:.1} s: {achieved:.2}/s = {:.1}% of the binding limit ({limit_per_s:.0}/s)",
        elapsed.as_secs_f64(),
        100.0 * achieved / limit_per_s
    );
    println!(
        "   429s: {tpr} = {:.2} per 1,000 requests ({:.2}%); arrived during a Retry-After: {}",
        1000.0 * tpr as f64 / api as f64,
        100.0 * tpr as f64 / api as f64,
        s.during_retry_after
    );
    let lifetime = sc.token_ttl;
    let renew_every = lifetime - renew_margin(lifetime);
    let expected = 1 + (elapsed.as_secs_f64() / renew_every.as_secs_f64()).floor() as u64;
    println!(
        "   tokens: {} requested, {} issued, {} API 401s; lifetime {} s renewed every {:.1} s -> expected {expected}",
        s.token_requests,
        s.tokens_issued,
        s.unauthorized,
        lifetime.as_secs(),
        renew_every.as_secs_f64()
    );
    let limit_per_min = limit_per_s * 60.0;
    let first_429 = samples.iter().find(|x| x.2 > 0).map(|x| x.0);
    let settled = samples.iter().find(|x| x.1 <= limit_per_min).map(|x| x.0);
    let above_after = settled.map_or(0, |t| {
        samples
            .iter()
            .filter(|x| x.0 > t && x.1 > limit_per_min)
            .count()
    });
    let probe_429s = first_429.zip(settled).map_or(tpr, |(_, t)| {
        let at = samples.iter().find(|x| x.0 >= t).map_or(0, |x| x.2);
        tpr.saturating_sub(at)
    });
    println!(
        "   governor: final {:.0}/min (limit {:.0}/min); first 429 at {}; under the limit from {} ({}); \
         {} samples above it afterwards; 429s after settling: {probe_429s}; retries {}",
        client.rate_per_minute(),
        limit_per_min,
        fmt_t(first_429),
        fmt_t(settled),
        match (first_429, settled) {
            (Some(a), Some(b)) if b >= a => format!(
                "{:.1} windows after the first 429",
                (b - a).as_secs_f64() / WINDOW.as_secs_f64()
            ),
            _ => "from the start".to_string(),
        },
        above_after,
        cs.retries
    );
    sb.shutdown().await;
    Ok(())
}

fn fmt_t(t: Option<Duration>) -> String {
    t.map_or("-".into(), |t| format!("{:.2} s", t.as_secs_f64()))
}
