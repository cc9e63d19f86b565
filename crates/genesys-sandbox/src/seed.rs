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

use crate::quirks::Quirks;
use crate::seed_contacts;
use crate::state::UserRec;

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

/// The lowercase hyphenated form of an id.
pub fn uuid_string(id: u128) -> String {
    uuid::Uuid::from_u128(id).hyphenated().to_string()
}

/// The ids of users `0..n`, in seeded order.
pub fn user_ids(seed: u64, n: usize) -> Vec<u128> {
    let mut rng = stream(seed, 1);
    (0..n).map(|_| uuid_from(&mut rng)).collect()
}

/// A catalogue entry (skill or language) or a division: an id and a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// The org's skill and language catalogue and its divisions.
#[derive(Clone, Debug)]
pub struct Catalogue {
    pub skills: Vec<Named>,
    pub languages: Vec<Named>,
    /// `Home` ([`HOME`], the home division, writable), `Restricted Ops`
    /// ([`RESTRICTED`], every write answers 403) and `Sales` ([`SALES`], writable).
    pub divisions: Vec<Named>,
}

pub const HOME_DIVISION: &str = "Home";
pub const RESTRICTED_DIVISION: &str = "Restricted Ops";
pub const SALES_DIVISION: &str = "Sales";
/// Indices into [`Catalogue::divisions`].
pub const HOME: usize = 0;
pub const RESTRICTED: usize = 1;
pub const SALES: usize = 2;

impl Catalogue {
    /// Whether the sandbox's OAuth client may write in this division: its role
    /// covers `Home` and `Sales` only, so `Restricted Ops` and any division a test
    /// made up are refused.
    pub fn writable_division(&self, id: &str) -> bool {
        [HOME, SALES].iter().any(|&d| self.divisions[d].id == id)
    }

    /// The index of a division id.
    pub fn division_index(&self, id: &str) -> Option<usize> {
        self.divisions.iter().position(|d| d.id == id)
    }
}

pub fn catalogue(seed: u64) -> Catalogue {
    let mut rng = stream(seed, 2);
    let mut named = |name: &str| Named {
        id: uuid_string(uuid_from(&mut rng)),
        name: name.to_string(),
    };
    let skills = SKILLS.iter().map(|n| named(n)).collect();
    let languages = LANGUAGES.iter().map(|n| named(n)).collect();
    // Drawn after the catalogue so that the home division keeps its historic id.
    let home = named(HOME_DIVISION);
    let restricted = named(RESTRICTED_DIVISION);
    // Drawn last so that the first two keep their historic ids.
    let sales = named(SALES_DIVISION);
    Catalogue {
        skills,
        languages,
        divisions: vec![home, restricted, sales],
    }
}

pub fn division_json(d: &Named) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "selfUri": format!("/api/v2/authorization/divisions/{}", d.id),
    })
}

/// Whether user `i` starts inactive (about 3%): cheap, for the listing's state index.
pub fn starts_inactive(seed: u64, i: usize) -> bool {
    mix(seed ^ mix(i as u64 ^ 0x5EED_57A7E)).is_multiple_of(33)
}

/// A deterministic draw in [0, 1) for user `i` and a purpose.
fn unit(seed: u64, i: usize, salt: u64) -> f64 {
    (mix(seed ^ mix(i as u64 ^ salt)) >> 11) as f64 / (1u64 << 53) as f64
}

/// Users before this index are never picked by a share: they are the users
/// examples/users.csv names (seed 1, indices 0 to 11), whose rows must keep working.
const FIRST_SHARED: usize = 12;

/// Whether user `i` is deleted at start: the fixed [`crate::DELETED_USER_INDEX`]
/// or a `share` of the users from index 12 on.
pub fn starts_deleted(seed: u64, i: usize, share: f64) -> bool {
    share > 0.0
        && (i == crate::DELETED_USER_INDEX
            || (i >= FIRST_SHARED && unit(seed, i, 0x0DE1_E7ED) < share))
}

/// Whether user `i` starts in the restricted division: the fixed
/// [`crate::RESTRICTED_USER_INDEX`] or a `share` of the users from index 12 on.
pub fn starts_restricted(seed: u64, i: usize, share: f64) -> bool {
    share > 0.0
        && (i == crate::RESTRICTED_USER_INDEX
            || (i >= FIRST_SHARED && unit(seed, i, 0xD171_510A) < share))
}

/// The state a seeded user starts in.
pub fn initial_state(seed: u64, i: usize, quirks: &Quirks) -> &'static str {
    if starts_deleted(seed, i, quirks.deleted_share) {
        "deleted"
    } else if starts_inactive(seed, i) {
        "inactive"
    } else {
        "active"
    }
}

/// Generate user `i` of `ids.len()`, exactly as seeded.
pub fn user(seed: u64, ids: &[u128], i: usize, cat: &Catalogue, quirks: &Quirks) -> UserRec {
    let n = ids.len();
    let mut rng = stream(seed, 1_000 + i as u64);
    let id = uuid_string(ids[i]);
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    let mut email = format!(
        "{}.{}{}@example.com",
        first.to_lowercase(),
        last.to_lowercase(),
        i + 1
    );
    if i == crate::CASE_TWIN_INDEX && n > i {
        // The same address as the user before, but for case: keys by email must
        // match in any case and call these two ambiguous.
        email = seeded_email(seed, i - 1).to_uppercase();
    }
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

    // These draws stay even when the realistic shapes replace them, so that every
    // later field keeps its seeded value whatever the quirks.
    let mut addresses = Vec::new();
    if rng.random_bool(0.9) {
        addresses.push(seed_contacts::simple_phone(&mut rng, "WORK"));
    }
    if rng.random_bool(0.3) {
        addresses.push(seed_contacts::simple_phone(&mut rng, "MOBILE"));
    }
    if quirks.contact_shapes {
        let local = email.split('@').next().unwrap_or_default();
        addresses = seed_contacts::shaped(&mut stream(seed, 9_000_000 + i as u64), i, local);
    }

    let employer_info = json!({
        "officialName": format!("{first} {last}"),
        "employeeId": if i == crate::DUPLICATE_EMPLOYEE_ID_INDEX {
            // Duplicate employee ids happen: this user shares the one before's.
            format!("E{:06}", i)
        } else {
            format!("E{:06}", i + 1)
        },
        "employeeType": EMPLOYEE_TYPES[rng.random_range(0..EMPLOYEE_TYPES.len())],
        "dateHire": format!(
            "{}-{:02}-{:02}",
            rng.random_range(2010..=2024),
            rng.random_range(1..=12),
            rng.random_range(1..=28)
        ),
    });

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

    let preferred_name: Option<String> = rng
        .random_bool(0.15)
        .then(|| first.chars().take(3).collect());
    let acd_auto_answer = rng.random_bool(0.2);
    let version: i64 = rng.random_range(1..=3);
    let division = &cat.divisions[if starts_restricted(seed, i, quirks.restricted_share) {
        RESTRICTED
    } else {
        HOME
    }];

    let mut doc = Map::new();
    doc.insert("id".into(), json!(id));
    doc.insert("name".into(), json!(format!("{first} {last}")));
    doc.insert("division".into(), division_json(division));
    doc.insert(
        "chat".into(),
        json!({ "jabberId": format!("{}@sandbox.orgspan.com", id.replace('-', "")) }),
    );
    doc.insert("department".into(), json!(department));
    doc.insert("email".into(), json!(email));
    doc.insert("addresses".into(), Value::Array(addresses));
    doc.insert("state".into(), json!(initial_state(seed, i, quirks)));
    doc.insert("title".into(), json!(title));
    doc.insert("username".into(), json!(email));
    if let Some(m) = manager_index {
        doc.insert("manager".into(), manager_ref(&uuid_string(ids[m])));
    }
    doc.insert("version".into(), json!(version));
    doc.insert("employerInfo".into(), employer_info);
    if let Some(p) = preferred_name {
        doc.insert("preferredName".into(), json!(p));
    }
    doc.insert("acdAutoAnswer".into(), json!(acd_auto_answer));
    doc.insert("selfUri".into(), json!(format!("/api/v2/users/{id}")));
    UserRec {
        doc,
        skills,
        languages,
    }
}

/// The email user `i` is seeded with (before the case twin's change).
fn seeded_email(seed: u64, i: usize) -> String {
    let mut rng = stream(seed, 1_000 + i as u64);
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    format!(
        "{}.{}{}@example.com",
        first.to_lowercase(),
        last.to_lowercase(),
        i + 1
    )
}

pub fn manager_ref(id: &str) -> Value {
    json!({ "id": id, "selfUri": format!("/api/v2/users/{id}") })
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
            let q = Quirks::realistic();
            assert_eq!(user(7, &a, i, &cat, &q).doc, user(7, &a, i, &cat, &q).doc);
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
            let u = user(3, &ids, i, &cat, &Quirks::none()).doc;
            if let Some(m) = u.get("manager") {
                let mi = index[m["id"].as_str().unwrap()];
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
