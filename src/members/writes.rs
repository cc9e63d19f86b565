//! Small I/O helpers of the `roles`, `division` and `locations` families (used by
//! `super::personal` and the export): grants as cells name them, a user's locations
//! completed when the best-effort expand left them out, location names for ids.

use super::division::Move;
use super::locations;
use super::roles::{Grant, GrantId, HeldGrant};
use crate::client::{ApiError, AuthzGrant, Client};
use crate::model::User;

/// A user's grants as read, with the names cells use (an entity without a name is
/// named by its id, and `*` stays `*`).
pub fn held(grants: Vec<AuthzGrant>) -> Vec<HeldGrant> {
    grants
        .into_iter()
        .map(|g| HeldGrant {
            grant: Grant {
                id: GrantId {
                    role_id: g.role.id.clone(),
                    division_id: g.division.id.clone(),
                },
                role_name: g.role.name.unwrap_or(g.role.id),
                // Every division: cells write `*`, whatever name the API gives it.
                division_name: if g.division.id == super::roles::ALL_DIVISIONS {
                    super::roles::ALL_DIVISIONS.to_string()
                } else {
                    g.division.name.unwrap_or(g.division.id)
                },
            },
            subject_id: g.subject_id,
        })
        .collect()
}

/// The grants a user holds (`GET .../subjects/{id}?includeDuplicates=true`).
pub async fn read_grants(client: &Client, user_id: &str) -> Result<Vec<HeldGrant>, ApiError> {
    Ok(held(client.subject_grants(user_id).await?))
}

/// A 403 on a move says which permission in which divisions it needs.
pub fn with_move_hint(e: ApiError, mv: &Move) -> ApiError {
    match e {
        ApiError::Forbidden {
            code,
            message,
            permission,
            correlation_id,
            attempts,
        } => ApiError::Forbidden {
            code,
            message: format!("{message}; {}", mv.forbidden_hint()),
            permission: permission.or_else(|| Some("directory:user:edit".into())),
            correlation_id,
            attempts,
        },
        e => e,
    }
}

/// The user's `locations` as read, if the read carried them.
pub fn user_locations(user: &User) -> Option<&Vec<serde_json::Value>> {
    user.other.get("locations")?.as_array()
}

/// Make sure `user` carries its locations: expand is best effort, so a read without
/// them is completed by a single read with `expand=locations`. `Ok(false)`: still
/// missing (the row fails `incomplete_read`, never taken as empty). Returns the
/// requests sent with it.
pub async fn complete_locations(client: &Client, user: &mut User) -> Result<(bool, u32), ApiError> {
    if user_locations(user).is_some() {
        return Ok((true, 0));
    }
    let single = client.get_user(&user.id, &["locations"]).await?;
    match single.other.get("locations") {
        Some(list @ serde_json::Value::Array(_)) => {
            user.other.insert("locations".into(), list.clone());
            Ok((true, 1))
        }
        _ => Ok((false, 1)),
    }
}

/// Names for the location ids a user holds that the file did not name (one read of
/// those ids); ids the org does not know stay unnamed.
pub async fn name_locations(
    client: &Client,
    ids: Vec<String>,
) -> Result<Vec<(String, String)>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(client
        .get_locations(&ids)
        .await?
        .into_iter()
        .filter_map(|l| Some((l.id, l.name?)))
        .collect())
}

/// The location ids in `current` that have no name yet: neither in the entry nor in
/// `known`.
pub fn unnamed(current: &[serde_json::Value], known: &dyn Fn(&str) -> bool) -> Vec<String> {
    current
        .iter()
        .filter(|e| locations::entry_name(e).is_none())
        .filter_map(locations::entry_id)
        .filter(|id| !known(id))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::NamedRef;

    fn grant(subject: &str, role: (&str, &str), division: (&str, &str)) -> AuthzGrant {
        let r = |(id, name): (&str, &str)| NamedRef {
            id: id.into(),
            name: (!name.is_empty()).then(|| name.to_string()),
        };
        AuthzGrant {
            subject_id: subject.into(),
            role: r(role),
            division: r(division),
        }
    }

    #[test]
    fn held_grants_are_named_as_cells_write_them() {
        let table = [
            (grant("u", ("r1", "Agent"), ("d1", "Sales")), "Agent@Sales"),
            // The API names the all-divisions grant ("All divisions"): cells say `*`.
            (
                grant("u", ("r1", "Agent"), ("*", "All divisions")),
                "Agent@*",
            ),
            (grant("u", ("r1", ""), ("d1", "")), "r1@d1"),
        ];
        for (g, want) in table {
            assert_eq!(held(vec![g])[0].grant.item(), want);
        }
    }
}
