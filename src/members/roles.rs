//! The `roles`, `roles:add` and `roles:remove` columns: pure decisions about a user's
//! role grants.
//!
//! A cell item is `Role Name` (the org's home division), `Role Name@Division Name`
//! (split on the **last** `@`, so a role whose name holds an `@` still works when a
//! division follows) or `Role Name@*` (every division: the API's `divisionId` `"*"`).
//! An item `A@B` where `B` names no division but the whole text names a role is that
//! role in the home division; when both readings resolve the item is ambiguous and is
//! refused at validation (write `A@B@Home`).
//!
//! Only the user's **own** grants are managed. `GET /api/v2/authorization/subjects/{id}`
//! lists direct grants (`subjectId` = the user) and grants inherited from a group
//! (`subjectId` = the group): `super::personal` hands them to the core's diff as
//! memberships through a group, so inherited grants are never removed and never a
//! difference (a wanted grant held through a group needs nothing; removing one fails
//! the row naming why).
//!
//! Everything here is pure: the phase reads, these functions decide, the client writes.

/// The `divisionId` that means every division.
pub const ALL_DIVISIONS: &str = "*";

/// One grant, by ids: `division_id` is [`ALL_DIVISIONS`] for `@*`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrantId {
    pub role_id: String,
    pub division_id: String,
}

/// A grant with the names it is written with in cells and plans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: GrantId,
    pub role_name: String,
    /// The division's name, or `*`.
    pub division_name: String,
}

impl Grant {
    /// The cell item that names this grant: always with its division (`Agent@Home`,
    /// `Agent@*`), so an undo file means the same even if the home division changes.
    pub fn item(&self) -> String {
        format!("{}@{}", self.role_name, self.division_name)
    }
}

/// A grant as the subject read lists it, direct or inherited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldGrant {
    pub grant: Grant,
    /// The user's id for a direct grant, a group's id for an inherited one.
    pub subject_id: String,
}

/// How the text of one item may be read: as a whole role name (home division), or
/// split on its last `@` into a role and a division (or `*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemReadings {
    /// The role name the whole item would be.
    pub whole: String,
    /// `(role, division)` when the item has an `@` with text on both sides.
    pub split: Option<(String, DivisionName)>,
}

/// The division part of an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DivisionName {
    /// `@*`
    All,
    Named(String),
}

/// Read one item's text (already unescaped by the list grammar). An item that is only
/// `@`-parts with nothing on one side is a validation error.
pub fn readings(item: &str) -> Result<ItemReadings, String> {
    if item.is_empty() {
        return Err("an empty role item".into());
    }
    let split = match item.rsplit_once('@') {
        None => None,
        Some((role, division)) => {
            if role.is_empty() {
                return Err(format!("{item:?} has no role name before the @"));
            }
            if division.is_empty() {
                return Err(format!(
                    "{item:?} has no division after the @: write Role@Division, Role@* or Role"
                ));
            }
            let division = if division == ALL_DIVISIONS {
                DivisionName::All
            } else {
                DivisionName::Named(division.to_string())
            };
            Some((role.to_string(), division))
        }
    };
    Ok(ItemReadings {
        whole: item.to_string(),
        split,
    })
}

/// An exactly matching role or division: `(id, name)`.
pub type Named = (String, String);

/// Exact-name lookups the resolver did up front (the API's `?name=` filter is not an
/// exact match: the caller keeps only entities whose name is exactly the one asked).
pub trait Directory {
    /// Roles whose name is exactly `name`.
    fn roles(&self, name: &str) -> Vec<Named>;
    /// Divisions whose name is exactly `name`.
    fn divisions(&self, name: &str) -> Vec<Named>;
    /// The home division.
    fn home(&self) -> Named;
}

/// Resolve one item to a grant, or say what is wrong with it (exit 3 at validation).
pub fn resolve(item: &str, dir: &dyn Directory) -> Result<Grant, String> {
    let r = readings(item)?;
    let one = |kind: &str, name: &str, found: Vec<Named>| -> Result<Option<Named>, String> {
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.into_iter().next()),
            n => Err(format!(
                "{n} {kind}s are named {name:?} (ids {}): rename one in Genesys",
                found
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    };
    let whole = one("role", &r.whole, dir.roles(&r.whole))?;
    let split = match &r.split {
        None => None,
        Some((role, division)) => {
            let role = one("role", role, dir.roles(role))?;
            let division = match division {
                DivisionName::All => Some((ALL_DIVISIONS.to_string(), ALL_DIVISIONS.to_string())),
                DivisionName::Named(d) => one("division", d, dir.divisions(d))?,
            };
            Some((role, division))
        }
    };
    let grant = |(role_id, role_name): Named, (division_id, division_name): Named| Grant {
        id: GrantId {
            role_id,
            division_id,
        },
        role_name,
        division_name,
    };
    match (whole, split) {
        (Some(_), Some((Some(_), Some(_)))) => Err(format!(
            "{item:?} is ambiguous: it is a role name and also a role@division; write \
             {item}@{} for the role in the home division",
            dir.home().1
        )),
        (_, Some((Some(role), Some(division)))) => Ok(grant(role, division)),
        (Some(role), _) => Ok(grant(role, dir.home())),
        (None, None) => Err(format!("no role is named {:?}", r.whole)),
        (None, Some((None, _))) => {
            let role = r.split.as_ref().map(|s| s.0.as_str()).unwrap_or_default();
            Err(format!("no role is named {role:?} (nor {:?})", r.whole))
        }
        (None, Some((Some(_), None))) => {
            let division = match &r.split {
                Some((_, DivisionName::Named(d))) => d.as_str(),
                _ => "",
            };
            Err(format!("no division is named {division:?}"))
        }
    }
}

#[cfg(test)]
#[path = "roles_tests.rs"]
mod tests;
