//! Shared helpers for the integration tests: a sandbox on port 0, the real binary
//! pointed at it, and small CSV files in a temporary directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use genupdate::sandbox::{Sandbox, SandboxConfig, SandboxStats};

/// The output of one run of the real binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub async fn sandbox(cfg: SandboxConfig) -> Sandbox {
    Sandbox::start(cfg).await.expect("the sandbox starts on a free loopback port")
}

/// Run `genupdate ARGS` with the environment pointing at `sb`.
pub async fn genupdate(sb: &Sandbox, args: &[&str]) -> Run {
    genupdate_env(sb, args, &[]).await
}

pub async fn genupdate_env(sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_genupdate"));
    cmd.args(args)
        .env("GENESYSCLOUD_REGION", sb.url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox-client")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox-secret")
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("the genupdate binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Write `header` and `rows` (already CSV-formatted lines) to `dir/name`.
pub fn csv(dir: &Path, name: &str, header: &str, rows: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut text = format!("{header}\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write the test CSV");
    path
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Requests by route-and-status whose key starts with `prefix` (e.g. "PATCH ").
pub fn count(stats: &SandboxStats, prefix: &str) -> u64 {
    stats.by_route.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| *v).sum()
}

/// Every write the sandbox answered (PATCH, PUT, DELETE), whatever the status.
pub fn writes(stats: &SandboxStats) -> u64 {
    count(stats, "PATCH ") + count(stats, "PUT ") + count(stats, "DELETE ")
}

/// Parse a report CSV into rows of cells (header included).
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_path(path).expect("open the CSV");
    r.records().map(|rec| rec.expect("a CSV record").iter().map(str::to_string).collect()).collect()
}
