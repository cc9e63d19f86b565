//! A proxy in front of the sandbox that stalls one phase of a run: it never
//! answers (or answers 429 with a long Retry-After) the requests a [`Stall`]
//! names, and forwards everything else. For the deadline, signal and crash tests.
#![allow(dead_code)]

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// Which requests the proxy holds.
#[derive(Clone, Debug)]
pub enum Stall {
    /// `POST /oauth/token` never answers.
    Token,
    /// The bulk read (`GET /api/v2/users?id=...`) never answers.
    BulkRead,
    /// The bulk read is answered 429 with this Retry-After (seconds).
    BulkRead429(u64),
    /// Skill and language name lookups never answer.
    Resolution,
    /// Every PATCH of a user never answers.
    Writes,
    /// Every PATCH of a user is answered 429 with this Retry-After (seconds).
    Writes429(u64),
    /// The PATCH of this one user never answers (a stuck row).
    User(String),
    /// Every PATCH is applied upstream but answered 200 with an HTML page.
    HtmlAfterPatch,
    /// Bulk reads leave out `drop` and return `malform` with a broken shape.
    MangleBulk { drop: String, malform: String },
}

struct St {
    upstream: String,
    http: reqwest::Client,
    stall: Stall,
}

pub struct StallProxy {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StallProxy {
    pub async fn start(upstream: &str, stall: Stall) -> StallProxy {
        let st = Arc::new(St {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            stall,
        });
        let app = axum::Router::new().fallback(forward).with_state(st);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StallProxy { addr, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

enum Action {
    Forward,
    Hang,
    TooMany(u64),
}

fn decide(stall: &Stall, method: &Method, pq: &str) -> Action {
    let user_patch = *method == Method::PATCH && pq.starts_with("/api/v2/users/");
    let bulk = *method == Method::GET && pq.starts_with("/api/v2/users?");
    let lookup = *method == Method::GET
        && (pq.starts_with("/api/v2/routing/skills")
            || pq.starts_with("/api/v2/routing/languages"));
    match stall {
        Stall::Token if pq.starts_with("/oauth/token") => Action::Hang,
        Stall::BulkRead if bulk => Action::Hang,
        Stall::BulkRead429(s) if bulk => Action::TooMany(*s),
        Stall::Resolution if lookup => Action::Hang,
        Stall::Writes if user_patch => Action::Hang,
        Stall::Writes429(s) if user_patch => Action::TooMany(*s),
        Stall::User(id) if user_patch && pq.contains(id.as_str()) => Action::Hang,
        _ => Action::Forward,
    }
}

async fn forward(State(st): State<Arc<St>>, req: Request) -> Response {
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    match decide(&st.stall, req.method(), &pq) {
        Action::Hang => std::future::pending::<Response>().await,
        Action::TooMany(secs) => {
            let body = serde_json::json!({
                "status": 429, "code": "too.many.requests.retry.after",
                "message": format!("Rate limit exceeded the maximum. Retry the request in [{secs}] seconds"),
                "contextId": "stall", "details": [], "errors": [],
            });
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", secs.to_string())],
                axum::Json(body),
            )
                .into_response()
        }
        Action::Forward => {
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
            let mut headers = resp.headers().clone();
            let mut body = resp.bytes().await.unwrap_or_default().to_vec();
            match &st.stall {
                Stall::HtmlAfterPatch if parts.method == Method::PATCH && status.is_success() => {
                    body = b"<html><body>OK</body></html>".to_vec();
                    headers.insert("content-type", "text/html".parse().unwrap());
                }
                Stall::MangleBulk { drop, malform }
                    if parts.method == Method::GET && pq.starts_with("/api/v2/users?") =>
                {
                    if let Ok(mut page) = serde_json::from_slice::<serde_json::Value>(&body) {
                        if let Some(list) = page["entities"].as_array_mut() {
                            list.retain(|u| u["id"] != drop.as_str());
                            for u in list.iter_mut() {
                                if u["id"] == malform.as_str() {
                                    u["version"] = serde_json::json!("not a number");
                                }
                            }
                        }
                        body = serde_json::to_vec(&page).unwrap_or(body);
                    }
                }
                _ => {}
            }
            let mut r = (status, body).into_response();
            for name in ["retry-after", "inin-correlation-id", "content-type"] {
                if let Some(v) = headers.get(name) {
                    r.headers_mut().insert(name, v.clone());
                }
            }
            r
        }
    }
}
