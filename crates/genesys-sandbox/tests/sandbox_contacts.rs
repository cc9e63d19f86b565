//! Contacts over HTTP: every real shape among the first seeded users, each
//! round-tripped by a PATCH that sends the entries back unchanged; E.164
//! normalisation and display derivation; the PRIMARY email rule.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn entries(user: &Value) -> Vec<Value> {
    user["addresses"].as_array().unwrap().clone()
}

fn has(list: &[Value], f: impl Fn(&Value) -> bool) -> bool {
    list.iter().any(f)
}

#[tokio::test]
async fn every_contact_shape_is_seeded_and_round_trips_unchanged() {
    let api = start(realistic()).await;
    let mut all = Vec::new();
    for id in &api.ids()[..8] {
        let (_, user) = api.get(&format!("/api/v2/users/{id}")).await;
        let before = entries(&user);
        let (status, after) = api
            .patch(
                &format!("/api/v2/users/{id}"),
                json!({"version": user["version"], "addresses": before}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{after}");
        assert_eq!(entries(&after), before, "user {id} round trip");
        let (_, again) = api.get(&format!("/api/v2/users/{id}")).await;
        assert_eq!(entries(&again), before);
        all.push(before);
    }
    let any = |f: &dyn Fn(&Value) -> bool| all.iter().any(|list| has(list, f));
    // Number: E.164 address, formatted display, country code.
    assert!(any(&|e| e["type"] == "WORK"
        && e["address"].as_str().is_some_and(|a| a.starts_with("+1"))
        && e["display"].as_str().is_some_and(|d| d.starts_with("+1 "))
        && e["countryCode"] == "US"));
    // Extension only: display equals the extension, no address.
    assert!(any(&|e| e["type"] == "WORK2"
        && e.get("address").is_none()
        && e["extension"].is_string()
        && e["display"] == e["extension"]));
    // Number plus extension: the number only in display.
    assert!(any(&|e| e["type"] == "WORK3"
        && e.get("address").is_none()
        && e["extension"].is_string()
        && e["display"].as_str().is_some_and(|d| d.starts_with("+1 "))));
    assert!(any(&|e| e["integration"] == "microsoftteams"
        && e["type"] == "OTHER"
        && e["mediaType"] == "PHONE"));
    assert!(any(&|e| e["mediaType"] == "SMS" && e["type"] == "MOBILE"));
    assert!(any(&|e| e["mediaType"] == "EMAIL" && e["type"] == "WORK"));
    assert!(any(&|e| e["mediaType"] == "EMAIL" && e["type"] == "HOME"));
    // Several phone types on one user.
    assert!(all.iter().any(|list| {
        let mut kinds: Vec<&str> = list
            .iter()
            .filter(|e| e["mediaType"] == "PHONE")
            .filter_map(|e| e["type"].as_str())
            .collect();
        kinds.dedup();
        kinds.len() >= 3
    }));
}

#[tokio::test]
async fn phone_numbers_are_stored_in_e164_with_a_derived_display() {
    let api = start(realistic()).await;
    let id = api.ids()[0].clone();
    let path = format!("/api/v2/users/{id}");
    let sent = json!([
        {"address": "(317) 555.0142", "mediaType": "PHONE", "type": "WORK", "countryCode": "US", "display": "stale"},
        {"address": "317-555-0199", "mediaType": "SMS", "type": "MOBILE"},
        {"address": "+44 20 7946 0958", "mediaType": "PHONE", "type": "HOME"},
        {"address": "+1 317 555 0177", "mediaType": "PHONE", "type": "OTHER", "integration": "microsoftteams", "custom": {"x": 1}}
    ]);
    let (status, user) = api
        .patch(
            &path,
            json!({"version": api.version(&id), "addresses": sent}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let got = entries(&user);
    let pick = |k: &str| got.iter().find(|e| e["type"] == k).unwrap().clone();
    assert_eq!(pick("WORK")["address"], "+13175550142");
    assert_eq!(pick("WORK")["display"], "+1 317-555-0142");
    assert_eq!(pick("WORK")["countryCode"], "US");
    assert_eq!(pick("MOBILE")["address"], "+13175550199");
    assert_eq!(pick("MOBILE")["display"], "+1 317-555-0199");
    assert_eq!(pick("HOME")["address"], "+442079460958");
    assert_eq!(pick("HOME")["display"], "+44 2079460958");
    assert_eq!(pick("OTHER")["integration"], "microsoftteams");
    assert_eq!(
        pick("OTHER")["custom"],
        json!({"x": 1}),
        "unknown fields are kept"
    );

    for bad in ["call me", "555-0142", "+1 317 555"] {
        let body = json!({"version": api.version(&id), "addresses": [
            {"address": bad, "mediaType": "PHONE", "type": "WORK"}]});
        let (status, err) = api.patch(&path, body).await;
        assert_error(status, &err, 400, "bad.request");
        assert!(err["message"].as_str().unwrap().contains(bad), "{err}");
    }
    // An extension sent with a number: stored, shown as extension + display.
    let body = json!({"version": api.version(&id), "addresses": [
        {"address": "317 555 0143", "extension": "4143", "mediaType": "PHONE", "type": "WORK3", "countryCode": "US"}]});
    let (status, user) = api.patch(&path, body).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let work3 = &user["addresses"][0];
    assert_eq!(work3["display"], "+1 317-555-0143");
    assert_eq!(work3["extension"], "4143");
    assert!(work3.get("address").is_none());
}

#[tokio::test]
async fn a_primary_email_entry_must_be_the_users_email() {
    let api = start(realistic()).await;
    let id = api.ids()[0].clone();
    let path = format!("/api/v2/users/{id}");
    let email = api.sb.user(&id).unwrap()["email"].clone();
    let body = json!({"version": api.version(&id), "addresses": [
        {"address": "someone.else@example.com", "mediaType": "EMAIL", "type": "PRIMARY"}]});
    let (status, err) = api.patch(&path, body).await;
    assert_error(status, &err, 400, "bad.request");
    assert!(
        err["message"].as_str().unwrap().contains("PRIMARY"),
        "{err}"
    );
    let body = json!({"version": api.version(&id), "addresses": [
        {"address": email, "mediaType": "EMAIL", "type": "PRIMARY"},
        {"address": "w@example.com", "mediaType": "EMAIL", "type": "WORK"}]});
    let (status, user) = api.patch(&path, body).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(
        entries(&user),
        vec![json!({"address": "w@example.com", "mediaType": "EMAIL", "type": "WORK"})]
    );
    assert_eq!(user["primaryContactInfo"][0]["address"], email);
}
