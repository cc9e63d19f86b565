//! The sandbox's injected faults over HTTP: 5xx, dropped connections (before and
//! after a write), latency, token revocation, the concurrent writer and 429 bursts,
//! plus the inspection endpoints that count them.

mod common;

use std::time::{Duration, Instant};

use common::*;
use genesys_sandbox::{Faults, SandboxConfig};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn faults(f: Faults) -> SandboxConfig {
    SandboxConfig {
        faults: f,
        ..small()
    }
}

/// Send a raw HTTP/1.1 request and return every byte the server sent back.
async fn raw(api: &Api, request: String) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(api.sb.addr()).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    // A reset is as good as a close: either way nothing was answered.
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("the server closes the connection");
    out
}

#[tokio::test]
async fn injected_5xx_have_genesys_bodies_and_apply_nothing() {
    let api = start(faults(Faults {
        error_5xx: 1.0,
        ..Faults::default()
    }))
    .await;
    let id = api.ids()[1].clone();
    let v = api.version(&id);
    for _ in 0..6 {
        let (status, body) = api
            .patch(
                &format!("/api/v2/users/{id}"),
                json!({"version": v, "title": "x"}),
            )
            .await;
        assert!([500, 502, 503, 504].contains(&status.as_u16()), "{status}");
        assert_eq!(body["status"], status.as_u16());
        assert!(body["code"].is_string() && body["contextId"].is_string());
    }
    assert_eq!(api.version(&id), v);
    let s = api.sb.stats();
    assert_eq!(s.injected_5xx, 6);
    assert!(s.writes_per_user.is_empty());
}

#[tokio::test]
async fn drop_before_closes_the_connection_without_a_byte_and_applies_nothing() {
    let api = start(faults(Faults {
        drop_before: 1.0,
        ..Faults::default()
    }))
    .await;
    let id = api.ids()[2].clone();
    let v = api.version(&id);
    let body = json!({"version": v, "title": "dropped"}).to_string();
    let bytes = raw(
        &api,
        format!(
            "PATCH /api/v2/users/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            api.token,
            body.len()
        ),
    )
    .await;
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    let err = api.try_send(Method::GET, "/api/v2/users", None).await;
    assert!(err.is_err(), "reqwest sees a transport error");
    assert_eq!(api.version(&id), v);
    let s = api.sb.stats();
    assert_eq!(s.dropped_before, 2);
    assert_eq!(s.by_route["PATCH /api/v2/users/{id} dropped"], 1);
}

#[tokio::test]
async fn drop_after_write_applies_the_write_but_loses_the_response() {
    let api = start(faults(Faults {
        drop_after_write: 1.0,
        ..Faults::default()
    }))
    .await;
    let id = api.ids()[3].clone();
    let v = api.version(&id);
    let r = api
        .try_send(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"version": v, "title": "landed"})),
        )
        .await;
    assert!(r.is_err());
    let u = api.sb.user(&id).unwrap();
    assert_eq!(u["title"], "landed");
    assert_eq!(u["version"], v + 1);
    // Reads and failed writes are answered normally.
    assert_eq!(api.get("/api/v2/users").await.0, StatusCode::OK);
    let (status, _) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": v, "title": "stale"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let s = api.sb.stats();
    assert_eq!(s.dropped_after, 1);
    assert_eq!(s.writes_per_user[&id], 1);
}

#[tokio::test]
async fn latency_is_added_and_in_flight_requests_are_counted() {
    let api = start(faults(Faults {
        latency: Duration::from_millis(200),
        latency_jitter: Duration::from_millis(20),
        ..Faults::default()
    }))
    .await;
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let req = api
            .http
            .get(api.url("/api/v2/routing/skills"))
            .bearer_auth(&api.token);
        set.spawn(async move { req.send().await.unwrap().status() });
    }
    while let Some(status) = set.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    let elapsed = t0.elapsed();
    assert!(elapsed >= Duration::from_millis(180), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(1500),
        "concurrent, not serial: {elapsed:?}"
    );
    assert!(api.sb.stats().peak_in_flight >= 4);
}

#[tokio::test]
async fn revocation_rejects_the_token_from_then_on() {
    let mut api = start(faults(Faults {
        revoke_token: 1.0,
        ..Faults::default()
    }))
    .await;
    let (status, body) = api.get("/api/v2/users").await;
    assert_error(status, &body, 401, "bad.credentials");
    api.sb.set_faults(Faults::default());
    let (status, _) = api.get("/api/v2/users").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "still revoked");
    api.token = api.login().await;
    assert_eq!(api.get("/api/v2/users").await.0, StatusCode::OK);
    let s = api.sb.stats();
    assert_eq!((s.revoked, s.unauthorized), (1, 2));
}

#[tokio::test]
async fn the_concurrent_writer_changes_a_user_right_after_it_is_read() {
    let api = start(faults(Faults {
        concurrent_writer: 1.0,
        ..Faults::default()
    }))
    .await;
    let id = api.ids()[6].clone();
    let (_, read) = api.get(&format!("/api/v2/users/{id}")).await;
    let read_version = read["version"].as_i64().unwrap();
    let now = api.sb.user(&id).unwrap();
    assert_eq!(now["version"], read_version + 1);
    let certs = now["certifications"].as_array().unwrap();
    assert!(
        certs[0]
            .as_str()
            .unwrap()
            .starts_with("sandbox-concurrent-writer")
    );
    api.sb.set_faults(Faults::default());
    let (status, _) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": read_version, "title": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Bulk reads trigger it per user served.
    api.sb.set_faults(Faults {
        concurrent_writer: 1.0,
        ..Faults::default()
    });
    let ids = api.ids();
    api.get(&format!(
        "/api/v2/users?id={}&id={}&state=any",
        ids[0], ids[1]
    ))
    .await;
    let s = api.sb.stats();
    assert_eq!(s.concurrent_writes, 3);
    assert!(
        s.writes_per_user.is_empty(),
        "not counted as applied writes"
    );
}

#[tokio::test]
async fn a_429_burst_lasts_its_retry_after() {
    let api = start(faults(Faults {
        burst_429: 1.0,
        burst_retry_after: (1, 1),
        ..Faults::default()
    }))
    .await;
    let r = api.send(Method::GET, "/api/v2/routing/skills", None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    let (_, body) = json(r).await;
    assert_eq!(body["code"], "too.many.requests.retry.after");
    api.sb.set_faults(Faults::default());
    // Still inside the burst: 429 again, and it arrived during the Retry-After.
    assert_eq!(api.get("/api/v2/routing/skills").await.0, 429);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(api.get("/api/v2/routing/skills").await.0, StatusCode::OK);
    let s = api.sb.stats();
    assert_eq!(s.burst_429s, 2);
    assert_eq!(s.too_many_requests, 2);
    assert_eq!(s.during_retry_after, 1);
}

#[tokio::test]
async fn arrival_is_judged_before_the_added_latency() {
    // 1 request per 1 s and 400 ms latency: the 429 is sent ~400 ms after arrival.
    // A request sent right after reading Retry-After and waiting it out arrives
    // after the promise even though the server's clock ran ahead by the latency.
    let api = start(SandboxConfig {
        rate_limit: 1,
        rate_window: Duration::from_secs(1),
        faults: Faults {
            latency: Duration::from_millis(400),
            ..Faults::default()
        },
        ..small()
    })
    .await;
    assert_eq!(api.get("/api/v2/routing/skills").await.0, StatusCode::OK);
    let r = api.send(Method::GET, "/api/v2/routing/skills", None).await;
    assert_eq!(r.status(), 429);
    let secs: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    assert_eq!(api.get("/api/v2/routing/skills").await.0, StatusCode::OK);
    assert_eq!(api.sb.stats().during_retry_after, 0);
}

#[tokio::test]
async fn inspection_endpoints_need_no_token_and_are_not_counted() {
    let api = start(small()).await;
    api.get("/api/v2/users").await;
    let stats: serde_json::Value = api
        .http
        .get(api.url("/sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 2, "the token request and one GET");
    assert_eq!(stats["by_route"]["GET /api/v2/users 200"], 1);
    assert_eq!(stats["tokens_issued"], 1);
    let r = api
        .http
        .post(api.url("/sandbox/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(api.sb.stats().requests, 0);
    api.sb.reset_stats();
}
