//! Roles, grants, divisions and locations over the wire: name lookups that are
//! not exact, direct and inherited grants, the bulk grant writes (bulkremove
//! failing whole on a stale grant), 403s in Restricted Ops, division moves with
//! their undocumented limit, and the user's locations.

mod common;

use common::*;
use genesys_sandbox::{Quirks, SandboxConfig, SubjectGrant};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn grant(role: &str, division: &str, subject: &str) -> SubjectGrant {
    SubjectGrant {
        role: role.into(),
        division: division.into(),
        subject_id: subject.into(),
    }
}

#[tokio::test]
async fn roles_and_divisions_are_looked_up_by_names_that_are_not_exact() {
    let api = start(realistic()).await;
    let (s, roles) = api.get("/api/v2/authorization/roles?name=Admin").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(names(&roles["entities"]), ["Admin", "Admin Lite"]);
    let (_, all) = api.get("/api/v2/authorization/roles").await;
    assert_eq!(all["total"], 5);
    let (_, divs) = api.get("/api/v2/authorization/divisions?name=ops").await;
    assert_eq!(names(&divs["entities"]), ["Restricted Ops"]);
    let (_, divs) = api.get("/api/v2/authorization/divisions").await;
    assert_eq!(
        names(&divs["entities"]),
        ["Home", "Restricted Ops", "Sales"]
    );
    let (s, home) = api.get("/api/v2/authorization/divisions/home").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(home["id"], api.sb.division_id("Home").unwrap());
    assert_eq!(home["homeDivision"], true);
}

#[tokio::test]
async fn grants_are_direct_or_inherited_from_a_group() {
    let api = start(realistic()).await;
    let sb = &api.sb;
    let w = sb.writable_user_ids();
    let leads = sb.group_id("Team Leads").unwrap();
    let lead = sb.group_member_ids(&leads)[0].clone();
    assert_eq!(
        sb.user_grants(&lead),
        [
            grant("Employee", "Home", &lead),
            grant("Supervisor", "Home", &leads)
        ]
    );
    let (s, subject) = api
        .get(&format!("/api/v2/authorization/subjects/{lead}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let grants = subject["grants"].as_array().unwrap();
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[1]["subjectId"], leads);
    assert_eq!(grants[1]["role"]["name"], "Supervisor");
    assert_eq!(sb.user_grants(&w[0]), [grant("Employee", "Home", &w[0])]);

    // The same grant held directly too: one entry unless duplicates are asked for.
    let supervisor = sb.role_id("Supervisor").unwrap();
    let home = sb.division_id("Home").unwrap();
    let body = json!({ "grants": [{ "roleId": supervisor, "divisionId": home }] });
    let r = api
        .send(
            Method::POST,
            &format!("/api/v2/authorization/subjects/{lead}/bulkadd?subjectType=PC_USER"),
            Some(body),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, plain) = api
        .get(&format!("/api/v2/authorization/subjects/{lead}"))
        .await;
    assert_eq!(plain["grants"].as_array().unwrap().len(), 2);
    let (_, dups) = api
        .get(&format!(
            "/api/v2/authorization/subjects/{lead}?includeDuplicates=true"
        ))
        .await;
    assert_eq!(dups["grants"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn grant_writes_add_replace_and_remove_and_bulkremove_fails_whole_on_a_stale_grant() {
    let api = start(realistic()).await;
    let sb = &api.sb;
    let u = sb.writable_user_ids()[0].clone();
    let role = |n: &str| sb.role_id(n).unwrap();
    let div = |n: &str| sb.division_id(n).unwrap();
    let base = format!("/api/v2/authorization/subjects/{u}");
    let body = |list: &[(String, String)]| json!({ "grants": list.iter().map(|(r, d)| json!({ "roleId": r, "divisionId": d })).collect::<Vec<_>>() });

    let add = body(&[
        (role("Agent"), div("Sales")),
        (role("Admin Lite"), "*".into()),
    ]);
    let r = api
        .send(Method::POST, &format!("{base}/bulkadd"), Some(add))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.text().await.unwrap().is_empty());
    assert_eq!(
        sb.user_grants(&u),
        [
            grant("Employee", "Home", &u),
            grant("Agent", "Sales", &u),
            grant("Admin Lite", "*", &u)
        ]
    );

    // One stale grant (a role that does not exist): 404 and nothing removed.
    let stale = body(&[
        (role("Agent"), div("Sales")),
        ("00000000-0000-4000-8000-000000000000".into(), div("Home")),
    ]);
    let (s, e) = api.post(&format!("{base}/bulkremove"), stale).await;
    assert_error(s, &e, 404, "not.found");
    assert_eq!(sb.user_grants(&u).len(), 3);
    // Removed one by one instead.
    let s = api
        .delete(&format!(
            "{base}/divisions/{}/roles/{}",
            div("Sales"),
            role("Agent")
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(sb.user_grants(&u).len(), 2);

    let replace = body(&[
        (role("Employee"), div("Home")),
        (role("Supervisor"), div("Sales")),
    ]);
    let r = api
        .send(Method::POST, &format!("{base}/bulkreplace"), Some(replace))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sb.user_grants(&u),
        [
            grant("Employee", "Home", &u),
            grant("Supervisor", "Sales", &u)
        ]
    );

    // A grant in Restricted Ops, or any write for a restricted user: 403.
    let (s, e) = api
        .post(
            &format!("{base}/bulkadd"),
            body(&[(role("Agent"), div("Restricted Ops"))]),
        )
        .await;
    assert_error(s, &e, 403, "missing.division.permission");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("authorization:grant:add")
    );
    let restricted = sb.restricted_user_ids()[0].clone();
    let (s, e) = api
        .post(
            &format!("/api/v2/authorization/subjects/{restricted}/bulkremove"),
            body(&[(role("Employee"), div("Home"))]),
        )
        .await;
    assert_error(s, &e, 403, "missing.division.permission");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("authorization:grant:delete")
    );
    let (s, e) = api
        .post(
            &format!("{base}/bulkadd"),
            body(&[(role("Agent"), "00000000-0000-4000-8000-000000000000".into())]),
        )
        .await;
    assert_error(s, &e, 404, "not.found");
}

#[tokio::test]
async fn division_moves_change_the_users_division_one_id_at_a_time() {
    let api = start(realistic()).await;
    let sb = &api.sb;
    let w = sb.writable_user_ids();
    let sales = sb.division_id("Sales").unwrap();
    let path = format!("/api/v2/authorization/divisions/{sales}/objects/USER");
    let v = api.version(&w[0]);
    let r = api.send(Method::POST, &path, Some(json!([w[0]]))).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(sb.division_of(&w[0]).as_deref(), Some("Sales"));
    assert_eq!(api.version(&w[0]), v + 1);
    assert_eq!(sb.stats().membership_writes, 1);
    // Still writable in Sales.
    assert!(sb.writable_user_ids().contains(&w[0]));

    // The realistic limit is one id per call.
    let (s, e) = api.post(&path, json!([w[1], w[2]])).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("objects.limit.exceeded"))
    );

    // Into or out of Restricted Ops: 403.
    let restricted = sb.division_id("Restricted Ops").unwrap();
    let (s, e) = api
        .post(
            &format!("/api/v2/authorization/divisions/{restricted}/objects/USER"),
            json!([w[1]]),
        )
        .await;
    assert_error(s, &e, 403, "missing.division.permission");
    let stuck = sb.restricted_user_ids()[0].clone();
    let (s, e) = api.post(&path, json!([stuck])).await;
    assert_error(s, &e, 403, "missing.division.permission");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("directory:user:edit")
    );
    assert_eq!(sb.division_of(&stuck).as_deref(), Some("Restricted Ops"));
}

#[tokio::test]
async fn without_quirks_a_division_move_takes_many_ids() {
    let api = start(SandboxConfig {
        quirks: Quirks::none(),
        ..small()
    })
    .await;
    let sb = &api.sb;
    let w = sb.writable_user_ids();
    let sales = sb.division_id("Sales").unwrap();
    let (s, _) = api
        .post(
            &format!("/api/v2/authorization/divisions/{sales}/objects/USER"),
            json!(w[..3]),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for id in &w[..3] {
        assert_eq!(sb.division_of(id).as_deref(), Some("Sales"));
    }
}

#[tokio::test]
async fn a_users_locations_are_read_with_expand_and_replaced_by_the_patch() {
    let api = start(realistic()).await;
    let sb = &api.sb;
    let hq = sb.location_id("Indianapolis HQ").unwrap();
    let galway = sb.location_id("Galway Office").unwrap();
    // Exactly one seeded user has a location.
    let located: Vec<String> = sb
        .user_ids()
        .into_iter()
        .filter(|id| !sb.user_locations(id).is_empty())
        .collect();
    assert_eq!(located.len(), 1);
    let u = located[0].clone();
    assert_eq!(
        sb.user_locations(&u),
        [(hq.clone(), Some("Desk 4-112".into()))]
    );

    let (_, plain) = api.get(&format!("/api/v2/users/{u}")).await;
    assert!(plain.get("locations").is_none(), "{plain}");
    let (_, user) = api
        .get(&format!("/api/v2/users/{u}?expand=locations"))
        .await;
    assert_eq!(user["locations"][0]["locationDefinition"]["id"], hq);
    assert_eq!(user["locations"][0]["notes"], "Desk 4-112");

    // Replaced whole: keep HQ (as read back) and add Galway.
    let body = json!({
        "version": user["version"],
        "locations": [user["locations"][0].clone(), { "id": galway }],
    });
    let (s, after) = api.patch(&format!("/api/v2/users/{u}"), body).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(
        sb.user_locations(&u),
        [(hq, Some("Desk 4-112".into())), (galway, None)]
    );

    let body = json!({
        "version": after["version"],
        "locations": [{ "id": "00000000-0000-4000-8000-000000000000" }],
    });
    let (s, e) = api.patch(&format!("/api/v2/users/{u}"), body).await;
    assert_error(s, &e, 400, "bad.request");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("00000000-0000-4000-8000-000000000000")
    );
    assert_eq!(sb.user_locations(&u).len(), 2);
}
