//! The seeded org: user ids, the skill and language catalogue, and every user's
//! initial profile, all derived from `--seed`.
//!
//! Users are generated lazily: user `i` is a pure function of (seed, users, i), so the
//! store only keeps the users that were changed. That keeps 1,000,000 users to a few
//! tens of megabytes (their ids and an index) and makes start-up instant. Ids come
//! from one `StdRng` stream; each user's fields from a `StdRng` seeded by (seed, i).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::model::{Contact, EmployerInfo, ManagerRef, RoutingEntity, User};

use super::state::UserRec;

pub const SKILLS: &[&str] = &[
    "Billing",
    "Sales",
    "Sales Operations",
    "Support",
    "Technical Support",
    "Technical Support Tier 2",
    "Retention",
    "Spanish Support",
    "French Support",
    "German Support",
    "Escalations",
    "Onboarding",
    "Collections",
    "Claims",
    "Renewals",
    "Returns",
    "Chat",
    "Email",
    "Social Media",
    "VIP",
    "Complaints",
];

pub const LANGUAGES: &[&str] = &[
    "English",
    "Spanish",
    "French",
    "German",
    "Portuguese",
    "Italian",
    "Dutch",
    "Japanese",
    "Mandarin",
];

const FIRST: &[&str] = &[
    "Alice", "Bob", "Carmen", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kate",
    "Luis", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoe", "Amir", "Bianca", "Chen", "Dara", "Emil", "Fatima", "Gabriel",
    "Hana", "Ivan", "Julia", "Kofi", "Lena", "Mateo", "Nadia",
];

const LAST: &[&str] = &[
    "Anderson",
    "Baker",
    "Castillo",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Martin",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quintero",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Weber",
    "Xu",
    "Young",
    "Zimmermann",
    "Almeida",
    "Brown",
    "Costa",
    "Diaz",
    "Eriksen",
    "Ferrari",
    "Gomez",
    "Haddad",
    "Ivanova",
    "Johnson",
    "Kim",
    "Larsen",
    "Moreau",
    "Nowak",
];

const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Support",
    "Billing",
    "Retention",
    "Operations",
    "Quality",
    "Workforce Management",
    "Escalations",
];

const TITLES: &[&str] = &[
    "Agent",
    "Senior Agent",
    "Specialist",
    "Analyst",
    "Coordinator",
];
const MANAGER_TITLES: &[&str] = &["Team Lead", "Supervisor", "Manager"];
const EMPLOYEE_TYPES: &[&str] = &[
    "Full-time",
    "Full-time",
    "Full-time",
    "Part-time",
    "Contractor",
];

/// SplitMix64: a stable mixing function, so per-user seeds never depend on the
/// `rand` version.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn stream(seed: u64, purpose: u64) -> StdRng {
    StdRng::seed_from_u64(mix(seed ^ mix(purpose)))
}

fn uuid_from(rng: &mut StdRng) -> u128 {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .as_u128()
}

pub fn uuid_string(id: u128) -> String {
    uuid::Uuid::from_u128(id).hyphenated().to_string()
}

/// The ids of users `0..n`, in seeded order.
pub fn user_ids(seed: u64, n: usize) -> Vec<u128> {
    let mut rng = stream(seed, 1);
    (0..n).map(|_| uuid_from(&mut rng)).collect()
}

/// The org's skill and language catalogue and its home division.
#[derive(Clone, Debug)]
pub struct Catalogue {
    pub skills: Vec<RoutingEntity>,
    pub languages: Vec<RoutingEntity>,
    pub division_id: String,
}

pub fn catalogue(seed: u64) -> Catalogue {
    let mut rng = stream(seed, 2);
    let mut entity = |name: &str, kind: &str| {
        let id = uuid_string(uuid_from(&mut rng));
        RoutingEntity {
            self_uri: Some(format!("/api/v2/routing/{kind}/{id}")),
            id,
            name: name.to_string(),
            state: Some("active".into()),
        }
    };
    let skills = SKILLS.iter().map(|n| entity(n, "skills")).collect();
    let languages = LANGUAGES.iter().map(|n| entity(n, "languages")).collect();
    let division_id = uuid_string(uuid_from(&mut rng));
    Catalogue {
        skills,
        languages,
        division_id,
    }
}

/// Whether user `i` starts inactive (about 3%): cheap, for the listing's state index.
pub fn starts_inactive(seed: u64, i: usize) -> bool {
    mix(seed ^ mix(i as u64 ^ 0x5EED_57A7E)).is_multiple_of(33)
}

/// Generate user `i` of `ids.len()`, exactly as seeded.
pub fn user(seed: u64, ids: &[u128], i: usize, cat: &Catalogue) -> UserRec {
    let n = ids.len();
    let mut rng = stream(seed, 1_000 + i as u64);
    let id = uuid_string(ids[i]);
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    let email = format!(
        "{}.{}{}@example.com",
        first.to_lowercase(),
        last.to_lowercase(),
        i + 1
    );
    // The first tenth are managers; they report up the tree, everyone else to one of them.
    let managers = (n / 10).max(1);
    let is_manager = i < managers;
    let manager_index = if i == 0 {
        None
    } else if is_manager {
        Some(rng.random_range(0..i))
    } else if rng.random_bool(0.9) {
        Some(rng.random_range(0..managers))
    } else {
        None
    };
    let title = if is_manager {
        MANAGER_TITLES[rng.random_range(0..MANAGER_TITLES.len())]
    } else {
        TITLES[rng.random_range(0..TITLES.len())]
    };
    let department = DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())];

    let mut addresses = Vec::new();
    if rng.random_bool(0.9) {
        addresses.push(phone(&mut rng, "WORK"));
    }
    if rng.random_bool(0.3) {
        addresses.push(phone(&mut rng, "MOBILE"));
    }

    let employer_info = EmployerInfo {
        official_name: Some(format!("{first} {last}")),
        employee_id: Some(format!("E{:06}", i + 1)),
        employee_type: Some(EMPLOYEE_TYPES[rng.random_range(0..EMPLOYEE_TYPES.len())].into()),
        date_hire: Some(format!(
            "{}-{:02}-{:02}",
            rng.random_range(2010..=2024),
            rng.random_range(1..=12),
            rng.random_range(1..=28)
        )),
    };

    let mut skills: Vec<(u16, f64)> = Vec::new();
    for _ in 0..rng.random_range(0..=4) {
        let s = rng.random_range(0..cat.skills.len()) as u16;
        if !skills.iter().any(|(k, _)| *k == s) {
            skills.push((s, f64::from(rng.random_range(1..=5u8))));
        }
    }
    skills.sort_by_key(|(k, _)| *k);
    let mut languages: Vec<(u16, f64)> = Vec::new();
    if rng.random_bool(0.7) {
        languages.push((0, f64::from(rng.random_range(3..=5u8))));
    }
    if rng.random_bool(0.25) {
        let l = rng.random_range(1..cat.languages.len()) as u16;
        languages.push((l, f64::from(rng.random_range(1..=5u8))));
    }

    let preferred_name = rng
        .random_bool(0.15)
        .then(|| first.chars().take(3).collect());
    let acd_auto_answer = rng.random_bool(0.2);
    let version = rng.random_range(1..=3);
    let state = if starts_inactive(seed, i) {
        "inactive"
    } else {
        "active"
    };

    let mut other = Map::new();
    other.insert(
        "division".into(),
        json!({
            "id": cat.division_id,
            "name": "Home",
            "selfUri": format!("/api/v2/authorization/divisions/{}", cat.division_id),
        }),
    );
    other.insert(
        "chat".into(),
        json!({ "jabberId": format!("{}@sandbox.orgspan.com", id.replace('-', "")) }),
    );
    other.insert("primaryContactInfo".into(), primary_contact_info(&email));

    UserRec {
        user: User {
            self_uri: Some(format!("/api/v2/users/{id}")),
            id,
            name: Some(format!("{first} {last}")),
            email: Some(email.clone()),
            title: Some(title.into()),
            department: Some(department.into()),
            username: Some(email),
            preferred_name,
            manager: manager_index.map(|m| manager_ref(&uuid_string(ids[m]))),
            state: Some(state.into()),
            acd_auto_answer: Some(acd_auto_answer),
            addresses,
            employer_info: Some(employer_info),
            version,
            skills: None,
            languages: None,
            other,
        },
        skills,
        languages,
    }
}

pub fn primary_contact_info(email: &str) -> Value {
    json!([{ "address": email, "mediaType": "EMAIL", "type": "PRIMARY" }])
}

pub fn manager_ref(id: &str) -> ManagerRef {
    ManagerRef {
        id: id.to_string(),
        self_uri: Some(format!("/api/v2/users/{id}")),
    }
}

fn phone(rng: &mut StdRng, kind: &str) -> Contact {
    let area = [317, 212, 415, 312, 646][rng.random_range(0..5)];
    let line: u32 = rng.random_range(0..10_000);
    Contact {
        address: Some(format!("+1{area}555{line:04}")),
        extension: None,
        display: Some(format!("+1 {area}-555-{line:04}")),
        media_type: Some("PHONE".into()),
        kind: Some(kind.into()),
        country_code: Some("US".into()),
        ..Contact::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_org() {
        let a = user_ids(7, 50);
        assert_eq!(a, user_ids(7, 50));
        assert_ne!(a, user_ids(8, 50));
        let cat = catalogue(7);
        assert_eq!(cat.skills, catalogue(7).skills);
        for i in [0, 1, 5, 49] {
            assert_eq!(user(7, &a, i, &cat).user, user(7, &a, i, &cat).user);
        }
    }

    #[test]
    fn ids_are_version_4_uuids_and_unique() {
        let ids = user_ids(1, 10_000);
        let set: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(set.len(), ids.len());
        let u = uuid::Uuid::from_u128(ids[0]);
        assert_eq!(u.get_version_num(), 4);
    }

    #[test]
    fn managers_exist_and_form_a_tree() {
        let ids = user_ids(3, 200);
        let cat = catalogue(3);
        let index: std::collections::HashMap<String, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (uuid_string(*id), i))
            .collect();
        for i in 0..200 {
            let u = user(3, &ids, i, &cat).user;
            if let Some(m) = u.manager {
                let mi = index[&m.id];
                assert!(mi < i.max(20), "user {i} reports to {mi}");
                assert_ne!(mi, i);
            }
        }
    }

    #[test]
    fn the_catalogue_has_the_names_the_examples_use() {
        let cat = catalogue(1);
        for name in [
            "Billing",
            "Sales",
            "Support",
            "Technical Support",
            "Retention",
        ] {
            assert!(cat.skills.iter().any(|s| s.name == name), "{name}");
        }
        for name in ["Spanish", "English", "French", "German"] {
            assert!(cat.languages.iter().any(|s| s.name == name), "{name}");
        }
    }
}
