//! The sandbox's login host and user endpoints over HTTP: shapes, status codes and
//! Genesys error bodies, as ../shared/genesys-api.md describes them.

mod common;

use std::time::Duration;

use common::*;
use genesys_sandbox::{Faults, SandboxConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn token_endpoint_accepts_basic_auth_and_form_fields() {
    let api = start(SandboxConfig {
        token_ttl: Duration::from_secs(1234),
        ..small()
    })
    .await;
    let r = api
        .http
        .post(api.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ID),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("inin-correlation-id"));
    let (status, body) = json(r).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1234);
    let token = body["access_token"].as_str().unwrap();
    assert!(token.len() >= 32);
    assert_ne!(token, api.token, "tokens are fresh random values");
    assert_eq!(api.sb.issued_tokens().len(), 2);
    let s = api.sb.stats();
    assert_eq!((s.tokens_issued, s.token_requests), (2, 2));
}

#[tokio::test]
async fn token_endpoint_errors_use_the_oauth_body() {
    let api = start(SandboxConfig {
        token_rate_limit: 3,
        rate_window: Duration::from_secs(30),
        ..small()
    })
    .await;
    let post = |id: &'static str, secret: &'static str, grant: &'static str| {
        api.http
            .post(api.url("/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", grant)])
            .send()
    };
    let (status, body) = json(post(ID, "wrong", "client_credentials").await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(body["description"].is_string() && body["error_description"].is_string());

    let (status, body) = json(post(ID, SECRET, "password").await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");

    // One token was issued at start; two more fit in the window, then the limit.
    for _ in 0..2 {
        assert_eq!(
            post(ID, SECRET, "client_credentials")
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let (status, body) = json(post(ID, SECRET, "client_credentials").await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .starts_with("rate limit exceeded")
    );
    assert_eq!(api.sb.stats().token_rate_limited, 1);
}

#[tokio::test]
async fn api_calls_need_a_valid_unexpired_bearer_token() {
    let mut api = start(SandboxConfig {
        token_ttl: Duration::from_millis(1500),
        ..small()
    })
    .await;
    let r = api.http.get(api.url("/api/v2/users")).send().await.unwrap();
    let header = r.headers()["inin-correlation-id"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, body) = json(r).await;
    assert_error(status, &body, 401, "authentication.required");
    assert_eq!(body["contextId"], header.as_str());

    let (status, _) = api.get("/api/v2/users").await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, body) = api.get("/api/v2/users").await;
    assert_error(status, &body, 401, "bad.credentials");
    assert_eq!(body["message"], "Invalid login credentials.");

    api.token = "made-up".into();
    let (status, body) = api.get("/api/v2/users").await;
    assert_error(status, &body, 401, "bad.credentials");
    assert_eq!(api.sb.stats().unauthorized, 3);
}

#[tokio::test]
async fn every_response_has_a_fresh_correlation_id() {
    let api = start(small()).await;
    let a = api.send(Method::GET, "/api/v2/users", None).await;
    let b = api.send(Method::GET, "/api/v2/users", None).await;
    let id = |r: &reqwest::Response| {
        r.headers()["inin-correlation-id"]
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(id(&a), id(&b));
    assert!(uuid::Uuid::parse_str(&id(&a)).is_ok());
}

#[tokio::test]
async fn listing_pages_active_users() {
    let api = start(small()).await;
    let (status, page) = api.get("/api/v2/users?pageSize=7&pageNumber=2").await;
    assert_eq!(status, StatusCode::OK);
    let active = api
        .ids()
        .iter()
        .filter(|id| api.sb.user(id).unwrap()["state"] == "active")
        .count();
    assert_eq!(page["total"], active);
    assert_eq!(page["pageSize"], 7);
    assert_eq!(page["pageNumber"], 2);
    assert_eq!(page["pageCount"], active.div_ceil(7));
    assert_eq!(page["entities"].as_array().unwrap().len(), 7);
    assert!(page["nextUri"].is_string() && page["previousUri"].is_string());
    let (_, first) = api.get("/api/v2/users").await;
    assert_eq!(first["pageSize"], 25);
    let (_, all) = api.get("/api/v2/users?state=any&pageSize=500").await;
    assert_eq!(all["total"], 60);
    for q in ["pageSize=501", "pageNumber=0", "pageSize=abc", "state=nope"] {
        let (status, body) = api.get(&format!("/api/v2/users?{q}")).await;
        assert_error(status, &body, 400, "bad.request");
    }
}

#[tokio::test]
async fn bulk_read_by_id_returns_the_known_users_and_pages_them() {
    let api = start(small()).await;
    let ids = api.ids();
    let q = format!(
        "/api/v2/users?id={}&id={}&id=00000000-0000-4000-8000-000000000000&id=junk&state=any&pageSize=100",
        ids[3], ids[1]
    );
    let (status, page) = api.get(&q).await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<&str> = page["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[3].as_str(), ids[1].as_str()]);
    assert_eq!(page["total"], 2);

    // Like Genesys, the bulk read is paged too: without pageSize only 25 come back.
    let many: String = ids[..40].iter().map(|id| format!("id={id}&")).collect();
    let (_, page) = api.get(&format!("/api/v2/users?{many}state=any")).await;
    assert_eq!(page["entities"].as_array().unwrap().len(), 25);
    assert_eq!(page["total"], 40);

    let too_many: String = (0..101)
        .map(|i| format!("id=00000000-0000-4000-8000-{i:012}&"))
        .collect();
    let (status, body) = api.get(&format!("/api/v2/users?{too_many}")).await;
    assert_error(status, &body, 400, "bad.request");
}

#[tokio::test]
async fn inactive_users_need_state_any_in_a_bulk_read() {
    let api = start(SandboxConfig {
        users: 200,
        ..SandboxConfig::unlimited()
    })
    .await;
    let inactive = api
        .ids()
        .into_iter()
        .find(|id| api.sb.user(id).unwrap()["state"] == "inactive")
        .expect("the seed has inactive users");
    let (_, page) = api.get(&format!("/api/v2/users?id={inactive}")).await;
    assert_eq!(page["total"], 0);
    let (_, page) = api
        .get(&format!("/api/v2/users?id={inactive}&state=any"))
        .await;
    assert_eq!(page["entities"][0]["state"], "inactive");
}

#[tokio::test]
async fn expand_adds_skills_languages_and_employer_info_only_when_asked() {
    let api = start(small()).await;
    let id = &api.ids()[0];
    let (status, plain) = api.get(&format!("/api/v2/users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for field in ["skills", "languages", "employerInfo"] {
        assert!(plain.get(field).is_none(), "{field} without expand");
    }
    assert!(plain["version"].is_i64());
    assert_eq!(plain["selfUri"], format!("/api/v2/users/{id}"));
    let (_, full) = api
        .get(&format!(
            "/api/v2/users/{id}?expand=skills,languages,employerInfo"
        ))
        .await;
    assert!(full["skills"].is_array() && full["languages"].is_array());
    assert!(full["employerInfo"]["employeeId"].is_string());
    let (_, listed) = api
        .get(&format!("/api/v2/users?id={id}&expand=skills"))
        .await;
    assert!(listed["entities"][0]["skills"].is_array());
    assert!(listed["entities"][0].get("languages").is_none());
}

#[tokio::test]
async fn unknown_users_are_404() {
    let api = start(small()).await;
    let (status, body) = api
        .get("/api/v2/users/00000000-0000-4000-8000-000000000000")
        .await;
    assert_error(status, &body, 404, "not.found");
    let (status, body) = api
        .patch(
            "/api/v2/users/00000000-0000-4000-8000-000000000000",
            json!({"version": 1, "title": "x"}),
        )
        .await;
    assert_error(status, &body, 404, "not.found");
}

#[tokio::test]
async fn patch_applies_update_user_and_bumps_the_version() {
    let api = start(small()).await;
    let ids = api.ids();
    let (id, manager) = (&ids[20], &ids[2]);
    let v = api.version(id);
    let (status, user) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({
                "version": v,
                "title": "Night Shift Lead",
                "department": "",
                "manager": manager,
                "addresses": [{"address": "+13175550100", "mediaType": "PHONE", "type": "HOME"}],
                "employerInfo": {"employeeId": "X-9", "dateHire": "2022-02-02"},
                "acdAutoAnswer": true,
                "certifications": ["CCNA"],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["version"], v + 1);
    assert_eq!(user["title"], "Night Shift Lead");
    assert!(user.get("department").is_none());
    assert_eq!(user["manager"]["id"], manager.as_str());
    assert_eq!(
        user["manager"]["selfUri"],
        format!("/api/v2/users/{manager}")
    );
    assert_eq!(user["addresses"].as_array().unwrap().len(), 1);
    assert_eq!(user["acdAutoAnswer"], true);
    assert_eq!(user["certifications"], json!(["CCNA"]));
    let stored = api.sb.user(id).unwrap();
    let info = &stored["employerInfo"];
    assert_eq!(info["employeeId"], "X-9");
    assert!(
        info.get("officialName").is_none(),
        "employerInfo is replaced whole"
    );
    assert_eq!(api.sb.stats().writes_per_user[id], 1);

    // The manager is cleared by an empty string.
    let (_, user) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": v + 1, "manager": ""}),
        )
        .await;
    assert!(user.get("manager").is_none());
    assert_eq!(api.version(id), v + 2);
}

#[tokio::test]
async fn stale_versions_conflict_with_409_or_a_share_of_400() {
    let api = start(small()).await;
    let id = api.ids()[5].clone();
    let v = api.version(&id);
    let (status, body) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": v - 1, "title": "x"}),
        )
        .await;
    assert_error(status, &body, 409, "general.conflict");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not match the current version")
    );
    // version + 1 is stale too: the current version is what must be sent.
    let (status, _) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": v + 1, "title": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    api.sb.set_faults(Faults {
        conflict_400_share: 1.0,
        ..Faults::default()
    });
    let (status, body) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": v + 5, "title": "x"}),
        )
        .await;
    assert_error(status, &body, 400, "bad.request");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not match the current version")
    );
    assert_eq!(api.version(&id), v, "nothing applied");
    let s = api.sb.stats();
    assert_eq!(s.version_conflicts, 3);
    assert!(s.writes_per_user.is_empty());
}

#[tokio::test]
async fn state_is_applied_alone() {
    let api = start(small()).await;
    let id = api.ids()[7].clone();
    let before = api.sb.user(&id).unwrap();
    let (status, user) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": before["version"], "state": "inactive", "title": "ignored"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["state"], "inactive");
    assert_eq!(user["title"], before["title"]);
    assert_eq!(user["version"], before["version"].as_i64().unwrap() + 1);
}

#[tokio::test]
async fn invalid_patches_are_400_naming_the_problem() {
    let api = start(small()).await;
    let id = api.ids()[9].clone();
    let v = api.version(&id);
    let path = format!("/api/v2/users/{id}");
    let cases = [
        (json!({"version": v, "nickname": "x"}), "nickname"),
        (json!({"title": "x"}), "version"),
        (json!({"version": v, "email": "not an email"}), "email"),
        (json!({"version": v, "state": "retired"}), "state"),
        (
            json!({"version": v, "manager": "00000000-0000-4000-8000-000000000000"}),
            "manager",
        ),
        (json!({"version": v, "manager": {"id": "x"}}), "manager"),
        (
            json!({"version": v, "addresses": [{"address": "1", "mediaType": "PAGER", "type": "WORK"}]}),
            "mediaType",
        ),
    ];
    for (body, needle) in cases {
        let (status, err) = api.patch(&path, body.clone()).await;
        assert_error(status, &err, 400, "bad.request");
        assert!(
            err["message"].as_str().unwrap().contains(needle),
            "{body} -> {err}"
        );
    }
    let r = api
        .http
        .patch(api.url(&path))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, err) = json(r).await;
    assert_error(status, &err, 400, "bad.request");
    assert_eq!(api.version(&id), v);
}

#[tokio::test]
async fn read_only_update_user_fields_are_accepted_and_ignored() {
    let api = start(small()).await;
    let id = api.ids()[11].clone();
    let v = api.version(&id);
    let (status, user) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": v, "id": id, "selfUri": "/x", "primaryContactInfo": [],
                   "chat": {"jabberId": "j@x"}, "biography": {"hobbies": "chess"},
                   "profileSkills": ["Rust"], "images": [], "locations": [], "groups": [],
                   "preferredName": "Al", "username": "al@example.com", "name": "Al Bo"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["selfUri"], format!("/api/v2/users/{id}"));
    assert_eq!(user["biography"]["hobbies"], "chess");
    assert_eq!(user["name"], "Al Bo");
}

#[tokio::test]
async fn bulk_acd_auto_answer_sets_only_that_for_at_most_50_users() {
    let api = start(small()).await;
    let ids = api.ids();
    let before: Vec<i64> = ids[..3].iter().map(|id| api.version(id)).collect();
    let body: Vec<Value> = ids[..3]
        .iter()
        .map(|id| json!({"id": id, "acdAutoAnswer": true}))
        .collect();
    let (status, page) = api.patch("/api/v2/users/bulk", Value::Array(body)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["entities"].as_array().unwrap().len(), 3);
    for (id, v) in ids[..3].iter().zip(before) {
        let u = api.sb.user(id).unwrap();
        assert_eq!(u["acdAutoAnswer"], true);
        assert_eq!(u["version"], v + 1);
    }
    assert_eq!(api.sb.stats().total_writes(), 3);

    let body: Vec<Value> = (0..51)
        .map(|i| json!({"id": ids[i], "acdAutoAnswer": false}))
        .collect();
    let (status, err) = api.patch("/api/v2/users/bulk", Value::Array(body)).await;
    assert_error(status, &err, 400, "bad.request");
    let (status, err) = api
        .patch(
            "/api/v2/users/bulk",
            json!([{"id": ids[0], "acdAutoAnswer": true, "title": "x"}]),
        )
        .await;
    assert_error(status, &err, 400, "bad.request");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_org_over_http() {
    let a = start(small()).await;
    let b = start(small()).await;
    assert_eq!(a.ids(), b.ids());
    let q = "/api/v2/users?pageSize=10&expand=skills,languages,employerInfo";
    let (_, pa) = a.get(q).await;
    let (_, pb) = b.get(q).await;
    assert_eq!(pa["entities"], pb["entities"]);
    assert_eq!(a.sb.skill_id("Billing"), b.sb.skill_id("Billing"));
    let c = start(SandboxConfig { seed: 2, ..small() }).await;
    assert_ne!(a.ids(), c.ids());
}

#[tokio::test]
async fn unknown_routes_are_genesys_404s() {
    let api = start(small()).await;
    let (status, body) = api.get("/api/v2/users/bulkupdate/x/y/z").await;
    assert_error(status, &body, 404, "not.found");
    let (status, body) = api.get("/api/v2/users/bulk").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
}

#[tokio::test]
async fn default_seed_ids_are_pinned() {
    // Regression guard: examples and other tests name these ids; a change in the
    // generator (or a `rand` upgrade changing StdRng) must be noticed here.
    let api = start(SandboxConfig {
        users: 3,
        ..SandboxConfig::unlimited()
    })
    .await;
    assert_eq!(api.ids()[0], "49635e08-39c7-4499-ab44-04c388477f65");
}

#[tokio::test]
async fn the_demo_config_paces_visibly_and_reports_its_limit() {
    let api = start(SandboxConfig {
        faults: Faults::default(),
        ..SandboxConfig::demo()
    })
    .await;
    let (_, body) = api
        .get("/api/v2/organizations/limits/namespaces/platform.api")
        .await;
    assert_eq!(body["entities"][0]["value"], 600);
    assert_eq!(api.ids().len(), genesys_sandbox::DEFAULT_USERS);
    let demo = SandboxConfig::demo();
    assert!(demo.faults.error_5xx > 0.0 && demo.faults.latency > Duration::ZERO);
}
