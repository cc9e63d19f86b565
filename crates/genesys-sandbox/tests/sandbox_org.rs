//! `GET /api/v2/organizations/me`: the org's name, or a 403 when the sandbox is told
//! the caller's role may not read it (its permission is not documented).

mod common;

use common::*;
use genesys_sandbox::{DEFAULT_ORG_NAME, Org, SandboxConfig};
use reqwest::StatusCode;

#[tokio::test]
async fn the_org_answers_its_configured_name_and_a_stable_id() {
    let api = start(SandboxConfig {
        org: Org {
            name: "Acme Prod".into(),
            forbidden: false,
        },
        ..small()
    })
    .await;
    let (status, body) = api.get("/api/v2/organizations/me").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Acme Prod");
    let id = body["id"].as_str().expect("an id");
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(body["selfUri"], format!("/api/v2/organizations/{id}"));
    let stats = api.sb.stats();
    assert_eq!(stats.route_count("GET /api/v2/organizations/me 200"), 1);
}

#[tokio::test]
async fn the_default_org_is_the_demo_org() {
    let api = start(small()).await;
    let (status, body) = api.get("/api/v2/organizations/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], DEFAULT_ORG_NAME);
}

#[tokio::test]
async fn a_forbidden_org_read_answers_403_with_the_genesys_body() {
    let api = start(SandboxConfig {
        org: Org {
            forbidden: true,
            ..Org::default()
        },
        ..small()
    })
    .await;
    let (status, body) = api.get("/api/v2/organizations/me").await;
    assert_error(status, &body, 403, "missing.any.permissions");
    assert!(body.get("name").is_none(), "{body}");
}

#[tokio::test]
async fn the_org_needs_a_token() {
    let api = start(small()).await;
    let r = api
        .http
        .get(api.url("/api/v2/organizations/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
