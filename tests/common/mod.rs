//! Helpers shared by the integration tests: start a sandbox on port 0, talk to it
//! over HTTP as a client would, or point the real binary at it.
#![allow(dead_code)]

use genesys_sandbox::{Quirks, Sandbox, SandboxConfig};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

pub const ID: &str = "sandbox-client";
pub const SECRET: &str = "sandbox-secret";

/// A small unlimited org unless the test says otherwise.
pub fn small() -> SandboxConfig {
    SandboxConfig {
        users: 60,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    }
}

pub struct Api {
    pub sb: Sandbox,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn start(cfg: SandboxConfig) -> Api {
    let sb = Sandbox::start(cfg).await.expect("sandbox starts");
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let mut api = Api {
        sb,
        http,
        token: String::new(),
    };
    api.token = api.login().await;
    api
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sb.url())
    }

    /// A fresh token (client credentials, Basic auth).
    pub async fn login(&self) -> String {
        let r = self
            .http
            .post(self.url("/oauth/token"))
            .basic_auth(ID, Some(SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.try_send(method, path, body).await.expect("a response")
    }

    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Result<Response> {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        json(self.send(Method::GET, path, None).await).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        json(self.send(Method::PATCH, path, Some(body)).await).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        json(self.send(Method::PUT, path, Some(body)).await).await
    }

    pub async fn delete(&self, path: &str) -> StatusCode {
        self.send(Method::DELETE, path, None).await.status()
    }

    pub fn ids(&self) -> Vec<String> {
        self.sb.user_ids()
    }

    /// The current version of a user, read in process.
    pub fn version(&self, id: &str) -> i64 {
        self.sb.user(id).unwrap()["version"].as_i64().unwrap()
    }
}

pub async fn json(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

/// Assert the Genesys error shape and return the body.
pub fn assert_error(status: StatusCode, body: &Value, want: u16, code: &str) {
    assert_eq!(status.as_u16(), want, "{body}");
    assert_eq!(body["status"], want, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert!(body["contextId"].is_string(), "{body}");
    assert_eq!(body["details"], serde_json::json!([]), "{body}");
    assert_eq!(body["errors"], serde_json::json!([]), "{body}");
}

/// A sandbox user read back in process as the client's model, to compare with what
/// the client sent. (The sandbox itself knows only JSON documents.)
pub trait ModelUser {
    fn model_user(&self, id: &str) -> Option<genupdate::model::User>;
}

impl ModelUser for Sandbox {
    fn model_user(&self, id: &str) -> Option<genupdate::model::User> {
        self.user(id)
            .map(|v| serde_json::from_value(v).expect("a sandbox user reads as a model::User"))
    }
}

/// Helpers of the CSV input tests.
pub mod input;
pub mod members;
#[cfg(unix)]
pub mod pty;
pub mod stall;

// --- driving the real binary ---

use genesys_sandbox::SandboxStats;
use std::path::{Path, PathBuf};

/// The output of one run of the real binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON summary a run with `--output json` prints as its whole stdout.
    pub fn summary(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

pub async fn sandbox(cfg: SandboxConfig) -> Sandbox {
    Sandbox::start(cfg)
        .await
        .expect("the sandbox starts on a free loopback port")
}

/// Run `genupdate ARGS` with the environment pointing at `sb`.
pub async fn genupdate(sb: &Sandbox, args: &[&str]) -> Run {
    genupdate_env(sb, args, &[]).await
}

/// `genupdate ARGS` pointed at `sb` with its default credentials, not yet started.
pub fn command(sb: &Sandbox, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_genupdate"));
    cmd.args(args)
        .env("GENESYSCLOUD_REGION", sb.url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox-client")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox-secret")
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env_remove("GENESYSCLOUD_PROFILE")
        .env_remove("GENUPDATE_CA_FILE")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    // No ambient proxy: the sandbox is reached directly unless a test says otherwise.
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub async fn genupdate_env(sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = command(sb, args);
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

/// `users.csv` in `dir`: one row setting the title of the sandbox's first user.
pub fn one_title(sb: &Sandbox, dir: &Path, title: &str) -> PathBuf {
    let id = &sb.user_ids()[0];
    csv(dir, "users.csv", "id,title", &[format!("{id},{title}")])
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Requests by route-and-status whose key starts with `prefix` (e.g. "PATCH ").
pub fn count(stats: &SandboxStats, prefix: &str) -> u64 {
    stats
        .by_route
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| *v)
        .sum()
}

/// Every write the sandbox answered (PATCH, PUT, DELETE), whatever the status.
pub fn writes(stats: &SandboxStats) -> u64 {
    count(stats, "PATCH ") + count(stats, "PUT ") + count(stats, "DELETE ")
}

/// Parse a report CSV into rows of cells (header included).
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .expect("open the CSV");
    r.records()
        .map(|rec| {
            rec.expect("a CSV record")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// A sandbox user without what every write changes (`version`) or the server derives
/// (`display`, `primaryContactInfo`), contacts and routing entries in a stable order:
/// two snapshots compare equal when the user holds the same values.
pub fn comparable(u: &Value) -> Value {
    let mut u = u.clone();
    if let Some(o) = u.as_object_mut() {
        o.remove("version");
        o.remove("primaryContactInfo");
    }
    if let Some(list) = u["addresses"].as_array_mut() {
        for e in list.iter_mut() {
            if let Some(o) = e.as_object_mut() {
                o.remove("display");
            }
        }
        list.sort_by_key(|e| format!("{}{}", e["mediaType"], e["type"]));
    }
    for key in ["skills", "languages"] {
        if let Some(list) = u[key].as_array_mut() {
            for e in list.iter_mut() {
                if let Some(o) = e.as_object_mut() {
                    o.retain(|k, _| k == "id" || k == "proficiency");
                }
            }
            list.sort_by_key(|e| e["id"].to_string());
        }
    }
    u
}
