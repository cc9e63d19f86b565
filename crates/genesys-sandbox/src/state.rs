//! The sandbox's data: the seeded users (generated on demand, see [`super::seed`]),
//! the users changed since start (an overlay), and the skill, language and division
//! catalogue. One `Mutex<Store>` guards it; every operation is short and in memory.
//!
//! A user is kept as a JSON document (the User fields a GET without expand returns,
//! plus `employerInfo`), with its skills and languages beside it as catalogue
//! indices; [`Store::render`] turns that into what the API answers.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::contacts;
use crate::org::Org;
use crate::query::{Expand, StateFilter};
use crate::quirks::Quirks;
use crate::seed::{self, Catalogue, Named};
use crate::wire::number;

/// One user as stored: the document plus skills and languages as (catalogue index,
/// proficiency), kept sorted by catalogue index.
#[derive(Clone, Debug)]
pub struct UserRec {
    /// The profile; never holds `skills`, `languages` or `primaryContactInfo`.
    pub doc: Map<String, Value>,
    pub skills: Vec<(u16, f64)>,
    pub languages: Vec<(u16, f64)>,
}

impl UserRec {
    pub fn entries(&self, kind: Kind) -> &Vec<(u16, f64)> {
        match kind {
            Kind::Skill => &self.skills,
            Kind::Language => &self.languages,
        }
    }

    pub fn entries_mut(&mut self, kind: Kind) -> &mut Vec<(u16, f64)> {
        match kind {
            Kind::Skill => &mut self.skills,
            Kind::Language => &mut self.languages,
        }
    }

    pub fn id(&self) -> String {
        self.text("id").unwrap_or_default().to_string()
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        self.doc.get(key).and_then(Value::as_str)
    }

    pub fn version(&self) -> i64 {
        self.doc.get("version").and_then(Value::as_i64).unwrap_or(1)
    }

    pub fn bump_version(&mut self) {
        let v = self.version() + 1;
        self.doc.insert("version".into(), json!(v));
    }

    pub fn state(&self) -> &str {
        self.text("state").unwrap_or("active")
    }

    pub fn division_id(&self) -> Option<&str> {
        self.doc.get("division")?.get("id")?.as_str()
    }
}

/// Skills or languages: the two catalogues behave the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Skill,
    Language,
}

impl Kind {
    /// The path segment under `/api/v2/users/{id}/`.
    pub fn user_segment(self) -> &'static str {
        match self {
            Kind::Skill => "routingskills",
            Kind::Language => "routinglanguages",
        }
    }

    /// The path segment under `/api/v2/routing/`.
    pub fn routing_segment(self) -> &'static str {
        match self {
            Kind::Skill => "skills",
            Kind::Language => "languages",
        }
    }

    /// `skillUri` or `languageUri`.
    fn uri_key(self) -> &'static str {
        match self {
            Kind::Skill => "skillUri",
            Kind::Language => "languageUri",
        }
    }
}

pub struct Store {
    seed: u64,
    quirks: Quirks,
    ids: Vec<u128>,
    index: HashMap<u128, u32>,
    /// Current state per user (0 active, 1 inactive, 2 deleted), for listings.
    states: Vec<u8>,
    changed: HashMap<u32, UserRec>,
    pub catalogue: Catalogue,
    skill_index: HashMap<String, u16>,
    language_index: HashMap<String, u16>,
    /// Counter for the concurrent writer's certification markers.
    marker: u64,
    /// Queues, groups, roles, grants and locations.
    pub org: Org,
}

fn state_code(s: &str) -> u8 {
    match s {
        "inactive" => 1,
        "deleted" => 2,
        _ => 0,
    }
}

fn state_name(c: u8) -> &'static str {
    ["active", "inactive", "deleted"][c as usize]
}

impl Store {
    pub fn new(seed: u64, users: usize, quirks: Quirks) -> Store {
        let ids = seed::user_ids(seed, users);
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        let states: Vec<u8> = (0..users)
            .map(|i| state_code(seed::initial_state(seed, i, &quirks)))
            .collect();
        let catalogue = seed::catalogue(seed);
        let by_id = |list: &[Named]| -> HashMap<String, u16> {
            list.iter()
                .enumerate()
                .map(|(i, s)| (s.id.clone(), i as u16))
                .collect()
        };
        let skill_index = by_id(&catalogue.skills);
        let language_index = by_id(&catalogue.languages);
        let writable: Vec<u32> = (0..users)
            .filter(|&i| {
                states[i] != state_code("deleted")
                    && !seed::starts_restricted(seed, i, quirks.restricted_share)
            })
            .take(32)
            .map(|i| i as u32)
            .collect();
        let org = crate::seed_org::org(seed, &writable, quirks.join_delay);
        let mut store = Store {
            seed,
            quirks,
            ids,
            index,
            states,
            changed: HashMap::new(),
            catalogue,
            skill_index,
            language_index,
            marker: 0,
            org,
        };
        if let Some(&u) = writable.get(crate::seed_org::LOCATED_USER) {
            let location = store.org.locations[0].id.clone();
            store.update(u as usize, |rec| {
                rec.doc.insert(
                    "locations".into(),
                    json!([{ "id": location, "notes": crate::seed_org::LOCATED_NOTES }]),
                );
            });
        }
        store
    }

    pub fn quirks(&self) -> &Quirks {
        &self.quirks
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The index of a user id (any case), if it exists.
    pub fn lookup(&self, id: &str) -> Option<usize> {
        let id = uuid::Uuid::parse_str(id).ok()?.as_u128();
        self.index.get(&id).map(|&i| i as usize)
    }

    pub fn id_string(&self, i: usize) -> String {
        seed::uuid_string(self.ids[i])
    }

    pub fn get(&self, i: usize) -> Cow<'_, UserRec> {
        match self.changed.get(&(i as u32)) {
            Some(rec) => Cow::Borrowed(rec),
            None => Cow::Owned(seed::user(
                self.seed,
                &self.ids,
                i,
                &self.catalogue,
                &self.quirks,
            )),
        }
    }

    /// Change user `i`; the state index follows whatever `f` does.
    pub fn update<R>(&mut self, i: usize, f: impl FnOnce(&mut UserRec) -> R) -> R {
        let (seed, ids, cat, q) = (self.seed, &self.ids, &self.catalogue, &self.quirks);
        let rec = self
            .changed
            .entry(i as u32)
            .or_insert_with(|| seed::user(seed, ids, i, cat, q));
        let out = f(rec);
        self.states[i] = state_code(rec.state());
        out
    }

    /// Whether user `i` is outside the sandbox client's reach (every write answers
    /// 403): its role covers `Home` and `Sales` only, so a user placed in any other
    /// division (the seeded restricted one, or one a test made up) is refused.
    pub fn is_restricted(&self, i: usize) -> bool {
        match self.changed.get(&(i as u32)) {
            Some(rec) => rec
                .division_id()
                .is_some_and(|d| !self.catalogue.writable_division(d)),
            None => seed::starts_restricted(self.seed, i, self.quirks.restricted_share),
        }
    }

    /// The name of user `i`'s division.
    pub fn division_name(&self, i: usize) -> String {
        let rec = self.get(i);
        let id = rec.division_id().unwrap_or_default();
        self.catalogue
            .divisions
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| id.to_string(), |d| d.name.clone())
    }

    /// The user as the API returns it with this `expand`: `primaryContactInfo`
    /// derived, numbers with an extension shown without `address`.
    pub fn render(&self, i: usize, expand: Expand) -> Value {
        let rec = self.get(i);
        let mut doc = rec.doc.clone();
        if !expand.employer_info {
            doc.remove("employerInfo");
        }
        match doc.remove("locations") {
            Some(Value::Array(list)) if expand.locations => {
                let list = list
                    .iter()
                    .map(crate::routes_locations::render_user_location)
                    .collect();
                doc.insert("locations".into(), Value::Array(list));
            }
            _ if expand.locations => {
                doc.insert("locations".into(), json!([]));
            }
            _ => {}
        }
        // Groups are derived from the org (a PATCH's `groups` is kept, never shown).
        doc.remove("groups");
        if expand.groups {
            let groups: Vec<Value> = self
                .org
                .groups_of(i as u32)
                .into_iter()
                .map(|g| {
                    let id = &self.org.groups[g].id;
                    json!({ "id": id, "selfUri": format!("/api/v2/groups/{id}") })
                })
                .collect();
            doc.insert("groups".into(), Value::Array(groups));
        }
        let rules = self.quirks.contact_rules;
        let addresses: Vec<Value> = doc
            .get("addresses")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|e| match e {
                        Value::Object(m) if rules => Value::Object(contacts::public(m)),
                        other => other.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        doc.insert(
            "primaryContactInfo".into(),
            primary_contact_info(doc.get("email").and_then(Value::as_str), &addresses),
        );
        doc.insert("addresses".into(), Value::Array(addresses));
        let id = rec.id();
        if expand.skills {
            doc.insert(
                "skills".into(),
                self.render_entries(&id, Kind::Skill, &rec.skills),
            );
        }
        if expand.languages {
            let langs = self.render_entries(&id, Kind::Language, &rec.languages);
            doc.insert("languages".into(), langs);
        }
        Value::Object(doc)
    }

    /// A deleted user as `GET ?state=deleted` shows it (fixtures/genesys/user-deleted.json).
    pub fn render_deleted(&self, i: usize) -> Value {
        let rec = self.get(i);
        let mut out = Map::new();
        for key in ["id", "email", "state", "version", "selfUri"] {
            if let Some(v) = rec.doc.get(key) {
                out.insert(key.into(), v.clone());
            }
        }
        Value::Object(out)
    }

    /// A user's skills or languages as `entities` of the per-user endpoints.
    pub fn render_entries(&self, user_id: &str, kind: Kind, entries: &[(u16, f64)]) -> Value {
        let cat = self.entities(kind);
        let list = entries
            .iter()
            .filter_map(|&(k, proficiency)| {
                let e = cat.get(k as usize)?;
                let mut m = Map::new();
                m.insert("id".into(), json!(e.id));
                m.insert("name".into(), json!(e.name));
                m.insert("proficiency".into(), number(proficiency));
                m.insert("state".into(), json!("active"));
                m.insert(
                    kind.uri_key().into(),
                    json!(format!(
                        "/api/v2/routing/{}/{}",
                        kind.routing_segment(),
                        e.id
                    )),
                );
                m.insert(
                    "selfUri".into(),
                    json!(format!(
                        "/api/v2/users/{user_id}/{}/{}",
                        kind.user_segment(),
                        e.id
                    )),
                );
                Some(Value::Object(m))
            })
            .collect();
        Value::Array(list)
    }

    /// The indices of users whose state passes `filter`, in seeded order.
    pub fn matching(&self, filter: StateFilter) -> impl Iterator<Item = usize> + '_ {
        self.states
            .iter()
            .enumerate()
            .filter(move |(_, s)| filter.admits(state_name(**s)))
            .map(|(i, _)| i)
    }

    pub fn state_of(&self, i: usize) -> &'static str {
        state_name(self.states[i])
    }

    pub fn entities(&self, kind: Kind) -> &[Named] {
        match kind {
            Kind::Skill => &self.catalogue.skills,
            Kind::Language => &self.catalogue.languages,
        }
    }

    /// The catalogue index of a skill or language id.
    pub fn entity_index(&self, kind: Kind, id: &str) -> Option<u16> {
        let map = match kind {
            Kind::Skill => &self.skill_index,
            Kind::Language => &self.language_index,
        };
        map.get(id).copied()
    }

    /// The concurrent writer: another integration changes a field no CSV names.
    pub fn concurrent_write(&mut self, i: usize) {
        self.marker += 1;
        let marker = format!("sandbox-concurrent-writer-{}", self.marker);
        self.update(i, |rec| {
            let certs = rec
                .doc
                .entry("certifications")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(list) = certs.as_array_mut() {
                list.push(marker.into());
            }
            rec.bump_version();
        });
    }
}

/// PRIMARY entries in the pattern of the fixture: the email, the first phone number
/// (address and display) and the first SMS number (address only).
fn primary_contact_info(email: Option<&str>, addresses: &[Value]) -> Value {
    let mut out = Vec::new();
    if let Some(e) = email {
        out.push(json!({ "address": e, "mediaType": "EMAIL", "type": "PRIMARY" }));
    }
    let first = |media: &str| {
        addresses.iter().find(|a| {
            a.get("mediaType").and_then(Value::as_str) == Some(media) && a.get("address").is_some()
        })
    };
    if let Some(p) = first("PHONE") {
        out.push(json!({ "address": p["address"], "display": p["display"],
            "mediaType": "PHONE", "type": "PRIMARY" }));
    }
    if let Some(p) = first("SMS") {
        out.push(json!({ "address": p["address"], "mediaType": "SMS", "type": "PRIMARY" }));
    }
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_users_are_generated_and_changes_are_kept() {
        let mut s = Store::new(5, 100, Quirks::none());
        let id = s.id_string(10);
        assert_eq!(s.lookup(&id), Some(10));
        assert_eq!(s.lookup(&id.to_uppercase()), Some(10));
        assert_eq!(s.lookup("not-a-uuid"), None);
        let v = s.get(10).version();
        s.update(10, |r| {
            r.bump_version();
            r.doc.insert("state".into(), json!("inactive"));
        });
        assert_eq!(s.get(10).version(), v + 1);
        assert_eq!(s.state_of(10), "inactive");
        assert!(!s.matching(StateFilter::Active).any(|i| i == 10));
        assert!(s.matching(StateFilter::Any).any(|i| i == 10));
    }

    #[test]
    fn expand_decides_what_is_returned() {
        let s = Store::new(5, 10, Quirks::none());
        let plain = s.render(0, Expand::default());
        for key in ["skills", "languages", "employerInfo"] {
            assert!(plain.get(key).is_none(), "{key}");
        }
        let full = s.render(0, Expand::ALL);
        for key in ["skills", "languages", "employerInfo"] {
            assert!(full.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn the_concurrent_writer_bumps_the_version_and_appends_a_certification() {
        let mut s = Store::new(5, 10, Quirks::none());
        let v = s.get(3).version();
        s.concurrent_write(3);
        let u = s.get(3);
        assert_eq!(u.version(), v + 1);
        assert_eq!(u.doc["certifications"][0], "sandbox-concurrent-writer-1");
    }

    #[test]
    fn a_number_with_an_extension_is_shown_only_in_display() {
        let s = Store::new(1, 20, Quirks::realistic());
        let u = s.render(6, Expand::default());
        let work3 = u["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["type"] == "WORK3")
            .unwrap();
        assert!(work3.get("address").is_none(), "{work3}");
        assert!(work3["extension"].is_string() && work3["display"].is_string());
    }
}
