//! The client over real HTTP against tiny in-test servers, for behaviour the sandbox
//! may not produce on demand: 403 bodies, the token endpoint's errors, a revocation
//! seen by every worker at once, oversized bodies and connections dropped mid-request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use genupdate::client::{ApiError, Backoff, Client, ClientConfig, Fatal, Replay, Request};
use genupdate::config::{Credentials, Endpoints};
use genupdate::secret::Secret;

#[derive(Default)]
struct Mock {
    token_requests: AtomicU64,
    /// Token requests answered 400 "rate limit exceeded" before one succeeds.
    token_throttled: AtomicU64,
    /// Tokens issued so far; token n is "tok-<n>".
    issued: AtomicU64,
    /// Tokens up to this generation are revoked.
    revoked_upto: AtomicU64,
    /// Token lifetime in seconds (0: 3600).
    ttl: AtomicU64,
    /// When each token was issued (index = generation - 1) and when it expires.
    expiry: std::sync::Mutex<Vec<(std::time::Instant, std::time::Instant)>>,
    api_requests: AtomicU64,
    /// Requests to /api/v2/flaky answered 503 before a 200.
    flaky: AtomicU64,
    /// Every API request gets 401.
    reject_all: AtomicBool,
}

fn fast(cfg: &mut ClientConfig) {
    let tiny = Backoff {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    };
    cfg.retry.server = tiny;
    cfg.retry.rate_limit = tiny;
    cfg.retry.budget_wait = Duration::from_millis(5);
}

async fn token(State(m): State<Arc<Mock>>, headers: HeaderMap) -> Response {
    m.token_requests.fetch_add(1, Ordering::SeqCst);
    // base64("sandbox-client:sandbox-secret")
    let good = "Basic c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ=";
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(good) {
        let body = json!({"error": "invalid_client", "description": "bad client credentials"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    if m.token_throttled
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        let body = json!({"error": "invalid_request", "description": "rate limit exceeded; try again later"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let ttl = match m.ttl.load(Ordering::SeqCst) {
        0 => 3600,
        t => t,
    };
    let now = std::time::Instant::now();
    let g = {
        let mut e = m.expiry.lock().unwrap();
        e.push((now, now + Duration::from_secs(ttl)));
        m.issued.fetch_add(1, Ordering::SeqCst) + 1
    };
    axum::Json(
        json!({"access_token": format!("tok-{g}"), "token_type": "bearer", "expires_in": ttl}),
    )
    .into_response()
}

fn authorised(m: &Mock, headers: &HeaderMap) -> bool {
    if m.reject_all.load(Ordering::SeqCst) {
        return false;
    }
    let Some(g) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer tok-"))
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return false;
    };
    let expires = m.expiry.lock().unwrap().get(g as usize - 1).map(|e| e.1);
    g > m.revoked_upto.load(Ordering::SeqCst)
        && expires.is_some_and(|e| std::time::Instant::now() < e)
}

fn unauthorised() -> Response {
    let body =
        json!({"code": "bad.credentials", "message": "Invalid login credentials.", "status": 401});
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

async fn api(State(m): State<Arc<Mock>>, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    m.api_requests.fetch_add(1, Ordering::SeqCst);
    if !authorised(&m, &headers) {
        return unauthorised();
    }
    let path = uri.path();
    let mut out_headers = HeaderMap::new();
    out_headers.insert("inin-correlation-id", "corr-1".parse().unwrap());
    match path {
        "/api/v2/forbidden" => {
            let body = json!({"status": 403, "code": "missing.permissions",
                "message": "Missing permission: directory:user:edit", "contextId": "ctx-403"});
            (StatusCode::FORBIDDEN, out_headers, axum::Json(body)).into_response()
        }
        "/api/v2/missing" => {
            let body = json!({"status": 404, "code": "not.found", "message": "User not found"});
            (StatusCode::NOT_FOUND, out_headers, axum::Json(body)).into_response()
        }
        "/api/v2/big" => (StatusCode::OK, vec![b'x'; 3 * 1024 * 1024]).into_response(),
        "/api/v2/flaky" => {
            if m.flaky
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
            }
            axum::Json(json!({"ok": true})).into_response()
        }
        "/api/v2/slow" => {
            tokio::time::sleep(Duration::from_millis(30)).await;
            axum::Json(json!({"ok": true})).into_response()
        }
        _ => axum::Json(json!({"ok": true})).into_response(),
    }
}

async fn limits() -> Response {
    axum::Json(json!({"entities": [
        {"key": "client.credentials.token.rate.per.minute", "namespace": "platform.api", "value": 60000}
    ]}))
    .into_response()
}

async fn serve(m: Arc<Mock>) -> Endpoints {
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v2/organizations/limits/namespaces/{ns}", get(limits))
        .fallback(any(api))
        .with_state(m);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = reqwest::Url::parse(&url).unwrap();
    Endpoints {
        api: url.clone(),
        login: url,
    }
}

fn creds(secret: &str) -> Credentials {
    Credentials::ClientCredentials {
        client_id: "sandbox-client".into(),
        client_secret: Secret::new(secret),
    }
}

async fn client(m: &Arc<Mock>) -> Client {
    let mut cfg = ClientConfig::new(serve(m.clone()).await, creds("sandbox-secret"));
    fast(&mut cfg);
    Client::connect(cfg).await.unwrap()
}

#[tokio::test]
async fn connect_reads_the_org_limit_and_applies_headroom() {
    let m = Arc::new(Mock::default());
    let c = client(&m).await;
    assert!((c.rate_per_minute() - 60000.0 * 0.98).abs() < 1e-6);
    let s = c.stats();
    assert_eq!(s.token_requests, 1);
    assert_eq!(s.requests, 2, "platform.api and directory limits");
}

#[tokio::test]
async fn bad_credentials_abort_naming_the_variables() {
    let m = Arc::new(Mock::default());
    let cfg = ClientConfig::new(serve(m.clone()).await, creds("wrong"));
    let err = Client::connect(cfg).await.err().unwrap();
    assert!(
        matches!(err, ApiError::Fatal(Fatal::InvalidClient)),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("GENESYSCLOUD_OAUTHCLIENT_ID") && msg.contains("GENESYSCLOUD_REGION"));
    assert!(!msg.contains("wrong") && !format!("{err:?}").contains("wrong"));
    assert_eq!(m.token_requests.load(Ordering::SeqCst), 1, "not retried");
}

#[tokio::test]
async fn token_endpoint_rate_limit_is_retried() {
    let m = Arc::new(Mock::default());
    m.token_throttled.store(2, Ordering::SeqCst);
    let c = client(&m).await;
    assert_eq!(m.token_requests.load(Ordering::SeqCst), 3);
    assert_eq!(c.stats().tokens_issued, 1);
}

#[tokio::test]
async fn forbidden_fails_the_request_not_the_run_and_names_the_permission() {
    let m = Arc::new(Mock::default());
    let c = client(&m).await;
    let err = c.send(Request::get("/api/v2/forbidden")).await.unwrap_err();
    match &err {
        ApiError::Forbidden {
            permission,
            correlation_id,
            ..
        } => {
            assert_eq!(permission.as_deref(), Some("directory:user:edit"));
            assert_eq!(correlation_id.as_deref(), Some("corr-1"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("directory:user:edit"));
    assert!(
        !err.is_fatal(),
        "permissions are division-scoped: a 403 is the row's failure"
    );
}

#[tokio::test]
async fn not_found_is_rejected_with_code_and_correlation_id() {
    let m = Arc::new(Mock::default());
    let c = client(&m).await;
    let err = c.send(Request::get("/api/v2/missing")).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.code(), Some("not.found"));
    assert_eq!(err.correlation_id(), Some("corr-1"));
    assert_eq!(err.attempts(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let m = Arc::new(Mock::default());
    let c = client(&m).await;
    m.flaky.store(3, Ordering::SeqCst);
    let r = c.send(Request::get("/api/v2/flaky")).await.unwrap();
    assert_eq!(r.attempts, 4);
    assert_eq!(c.stats().responses_by_status.get(&503), Some(&3));
    m.flaky.store(100, Ordering::SeqCst);
    let err = c.send(Request::get("/api/v2/flaky")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Exhausted {
                status: Some(503),
                attempts: 9,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_revoked_token_seen_by_every_worker_is_renewed_once() {
    let m = Arc::new(Mock::default());
    let c = client(&m).await;
    let before = m.token_requests.load(Ordering::SeqCst);
    // Revoke every token issued so far.
    m.revoked_upto
        .store(m.issued.load(Ordering::SeqCst), Ordering::SeqCst);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.send(Request::get("/api/v2/slow")).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(m.token_requests.load(Ordering::SeqCst) - before, 1);
    assert!(c.stats().renewals_after_401 >= 1);
}

#[tokio::test]
async fn a_fresh_token_that_is_rejected_too_is_fatal() {
    let m = Arc::new(Mock::default());
    let c = client(&m).await;
    // From now on no token is ever valid.
    m.reject_all.store(true, Ordering::SeqCst);
    let before = m.token_requests.load(Ordering::SeqCst);
    let err = c.send(Request::get("/api/v2/anything")).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Fatal(Fatal::TokenRejected { .. })),
        "{err:?}"
    );
    // The credentials worked earlier in this run, so a refused fresh token may have
    // been revoked: renew up to MAX_RENEWALS_PER_REQUEST times, then stop.
    assert_eq!(
        m.token_requests.load(Ordering::SeqCst) - before,
        u64::from(genupdate::client::retry::MAX_RENEWALS_PER_REQUEST),
        "a bounded number of renewals, then stop"
    );
}

#[tokio::test]
async fn tokens_that_never_worked_abort_after_one_renewal() {
    let m = Arc::new(Mock::default());
    // Issued by the login host but refused by the API from the start (another org).
    m.reject_all.store(true, Ordering::SeqCst);
    let mut cfg = ClientConfig::new(serve(m.clone()).await, creds("sandbox-secret"));
    fast(&mut cfg);
    cfg.rate_per_minute = Some(6000.0);
    let c = Client::connect(cfg).await.unwrap();
    let err = c.send(Request::get("/api/v2/anything")).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Fatal(Fatal::TokenRejected { .. })),
        "{err:?}"
    );
    assert_eq!(
        m.token_requests.load(Ordering::SeqCst),
        2,
        "the first token and one renewal, then stop"
    );
}

#[tokio::test]
async fn a_pre_issued_token_is_used_as_given_and_a_401_is_fatal() {
    let m = Arc::new(Mock::default());
    let far = std::time::Instant::now() + Duration::from_secs(3600);
    *m.expiry.lock().unwrap() = vec![(std::time::Instant::now(), far); 7];
    m.issued.store(7, Ordering::SeqCst);
    let endpoints = serve(m.clone()).await;
    let mut cfg = ClientConfig::new(endpoints, Credentials::AccessToken(Secret::new("tok-7")));
    cfg.rate_per_minute = Some(6000.0);
    let c = Client::connect(cfg.clone()).await.unwrap();
    c.send(Request::get("/api/v2/ok")).await.unwrap();
    assert_eq!(m.token_requests.load(Ordering::SeqCst), 0);
    cfg.credentials = Credentials::AccessToken(Secret::new("tok-stale"));
    let c = Client::connect(cfg).await.unwrap();
    let err = c.send(Request::get("/api/v2/ok")).await.unwrap_err();
    assert!(matches!(err, ApiError::Fatal(Fatal::TokenRejected { .. })));
    assert!(!format!("{err:?} {err}").contains("tok-stale"));
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_a_clear_message() {
    let m = Arc::new(Mock::default());
    let mut cfg = ClientConfig::new(serve(m.clone()).await, creds("sandbox-secret"));
    cfg.max_body = 1024 * 1024;
    let c = Client::connect(cfg).await.unwrap();
    let err = c.send(Request::get("/api/v2/big")).await.unwrap_err();
    assert_eq!(err.code(), Some("response.too.large"), "{err:?}");
    assert!(err.to_string().contains("1048576 bytes"));
}

/// A raw server that reads each request and hangs up without answering, the first
/// `drops` times, then answers 200.
async fn dropping_server(drops: u64) -> (Endpoints, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = reqwest::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                loop {
                    let Ok(n) = sock.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if got.windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = count.fetch_add(1, Ordering::SeqCst);
                        if n < drops {
                            return; // hang up after the request arrived
                        }
                        let body = br#"{"id":"u1","version":2}"#;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        let _ = sock.write_all(head.as_bytes()).await;
                        let _ = sock.write_all(body).await;
                        got.clear();
                    }
                }
            });
        }
    });
    (
        Endpoints {
            api: url.clone(),
            login: url,
        },
        seen,
    )
}

async fn fixed_client(endpoints: Endpoints) -> Client {
    let mut cfg = ClientConfig::new(endpoints, Credentials::AccessToken(Secret::new("t")));
    cfg.rate_per_minute = Some(60000.0);
    fast(&mut cfg);
    Client::connect(cfg).await.unwrap()
}

#[tokio::test]
async fn a_dropped_guarded_write_is_uncertain_and_not_resent() {
    let (endpoints, seen) = dropping_server(1).await;
    let c = fixed_client(endpoints).await;
    let req = Request::patch("/api/v2/users/u1", json!({"version": 1}), Replay::Guarded);
    let err = c.send(req).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Uncertain { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1, "sent once, never replayed");
    assert_eq!(c.stats().uncertain, 1);
}

#[tokio::test]
async fn a_dropped_safe_request_is_retried() {
    let (endpoints, seen) = dropping_server(2).await;
    let c = fixed_client(endpoints).await;
    let r = c.send(Request::get("/api/v2/users/u1")).await.unwrap();
    assert_eq!(r.attempts, 3);
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(c.stats().transport_errors, 2);
}

#[tokio::test]
async fn an_unreachable_host_is_fatal_after_retries() {
    // Bind then close a port so nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = reqwest::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let mut cfg = ClientConfig::new(
        Endpoints {
            api: url.clone(),
            login: url,
        },
        Credentials::AccessToken(Secret::new("t")),
    );
    cfg.rate_per_minute = Some(60000.0);
    cfg.max_retries = 2;
    fast(&mut cfg);
    let c = Client::connect(cfg).await.unwrap();
    let err = c.send(Request::get("/api/v2/users/u1")).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Fatal(Fatal::Unreachable { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn debug_output_of_the_config_never_shows_the_secret() {
    let url = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
    let cfg = ClientConfig::new(
        Endpoints {
            api: url.clone(),
            login: url,
        },
        creds("hunter2-secret"),
    );
    assert!(!format!("{cfg:?}").contains("hunter2"));
}

#[tokio::test]
async fn tokens_are_renewed_before_expiry_once_per_lifetime() {
    let m = Arc::new(Mock::default());
    m.ttl.store(2, Ordering::SeqCst); // renewal margin 0.5 s: renew every ~1.5 s
    let c = client(&m).await;
    let start = std::time::Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                while start.elapsed() < Duration::from_millis(3500) {
                    c.send(Request::get("/api/v2/slow")).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let s = c.stats();
    assert_eq!(
        s.responses_by_status.get(&401),
        None,
        "renewed before expiry: {s:?}"
    );
    assert_eq!(s.renewals_after_401, 0);
    let times: Vec<_> = m.expiry.lock().unwrap().iter().map(|e| e.0).collect();
    assert!(times.len() >= 3, "renewed during the run: {}", times.len());
    // Single flight: one renewal per lifetime, never two close together.
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(1400),
            "{:?}",
            pair[1] - pair[0]
        );
    }
}

#[tokio::test]
async fn with_the_retry_budget_spent_retries_wait_their_turn() {
    let m = Arc::new(Mock::default());
    let mut cfg = ClientConfig::new(serve(m.clone()).await, creds("sandbox-secret"));
    fast(&mut cfg);
    cfg.retry.budget_capacity = 10; // two retries' worth
    let c = Client::connect(cfg).await.unwrap();
    m.flaky.store(4, Ordering::SeqCst);
    let r = c.send(Request::get("/api/v2/flaky")).await.unwrap();
    assert_eq!(r.attempts, 5);
    assert_eq!(c.stats().budget_waits, 2);
}

/// A writer that keeps everything logged, to search it afterwards.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_never_contain_a_token_or_the_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("genupdate=trace")
        .with_writer(move || writer.clone())
        .finish();
    // A current-thread runtime: the server and the client run on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);
    let m = Arc::new(Mock::default());
    m.token_throttled.store(1, Ordering::SeqCst);
    let c = client(&m).await;
    m.flaky.store(2, Ordering::SeqCst);
    c.send(Request::get("/api/v2/flaky")).await.unwrap();
    m.revoked_upto
        .store(m.issued.load(Ordering::SeqCst), Ordering::SeqCst);
    c.send(Request::get("/api/v2/ok")).await.unwrap();
    let _ = c.send(Request::get("/api/v2/forbidden")).await;
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("retrying"), "events were logged: {text}");
    for needle in ["tok-", "sandbox-secret", "c2FuZGJveC", "Bearer", "Basic"] {
        assert!(!text.contains(needle), "{needle} leaked into:\n{text}");
    }
}
