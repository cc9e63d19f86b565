//! Routing skills and languages over HTTP: the org's catalogue (prefix search,
//! paging) and each user's skills and languages (GET, bulk PATCH/PUT, DELETE).

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A user's skills as stored, read in process.
fn skills_of(api: &Api, id: &str) -> Vec<Value> {
    api.sb.user(id).unwrap()["skills"]
        .as_array()
        .unwrap()
        .clone()
}

fn names(page: &Value) -> Vec<String> {
    page["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn skill_names_are_a_case_insensitive_prefix_match() {
    let api = start(small()).await;
    let (status, page) = api
        .get("/api/v2/routing/skills?name=technical%20support")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        names(&page),
        ["Technical Support", "Technical Support Tier 2"]
    );
    let (_, page) = api.get("/api/v2/routing/skills?name=Sales").await;
    assert_eq!(names(&page), ["Sales", "Sales Operations"]);
    let (_, page) = api.get("/api/v2/routing/skills?name=Nothing").await;
    assert_eq!(page["total"], 0);
    let (_, page) = api.get("/api/v2/routing/languages?name=span").await;
    assert_eq!(names(&page), ["Spanish"]);
    assert_eq!(
        page["entities"][0]["id"],
        api.sb.language_id("Spanish").unwrap().as_str()
    );
}

#[tokio::test]
async fn the_catalogue_is_paged() {
    let api = start(small()).await;
    let (_, all) = api.get("/api/v2/routing/skills?pageSize=100").await;
    let total = all["total"].as_u64().unwrap();
    assert!(total >= 20);
    let (_, p2) = api
        .get("/api/v2/routing/skills?pageSize=5&pageNumber=2")
        .await;
    assert_eq!(p2["entities"].as_array().unwrap().len(), 5);
    assert_eq!(p2["pageCount"], total.div_ceil(5));
    assert_eq!(names(&p2)[0], names(&all)[5]);
    let (_, langs) = api.get("/api/v2/routing/languages").await;
    for n in ["English", "Spanish", "French", "German"] {
        assert!(names(&langs).iter().any(|x| x == n), "{n}");
    }
}

#[tokio::test]
async fn skill_bulk_patch_adds_and_updates_and_never_removes() {
    let api = start(small()).await;
    let id = api.ids()[4].clone();
    let version = api.version(&id);
    let before = skills_of(&api, &id);
    let billing = api.sb.skill_id("Billing").unwrap();
    let sales = api.sb.skill_id("Sales").unwrap();
    let path = format!("/api/v2/users/{id}/routingskills/bulk");
    let (status, page) = api
        .patch(
            &path,
            json!([{"id": billing, "proficiency": 4.5}, {"id": sales, "proficiency": 0}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let after = skills_of(&api, &id);
    for s in &before {
        assert!(after.iter().any(|a| a["id"] == s["id"]), "kept {}", s["id"]);
    }
    let b = after.iter().find(|s| s["id"] == billing.as_str()).unwrap();
    assert_eq!(b["proficiency"], 4.5);
    assert_eq!(b["name"], "Billing");
    assert_eq!(page["entities"].as_array().unwrap().len(), after.len());
    assert_eq!(
        api.version(&id),
        version,
        "skill writes do not bump the version"
    );
    assert_eq!(api.sb.stats().writes_per_user[&id], 1);

    let (_, listed) = api.get(&format!("/api/v2/users/{id}/routingskills")).await;
    assert_eq!(listed["total"], after.len());
    assert!(
        listed["entities"][0]["selfUri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/api/v2/users/{id}/routingskills/"))
    );
}

#[tokio::test]
async fn skill_bulk_errors() {
    let api = start(small()).await;
    let id = api.ids()[4].clone();
    let billing = api.sb.skill_id("Billing").unwrap();
    let path = format!("/api/v2/users/{id}/routingskills/bulk");
    for body in [
        json!([{"id": "00000000-0000-4000-8000-000000000000", "proficiency": 1}]),
        json!([{"id": billing, "proficiency": 5.5}]),
        json!([{"id": billing, "proficiency": -1}]),
        json!([{"id": billing}]),
        json!({"id": billing}),
        Value::Array(
            (0..51)
                .map(|_| json!({"id": billing, "proficiency": 1}))
                .collect(),
        ),
    ] {
        let (status, err) = api.patch(&path, body.clone()).await;
        assert_error(status, &err, 400, "bad.request");
    }
    let (status, err) = api
        .patch(
            "/api/v2/users/00000000-0000-4000-8000-000000000000/routingskills/bulk",
            json!([{"id": billing, "proficiency": 1}]),
        )
        .await;
    assert_error(status, &err, 404, "not.found");
    assert!(api.sb.stats().writes_per_user.is_empty());
}

#[tokio::test]
async fn skill_bulk_put_replaces_all_and_delete_removes_one() {
    let api = start(small()).await;
    let id = api.ids()[8].clone();
    let billing = api.sb.skill_id("Billing").unwrap();
    let vip = api.sb.skill_id("VIP").unwrap();
    let path = format!("/api/v2/users/{id}/routingskills/bulk");
    let (status, page) = api
        .put(
            &path,
            json!([{"id": billing, "proficiency": 2}, {"id": vip, "proficiency": 3}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 2);
    let status = api
        .delete(&format!("/api/v2/users/{id}/routingskills/{billing}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let skills = skills_of(&api, &id);
    assert_eq!(skills.len(), 1);
    assert_eq!(skills[0]["id"], vip.as_str());
    // Deleting what is not there is quiet and is not a write.
    let status = api
        .delete(&format!("/api/v2/users/{id}/routingskills/{billing}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(api.sb.stats().writes_per_user[&id], 2);
    let (status, _) = api.put(&path, json!([])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(skills_of(&api, &id).is_empty());
}

#[tokio::test]
async fn languages_have_patch_and_delete_but_no_put() {
    let api = start(small()).await;
    let id = api.ids()[12].clone();
    let german = api.sb.language_id("German").unwrap();
    let path = format!("/api/v2/users/{id}/routinglanguages/bulk");
    let (status, page) = api
        .patch(&path, json!([{"id": german, "proficiency": 3}]))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (_, listed) = api
        .get(&format!("/api/v2/users/{id}/routinglanguages"))
        .await;
    assert!(names(&listed).contains(&"German".to_string()));
    let (status, _) = api
        .put(&path, json!([{"id": german, "proficiency": 3}]))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // A skill id is not a language id.
    let billing = api.sb.skill_id("Billing").unwrap();
    let (status, err) = api
        .patch(&path, json!([{"id": billing, "proficiency": 3}]))
        .await;
    assert_error(status, &err, 400, "bad.request");
    let status = api
        .delete(&format!("/api/v2/users/{id}/routinglanguages/{german}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let langs = api.sb.user(&id).unwrap()["languages"]
        .as_array()
        .unwrap()
        .clone();
    assert!(langs.iter().all(|l| l["id"] != german.as_str()));
}
