//! The sandbox's data: the seeded users (generated on demand, see [`super::seed`]),
//! the users changed since start (an overlay), and the skill and language
//! catalogue. One `Mutex<Store>` guards it; every operation is short and in memory.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::model::{RoutingEntity, User, UserRoutingSkill};

use super::query::{Expand, StateFilter};
use super::seed::{self, Catalogue};

/// One user as stored: the profile plus skills and languages as (catalogue index,
/// proficiency), kept sorted by catalogue index.
#[derive(Clone, Debug)]
pub struct UserRec {
    /// The profile; `skills` and `languages` are always `None` here.
    pub user: User,
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
}

pub struct Store {
    seed: u64,
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
}

fn state_code(s: Option<&str>) -> u8 {
    match s {
        Some("inactive") => 1,
        Some("deleted") => 2,
        _ => 0,
    }
}

fn state_name(c: u8) -> &'static str {
    ["active", "inactive", "deleted"][c as usize]
}

impl Store {
    pub fn new(seed: u64, users: usize) -> Store {
        let ids = seed::user_ids(seed, users);
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        let states = (0..users)
            .map(|i| u8::from(seed::starts_inactive(seed, i)))
            .collect();
        let catalogue = seed::catalogue(seed);
        let skill_index = catalogue
            .skills
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i as u16))
            .collect();
        let language_index = catalogue
            .languages
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i as u16))
            .collect();
        Store {
            seed,
            ids,
            index,
            states,
            changed: HashMap::new(),
            catalogue,
            skill_index,
            language_index,
            marker: 0,
        }
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
            None => Cow::Owned(seed::user(self.seed, &self.ids, i, &self.catalogue)),
        }
    }

    /// Change user `i`; the state index follows whatever `f` does.
    pub fn update<R>(&mut self, i: usize, f: impl FnOnce(&mut UserRec) -> R) -> R {
        let (seed, ids, cat) = (self.seed, &self.ids, &self.catalogue);
        let rec = self
            .changed
            .entry(i as u32)
            .or_insert_with(|| seed::user(seed, ids, i, cat));
        let out = f(rec);
        self.states[i] = state_code(rec.user.state.as_deref());
        out
    }

    /// The user as the API returns it with this `expand`.
    pub fn render(&self, i: usize, expand: Expand) -> User {
        let (mut user, skills, languages) = match self.get(i) {
            Cow::Owned(rec) => (rec.user, rec.skills, rec.languages),
            Cow::Borrowed(rec) => (rec.user.clone(), rec.skills.clone(), rec.languages.clone()),
        };
        if !expand.employer_info {
            user.employer_info = None;
        }
        if expand.skills {
            user.skills = Some(self.render_entries(&user.id, Kind::Skill, &skills));
        }
        if expand.languages {
            user.languages = Some(self.render_entries(&user.id, Kind::Language, &languages));
        }
        user
    }

    pub fn render_entries(
        &self,
        user_id: &str,
        kind: Kind,
        entries: &[(u16, f64)],
    ) -> Vec<UserRoutingSkill> {
        let cat = self.entities(kind);
        entries
            .iter()
            .map(|&(k, proficiency)| {
                let e = &cat[k as usize];
                UserRoutingSkill {
                    id: e.id.clone(),
                    name: Some(e.name.clone()),
                    proficiency,
                    state: Some("active".into()),
                    self_uri: Some(format!(
                        "/api/v2/users/{user_id}/{}/{}",
                        kind.user_segment(),
                        e.id
                    )),
                    other: Default::default(),
                }
            })
            .collect()
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

    pub fn entities(&self, kind: Kind) -> &[RoutingEntity] {
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
                .user
                .other
                .entry("certifications")
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let Some(list) = certs.as_array_mut() {
                list.push(marker.into());
            }
            rec.user.version += 1;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_users_are_generated_and_changes_are_kept() {
        let mut s = Store::new(5, 100);
        let id = s.id_string(10);
        assert_eq!(s.lookup(&id), Some(10));
        assert_eq!(s.lookup(&id.to_uppercase()), Some(10));
        assert_eq!(s.lookup("not-a-uuid"), None);
        let v = s.get(10).user.version;
        s.update(10, |r| {
            r.user.version += 1;
            r.user.state = Some("inactive".into());
        });
        assert_eq!(s.get(10).user.version, v + 1);
        assert_eq!(s.state_of(10), "inactive");
        assert!(!s.matching(StateFilter::Active).any(|i| i == 10));
        assert!(s.matching(StateFilter::Any).any(|i| i == 10));
    }

    #[test]
    fn expand_decides_what_is_returned() {
        let s = Store::new(5, 10);
        let plain = s.render(0, Expand::default());
        assert!(plain.skills.is_none() && plain.languages.is_none());
        assert!(plain.employer_info.is_none());
        let full = s.render(0, Expand::ALL);
        assert!(full.skills.is_some() && full.languages.is_some());
        assert!(full.employer_info.is_some());
    }

    #[test]
    fn the_concurrent_writer_bumps_the_version_and_appends_a_certification() {
        let mut s = Store::new(5, 10);
        let v = s.get(3).user.version;
        s.concurrent_write(3);
        let u = s.get(3);
        assert_eq!(u.user.version, v + 1);
        assert_eq!(
            u.user.other["certifications"][0],
            "sandbox-concurrent-writer-1"
        );
    }
}
