//! The real-org quirks over HTTP: division-scoped 403s, deleted users, best-effort
//! expand, 429 `limit` details in their units, ignored fields and kept emails.

mod common;

use common::*;
use genesys_sandbox::{LimitUnit, Quirks, SandboxConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn with(quirks: Quirks) -> SandboxConfig {
    SandboxConfig {
        users: 60,
        quirks,
        ..SandboxConfig::unlimited()
    }
}

fn entity_ids(page: &Value) -> Vec<String> {
    page["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn writes_to_a_restricted_user_are_403_and_reads_are_fine() {
    let api = start(realistic()).await;
    let restricted = api.sb.restricted_user_ids();
    assert!(restricted.contains(&api.ids()[genesys_sandbox::RESTRICTED_USER_INDEX]));
    let id = restricted[0].clone();
    assert_eq!(api.sb.division_of(&id).as_deref(), Some("Restricted Ops"));
    assert_eq!(api.sb.division_of(&api.ids()[0]).as_deref(), Some("Home"));
    let (status, user) = api.get(&format!("/api/v2/users/{id}?expand=skills")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["division"]["name"], "Restricted Ops");
    assert_eq!(
        api.get(&format!("/api/v2/users/{id}/routingskills"))
            .await
            .0,
        StatusCode::OK
    );

    let v = api.version(&id);
    let r = api
        .send(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"version": v, "title": "Nope"})),
        )
        .await;
    let correlation = r.headers()["inin-correlation-id"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, body) = json(r).await;
    assert_error(status, &body, 403, "missing.division.permission");
    assert_eq!(body["contextId"], correlation.as_str());
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("directory:user:edit"), "{message}");
    assert!(message.contains("Restricted Ops"), "{message}");
    assert_eq!(api.version(&id), v, "nothing applied");

    let billing = api.sb.skill_id("Billing").unwrap();
    let english = api.sb.language_id("English").unwrap();
    let entry = json!([{"id": billing, "proficiency": 3}]);
    let lang = json!([{"id": english, "proficiency": 3}]);
    let skills = format!("/api/v2/users/{id}/routingskills");
    let langs = format!("/api/v2/users/{id}/routinglanguages");
    for (status, body) in [
        api.patch(&format!("{skills}/bulk"), entry.clone()).await,
        api.put(&format!("{skills}/bulk"), entry).await,
        api.patch(&format!("{langs}/bulk"), lang).await,
        api.patch(
            "/api/v2/users/bulk",
            json!([{"id": id, "acdAutoAnswer": true}]),
        )
        .await,
    ] {
        assert_error(status, &body, 403, "missing.division.permission");
    }
    assert_eq!(
        api.delete(&format!("{skills}/{billing}")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api.delete(&format!("{langs}/{english}")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(api.sb.stats().total_writes(), 0);
}

#[tokio::test]
async fn the_403_code_is_configurable() {
    let api = start(with(Quirks {
        forbidden_code: "missing.any.permissions".into(),
        ..Quirks::realistic()
    }))
    .await;
    let id = api.sb.restricted_user_ids()[0].clone();
    let v = api.version(&id);
    let (status, body) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": v, "title": "X"}),
        )
        .await;
    assert_error(status, &body, 403, "missing.any.permissions");
}

#[tokio::test]
async fn deleted_users_are_listed_only_when_asked_for() {
    let api = start(realistic()).await;
    let deleted = api.sb.deleted_user_ids();
    assert!(deleted.contains(&api.ids()[genesys_sandbox::DELETED_USER_INDEX]));
    let (_, page) = api.get("/api/v2/users?pageSize=500").await;
    let listed = entity_ids(&page);
    assert!(deleted.iter().all(|d| !listed.contains(d)));
    assert!(
        page["entities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["state"] == "active")
    );

    let (_, page) = api.get("/api/v2/users?pageSize=500&state=deleted").await;
    assert_eq!(entity_ids(&page), deleted);
    let (_, page) = api.get("/api/v2/users?pageSize=500&state=any").await;
    assert_eq!(page["total"], api.ids().len());

    let bulk = format!("/api/v2/users?id={}&id={}", deleted[0], api.ids()[0]);
    let (_, page) = api.get(&bulk).await;
    assert_eq!(entity_ids(&page), vec![api.ids()[0].clone()]);
    let (_, page) = api.get(&format!("{bulk}&state=any")).await;
    assert_eq!(entity_ids(&page).len(), 2);
}

#[tokio::test]
async fn a_deleted_user_is_404_until_asked_for_and_a_patch_with_state_restores_it() {
    let api = start(realistic()).await;
    let id = api.sb.deleted_user_ids()[0].clone();
    let (status, body) = api.get(&format!("/api/v2/users/{id}")).await;
    assert_error(status, &body, 404, "not.found");
    let (status, user) = api.get(&format!("/api/v2/users/{id}?state=deleted")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["state"], "deleted");
    let (status, _) = api.get(&format!("/api/v2/users/{id}?state=any")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api.get(&format!("/api/v2/users/{id}/routingskills")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An active user is not found as deleted.
    let active = api.ids()[0].clone();
    let (status, _) = api
        .get(&format!("/api/v2/users/{active}?state=deleted"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let v = user["version"].as_i64().unwrap();
    let path = format!("/api/v2/users/{id}");
    let (status, body) = api.patch(&path, json!({"version": v, "title": "X"})).await;
    assert_error(status, &body, 404, "not.found");
    assert_eq!(api.version(&id), v);
    let (status, user) = api
        .patch(&path, json!({"version": v, "state": "active"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["state"], "active");
    assert_eq!(api.get(&path).await.0, StatusCode::OK);
    assert!(!api.sb.deleted_user_ids().contains(&id));
}

#[tokio::test]
async fn list_reads_may_miss_expanded_parts_and_single_reads_never_do() {
    let api = start(with(Quirks {
        expand_miss_share: 1.0,
        ..Quirks::realistic()
    }))
    .await;
    let expand = "expand=skills,languages,employerInfo";
    let ids = api.ids();
    let (_, page) = api
        .get(&format!("/api/v2/users?pageSize=10&{expand}"))
        .await;
    let (_, bulk) = api
        .get(&format!(
            "/api/v2/users?id={}&id={}&{expand}",
            ids[0], ids[1]
        ))
        .await;
    for u in page["entities"]
        .as_array()
        .unwrap()
        .iter()
        .chain(bulk["entities"].as_array().unwrap())
    {
        for key in ["skills", "languages", "employerInfo"] {
            assert!(u.get(key).is_none(), "{key} in {u}");
        }
        assert!(u["name"].is_string());
    }
    let id = &ids[0];
    let (_, one) = api.get(&format!("/api/v2/users/{id}?{expand}")).await;
    for key in ["skills", "languages", "employerInfo"] {
        assert!(one.get(key).is_some(), "{key}");
    }
    let stored = api.sb.user(id).unwrap();
    let (status, skills) = api.get(&format!("/api/v2/users/{id}/routingskills")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(skills["entities"], stored["skills"]);
    for s in skills["entities"].as_array().unwrap() {
        for key in ["id", "name", "proficiency", "state", "selfUri"] {
            assert!(s.get(key).is_some(), "{key} in {s}");
        }
    }
    let (status, langs) = api
        .get(&format!("/api/v2/users/{id}/routinglanguages"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(langs["entities"], stored["languages"]);
    assert!(langs["total"].is_number() && langs["pageCount"].is_number());
}

/// Hit the user window (2 requests) and return the 429's `limit`.
async fn user_limit_429(quirks: Quirks) -> Value {
    let api = start(SandboxConfig {
        users: 10,
        rate_limit: 0,
        user_rate_limit: 4,
        rate_window: std::time::Duration::from_secs(2),
        quirks,
        ..SandboxConfig::default()
    })
    .await;
    for _ in 0..4 {
        assert_eq!(api.get("/api/v2/users").await.0, StatusCode::OK);
    }
    let r = api.send(Method::GET, "/api/v2/users", None).await;
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.headers().contains_key("inin-correlation-id"));
    let (status, body) = json(r).await;
    assert_error(status, &body, 429, "too.many.requests.retry.after");
    body.get("limit").cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn limits_in_429s_are_true_in_the_unit_their_key_names() {
    let per = |unit| Quirks {
        omit_limit_share: 0.0,
        user_limit_unit: unit,
        ..Quirks::realistic()
    };
    // 4 requests per 2 s.
    assert_eq!(
        user_limit_429(per(LimitUnit::PerSecond)).await,
        json!({"key": "user.rate.per.second", "namespace": "directory", "value": 2})
    );
    assert_eq!(
        user_limit_429(per(LimitUnit::PerMinute)).await,
        json!({"key": "user.rate.per.minute", "namespace": "directory", "value": 120})
    );
    let unknown = Quirks {
        unknown_limit_key: true,
        ..per(LimitUnit::PerMinute)
    };
    assert_eq!(
        user_limit_429(unknown).await,
        json!({"key": "org.app.user.rate.per.day", "namespace": "directory", "value": 172800})
    );
    let omitted = Quirks {
        omit_limit_share: 1.0,
        ..Quirks::realistic()
    };
    assert_eq!(user_limit_429(omitted).await, Value::Null);

    // The token window: 3 per 60 s, on a non-user endpoint.
    let api = start(SandboxConfig {
        users: 10,
        rate_limit: 3,
        quirks: per(LimitUnit::PerSecond),
        ..SandboxConfig::default()
    })
    .await;
    for _ in 0..3 {
        api.get("/api/v2/routing/skills").await;
    }
    let (status, body) = api.get("/api/v2/routing/skills").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body["limit"],
        json!({"key": "client.credentials.token.rate.per.minute", "namespace": "platform.api", "value": 3})
    );
}

#[tokio::test]
async fn username_is_ignored_by_default_and_applied_without_quirks() {
    for (quirks, applied) in [(Quirks::realistic(), false), (Quirks::none(), true)] {
        let api = start(with(quirks)).await;
        let id = api.ids()[0].clone();
        let v = api.version(&id);
        let before = api.sb.user(&id).unwrap()["username"].clone();
        let (status, user) = api
            .patch(
                &format!("/api/v2/users/{id}"),
                json!({"version": v, "username": "renamed@example.com", "title": "Renamed"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["title"], "Renamed");
        assert_eq!(user["version"], v + 1);
        let want = if applied {
            json!("renamed@example.com")
        } else {
            before
        };
        assert_eq!(user["username"], want);
    }
}

#[tokio::test]
async fn omitted_emails_are_kept_only_with_the_switch() {
    for keep in [false, true] {
        let api = start(with(Quirks {
            keep_omitted_email: keep,
            ..Quirks::realistic()
        }))
        .await;
        // User 5 holds WORK and HOME emails besides its phone.
        let id = api.ids()[5].clone();
        let (_, user) = api.get(&format!("/api/v2/users/{id}")).await;
        let phones: Vec<Value> = user["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["mediaType"] != "EMAIL")
            .cloned()
            .collect();
        let (status, after) = api
            .patch(
                &format!("/api/v2/users/{id}"),
                json!({"version": user["version"], "addresses": phones}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{after}");
        let emails = after["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["mediaType"] == "EMAIL")
            .count();
        assert_eq!(emails, if keep { 2 } else { 0 }, "keep = {keep}");
    }
}

#[tokio::test]
async fn the_patch_answer_is_the_user_without_expanded_parts() {
    let api = start(realistic()).await;
    let id = api.ids()[0].clone();
    let v = api.version(&id);
    let (status, user) = api
        .patch(
            &format!("/api/v2/users/{id}"),
            json!({"version": v, "title": "T"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for key in ["skills", "languages", "employerInfo"] {
        assert!(user.get(key).is_none(), "{key}");
    }
    assert!(user["primaryContactInfo"].is_array() && user["division"].is_object());
}

#[tokio::test]
async fn put_user_sets_up_awkward_users() {
    let api = start(realistic()).await;
    let id = api.ids()[0].clone();
    let mut doc = api.sb.user(&id).unwrap();
    doc["title"] = json!("Agent ");
    doc["addresses"] = json!([
        {"address": "+13175550100", "display": "+1 317-555-0100", "mediaType": "PHONE", "type": "WORK"},
        {"address": "+13175550101", "display": "+1 317-555-0101", "mediaType": "PHONE", "type": "WORK"}
    ]);
    api.sb.put_user(&id, doc).unwrap();
    let (_, user) = api.get(&format!("/api/v2/users/{id}")).await;
    assert_eq!(user["title"], "Agent ");
    assert_eq!(user["addresses"].as_array().unwrap().len(), 2);
    assert_eq!(user["id"], id.as_str());
    assert!(api.sb.put_user(&id, json!([])).is_err());
    assert!(
        api.sb
            .put_user("00000000-0000-4000-8000-000000000000", json!({}))
            .is_err()
    );
}
