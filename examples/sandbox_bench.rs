//! Throughput of the sandbox with limits off: N concurrent workers, each reading
//! its users 100 at a time (`GET /api/v2/users?id=...`) and then PATCHing some of
//! them with the version just read, as `genupdate apply` does.
//!
//!     cargo run --release --example sandbox_bench -- [--workers 16] [--secs 10]
//!         [--users 100000] [--patches-per-read 10] [--url http://127.0.0.1:PORT]
//!
//! Without `--url` the sandbox runs in this process (same runtime, same 2 cores as
//! the client, which makes the number conservative). With `--url`, start one first:
//! `genupdate sandbox --rate-limit 0 --users 100000`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use genesys_sandbox::{Quirks, Sandbox, SandboxConfig};
use serde_json::{Value, json};

struct Opts {
    workers: usize,
    secs: u64,
    users: usize,
    patches_per_read: usize,
    url: Option<String>,
}

fn opts() -> Opts {
    let mut o = Opts {
        workers: 16,
        secs: 10,
        users: 100_000,
        patches_per_read: 10,
        url: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--workers" => o.workers = v.parse().expect("--workers N"),
            "--secs" => o.secs = v.parse().expect("--secs N"),
            "--users" => o.users = v.parse().expect("--users N"),
            "--patches-per-read" => o.patches_per_read = v.parse().expect("--patches-per-read N"),
            "--url" => o.url = Some(v),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

#[derive(serde::Deserialize)]
struct Slim {
    id: String,
    version: i64,
}

#[derive(serde::Deserialize)]
struct Page {
    entities: Vec<Slim>,
}

#[derive(Default)]
struct Tally {
    requests: u64,
    by_status: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, what: &str, status: u16) {
        self.requests += 1;
        *self
            .by_status
            .entry(format!("{what} {status}"))
            .or_default() += 1;
    }
}

#[tokio::main]
async fn main() {
    let o = opts();
    let (url, ids, _sandbox) = match &o.url {
        None => {
            let sb = Sandbox::start(SandboxConfig {
                users: o.users,
                quirks: Quirks::none(),
                ..SandboxConfig::unlimited()
            })
            .await
            .expect("sandbox starts");
            (sb.url(), sb.user_ids(), Some(sb))
        }
        Some(url) => (url.clone(), Vec::new(), None),
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(o.workers)
        .build()
        .unwrap();
    let token: Value = http
        .post(format!("{url}/oauth/token"))
        .basic_auth("sandbox-client", Some("sandbox-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let ids = if ids.is_empty() {
        fetch_ids(&http, &url, &token, o.users).await
    } else {
        ids
    };
    let ids = Arc::new(ids);
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..o.workers {
        let (http, url, token, ids, stop) = (
            http.clone(),
            url.clone(),
            token.clone(),
            ids.clone(),
            stop.clone(),
        );
        let ppr = o.patches_per_read;
        tasks.push(tokio::spawn(async move {
            worker(w, &http, &url, &token, &ids, ppr, &stop).await
        }));
    }
    tokio::time::sleep(Duration::from_secs(o.secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for t in tasks {
        let t = t.await.unwrap();
        total.requests += t.requests;
        for (k, v) in t.by_status {
            *total.by_status.entry(k).or_default() += v;
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    println!(
        "sandbox_bench: {} workers, {} users, 1 bulk read (100 ids) per {} PATCHes, {:.1} s",
        o.workers, o.users, o.patches_per_read, elapsed
    );
    for (k, v) in &total.by_status {
        println!("  {k}: {v}");
    }
    println!(
        "  {} requests, {:.0} requests/s",
        total.requests,
        total.requests as f64 / elapsed
    );
}

async fn fetch_ids(http: &reqwest::Client, url: &str, token: &str, users: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page = 1;
    while ids.len() < users {
        let v: Value = http
            .get(format!(
                "{url}/api/v2/users?pageSize=500&pageNumber={page}&state=any"
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let got = v["entities"].as_array().unwrap();
        if got.is_empty() {
            break;
        }
        ids.extend(got.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        page += 1;
    }
    ids
}

async fn worker(
    w: usize,
    http: &reqwest::Client,
    url: &str,
    token: &str,
    ids: &[String],
    patches_per_read: usize,
    stop: &AtomicBool,
) -> Tally {
    let mut tally = Tally::default();
    // Each worker walks its own slice of the org, so PATCHes rarely conflict.
    let mut next = (w * 7919 * 100) % ids.len().max(1);
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let batch: Vec<&String> = (0..100).map(|k| &ids[(next + k) % ids.len()]).collect();
        next = (next + 100) % ids.len();
        let query: String = batch.iter().map(|id| format!("id={id}&")).collect();
        let r = http
            .get(format!("{url}/api/v2/users?{query}pageSize=100&state=any"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        tally.add("GET /api/v2/users?id=...", r.status().as_u16());
        // Only id and version matter here; parsing whole users would measure the client.
        let page: Page = r.json().await.unwrap();
        for u in page.entities.iter().take(patches_per_read) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            n += 1;
            let id = &u.id;
            let r = http
                .patch(format!("{url}/api/v2/users/{id}"))
                .bearer_auth(token)
                .json(&json!({"version": u.version, "title": format!("Bench {w}-{n}")}))
                .send()
                .await
                .unwrap();
            tally.add("PATCH /api/v2/users/{id}", r.status().as_u16());
            let _ = r.bytes().await;
        }
    }
    tally
}
