//! Membership cells for `genupdate export --columns queues,groups`: every user's own
//! memberships, read per target rather than per user (each queue's and group's member
//! list, paged), so an export costs Σ ⌈members ÷ 100⌉ reads per family however many
//! users it writes. Memberships through a group are not the user's own (a replace
//! cell never removes them) and are left out. Memory follows the org's memberships.

use std::collections::HashMap;

use crate::client::{ApiError, Client};
use crate::input::{Family, lists};

/// Per family, user id (lower-cased) -> the names of the user's own memberships.
pub type ByUser = HashMap<Family, HashMap<String, Vec<String>>>;

/// Read every target of `families` and index its direct members by user.
pub async fn memberships_by_user(client: &Client, families: &[Family]) -> Result<ByUser, ApiError> {
    let mut out = ByUser::new();
    for family in families {
        let targets = match family {
            Family::Queues => client.all_queues().await?,
            Family::Groups => client.all_groups().await?,
            Family::Roles => {
                out.insert(*family, roles_by_user(client).await?);
                continue;
            }
            // Read from the user documents the export scans (see `user_cell`).
            Family::Division | Family::Locations => continue,
        };
        let mut names: HashMap<&str, usize> = HashMap::new();
        for t in &targets {
            *names.entry(t.name.as_str()).or_default() += 1;
        }
        for (name, n) in names.iter().filter(|(_, n)| **n > 1) {
            tracing::warn!(
                "export: {n} {}s are named \"{name}\": apply refuses that name as ambiguous \
                 until one is renamed",
                family.noun()
            );
        }
        let index = out.entry(*family).or_default();
        for t in &targets {
            let members = match family {
                Family::Queues => client.queue_members(&t.id).await?,
                Family::Groups => client.group_members(&t.id).await?,
                Family::Roles | Family::Division | Family::Locations => Vec::new(),
            };
            for m in members.into_iter().filter(|m| !m.by_group) {
                index.entry(m.id).or_default().push(t.name.clone());
            }
        }
        for list in index.values_mut() {
            list.sort();
            list.dedup();
        }
    }
    Ok(out)
}

/// Every user's own (direct) grants as `Role@Division` items: grants have no
/// per-role listing with divisions, so this is one subject read per user (the
/// `roles` export column is opt-in for that reason). Inherited grants are left out.
async fn roles_by_user(client: &Client) -> Result<HashMap<String, Vec<String>>, ApiError> {
    let mut out = HashMap::new();
    let mut size = 500;
    let mut offset = 0u64;
    loop {
        let page = client.list_users_page(&mut size, offset, &[]).await?;
        let n = page.entities as u64;
        for u in page.users.iter().filter(|u| !u.is_deleted()) {
            let id = u.id.to_ascii_lowercase();
            let mut items: Vec<String> = super::writes::held(client.subject_grants(&u.id).await?)
                .into_iter()
                .filter(|h| h.subject_id.eq_ignore_ascii_case(&id))
                .map(|h| h.grant.item())
                .collect();
            items.sort();
            items.dedup();
            out.insert(id, items);
        }
        offset += n;
        if n == 0 || offset >= page.total {
            return Ok(out);
        }
    }
}

/// Location id (lower-cased) -> name, for the `locations` export column.
pub async fn location_names(client: &Client) -> Result<HashMap<String, String>, ApiError> {
    Ok(client
        .all_locations()
        .await?
        .into_iter()
        .filter_map(|l| Some((l.id.to_ascii_lowercase(), l.name?)))
        .collect())
}

/// The `division` or `locations` cell of a user from the user document (`None` for
/// the other families). A location the listing does not name is left out with a
/// warning (apply could not resolve it).
pub fn user_cell(
    family: Family,
    user: &crate::model::User,
    locations: &HashMap<String, String>,
) -> Option<String> {
    match family {
        Family::Division => Some(cell(
            user.division_name().map(|n| vec![n.to_string()]).as_ref(),
        )),
        Family::Locations => {
            let list = super::writes::user_locations(user)?;
            let mut names = Vec::new();
            for e in list {
                let id = super::locations::entry_id(e)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                match locations.get(&id) {
                    Some(n) => names.push(n.clone()),
                    None => tracing::warn!(
                        "export: user {} has location {id}, which the locations listing does                          not name; it is left out of the cell",
                        user.id
                    ),
                }
            }
            Some(cell(Some(&names)))
        }
        _ => None,
    }
}

/// The replace cell for a user's memberships: the names in the list grammar, with
/// the escapes a plain cell needs; empty for none (apply then leaves it alone).
pub fn cell(names: Option<&Vec<String>>) -> String {
    match names {
        Some(list) if !list.is_empty() => crate::input::escape::encode_value(&lists::encode(list)),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_cells_read_back_as_the_same_names() {
        let names = vec!["Billing".to_string(), "Tier 1; Escalations".to_string()];
        assert_eq!(cell(Some(&names)), r"Billing;Tier 1\; Escalations");
        assert_eq!(lists::parse(&cell(Some(&names))).unwrap(), names);
        assert_eq!(cell(None), "");
        assert_eq!(cell(Some(&vec!["-Night".to_string()])), "'-Night");
    }
}
