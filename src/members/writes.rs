//! The per-user reads and writes of the `roles`, `division` and `locations` columns,
//! around the pure decisions of their modules: read what the plan needs, send the
//! writes, confirm them by a read, and say exactly what landed (for the report and
//! the undo file) and what did not.
//!
//! Requests per user: roles cost one subject read to plan, and when something
//! changes one `bulkadd` (all additions), one `DELETE` per removal and one subject
//! read to confirm; a division move costs the move and one user read to confirm (the
//! current division comes with the bulk user read). No retries here beyond the
//! client's: a failed write stops that user's part and the confirming read still
//! runs, so the undo file holds what really landed.

use super::division::Move;
use super::locations;
use super::roles::{Grant, GrantId, HeldGrant, RolesPlan, unconfirmed};
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

/// The grants a user holds (`GET .../subjects/{id}?includeDuplicates=true`).
pub async fn read_grants(client: &Client, user_id: &str) -> Result<Vec<HeldGrant>, ApiError> {
    Ok(held(client.subject_grants(user_id).await?))
}

/// What a roles write did.
#[derive(Debug, Default)]
pub struct RolesDone {
    /// Grants confirmed added and removed: these go to the undo file.
    pub added: Vec<Grant>,
    pub removed: Vec<Grant>,
    /// Grants the confirming read contradicts (`+Agent@Sales (not granted)`).
    pub not_applied: Vec<String>,
    /// The write that failed, if one did (the others after it were not sent).
    pub error: Option<ApiError>,
    /// HTTP requests sent, retries included.
    pub requests: u32,
}

/// Add the plan's grants in one `bulkadd`, remove the others one by one, then read
/// the subject again to confirm.
pub async fn write_roles(client: &Client, user_id: &str, plan: &RolesPlan) -> RolesDone {
    let mut done = RolesDone::default();
    let mut sent = RolesPlan::default();
    if !plan.add.is_empty() {
        let pairs: Vec<(String, String)> = plan
            .add
            .iter()
            .map(|g| (g.id.role_id.clone(), g.id.division_id.clone()))
            .collect();
        match client.add_grants(user_id, &pairs).await {
            Ok(n) => {
                done.requests += n;
                sent.add = plan.add.clone();
            }
            Err(e) => {
                done.requests += e.attempts();
                done.error = Some(e);
                return done;
            }
        }
    }
    for g in &plan.remove {
        match client
            .delete_grant(user_id, &g.id.division_id, &g.id.role_id)
            .await
        {
            Ok(()) => {
                done.requests += 1;
                sent.remove.push(g.clone());
            }
            Err(e) => {
                done.requests += e.attempts();
                done.error = Some(e);
                break;
            }
        }
    }
    let after = match read_grants(client, user_id).await {
        Ok(after) => after,
        Err(e) => {
            done.requests += e.attempts();
            // Unconfirmed: nothing is claimed as landed.
            done.error.get_or_insert(e);
            return done;
        }
    };
    done.requests += 1;
    done.not_applied = unconfirmed(user_id, &after, &sent);
    let direct = |g: &Grant| {
        after
            .iter()
            .any(|h| h.subject_id == user_id && h.grant.id == g.id)
    };
    done.added = sent.add.iter().filter(|g| direct(g)).cloned().collect();
    done.removed = sent.remove.iter().filter(|g| !direct(g)).cloned().collect();
    done
}

/// What a division move did.
#[derive(Debug, Default)]
pub struct MoveDone {
    /// The confirming read shows the user in the target division.
    pub moved: bool,
    /// The division the confirming read shows, when not the target.
    pub now: Option<String>,
    pub error: Option<ApiError>,
    pub requests: u32,
}

/// Move one user (one id per call: the maximum per call is undocumented), then read
/// the user to confirm. A 403 names the permission needed in both divisions.
pub async fn move_user(client: &Client, user_id: &str, mv: &Move) -> MoveDone {
    let mut done = MoveDone::default();
    if let Err(e) = client.move_users(&mv.to.0, &[user_id.to_string()]).await {
        done.requests += e.attempts();
        done.error = Some(with_move_hint(e, mv));
        return done;
    }
    done.requests += 1;
    match client.get_user(user_id, &[]).await {
        Ok(u) => {
            done.requests += 1;
            done.moved = super::division::confirmed(u.division_id(), mv);
            if !done.moved {
                done.now = Some(
                    u.division_name()
                        .or(u.division_id())
                        .unwrap_or("?")
                        .to_string(),
                );
            }
        }
        Err(e) => {
            done.requests += e.attempts();
            done.error = Some(e);
        }
    }
    done
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
