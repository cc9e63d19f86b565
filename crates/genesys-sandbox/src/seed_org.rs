//! The seeded memberships of the demo org (the seed contract the client's tests
//! rely on; README "The sandbox's org"). Ids come from their own stream of the
//! seed, so they are stable for a seed and independent of the number of users.
//!
//! `w` below is the list of writable users (not deleted, not restricted) in
//! seeded order; members that would need more users than the org has are left out.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::org::{Grant, GrantDivision, Group, Location, Org, Queue, Role, SEEDED_AT};
use crate::seed::{HOME, RESTRICTED, uuid_string};

/// Queue names, in order; `Dup Queue` twice (ambiguous by name).
pub const QUEUES: &[&str] = &[
    "Support",
    "Support Team",
    "Sales Inbound",
    "Billing",
    "Tier 1; Escalations",
    "Dup Queue",
    "Dup Queue",
    "Restricted Queue",
];
pub const ROLES: &[(&str, &str)] = &[
    ("Employee", "Every user of the org"),
    ("Agent", "Handles interactions"),
    ("Supervisor", "Supervises agents"),
    ("Admin", "Administers the org"),
    ("Admin Lite", "Administers users"),
];
pub const GROUPS: &[&str] = &[
    "Night Shift",
    "Team Leads",
    "Billing Group",
    "Restricted Group",
];
pub const LOCATIONS: &[(&str, &str)] = &[
    ("Indianapolis HQ", "Indianapolis"),
    ("Galway Office", "Galway"),
    ("Remote", ""),
];

/// Which writable user (index into `w`) has which seeded membership.
pub const SUPPORT_MEMBERS: std::ops::Range<usize> = 0..5;
pub const BILLING_THROUGH_GROUP: usize = 5;
pub const SUPERVISOR_THROUGH_GROUP: usize = 6;
pub const LOCATED_USER: usize = 7;
pub const NIGHT_SHIFT: &[usize] = &[8, 9];
pub const RESTRICTED_GROUP_MEMBER: usize = 10;
/// The notes of the seeded location entry.
pub const LOCATED_NOTES: &str = "Desk 4-112";

fn id(rng: &mut StdRng) -> String {
    let bytes: [u8; 16] = rng.random();
    uuid_string(
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .as_u128(),
    )
}

fn idx(name: &str, list: &[&str]) -> usize {
    list.iter().position(|n| *n == name).unwrap_or(0)
}

/// Build the org's memberships for `seed`, given the writable users `w`.
pub fn org(seed: u64, w: &[u32], join_delay: Duration) -> Org {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0126_5EED_0126_5EED);
    let user = |k: usize| w.get(k).copied();
    let mut groups: Vec<Group> = GROUPS
        .iter()
        .map(|name| Group {
            id: id(&mut rng),
            name: name.to_string(),
            division: if *name == "Restricted Group" {
                RESTRICTED
            } else {
                HOME
            },
            version: 1,
            ..Group::default()
        })
        .collect();
    let mut add = |g: &str, k: usize| {
        if let Some(u) = user(k) {
            groups[idx(g, GROUPS)].members.insert(u);
        }
    };
    add("Billing Group", BILLING_THROUGH_GROUP);
    add("Team Leads", SUPERVISOR_THROUGH_GROUP);
    for &k in NIGHT_SHIFT {
        add("Night Shift", k);
    }
    add("Restricted Group", RESTRICTED_GROUP_MEMBER);

    let mut queues: Vec<Queue> = QUEUES
        .iter()
        .map(|name| Queue {
            id: id(&mut rng),
            name: name.to_string(),
            division: if *name == "Restricted Queue" {
                RESTRICTED
            } else {
                HOME
            },
            ..Queue::default()
        })
        .collect();
    for k in SUPPORT_MEMBERS {
        if let Some(u) = user(k) {
            queues[0].direct.insert(u, true);
        }
    }
    queues[idx("Billing", QUEUES)]
        .groups
        .push(idx("Billing Group", GROUPS));

    let roles = ROLES
        .iter()
        .map(|(name, description)| Role {
            id: id(&mut rng),
            name: name.to_string(),
            description: description.to_string(),
        })
        .collect();
    let mut group_grants = vec![Vec::new(); GROUPS.len()];
    group_grants[idx("Team Leads", GROUPS)].push(Grant {
        role: ROLES
            .iter()
            .position(|(n, _)| *n == "Supervisor")
            .unwrap_or(0),
        division: GrantDivision::One(HOME),
        made_at: SEEDED_AT.into(),
    });
    let locations = LOCATIONS
        .iter()
        .map(|(name, city)| Location {
            id: id(&mut rng),
            name: name.to_string(),
            city: city.to_string(),
        })
        .collect();
    let mut org = Org::default();
    org.queues = queues;
    org.groups = groups;
    org.roles = roles;
    org.locations = locations;
    org.group_grants = group_grants;
    org.join_delay = join_delay;
    org
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::By;

    #[test]
    fn the_seed_contract_holds() {
        let w: Vec<u32> = (0..20).collect();
        let o = org(1, &w, Duration::ZERO);
        assert_eq!(o.queues.len(), 8);
        let support = o.members(0);
        assert_eq!(support.len(), 5);
        assert!(support.iter().all(|m| m.joined && m.by == By::User));
        let billing = o.members(idx("Billing", QUEUES));
        assert_eq!(billing.len(), 1);
        assert_eq!(billing[0].by, By::Group(idx("Billing Group", GROUPS)));
        let dups: Vec<_> = o.queues.iter().filter(|q| q.name == "Dup Queue").collect();
        assert_eq!(dups.len(), 2);
        assert_ne!(dups[0].id, dups[1].id);
        assert_eq!(org(1, &w, Duration::ZERO).queues[0].id, o.queues[0].id);
        assert_ne!(org(2, &w, Duration::ZERO).queues[0].id, o.queues[0].id);
        // A tiny org simply has fewer members.
        assert_eq!(org(1, &[0, 1], Duration::ZERO).members(0).len(), 2);
    }
}
