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
