//! The sandbox's rate limits over HTTP: sliding windows per token, the tighter user
//! window, 429 bodies and Retry-After, the limits endpoint, optional headers, and
//! the `during_retry_after` counter.

mod common;

use std::time::{Duration, Instant};

use common::*;
use genesys_sandbox::SandboxConfig;
use reqwest::{Method, StatusCode};

fn limited(limit: u32, window_secs: u64) -> SandboxConfig {
    SandboxConfig {
        rate_limit: limit,
        rate_window: Duration::from_secs(window_secs),
        ..small()
    }
}

#[tokio::test]
async fn a_full_window_answers_429_with_retry_after_and_the_limit() {
    let api = start(limited(5, 2)).await;
    for _ in 0..5 {
        assert_eq!(api.get("/api/v2/routing/skills").await.0, StatusCode::OK);
    }
    let r = api.send(Method::GET, "/api/v2/routing/skills", None).await;
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert!(
        r.headers().get("ratelimit-limit").is_none(),
        "no headers by default"
    );
    let (status, body) = json(r).await;
    assert_error(status, &body, 429, "too.many.requests.retry.after");
    assert_eq!(
        body["message"],
        format!("Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds")
    );
    assert_eq!(
        body["limit"]["key"],
        "client.credentials.token.rate.per.minute"
    );
    assert_eq!(body["limit"]["namespace"], "platform.api");
    assert_eq!(body["limit"]["value"], 150, "5 per 2 s is 150 per minute");
    assert_eq!(api.sb.stats().too_many_requests, 1);
}

#[tokio::test]
async fn rejected_requests_do_not_count_and_waiting_out_retry_after_succeeds() {
    let api = start(limited(3, 1)).await;
    for _ in 0..3 {
        api.get("/api/v2/routing/skills").await;
    }
    // Hammering while limited changes nothing about when room appears.
    for _ in 0..10 {
        assert_eq!(api.get("/api/v2/routing/skills").await.0, 429);
    }
    let r = api.send(Method::GET, "/api/v2/routing/skills", None).await;
    let secs: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    for _ in 0..3 {
        assert_eq!(api.get("/api/v2/routing/skills").await.0, StatusCode::OK);
    }
    let s = api.sb.stats();
    assert_eq!(s.too_many_requests, 11);
    // The ten hammering requests and the one after them arrived inside the promise.
    assert_eq!(s.during_retry_after, 10);
}

#[tokio::test]
async fn windows_are_per_token_but_retry_after_binds_the_client() {
    let mut api = start(limited(2, 2)).await;
    api.get("/api/v2/routing/skills").await;
    api.get("/api/v2/routing/skills").await;
    assert_eq!(api.get("/api/v2/routing/skills").await.0, 429);
    api.token = api.login().await;
    // A fresh token has its own window...
    assert_eq!(api.get("/api/v2/routing/skills").await.0, StatusCode::OK);
    // ...but its request arrived while the client had been told to wait.
    assert_eq!(api.sb.stats().during_retry_after, 1);
}

#[tokio::test]
async fn the_user_window_binds_user_endpoints_only() {
    let api = start(SandboxConfig {
        user_rate_limit: 2,
        ..limited(100, 2)
    })
    .await;
    let id = api.ids()[0].clone();
    api.get(&format!("/api/v2/users/{id}")).await;
    api.get("/api/v2/users").await;
    let (status, body) = api.get(&format!("/api/v2/users/{id}/routingskills")).await;
    assert_error(status, &body, 429, "too.many.requests.retry.after");
    assert_eq!(body["limit"]["key"], "user.rate.per.minute");
    assert_eq!(body["limit"]["namespace"], "directory");
    assert_eq!(body["limit"]["value"], 60);
    assert_eq!(api.get("/api/v2/routing/skills").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_limit_object_can_be_omitted() {
    let api = start(SandboxConfig {
        omit_limit_in_429: true,
        ..limited(1, 2)
    })
    .await;
    api.get("/api/v2/routing/skills").await;
    let (status, body) = api.get("/api/v2/routing/skills").await;
    assert_error(status, &body, 429, "too.many.requests.retry.after");
    assert!(body.get("limit").is_none());
}

#[tokio::test]
async fn rate_limit_headers_when_asked() {
    let api = start(SandboxConfig {
        rate_limit_headers: true,
        ..limited(3, 2)
    })
    .await;
    let r = api.send(Method::GET, "/api/v2/routing/skills", None).await;
    let h = |name: &str| r.headers()[name].to_str().unwrap().to_string();
    assert_eq!(h("ratelimit-limit"), "3");
    assert_eq!(h("ratelimit-remaining"), "2");
    assert_eq!(h("x-ratelimit-limit"), "3");
    assert_eq!(h("x-ratelimit-remaining"), "2");
    assert_eq!(h("ratelimit-reset"), "2");
    api.get("/api/v2/routing/skills").await;
    api.get("/api/v2/routing/skills").await;
    let r = api.send(Method::GET, "/api/v2/routing/skills", None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["ratelimit-remaining"], "0");
    assert_eq!(r.headers()["x-ratelimit-reset"], r.headers()["retry-after"]);
}

#[tokio::test]
async fn the_limits_endpoint_reports_per_minute_values() {
    let api = start(SandboxConfig {
        user_rate_limit: 60,
        report_user_limit: true,
        ..limited(100, 2)
    })
    .await;
    let (status, body) = api
        .get("/api/v2/organizations/limits/namespaces/platform.api")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["entities"][0]["key"],
        "client.credentials.token.rate.per.minute"
    );
    assert_eq!(body["entities"][0]["namespace"], "platform.api");
    assert_eq!(body["entities"][0]["value"], 3000);
    let (_, body) = api
        .get("/api/v2/organizations/limits/namespaces/directory")
        .await;
    assert_eq!(body["entities"][0]["key"], "user.rate.per.minute");
    assert_eq!(body["entities"][0]["value"], 1800);

    let quiet = start(SandboxConfig {
        user_rate_limit: 60,
        ..limited(100, 2)
    })
    .await;
    let (_, body) = quiet
        .get("/api/v2/organizations/limits/namespaces/directory")
        .await;
    assert_eq!(body["entities"], serde_json::json!([]));
    let defaults = start(SandboxConfig {
        users: 10,
        ..SandboxConfig::default()
    })
    .await;
    let (_, body) = defaults
        .get("/api/v2/organizations/limits/namespaces/platform.api")
        .await;
    assert_eq!(body["entities"][0]["value"], 300);
}

#[tokio::test]
async fn the_window_slides_at_the_configured_rate() {
    // 4 per 1 s: 12 requests sent as fast as 429s allow take about 2 windows.
    let api = start(limited(4, 1)).await;
    let t0 = Instant::now();
    let mut ok = 0;
    while ok < 12 {
        let r = api
            .send(Method::GET, "/api/v2/routing/languages", None)
            .await;
        if r.status() == 200 {
            ok += 1;
        } else {
            let secs: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            tokio::time::sleep(Duration::from_secs(secs)).await;
        }
    }
    let elapsed = t0.elapsed();
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(api.sb.stats().during_retry_after, 0);
}
