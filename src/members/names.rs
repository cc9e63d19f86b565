//! Names to targets, once per distinct name, before any write.
//!
//! The API's name lookups are not exact (queues: `?name=` matches with wildcards and
//! in any case; groups: a search). So every answer is compared here, exactly and
//! case-sensitively, as Genesys shows the name: one exact match is the target, none
//! is unknown (with a "did you mean" from what the lookups returned), two or more
//! are ambiguous (listing their ids: rename one in Genesys).

use std::collections::{BTreeSet, HashMap};

use super::model::Target;
use crate::client::{ApiError, Client, NamedEntity};
use crate::input::Family;

/// What a name resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(Target),
    /// Unknown or ambiguous: the message says which, and what to do.
    Problem(String),
}

/// Resolve `names` of `family`; returns each name's lookup and the requests sent.
pub async fn resolve(
    client: &Client,
    family: Family,
    names: &BTreeSet<String>,
) -> Result<(HashMap<String, Lookup>, u64), ApiError> {
    if family == Family::Roles {
        return super::lookup::resolve_roles(client, names).await;
    }
    let mut out = HashMap::new();
    let mut requests = 0;
    let mut everything: Option<Vec<NamedEntity>> = None;
    for name in names {
        let found = match family {
            Family::Queues => client.find_queues(name).await?,
            Family::Groups => client.find_groups(name).await?,
            Family::Division => entities(client.find_divisions(name).await?),
            Family::Locations => entities(client.search_locations(name).await?),
            Family::Roles => Vec::new(),
        };
        requests += 1;
        let mut lookup = classify(family, name, &found);
        if let Lookup::Problem(_) = &lookup
            && !found.iter().any(|e| e.name == *name)
        {
            // Unknown: look wider for a "did you mean".
            let near = match family {
                Family::Queues => {
                    let prefix: String = name.chars().take(3).collect();
                    requests += 1;
                    client.find_queues(&format!("{prefix}*")).await?
                }
                Family::Division | Family::Locations | Family::Roles => found.clone(),
                Family::Groups => {
                    if everything.is_none() {
                        requests += 1;
                        everything = Some(client.all_groups().await?);
                    }
                    everything.clone().unwrap_or_default()
                }
            };
            lookup = classify(family, name, &near);
        }
        out.insert(name.clone(), lookup);
    }
    Ok((out, requests))
}

/// Division and location lookups in the shape `classify` takes.
fn entities(found: Vec<crate::client::NamedRef>) -> Vec<NamedEntity> {
    found
        .into_iter()
        .map(|r| NamedEntity {
            name: r.name.unwrap_or_default(),
            id: r.id,
            ..NamedEntity::default()
        })
        .collect()
}

/// The pure decision for one name over the entities a lookup returned.
pub fn classify(family: Family, name: &str, found: &[NamedEntity]) -> Lookup {
    let exact: Vec<&NamedEntity> = found.iter().filter(|e| e.name == name).collect();
    match exact.as_slice() {
        [one] => Lookup::Found(Target {
            id: one.id.to_ascii_lowercase(),
            name: one.name.clone(),
            division: one.division.as_ref().map(|d| d.id.clone()),
            via_groups: one
                .member_groups
                .iter()
                .map(|g| g.name.clone().unwrap_or_else(|| g.id.clone()))
                .collect(),
        }),
        [] => {
            let hint = did_you_mean(name, found.iter().map(|e| e.name.as_str()))
                .map(|n| format!(" (did you mean \"{n}\"?)"))
                .unwrap_or_default();
            Lookup::Problem(format!(
                "no {} named \"{name}\" in this org{hint}; names compare exactly, case included",
                family.noun()
            ))
        }
        many => {
            let ids: Vec<&str> = many.iter().map(|e| e.id.as_str()).collect();
            Lookup::Problem(format!(
                "\"{name}\" names {} {}s ({}): genupdate will not guess; rename one in \
                 Genesys so each name is unique",
                many.len(),
                family.noun(),
                ids.join(", ")
            ))
        }
    }
}

/// The closest of `candidates` to `name`: the same in another case, or a few edits.
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|c| {
            let d = if c.to_lowercase() == lower {
                0
            } else {
                strsim::osa_distance(&lower, &c.to_lowercase())
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.to_string()))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(id: &str, name: &str) -> NamedEntity {
        NamedEntity {
            id: id.into(),
            name: name.into(),
            ..NamedEntity::default()
        }
    }

    #[test]
    fn only_an_exact_single_match_resolves() {
        let support = [entity("a", "Support"), entity("b", "Support Team")];
        let dup = [entity("c", "Dup Queue"), entity("d", "Dup Queue")];
        let table: &[(&str, &[NamedEntity], Result<&str, &str>)] = &[
            ("Support", &support, Ok("a")),
            ("Support Team", &support, Ok("b")),
            ("Dup Queue", &dup, Err("names 2 queues (c, d)")),
            ("support", &support, Err("did you mean \"Support\"")),
            ("Suport", &support, Err("did you mean \"Support\"")),
            ("Billing", &support, Err("no queue named \"Billing\"")),
        ];
        for (name, found, want) in table {
            match (classify(Family::Queues, name, found), want) {
                (Lookup::Found(t), Ok(id)) => assert_eq!(t.id, *id, "{name}"),
                (Lookup::Problem(m), Err(part)) => assert!(m.contains(part), "{name}: {m}"),
                (got, _) => panic!("{name}: {got:?}"),
            }
        }
    }
}
