//! The pure decision at the heart of `apply`: what does this row change on this user?
//!
//! [`plan`] compares one validated [`Row`] with the [`User`] as just read and returns
//! only what differs: the UpdateUser fields to PATCH, a separate `state` change (the
//! API applies `state` alone), skill and language writes, and for every changed
//! column its value before, so the run can write an undo file. No I/O happens here;
//! the runner executes a plan and re-plans after a conflict.

use serde_json::{Map, Value as Json};

use crate::input::{CLEAR_MARKER, Cell, Column, Header, ProfileField, Row, UserState, Value};
use crate::model::{EmployerInfo, User, UserRoutingSkill};

mod contacts;
pub use contacts::{is as contact_is, value as contact_value};

/// Skill and language ids resolved from the header, aligned with `Header::columns`
/// (`Some(id)` for `skill:` and `language:` columns, `None` elsewhere).
pub type RoutingIds = Vec<Option<String>>;

/// Skill and language bulk writes take at most this many entries.
pub const ROUTING_CHUNK: u32 = 50;

/// One changed column, for the dry-run plan, the report and the undo file.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Index into `Header::columns`.
    pub column: usize,
    /// The header name, e.g. `title` or `skill:Billing`.
    pub field: String,
    /// The value before, as a CSV cell: empty string when it had none.
    pub before: String,
    /// The value after, as a CSV cell: empty string when cleared.
    pub after: String,
}

impl Change {
    /// What the journal records to put the old value back: `Some(Some(v))` the old
    /// value, `Some(None)` clear the field, `None` nothing to restore (a field that
    /// cannot be cleared and had no value).
    pub fn before_value(&self, column: &Column) -> Option<crate::journal::Before> {
        if !self.before.is_empty() {
            return Some(Some(self.before.clone()));
        }
        match column {
            Column::Profile(f) if !f.clearable() => None,
            _ => Some(None),
        }
    }

    /// The cell that puts the old value back: the old value, or the clear marker.
    pub fn undo_cell(&self, column: &Column) -> String {
        if !self.before.is_empty() {
            return self.before.clone();
        }
        match column {
            // These cannot be cleared; leaving the cell empty keeps the undo file valid.
            Column::Profile(f) if !f.clearable() => String::new(),
            _ => CLEAR_MARKER.to_string(),
        }
    }
}

/// What one row changes on one user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Changed UpdateUser fields, without `version` (the runner adds the one it read).
    pub profile: Map<String, Json>,
    /// Columns behind `profile`.
    pub profile_changes: Vec<Change>,
    /// A `state` change, sent in a PATCH of its own.
    pub state: Option<(UserState, Change)>,
    /// Skill and language writes, in header order.
    pub routing: Vec<RoutingWrite>,
}

/// Skills and languages are written through their own endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutingKind {
    Skill,
    Language,
}

/// One skill or language change.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingWrite {
    pub kind: RoutingKind,
    /// The skill or language id.
    pub id: String,
    /// `Some(proficiency)` to add or update, `None` to remove.
    pub proficiency: Option<f64>,
    pub change: Change,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.profile.is_empty() && self.state.is_none() && self.routing.is_empty()
    }

    /// The requests a real run sends for this plan, in the order `execute` sends
    /// them: one PATCH for the profile (and a read confirming employerInfo), one for
    /// `state`, skill and language sets 50 to a request, one DELETE per removal.
    pub fn requests(&self) -> u32 {
        let mut n = u32::from(!self.profile.is_empty())
            + u32::from(self.profile.contains_key("employerInfo"))
            + u32::from(self.state.is_some());
        for kind in [RoutingKind::Skill, RoutingKind::Language] {
            let of_kind = self.routing.iter().filter(|w| w.kind == kind);
            let sets = of_kind.clone().filter(|w| w.proficiency.is_some()).count() as u32;
            let removals = of_kind.filter(|w| w.proficiency.is_none()).count() as u32;
            n += sets.div_ceil(ROUTING_CHUNK) + removals;
        }
        n
    }

    /// Every change, in header order.
    pub fn changes(&self) -> Vec<&Change> {
        let mut all: Vec<&Change> = self.profile_changes.iter().collect();
        all.extend(self.state.iter().map(|(_, c)| c));
        all.extend(self.routing.iter().map(|w| &w.change));
        all.sort_by_key(|c| c.column);
        all
    }
}

/// Why a row cannot be planned for this user: genupdate refuses rather than guesses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The user holds `count` entries of the media type and type a column names.
    AmbiguousContact { field: String, count: usize },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::AmbiguousContact { field, count } => write!(
                f,
                "the user holds {count} {field} entries; genupdate will not guess which one \
                 the row means: fix the user in Genesys (or remove the cell) and re-run"
            ),
        }
    }
}

/// Compare `row` with `user` (as read with `expand=skills,languages,employerInfo`).
pub fn plan(
    header: &Header,
    row: &Row,
    user: &User,
    routing: &RoutingIds,
) -> Result<Plan, Refusal> {
    let mut p = Plan::default();
    let mut addresses = user.addresses.clone();
    let mut addresses_changed = false;
    let mut employer = user.employer_info.clone().unwrap_or_default();
    let mut employer_changed = false;

    for (i, (column, cell)) in header.columns.iter().zip(&row.cells).enumerate() {
        if *cell == Cell::Keep {
            continue;
        }
        let name = &header.names[i];
        let change = |before: String, after: String| Change {
            column: i,
            field: name.clone(),
            before,
            after,
        };
        match column {
            // Memberships are planned across rows by crate::members, not per user here.
            Column::Id | Column::Member(..) => {}
            Column::Profile(ProfileField::State) => {
                if let Cell::Set(Value::State(want)) = cell {
                    let before = user.state.clone().unwrap_or_default();
                    if before != want.wire() {
                        p.state = Some((*want, change(before, want.wire().into())));
                    }
                }
            }
            Column::Profile(ProfileField::AcdAutoAnswer) => {
                if let Cell::Set(Value::Bool(want)) = cell {
                    let before = user.acd_auto_answer.unwrap_or(false);
                    if before != *want {
                        p.profile.insert("acdAutoAnswer".into(), Json::Bool(*want));
                        p.profile_changes
                            .push(change(before.to_string(), want.to_string()));
                    }
                }
            }
            Column::Profile(ProfileField::Manager) => {
                let before = user
                    .manager
                    .as_ref()
                    .map(|m| m.id.clone())
                    .unwrap_or_default();
                let after = text(cell);
                if !before.eq_ignore_ascii_case(&after) {
                    p.profile
                        .insert("manager".into(), Json::String(after.clone()));
                    p.profile_changes.push(change(before, after));
                }
            }
            Column::Profile(field) if is_employer_field(*field) => {
                let after = text(cell);
                if let Some(slot) = employer_field(&mut employer, *field) {
                    let before = slot.clone().unwrap_or_default();
                    if before != after {
                        *slot = (!after.is_empty()).then(|| after.clone());
                        employer_changed = true;
                        p.profile_changes.push(change(before, after));
                    }
                }
            }
            Column::Profile(field) => {
                let before = profile_text(user, *field).unwrap_or_default();
                let after = text(cell);
                if before != after {
                    p.profile
                        .insert(wire_name(*field).into(), Json::String(after.clone()));
                    p.profile_changes.push(change(before, after));
                }
            }
            Column::Contact(media, kind) => {
                let after = text(cell);
                match contacts::merge(&mut addresses, *media, *kind, &after) {
                    contacts::Merge::Unchanged => {}
                    contacts::Merge::Changed { before } => {
                        addresses_changed = true;
                        p.profile_changes.push(change(before, after));
                    }
                    contacts::Merge::Ambiguous(count) => {
                        return Err(Refusal::AmbiguousContact {
                            field: name.clone(),
                            count,
                        });
                    }
                }
            }
            Column::Skill(_) | Column::Language(_) => {
                let Some(id) = routing.get(i).cloned().flatten() else {
                    continue;
                };
                let (kind, current) = match column {
                    Column::Skill(_) => (RoutingKind::Skill, &user.skills),
                    _ => (RoutingKind::Language, &user.languages),
                };
                let before = current
                    .as_deref()
                    .and_then(|list| proficiency_of(list, &id));
                let proficiency = match cell {
                    Cell::Set(Value::Proficiency(want)) if before != Some(*want) => Some(*want),
                    Cell::Clear if before.is_some() => None,
                    _ => continue,
                };
                let change = change(fmt_prof(before), fmt_prof(proficiency));
                p.routing.push(RoutingWrite {
                    kind,
                    id,
                    proficiency,
                    change,
                });
            }
        }
    }
    if addresses_changed {
        p.profile.insert(
            "addresses".into(),
            serde_json::to_value(&addresses).unwrap_or(Json::Null),
        );
    }
    if employer_changed {
        p.profile.insert(
            "employerInfo".into(),
            serde_json::to_value(&employer).unwrap_or(Json::Null),
        );
    }
    Ok(p)
}

/// The text a cell sets: its value, or "" for the clear marker.
fn text(cell: &Cell) -> String {
    match cell {
        Cell::Set(Value::Text(s)) => s.clone(),
        Cell::Set(Value::Bool(b)) => b.to_string(),
        Cell::Set(Value::State(s)) => s.wire().into(),
        Cell::Set(Value::Proficiency(p)) => fmt_prof(Some(*p)),
        Cell::Clear | Cell::Keep => String::new(),
    }
}

fn wire_name(field: ProfileField) -> &'static str {
    // Profile headers are the UpdateUser field names themselves.
    field.header()
}

fn profile_text(user: &User, field: ProfileField) -> Option<String> {
    match field {
        ProfileField::Name => user.name.clone(),
        ProfileField::Email => user.email.clone(),
        ProfileField::Title => user.title.clone(),
        ProfileField::Department => user.department.clone(),
        ProfileField::Username => user.username.clone(),
        ProfileField::PreferredName => user.preferred_name.clone(),
        _ => None,
    }
}

fn is_employer_field(field: ProfileField) -> bool {
    matches!(
        field,
        ProfileField::OfficialName
            | ProfileField::EmployeeId
            | ProfileField::EmployeeType
            | ProfileField::DateHire
    )
}

fn employer_field(info: &mut EmployerInfo, field: ProfileField) -> Option<&mut Option<String>> {
    match field {
        ProfileField::OfficialName => Some(&mut info.official_name),
        ProfileField::EmployeeId => Some(&mut info.employee_id),
        ProfileField::EmployeeType => Some(&mut info.employee_type),
        ProfileField::DateHire => Some(&mut info.date_hire),
        _ => None,
    }
}

fn proficiency_of(list: &[UserRoutingSkill], id: &str) -> Option<f64> {
    list.iter().find(|s| s.id == id).map(|s| s.proficiency)
}

/// `3` rather than `3.0`; "" for none.
pub fn fmt_prof(p: Option<f64>) -> String {
    match p {
        None => String::new(),
        Some(v) if v.fract() == 0.0 => format!("{}", v as i64),
        Some(v) => format!("{v}"),
    }
}

#[cfg(test)]
mod tests;
