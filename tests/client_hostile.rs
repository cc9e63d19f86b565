//! The client against hostile or broken servers (in-process mocks, as in
//! client_mock.rs): absurd numbers, redirects, control characters and echoed secrets in
//! error text, APIs and login hosts that never answer, and cancellation on tokio's
//! paused clock. Each test names in a comment what broke before.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use genupdate::client::{ApiError, Backoff, Client, ClientConfig, Fatal, Replay, Request};
use genupdate::config::{Credentials, Endpoints};
use genupdate::secret::Secret;

type Hits = Arc<AtomicU64>;

async fn serve(app: Router) -> reqwest::Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    reqwest::Url::parse(&url).unwrap()
}

fn endpoints(url: &reqwest::Url) -> Endpoints {
    Endpoints {
        api: url.clone(),
        login: url.clone(),
    }
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

/// A client with a given token (no token endpoint, no limits read).
async fn fixed(url: &reqwest::Url, tune: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut cfg = ClientConfig::new(endpoints(url), Credentials::AccessToken(Secret::new("t0k")));
    cfg.rate_per_minute = Some(60000.0);
    fast(&mut cfg);
    tune(&mut cfg);
    Client::connect(cfg).await.unwrap()
}

fn creds() -> Credentials {
    Credentials::ClientCredentials {
        client_id: "hostile-client".into(),
        client_secret: Secret::new("hostile-secret-123"),
    }
}

fn counted(hits: &Hits) -> Hits {
    hits.clone()
}

/// Answers 429 with this Retry-After `n` times, then 200.
fn rate_limited(retry_after: &'static str, n: u64, hits: &Hits) -> Router {
    let hits = counted(hits);
    Router::new().fallback(any(move || {
        let hits = hits.clone();
        async move {
            if hits.fetch_add(1, Ordering::SeqCst) < n {
                let body = json!({"status": 429, "code": "too.many.requests.retry.after",
                    "message": "Rate limit exceeded the maximum"});
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", retry_after)],
                    axum::Json(body),
                )
                    .into_response();
            }
            axum::Json(json!({"ok": true})).into_response()
        }
    }))
}

/// A token endpoint issuing `tok-N` with this `expires_in` (`None`: the field is absent).
fn token_endpoint(expires_in: Option<Value>, hits: &Hits) -> Router {
    let hits = counted(hits);
    Router::new()
        .route(
            "/oauth/token",
            post(move || {
                let hits = hits.clone();
                let expires_in = expires_in.clone();
                async move {
                    let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
                    let mut body =
                        json!({"access_token": format!("tok-{n}"), "token_type": "bearer"});
                    if let Some(e) = expires_in {
                        body["expires_in"] = e;
                    }
                    axum::Json(body).into_response()
                }
            }),
        )
        .fallback(any(|| async {
            axum::Json(json!({"ok": true})).into_response()
        }))
}

// Regression: expires_in 10^19 panicked ("overflow when adding duration to instant"),
// negative or missing failed the run, and 0 made a token request per call.
#[tokio::test]
async fn hostile_token_lifetimes_neither_panic_nor_renew_per_call() {
    for expires_in in [
        Some(json!(10_000_000_000_000_000_000u64)),
        Some(json!(1e300)),
        Some(json!(0)),
        Some(json!(-1)),
        None,
    ] {
        let hits = Hits::default();
        let url = serve(token_endpoint(expires_in.clone(), &hits)).await;
        let mut cfg = ClientConfig::new(endpoints(&url), creds());
        cfg.rate_per_minute = Some(60000.0);
        let c = Client::connect(cfg).await.unwrap();
        for _ in 0..20 {
            c.send(Request::get("/api/v2/users/u1")).await.unwrap();
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1, "expires_in {expires_in:?}");
    }
}

// Regression: Retry-After 1e300 / 2^64 panicked ("cannot convert float seconds to
// Duration"); now it is simply longer than --max-retry-after: deferred, no sleep.
#[tokio::test]
async fn absurd_retry_after_is_deferred_without_panic() {
    for ra in ["1e300", "18446744073709551616"] {
        let hits = Hits::default();
        let url = serve(rate_limited(ra, u64::MAX, &hits)).await;
        let c = fixed(&url, |_| {}).await;
        let err = c.send(Request::get("/api/v2/users/u1")).await.unwrap_err();
        match err {
            ApiError::Deferred { retry_after, .. } => {
                assert_eq!(retry_after, Duration::from_secs(86_400), "{ra}")
            }
            other => panic!("{ra}: {other:?}"),
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}

// Regression: Retry-After 0 was retried at once, a hot loop against a refusing server.
#[tokio::test]
async fn retry_after_zero_still_waits_the_first_backoff_step() {
    let hits = Hits::default();
    let url = serve(rate_limited("0", 4, &hits)).await;
    let c = fixed(&url, |cfg| {
        cfg.retry.rate_limit = Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(50),
        };
    })
    .await;
    let start = std::time::Instant::now();
    let r = c.send(Request::get("/api/v2/users/u1")).await.unwrap();
    assert_eq!(r.attempts, 5);
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

// Regression: a short 429 burst failed the row as rate_limited after --max-retries
// quick 429s; 429s are now bounded by the time they make the request wait.
#[tokio::test]
async fn a_429_burst_outlasts_max_retries_but_not_the_time_cap() {
    let hits = Hits::default();
    let url = serve(rate_limited("0.01", 12, &hits)).await;
    let c = fixed(&url, |cfg| cfg.max_retries = 2).await;
    let r = c.send(Request::get("/api/v2/users/u1")).await.unwrap();
    assert_eq!(r.attempts, 13);

    let hits = Hits::default();
    let url = serve(rate_limited("0.1", u64::MAX, &hits)).await;
    let c = fixed(&url, |cfg| {
        cfg.retry.max_rate_limited_wait = Duration::from_millis(350)
    })
    .await;
    let err = c.send(Request::get("/api/v2/users/u1")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Exhausted {
                status: Some(429),
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

/// A server answering every request with `status` and `Location: to`.
fn redirecting(status: StatusCode, to: String, hits: &Hits) -> Router {
    let hits = counted(hits);
    Router::new().fallback(any(move |method: axum::http::Method| {
        let hits = hits.clone();
        let to = to.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            assert_ne!(
                method,
                axum::http::Method::GET,
                "a redirect was followed as a GET"
            );
            (status, [("location", to)], "moved").into_response()
        }
    }))
}

// Regression: a 303 on PATCH was followed as a GET, a 307 sent the PATCH body (and
// the bearer token) to another host.
#[tokio::test]
async fn redirects_on_api_calls_are_errors_naming_status_and_location() {
    let elsewhere_hits = Hits::default();
    let elsewhere = serve(redirecting(StatusCode::OK, String::new(), &elsewhere_hits)).await;
    for status in [StatusCode::SEE_OTHER, StatusCode::TEMPORARY_REDIRECT] {
        let hits = Hits::default();
        let to = format!("{elsewhere}steal?\x1b[2J");
        let url = serve(redirecting(status, to.replace('\x1b', "%1B"), &hits)).await;
        let c = fixed(&url, |_| {}).await;
        let req = Request::patch("/api/v2/users/u1", json!({"version": 1}), Replay::Guarded);
        let err = c.send(req).await.unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.status(), Some(status.as_u16()), "{err:?}");
        assert!(
            !err.is_fatal() && msg.contains("redirect") && msg.contains(elsewhere.as_str()),
            "{msg}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1, "not retried");
    }
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "the other host saw nothing"
    );
}

// Regression: a 307 from the token endpoint sent the client secret to another host.
#[tokio::test]
async fn a_redirecting_token_endpoint_is_fatal_and_the_other_host_sees_nothing() {
    let elsewhere_hits = Hits::default();
    let elsewhere = serve(token_endpoint(Some(json!(3600)), &elsewhere_hits)).await;
    let hits = Hits::default();
    let to = format!("{elsewhere}oauth/token");
    let url = serve(redirecting(
        StatusCode::TEMPORARY_REDIRECT,
        to.clone(),
        &hits,
    ))
    .await;
    let err = Client::connect(ClientConfig::new(endpoints(&url), creds()))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, ApiError::Fatal(Fatal::Redirected { status: 307, location }) if *location == to),
        "{err:?}"
    );
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0);
}

// Regression: the token endpoint's description was shown raw, so a server echoing the
// Authorization header leaked the Basic form of the client secret into the error.
#[tokio::test]
async fn an_echoed_basic_secret_is_redacted_from_token_errors() {
    let app = Router::new().route(
        "/oauth/token",
        post(|headers: HeaderMap| async move {
            let echo = headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            let body = json!({"error": "unauthorized_client",
                "description": format!("\x1b[31mbad\r\nheader: {echo} secret=hostile-secret-123")});
            (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
        }),
    );
    let url = serve(app).await;
    let err = Client::connect(ClientConfig::new(endpoints(&url), creds()))
        .await
        .err()
        .unwrap();
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(
            err,
            ApiError::Fatal(Fatal::TokenRefused { status: 400, .. })
        ),
        "{err:?}"
    );
    // base64("hostile-client:hostile-secret-123")
    for needle in [
        "aG9zdGlsZS1jbGllbnQ6aG9zdGlsZS1zZWNyZXQtMTIz",
        "hostile-secret-123",
        "\x1b",
        "\r",
        "\n",
    ] {
        assert!(!shown.contains(needle), "{needle:?} leaked: {shown}");
    }
    assert!(shown.contains("[redacted]"), "{shown}");
}

// Regression: API error messages reached terminals and reports with raw ESC/CR/LF.
#[tokio::test]
async fn api_error_text_is_escaped_and_capped() {
    let app = Router::new().fallback(any(|| async {
        let body = json!({"status": 400, "code": "bad\u{1b}[0m.request",
            "message": format!("\u{1b}]0;pwned\u{7}line1\r\nFAKE ok token t0k {}", "x".repeat(5000))});
        (StatusCode::BAD_REQUEST, [("inin-correlation-id", "c\nid")], axum::Json(body)).into_response()
    }));
    let url = serve(app).await;
    let c = fixed(&url, |_| {}).await;
    let err = c.send(Request::get("/api/v2/users/u1")).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    for c in shown.chars() {
        assert!(!c.is_control(), "control char {c:?} in {shown}");
    }
    assert!(!shown.contains("t0k"), "the given token leaked");
    assert!(err.to_string().len() < 1000, "capped");
}

/// Answers nothing, ever (the connection stays open).
fn hanging(hits: &Hits) -> Router {
    let hits = counted(hits);
    Router::new().fallback(any(move || {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<Response>().await
        }
    }))
}

// Regression: a PATCH that never answered came back Uncertain and ended as a
// "the user kept changing" conflict; a hung API is an outage, counted for the breaker.
#[tokio::test]
async fn timeouts_are_their_own_outcome_and_are_counted() {
    let hits = Hits::default();
    let url = serve(hanging(&hits)).await;
    let c = fixed(&url, |cfg| {
        cfg.request_timeout = Duration::from_millis(100);
        cfg.max_retries = 1;
    })
    .await;
    let req = Request::patch("/api/v2/users/u1", json!({"version": 1}), Replay::Guarded);
    let err = c.send(req).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Timeout {
                may_have_landed: true,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.may_have_landed() && !err.is_fatal());
    assert_eq!(c.consecutive_timeouts(), 1);
    let err = c.send(Request::get("/api/v2/users/u1")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Timeout {
                may_have_landed: false,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(c.consecutive_timeouts(), 3);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "the guarded write was not resent"
    );
    // Any response resets the count.
    let ok = serve(rate_limited("0", 0, &Hits::default())).await;
    let c2 = fixed(&ok, |_| {}).await;
    c2.send(Request::get("/x")).await.unwrap();
    assert_eq!(c2.consecutive_timeouts(), 0);
}

/// Cancel `token` after `after` of (virtual) time.
fn cancel_after(token: &CancellationToken, after: Duration) {
    let token = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        token.cancel();
    });
}

// New: the cancellation hook ends a Retry-After pause at once (it used to sleep 60 s).
#[tokio::test(start_paused = true)]
async fn cancel_ends_a_retry_after_pause_promptly() {
    let hits = Hits::default();
    let url = serve(rate_limited("60", u64::MAX, &hits)).await;
    let cancel = CancellationToken::new();
    let c = fixed(&url, |cfg| cfg.cancel = cancel.clone()).await;
    let start = tokio::time::Instant::now();
    cancel_after(&cancel, Duration::from_secs(2));
    let err = c.send(Request::get("/api/v2/users/u1")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Cancelled {
                may_have_landed: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(hits.load(Ordering::SeqCst) <= 1);
}

// New: the cancellation hook ends an in-flight request that never answers.
#[tokio::test(start_paused = true)]
async fn cancel_ends_a_request_that_never_answers() {
    let hits = Hits::default();
    let url = serve(hanging(&hits)).await;
    let cancel = CancellationToken::new();
    let c = fixed(&url, |cfg| cfg.cancel = cancel.clone()).await;
    let start = tokio::time::Instant::now();
    cancel_after(&cancel, Duration::from_secs(2));
    let req = Request::patch("/api/v2/users/u1", json!({"version": 1}), Replay::Guarded);
    let err = c.send(req).await.unwrap_err();
    assert!(matches!(err, ApiError::Cancelled { .. }), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // Once cancelled, nothing more is sent.
    let err = c.send(Request::get("/api/v2/users/u2")).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Cancelled { attempts: 0, .. }),
        "{err:?}"
    );
}

// New: the cancellation hook ends connect() while the token endpoint never answers.
#[tokio::test(start_paused = true)]
async fn cancel_ends_a_token_request_that_never_answers() {
    let hits = Hits::default();
    let url = serve(hanging(&hits)).await;
    let cancel = CancellationToken::new();
    let mut cfg = ClientConfig::new(endpoints(&url), creds());
    cfg.cancel = cancel.clone();
    let start = tokio::time::Instant::now();
    cancel_after(&cancel, Duration::from_secs(2));
    let err = Client::connect(cfg).await.err().unwrap();
    assert!(matches!(err, ApiError::Cancelled { .. }), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}
