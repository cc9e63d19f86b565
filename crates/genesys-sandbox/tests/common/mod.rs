//! Helpers shared by the sandbox's HTTP tests: start a sandbox on port 0 and talk
//! to it with reqwest as any client would (reqwest is a dev-dependency only).
#![allow(dead_code)]

use genesys_sandbox::{Quirks, Sandbox, SandboxConfig};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

pub const ID: &str = "sandbox-client";
pub const SECRET: &str = "sandbox-secret";

/// A small unlimited org without quirks unless the test says otherwise.
pub fn small() -> SandboxConfig {
    SandboxConfig {
        users: 60,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    }
}

/// A small unlimited org with every realistic quirk.
pub fn realistic() -> SandboxConfig {
    SandboxConfig {
        users: 60,
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

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        json(self.send(Method::POST, path, Some(body)).await).await
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

/// The `name` of each entity of a JSON array (a listing's `entities`).
pub fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
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
