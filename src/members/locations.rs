//! The `locations` column (and `locations:add`, `locations:remove`): a user's work
//! locations by name.
//!
//! The user holds them as one array written through the user PATCH (with the version
//! just read), replaced as a whole like `addresses`: so the new array is built from the
//! one read, and an entry the row does not touch is sent back exactly as read (its
//! `notes`, `coordinates`, `floorplanId`, fields genupdate does not know). An entry
//! read as `{locationDefinition: {id}}` is written with `id` set to that location id,
//! the form the API's `Location` model and Terraform send.
//!
//! The list comes only with `expand=locations`, which is best effort: a user read
//! without it is read on its own before anything is decided (missing is not empty).

use serde_json::{Map, Value as Json};

/// A location by `(id, name)`.
pub type Named = (String, String);

/// What a row asks of the user's locations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// Exactly these (empty: none; the clear marker).
    Replace(Vec<Named>),
    /// These too, and not those.
    Edit { add: Vec<Named>, remove: Vec<Named> },
}

/// What changes: the whole array to send, and the names for plans and undo.
#[derive(Clone, Debug, PartialEq)]
pub struct LocationsPlan {
    /// The `locations` array for the PATCH.
    pub body: Vec<Json>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// The user's location names before, in the order read (for the undo of `locations`).
    pub before: Vec<String>,
}

impl LocationsPlan {
    /// Plan lines: `locations: -Remote`, `locations: +Galway Office`.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .removed
            .iter()
            .map(|n| format!("locations: -{n}"))
            .collect();
        out.extend(self.added.iter().map(|n| format!("locations: +{n}")));
        out
    }
}

/// Which read entries a plan keeps.
type Keep<'a> = Box<dyn Fn(&Json) -> bool + 'a>;

/// The location id of one entry of a user's `locations`.
pub fn entry_id(entry: &Json) -> Option<&str> {
    entry
        .get("locationDefinition")
        .and_then(|d| d.get("id"))
        .or_else(|| entry.get("id"))
        .and_then(Json::as_str)
}

/// The name an entry carries itself (`locationDefinition.name`), if any.
pub fn entry_name(entry: &Json) -> Option<&str> {
    entry
        .get("locationDefinition")
        .and_then(|d| d.get("name"))
        .and_then(Json::as_str)
}

/// Decide the new array. `current` is the user's `locations` as read; `name_of` names
/// a location id the row does not (from the entry itself or a lookup), falling back to
/// the id. `None`: nothing changes.
pub fn plan(
    current: &[Json],
    want: &Want,
    name_of: &dyn Fn(&str) -> Option<String>,
) -> Option<LocationsPlan> {
    let name = |e: &Json| -> String {
        let id = entry_id(e).unwrap_or_default();
        entry_name(e)
            .map(str::to_string)
            .or_else(|| name_of(id))
            .unwrap_or_else(|| id.to_string())
    };
    let held = |id: &str| current.iter().any(|e| entry_id(e) == Some(id));
    let (keep, add): (Keep<'_>, Vec<&Named>) = match want {
        Want::Replace(list) => (
            Box::new(move |e: &Json| {
                let id = entry_id(e);
                // An entry without an id is not a location genupdate can name: kept.
                id.is_none() || list.iter().any(|(l, _)| Some(l.as_str()) == id)
            }),
            list.iter().filter(|(id, _)| !held(id)).collect(),
        ),
        Want::Edit { add, remove } => (
            Box::new(move |e: &Json| {
                let id = entry_id(e);
                !remove.iter().any(|(l, _)| Some(l.as_str()) == id)
            }),
            add.iter().filter(|(id, _)| !held(id)).collect(),
        ),
    };
    let mut seen: Vec<&str> = Vec::new();
    let add: Vec<&Named> = add
        .into_iter()
        .filter(|(id, _)| {
            let first = !seen.contains(&id.as_str());
            seen.push(id);
            first
        })
        .collect();
    let removed: Vec<String> = current.iter().filter(|e| !keep(e)).map(name).collect();
    if add.is_empty() && removed.is_empty() {
        return None;
    }
    let mut body: Vec<Json> = current.iter().filter(|e| keep(e)).map(writable).collect();
    body.extend(add.iter().map(|(id, _)| {
        let mut m = Map::new();
        m.insert("id".into(), Json::from(id.as_str()));
        Json::Object(m)
    }));
    Some(LocationsPlan {
        body,
        added: add.iter().map(|(_, n)| n.clone()).collect(),
        removed,
        before: current.iter().map(name).collect(),
    })
}

/// An entry as read, in the form a PATCH takes: every field kept, `id` set to the
/// location id (the read form carries it only inside `locationDefinition`).
fn writable(entry: &Json) -> Json {
    let mut e = entry.clone();
    if let (Some(id), Some(m)) = (entry_id(entry).map(str::to_string), e.as_object_mut()) {
        m.insert("id".into(), Json::from(id));
    }
    e
}

#[cfg(test)]
#[path = "locations_tests.rs"]
mod tests;
