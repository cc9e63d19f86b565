//! The contract between the sandbox and the golden payloads in fixtures/genesys/
//! (taken from the official SDK models, not from either side's code): every key the
//! sandbox sends exists in the fixture with the same JSON type, nested entries
//! included, and the sandbox accepts the fixture's request bodies.

mod common;

use common::*;
use genesys_sandbox::{Quirks, SandboxConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/genesys/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The shape of an array's elements: the union of their keys (objects), else the
/// first element.
fn element_shape(list: &[Value]) -> Option<Value> {
    if list.iter().all(Value::is_object) && !list.is_empty() {
        let mut union = Map::new();
        for e in list.iter().filter_map(Value::as_object) {
            for (k, v) in e {
                union.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        return Some(Value::Object(union));
    }
    list.first().cloned()
}

/// Every key of `got` exists in `shape` with the same JSON type, recursively.
fn assert_within(got: &Value, shape: &Value, path: &str) {
    assert_eq!(kind(got), kind(shape), "{path}: {got} vs {shape}");
    match (got, shape) {
        (Value::Object(g), Value::Object(s)) => {
            for (k, v) in g {
                let sub = s
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k} is not in the fixture ({v})"));
                assert_within(v, sub, &format!("{path}.{k}"));
            }
        }
        (Value::Array(g), Value::Array(s)) => {
            if let Some(es) = element_shape(s) {
                for (i, v) in g.iter().enumerate() {
                    assert_within(v, &es, &format!("{path}[{i}]"));
                }
            }
        }
        _ => {}
    }
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn realistic_org() -> SandboxConfig {
    SandboxConfig {
        users: 60,
        quirks: Quirks {
            expand_miss_share: 0.0,
            ..Quirks::realistic()
        },
        ..SandboxConfig::unlimited()
    }
}

#[tokio::test]
async fn a_full_user_has_the_keys_and_types_of_user_full_json() {
    let api = start(realistic_org()).await;
    let full = fixture("user-full.json");
    // Users 0 to 7 hold every contact layout; 6 holds all shapes at once.
    for id in &api.ids()[..8] {
        let (status, user) = api
            .get(&format!(
                "/api/v2/users/{id}?expand=skills,languages,employerInfo,locations"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_within(&user, &full, "user");
        for key in [
            "id",
            "name",
            "division",
            "chat",
            "email",
            "primaryContactInfo",
            "addresses",
            "state",
            "username",
            "version",
            "acdAutoAnswer",
            "selfUri",
            "skills",
            "languages",
            "employerInfo",
        ] {
            assert!(user.get(key).is_some(), "{key} missing from {user}");
        }
    }
    // Without expand: the shape of user-minimal.json, no expand-only keys.
    let id = &api.ids()[6];
    let (_, plain) = api.get(&format!("/api/v2/users/{id}")).await;
    assert_within(&plain, &fixture("user-minimal.json"), "user");
    for key in ["skills", "languages", "employerInfo", "locations"] {
        assert!(plain.get(key).is_none(), "{key}");
    }
}

#[tokio::test]
async fn list_and_bulk_pages_have_the_listing_shape() {
    let api = start(realistic_org()).await;
    let (status, page) = api.get("/api/v2/users?pageSize=2&pageNumber=1").await;
    assert_eq!(status, StatusCode::OK);
    let list = fixture("users-page-list.json");
    assert_within(&page, &list, "page");
    for key in ["entities", "pageSize", "pageNumber", "total", "pageCount"] {
        assert!(page.get(key).is_some(), "{key}");
    }
    let ids = api.ids();
    let (status, page) = api
        .get(&format!(
            "/api/v2/users?id={}&id={}&expand=skills",
            ids[0], ids[1]
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_within(&page, &fixture("users-page-by-id.json"), "page");
    assert_eq!(page["entities"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn per_user_skill_pages_have_the_fixture_shape() {
    let api = start(realistic_org()).await;
    let id = &api.ids()[0];
    let (status, page) = api.get(&format!("/api/v2/users/{id}/routingskills")).await;
    assert_eq!(status, StatusCode::OK);
    assert_within(&page, &fixture("user-routing-skills-page.json"), "page");
}

#[tokio::test]
async fn a_deleted_user_reads_like_user_deleted_json() {
    let api = start(realistic_org()).await;
    let id = api.sb.deleted_user_ids()[0].clone();
    let (status, user) = api.get(&format!("/api/v2/users/{id}?state=deleted")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&user), keys(&fixture("user-deleted.json")));
}

#[tokio::test]
async fn the_token_answer_has_the_keys_of_token_json() {
    let api = start(realistic_org()).await;
    let r = api
        .http
        .post(api.url("/oauth/token"))
        .basic_auth(ID, Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&body), keys(&fixture("token.json")));
    assert_within(&body, &fixture("token.json"), "token");
}

async fn too_many(omit_share: f64) -> (Value, reqwest::header::HeaderMap) {
    let api = start(SandboxConfig {
        users: 10,
        rate_limit: 1,
        quirks: Quirks {
            omit_limit_share: omit_share,
            ..Quirks::realistic()
        },
        ..SandboxConfig::default()
    })
    .await;
    api.get("/api/v2/routing/skills").await;
    let r = api.send(Method::GET, "/api/v2/routing/skills", None).await;
    let headers = r.headers().clone();
    let (status, body) = json(r).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    (body, headers)
}

#[tokio::test]
async fn bodies_of_429_match_the_fixtures_with_and_without_limit() {
    for (share, name) in [
        (0.0, "error-429-with-limit.json"),
        (1.0, "error-429-without-limit.json"),
    ] {
        let (body, headers) = too_many(share).await;
        let want = fixture(name);
        assert_eq!(keys(&body), keys(&want), "{name}");
        assert_within(&body, &want, name);
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("[{retry}]"))
        );
        assert_eq!(
            headers["inin-correlation-id"],
            body["contextId"].as_str().unwrap()
        );
    }
}

#[tokio::test]
async fn error_bodies_have_the_keys_of_the_403_and_409_fixtures() {
    let api = start(realistic_org()).await;
    let id = api.sb.restricted_user_ids()[0].clone();
    let v = api.version(&id);
    let (status, body) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": v, "title": "X"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(keys(&body), keys(&fixture("error-403-division.json")));
    let id = api.ids()[0].clone();
    let v = api.version(&id);
    let (status, body) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": v + 5, "title": "X"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(keys(&body), keys(&fixture("error-409-version.json")));
    assert_eq!(body["code"], "general.conflict");
}

#[tokio::test]
async fn the_update_user_request_fixture_is_accepted_as_a_patch_body() {
    let api = start(realistic_org()).await;
    let id = api.ids()[6].clone();
    let mut body = fixture("update-user-request.json");
    // The WORK3 entry of the fixture is sent back without `address`: give the user
    // the fixture's own addresses first, so that the extension's number is known.
    let mut doc = api.sb.user(&id).unwrap();
    doc["addresses"] = fixture("user-full.json")["addresses"].clone();
    doc["addresses"][2]["address"] = json!("+13175550143");
    api.sb.put_user(&id, doc).unwrap();
    body["version"] = json!(api.version(&id));
    let (status, user) = api.patch(&format!("/api/v2/users/{id}"), body).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["title"], "Support Team Lead");
    let work = &user["addresses"][0];
    assert_eq!(
        (work["address"].as_str(), work["display"].as_str()),
        (Some("+13175550150"), Some("+1 317-555-0150"))
    );
    let work3 = &user["addresses"][2];
    assert_eq!(work3["display"], "+1 317-555-0143");
    assert!(work3.get("address").is_none());
    assert_eq!(user["addresses"][3]["integration"], "microsoftteams");
    assert_within(&user, &fixture("user-full.json"), "user");
}

#[tokio::test]
async fn queue_member_pages_have_the_shape_of_queue_members_page_json() {
    let api = start(realistic_org()).await;
    let want = fixture("queue-members-page.json");
    let entity_keys = keys(&want["entities"][0]);
    for queue in ["Support", "Billing"] {
        let q = api.sb.queue_id(queue).unwrap();
        let (status, page) = api
            .get(&format!("/api/v2/routing/queues/{q}/members?pageSize=2"))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_within(&page, &want, "page");
        let entities = page["entities"].as_array().unwrap();
        assert!(!entities.is_empty(), "{queue}");
        for e in entities {
            assert_eq!(keys(e), entity_keys, "{e}");
        }
    }
    // Both memberBy values of the fixture occur.
    let q = api.sb.queue_id("Billing").unwrap();
    let (_, page) = api
        .get(&format!("/api/v2/routing/queues/{q}/members"))
        .await;
    assert_eq!(page["entities"][0]["memberBy"], "group");
}

#[tokio::test]
async fn a_subject_has_the_shape_of_subject_grants_json() {
    let api = start(realistic_org()).await;
    let want = fixture("subject-grants.json");
    let leads = api.sb.group_id("Team Leads").unwrap();
    let user = api.sb.group_member_ids(&leads)[0].clone();
    let (status, subject) = api
        .get(&format!(
            "/api/v2/authorization/subjects/{user}?includeDuplicates=true"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{subject}");
    assert_eq!(keys(&subject), keys(&want));
    assert_within(&subject, &want, "subject");
    let grants = subject["grants"].as_array().unwrap();
    for g in grants {
        assert_eq!(keys(g), keys(&want["grants"][0]), "{g}");
        assert_eq!(keys(&g["role"]), keys(&want["grants"][0]["role"]), "{g}");
        assert_eq!(
            keys(&g["division"]),
            keys(&want["grants"][0]["division"]),
            "{g}"
        );
    }
    // Direct and inherited grants differ in subjectId only, as in the fixture.
    let subjects: Vec<&str> = grants
        .iter()
        .map(|g| g["subjectId"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, [user.as_str(), leads.as_str()]);
}

/// A fixture request body with the fixture's ids replaced by the sandbox's, in
/// order, so that only the ids differ from what the SDK models describe.
fn with_ids(body: &Value, ids: &mut impl Iterator<Item = String>) -> Value {
    match body {
        Value::String(s) if uuid_like(s) => Value::String(ids.next().unwrap()),
        Value::Array(list) => Value::Array(list.iter().map(|v| with_ids(v, ids)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), with_ids(v, ids)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|&c| c == '-').count() == 4
}

#[tokio::test]
async fn the_membership_request_fixtures_are_accepted() {
    let api = start(realistic_org()).await;
    let sb = &api.sb;
    let w = sb.writable_user_ids();

    let q = sb.queue_id("Sales Inbound").unwrap();
    let body = with_ids(
        &fixture("queue-members-add-request.json"),
        &mut w[..2].iter().cloned(),
    );
    let r = api
        .send(
            Method::POST,
            &format!("/api/v2/routing/queues/{q}/members"),
            Some(body),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(sb.queue_member_ids(&q), w[..2]);

    let agent = sb.role_id("Agent").unwrap();
    let (home, sales) = (
        sb.division_id("Home").unwrap(),
        sb.division_id("Sales").unwrap(),
    );
    let body = with_ids(
        &fixture("role-division-grants-request.json"),
        // Object keys are visited in sorted order: divisionId before roleId.
        &mut [home, agent.clone(), sales, agent].into_iter(),
    );
    let r = api
        .send(
            Method::POST,
            &format!(
                "/api/v2/authorization/subjects/{}/bulkadd?subjectType=PC_USER",
                w[0]
            ),
            Some(body),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(sb.user_grants(&w[0]).len(), 3);

    let g = sb.group_id("Night Shift").unwrap();
    let mut body = with_ids(
        &fixture("group-members-add-request.json"),
        &mut w[..2].iter().cloned(),
    );
    body["version"] = json!(sb.group_version(&g));
    let (status, answer) = api.post(&format!("/api/v2/groups/{g}/members"), body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert!(sb.group_member_ids(&g).contains(&w[0]));
}
