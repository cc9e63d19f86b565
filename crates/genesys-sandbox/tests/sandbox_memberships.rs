//! Queues and groups over the wire: the seeded memberships (the seed contract the
//! client's tests rely on), name lookups that are not exact, queue member pages
//! without totals, member writes with their limits and refusals, the joined trap
//! of `GET /users/{id}/queues`, asynchronous joins, and group versions.

mod common;

use std::time::Duration;

use common::*;
use genesys_sandbox::{Quirks, SandboxConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The realistic org with joins that stay pending until a test applies them.
fn org() -> SandboxConfig {
    SandboxConfig {
        users: 60,
        quirks: Quirks {
            join_delay: Duration::from_secs(3600),
            ..Quirks::realistic()
        },
        ..SandboxConfig::unlimited()
    }
}

fn member_ids(page: &Value) -> Vec<String> {
    page["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_seeded_org_has_the_contracted_queues_groups_and_members() {
    let api = start(org()).await;
    let sb = &api.sb;
    let w = sb.writable_user_ids();

    let (s, page) = api.get("/api/v2/routing/queues?pageSize=500").await;
    assert_eq!(s, StatusCode::OK);
    let all = names(&page["entities"]);
    for q in [
        "Support",
        "Support Team",
        "Sales Inbound",
        "Billing",
        "Tier 1; Escalations",
        "Restricted Queue",
    ] {
        assert_eq!(all.iter().filter(|n| *n == q).count(), 1, "{q} in {all:?}");
    }
    assert_eq!(sb.queue_ids("Dup Queue").len(), 2);
    assert_eq!(page["total"], 8);

    // Not an exact match: "Support" finds two queues.
    let (_, found) = api.get("/api/v2/routing/queues?name=Support").await;
    assert_eq!(names(&found["entities"]), ["Support", "Support Team"]);
    let (_, found) = api.get("/api/v2/routing/queues?name=*Escalations").await;
    assert_eq!(names(&found["entities"]), ["Tier 1; Escalations"]);

    let support = sb.queue_id("Support").unwrap();
    assert_eq!(sb.queue_member_ids(&support), w[..5]);
    for id in &w[..5] {
        assert_eq!(sb.queue_member(&support, id), Some((true, "user".into())));
    }
    let billing = sb.queue_id("Billing").unwrap();
    let billing_group = sb.group_id("Billing Group").unwrap();
    let via_group = sb.group_member_ids(&billing_group);
    assert_eq!(via_group.len(), 1);
    assert_eq!(sb.queue_member_ids(&billing), via_group);
    let (joined, by) = sb.queue_member(&billing, &via_group[0]).unwrap();
    assert_eq!((joined, by.as_str()), (false, "group"));

    for g in [
        "Night Shift",
        "Team Leads",
        "Billing Group",
        "Restricted Group",
    ] {
        let id = sb.group_id(g).unwrap();
        let (s, group) = api.get(&format!("/api/v2/groups/{id}")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(group["name"], g);
        assert!(group["version"].is_i64(), "{group}");
    }
}

#[tokio::test]
async fn queue_member_pages_have_no_totals_and_a_next_uri_only_while_more_follow() {
    let api = start(org()).await;
    let q = api.sb.queue_id("Support").unwrap();
    let path = format!("/api/v2/routing/queues/{q}/members");
    let (s, p1) = api.get(&format!("{path}?pageSize=2")).await;
    assert_eq!(s, StatusCode::OK);
    for absent in ["total", "pageCount", "lastUri"] {
        assert!(p1.get(absent).is_none(), "{absent} in {p1}");
    }
    assert_eq!(member_ids(&p1).len(), 2);
    assert!(p1["nextUri"].as_str().unwrap().contains("pageNumber=2"));
    let (_, p3) = api.get(&format!("{path}?pageSize=2&pageNumber=3")).await;
    assert_eq!(member_ids(&p3).len(), 1);
    assert!(p3.get("nextUri").is_none(), "{p3}");
    let (_, p4) = api.get(&format!("{path}?pageSize=2&pageNumber=4")).await;
    assert_eq!(member_ids(&p4).len(), 0);
    let (s, body) = api.get(&format!("{path}?pageSize=101")).await;
    assert_error(s, &body, 400, "bad.request");
    let e = &p1["entities"][0];
    assert_eq!(e["memberBy"], "user");
    assert_eq!(e["joined"], true);
    assert_eq!(e["user"]["id"], e["id"]);
}

#[tokio::test]
async fn queue_member_writes_add_remove_and_refuse_what_the_api_refuses() {
    let api = start(org()).await;
    let sb = &api.sb;
    let w = sb.writable_user_ids();
    let q = sb.queue_id("Sales Inbound").unwrap();
    let path = format!("/api/v2/routing/queues/{q}/members");
    let body = |ids: &[String]| json!(ids.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>());

    let r = api.send(Method::POST, &path, Some(body(&w[..3]))).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.text().await.unwrap().is_empty());
    assert_eq!(sb.queue_member_ids(&q), w[..3]);
    assert_eq!(sb.queue_member(&q, &w[0]), Some((true, "user".into())));
    assert_eq!(sb.stats().membership_writes, 3);

    // Adding members again changes nothing.
    let r = api.send(Method::POST, &path, Some(body(&w[..3]))).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(sb.stats().membership_writes, 3);

    let r = api
        .send(
            Method::POST,
            &format!("{path}?delete=true"),
            Some(body(&w[1..2])),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(sb.queue_member_ids(&q), [w[0].clone(), w[2].clone()]);

    // More than 100 ids: a 400 with its own code, nothing applied.
    let many: Vec<String> = sb.user_ids().into_iter().cycle().take(101).collect();
    let (s, e) = api.post(&path, body(&many)).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("members.limit.exceeded"))
    );

    // Unknown and deleted users are named, nothing applied.
    let deleted = sb.deleted_user_ids()[0].clone();
    let unknown = "00000000-0000-4000-8000-000000000000".to_string();
    let (s, e) = api
        .post(
            &path,
            body(&[w[5].clone(), deleted.clone(), unknown.clone()]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["code"], "invalid.member.ids");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains(&deleted) && msg.contains(&unknown) && !msg.contains(&w[5]),
        "{msg}"
    );
    assert_eq!(e["details"].as_array().unwrap().len(), 2);
    assert!(sb.queue_member(&q, &w[5]).is_none());

    // The restricted queue refuses writes with the division's 403.
    let rq = sb.queue_id("Restricted Queue").unwrap();
    let (s, e) = api
        .post(
            &format!("/api/v2/routing/queues/{rq}/members"),
            body(&w[..1]),
        )
        .await;
    assert_error(s, &e, 403, "missing.division.permission");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("routing:queue:edit") && msg.contains("Restricted Ops"),
        "{msg}"
    );

    // A member through a group cannot be removed directly: 400 naming both.
    let billing = sb.queue_id("Billing").unwrap();
    let group = sb.group_id("Billing Group").unwrap();
    let via = sb.group_member_ids(&group)[0].clone();
    let (s, e) = api
        .post(
            &format!("/api/v2/routing/queues/{billing}/members?delete=true"),
            body(std::slice::from_ref(&via)),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains(&via) && msg.contains("Billing Group") && msg.contains(&group),
        "{msg}"
    );
    let s = api
        .delete(&format!("/api/v2/routing/queues/{billing}/members/{via}"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        sb.queue_member(&billing, &via),
        Some((false, "group".into()))
    );

    // DELETE of a direct member.
    let s = api.delete(&format!("{path}/{}", w[0])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(sb.queue_member(&q, &w[0]).is_none());
    let s = api.delete(&format!("{path}/{}", w[0])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_users_queues_hide_unjoined_ones_unless_asked_and_joins_are_asynchronous() {
    let api = start(org()).await;
    let sb = &api.sb;
    let billing = sb.queue_id("Billing").unwrap();
    let group = sb.group_id("Billing Group").unwrap();
    let user = sb.group_member_ids(&group)[0].clone();
    let path = format!("/api/v2/users/{user}/queues");

    // The trap: the default read shows joined queues only.
    let (s, joined) = api.get(&path).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(joined["total"], 0, "{joined}");
    let (_, unjoined) = api.get(&format!("{path}?joined=false")).await;
    assert_eq!(names(&unjoined["entities"]), ["Billing"]);
    assert_eq!(unjoined["entities"][0]["memberBy"], "group");

    // A join is accepted (202) and shows only once applied.
    let r = api
        .send(
            Method::PATCH,
            &format!("/api/v2/routing/queues/{billing}/members"),
            Some(json!([{ "id": user, "joined": true }])),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        sb.queue_member(&billing, &user),
        Some((false, "group".into()))
    );
    sb.apply_pending_joins();
    assert_eq!(
        sb.queue_member(&billing, &user),
        Some((true, "group".into()))
    );
    let (_, joined) = api.get(&path).await;
    assert_eq!(names(&joined["entities"]), ["Billing"]);

    // The user's side: non-member queues are disregarded.
    let support = sb.queue_id("Support").unwrap();
    let r = api
        .send(
            Method::PATCH,
            &path,
            Some(json!([{ "id": billing, "joined": false }, { "id": support, "joined": true }])),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    sb.apply_pending_joins();
    assert_eq!(
        sb.queue_member(&billing, &user),
        Some((false, "group".into()))
    );
    assert!(sb.queue_member(&support, &user).is_none());
}

#[tokio::test]
async fn without_the_quirk_joins_apply_at_once() {
    let api = start(small()).await;
    let sb = &api.sb;
    let w = sb.writable_user_ids();
    let q = sb.queue_id("Support").unwrap();
    let r = api
        .send(
            Method::PATCH,
            &format!("/api/v2/routing/queues/{q}/members"),
            Some(json!([{ "id": w[0], "joined": false }])),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(sb.queue_member(&q, &w[0]), Some((false, "user".into())));
}

#[tokio::test]
async fn group_members_are_written_with_the_current_version() {
    let api = start(org()).await;
    let sb = &api.sb;
    let w = sb.writable_user_ids();
    let g = sb.group_id("Night Shift").unwrap();
    let path = format!("/api/v2/groups/{g}/members");
    let v = sb.group_version(&g).unwrap();

    let (s, _) = api
        .post(&path, json!({ "memberIds": [w[0], w[1]], "version": v }))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(sb.group_version(&g), Some(v + 1));
    assert!(sb.group_member_ids(&g).contains(&w[0]));

    // The version read before is stale now.
    let (s, e) = api
        .post(&path, json!({ "memberIds": [w[2]], "version": v }))
        .await;
    assert_error(s, &e, 409, "general.conflict");
    assert!(!sb.group_member_ids(&g).contains(&w[2]));

    let ids: Vec<String> = sb.user_ids().into_iter().take(51).collect();
    let (s, e) = api
        .post(&path, json!({ "memberIds": ids, "version": v + 1 }))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("members.limit.exceeded"))
    );

    let s = api.delete(&format!("{path}?ids={},{}", w[0], w[1])).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(sb.group_version(&g), Some(v + 2));
    assert!(!sb.group_member_ids(&g).contains(&w[0]));

    // Restricted Group: 403 naming the permission.
    let rg = sb.group_id("Restricted Group").unwrap();
    let (s, e) = api
        .post(
            &format!("/api/v2/groups/{rg}/members"),
            json!({ "memberIds": [w[0]], "version": sb.group_version(&rg) }),
        )
        .await;
    assert_error(s, &e, 403, "missing.division.permission");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("directory:group:edit")
    );

    // Reads: individuals and the members page.
    let (s, page) = api.get(&format!("/api/v2/groups/{g}/individuals")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["total"], sb.group_member_ids(&g).len());
}

#[tokio::test]
async fn a_queue_member_group_makes_its_new_members_queue_members() {
    let api = start(org()).await;
    let sb = &api.sb;
    let w = sb.writable_user_ids();
    let g = sb.group_id("Billing Group").unwrap();
    let billing = sb.queue_id("Billing").unwrap();
    let (s, _) = api
        .post(
            &format!("/api/v2/groups/{g}/members"),
            json!({ "memberIds": [w[20]], "version": sb.group_version(&g) }),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(
        sb.queue_member(&billing, &w[20]),
        Some((false, "group".into()))
    );
}

#[tokio::test]
async fn groups_and_locations_are_found_by_exact_search_not_by_a_name_parameter() {
    let api = start(org()).await;
    // No name filter: `name=` is ignored.
    let (_, all) = api.get("/api/v2/groups?name=Team%20Leads").await;
    assert_eq!(all["total"], 4);
    let (_, all) = api.get("/api/v2/locations?name=Remote").await;
    assert_eq!(all["total"], 3);
    let q = |v: &str| json!({ "query": [{ "type": "EXACT", "fields": ["name"], "value": v }] });
    let (s, found) = api.post("/api/v2/groups/search", q("Team Leads")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(names(&found["results"]), ["Team Leads"]);
    let (_, found) = api
        .post("/api/v2/locations/search", q("Galway Office"))
        .await;
    assert_eq!(found["total"], 1);
    assert_eq!(
        found["results"][0]["id"],
        api.sb.location_id("Galway Office").unwrap()
    );
    let (_, found) = api.post("/api/v2/locations/search", q("Galway")).await;
    assert_eq!(found["total"], 0);
}

#[tokio::test]
async fn a_member_write_can_be_applied_and_its_answer_lost() {
    let api = start(org()).await;
    let sb = &api.sb;
    let w = sb.writable_user_ids();
    let q = sb.queue_id("Sales Inbound").unwrap();
    sb.set_faults(genesys_sandbox::Faults {
        drop_after_write: 1.0,
        ..Default::default()
    });
    let sent = api
        .try_send(
            Method::POST,
            &format!("/api/v2/routing/queues/{q}/members"),
            Some(json!([{ "id": w[0] }])),
        )
        .await;
    assert!(sent.is_err(), "{sent:?}");
    assert_eq!(sb.queue_member(&q, &w[0]), Some((true, "user".into())));
    // Searches are reads: never dropped as writes.
    let (s, _) = api
        .post(
            "/api/v2/groups/search",
            json!({ "query": [{ "type": "EXACT", "fields": ["name"], "value": "Team Leads" }] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sb.stats().dropped_after, 1);
}
