//! The user search (`POST /api/v2/users/search`) and whole-org paging, over HTTP:
//! EXACT lookups by email (any case), username and employee id, page limits, and
//! the seeded duplicate employee id and case-twin emails.

mod common;

use common::*;
use genesys_sandbox::{CASE_TWIN_INDEX, DELETED_USER_INDEX, DUPLICATE_EMPLOYEE_ID_INDEX};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn search(api: &Api, field: &str, values: &[&str], size: u64) -> (StatusCode, Value) {
    let body = json!({
        "pageSize": size, "pageNumber": 1,
        "query": [{"type": "EXACT", "fields": [field], "values": values}],
    });
    json(
        api.send(Method::POST, "/api/v2/users/search", Some(body))
            .await,
    )
    .await
}

fn ids(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn search_matches_emails_in_any_case_and_pages_like_the_fixture() {
    let api = start(small()).await;
    let (_, user) = api.get(&format!("/api/v2/users/{}", api.ids()[2])).await;
    let email = user["email"].as_str().unwrap().to_uppercase();
    let (status, body) = search(&api, "email", &[&email], 100).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), vec![api.ids()[2].clone()]);
    for key in [
        "total",
        "pageCount",
        "pageSize",
        "pageNumber",
        "types",
        "results",
    ] {
        assert!(body.get(key).is_some(), "{key} missing: {body}");
    }
    let (_, none) = search(&api, "email", &["nobody@example.com"], 100).await;
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn the_seeded_org_has_a_duplicate_employee_id_and_case_twin_emails() {
    let api = start(small()).await;
    let all = api.ids();
    let (_, dup) = api
        .get(&format!(
            "/api/v2/users/{}?expand=employerInfo",
            all[DUPLICATE_EMPLOYEE_ID_INDEX]
        ))
        .await;
    let employee = dup["employerInfo"]["employeeId"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, body) = search(&api, "employerInfo.employeeId", &[&employee], 100).await;
    let mut want = vec![
        all[DUPLICATE_EMPLOYEE_ID_INDEX - 1].clone(),
        all[DUPLICATE_EMPLOYEE_ID_INDEX].clone(),
    ];
    want.sort();
    assert_eq!(
        ids(&body),
        want,
        "employee ids match exactly and this one twice"
    );
    let (_, twin) = api
        .get(&format!("/api/v2/users/{}", all[CASE_TWIN_INDEX]))
        .await;
    let email = twin["email"].as_str().unwrap().to_lowercase();
    let (_, body) = search(&api, "email", &[&email], 100).await;
    let mut want = vec![
        all[CASE_TWIN_INDEX - 1].clone(),
        all[CASE_TWIN_INDEX].clone(),
    ];
    want.sort();
    assert_eq!(ids(&body), want, "the twins differ only in case");
}

#[tokio::test]
async fn search_pages_above_100_are_refused_and_deleted_users_are_left_out() {
    let api = start(realistic()).await;
    let (status, _) = search(&api, "email", &["a@example.com"], 101).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let deleted = api.ids()[DELETED_USER_INDEX].clone();
    let (_, user) = api
        .get(&format!("/api/v2/users/{deleted}?state=deleted"))
        .await;
    let email = user["email"].as_str().unwrap().to_string();
    let (_, body) = search(&api, "email", &[&email], 100).await;
    assert_eq!(body["total"], 0, "{body}");
}

#[tokio::test]
async fn the_listing_pages_at_500_with_total_and_page_count_and_refuses_more() {
    let api = start(small()).await;
    let n = api.ids().len() as u64;
    let (status, body) = api
        .get("/api/v2/users?pageSize=500&pageNumber=1&state=any")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], n);
    assert_eq!(body["pageCount"], n.div_ceil(500));
    let (status, _) = api.get("/api/v2/users?pageSize=501&state=any").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
