//! The demo org (`SandboxConfig::demo()`, behind `genupdate apply --sandbox
//! examples/users.csv`): the users the example CSV names exist, its original rows
//! name writable active users holding every contact shape, and its last two rows
//! name the restricted user and the deleted user, so the demo shows a `forbidden`
//! and a `not_found` row.

use genesys_sandbox::{DELETED_USER_INDEX, RESTRICTED_USER_INDEX, Sandbox, SandboxConfig};

fn csv_ids() -> Vec<String> {
    let path = format!("{}/../../examples/users.csv", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_example_csv_names_writable_users_then_a_restricted_and_a_deleted_one() {
    let sb = Sandbox::start(SandboxConfig::demo()).await.unwrap();
    let ids = sb.user_ids();
    let csv = csv_ids();
    let (plain, last_two) = csv.split_at(csv.len() - 2);
    let writable = sb.writable_user_ids();
    for id in plain {
        assert!(writable.contains(id), "{id} must be writable");
        assert_eq!(sb.user(id).unwrap()["state"], "active", "{id}");
    }
    assert_eq!(last_two[0], ids[RESTRICTED_USER_INDEX]);
    assert_eq!(
        sb.division_of(&last_two[0]).as_deref(),
        Some("Restricted Ops")
    );
    assert_eq!(last_two[1], ids[DELETED_USER_INDEX]);
    assert!(sb.deleted_user_ids().contains(&last_two[1]));

    // Every contact shape occurs among the users the original rows name.
    let shapes: Vec<String> = plain
        .iter()
        .flat_map(|id| {
            sb.user(id).unwrap()["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let mut s = format!("{} {}", e["mediaType"], e["type"]);
                    if e.get("integration").is_some() {
                        s += " integration";
                    }
                    s
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for want in [
        "\"PHONE\" \"WORK\"",
        "\"PHONE\" \"WORK2\"",
        "\"PHONE\" \"WORK3\"",
        "\"PHONE\" \"HOME\"",
        "\"PHONE\" \"OTHER\" integration",
        "\"SMS\" \"MOBILE\"",
        "\"EMAIL\" \"WORK\"",
        "\"EMAIL\" \"HOME\"",
    ] {
        assert!(shapes.iter().any(|s| s == want), "{want} in {shapes:?}");
    }
}

#[tokio::test]
async fn the_demo_org_holds_the_seeded_memberships() {
    let sb = Sandbox::start(SandboxConfig::demo()).await.unwrap();
    let w = sb.writable_user_ids();
    let support = sb.queue_id("Support").unwrap();
    assert_eq!(sb.queue_member_ids(&support), w[..5]);
    assert_eq!(sb.queue_ids("Dup Queue").len(), 2);
    let billing = sb.queue_id("Billing").unwrap();
    let group = sb.group_id("Billing Group").unwrap();
    let via = sb.group_member_ids(&group);
    assert_eq!(sb.queue_member_ids(&billing), via);
    assert_eq!(sb.queue_member(&billing, &via[0]).unwrap().1, "group");
    let leads = sb.group_id("Team Leads").unwrap();
    let lead = &sb.group_member_ids(&leads)[0];
    assert!(
        sb.user_grants(lead)
            .iter()
            .any(|g| g.role == "Supervisor" && g.subject_id == leads)
    );
    for name in ["Home", "Restricted Ops", "Sales"] {
        assert!(sb.division_id(name).is_some(), "{name}");
    }
    for name in ["Indianapolis HQ", "Galway Office", "Remote"] {
        assert!(sb.location_id(name).is_some(), "{name}");
    }
    for name in ["Employee", "Agent", "Supervisor", "Admin", "Admin Lite"] {
        assert!(sb.role_id(name).is_some(), "{name}");
    }
}
