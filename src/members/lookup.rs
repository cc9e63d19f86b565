//! Resolving the names a file's `roles`, `division` and `locations` cells hold, once,
//! before any write: one lookup per distinct name, with the API's loose name filters
//! (`?name=` for roles and divisions, which match more than the exact name, and the
//! location search) narrowed to exact matches here. An unknown or ambiguous name is
//! a validation error (exit 3) naming the column, the line and the value.

use std::collections::{BTreeSet, HashMap};

use super::roles::{self, DivisionName, Named};
use crate::client::{ApiError, Client, NamedRef};

/// Exact name -> every entity of that exact name.
#[derive(Clone, Debug, Default)]
pub struct Names {
    by_name: HashMap<String, Vec<Named>>,
}

impl Names {
    /// Keep, for each asked name, the entities whose name is exactly it.
    pub fn exact(asked: &str, found: Vec<NamedRef>, into: &mut Names) {
        let hits: Vec<Named> = found
            .into_iter()
            .filter_map(|r| match r.name {
                Some(n) if n == asked => Some((r.id, n)),
                _ => None,
            })
            .collect();
        let mut seen = BTreeSet::new();
        let hits = hits
            .into_iter()
            .filter(|(id, _)| seen.insert(id.clone()))
            .collect();
        into.by_name.insert(asked.to_string(), hits);
    }

    pub fn get(&self, name: &str) -> Vec<Named> {
        self.by_name.get(name).cloned().unwrap_or_default()
    }

    /// The one entity named `name`, or what is wrong (`noun`: "division", "location").
    pub fn one(&self, noun: &str, name: &str) -> Result<Named, String> {
        let found = self.get(name);
        match found.len() {
            1 => Ok(found.into_iter().next().unwrap_or_default()),
            0 => Err(format!("no {noun} is named {name:?}")),
            n => Err(format!(
                "{n} {noun}s are named {name:?} (ids {}): rename one in Genesys",
                found
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// Roles and divisions by exact name, and the home division.
#[derive(Clone, Debug, Default)]
pub struct AuthDirectory {
    pub home: Named,
    pub roles: Names,
    pub divisions: Names,
}

impl roles::Directory for AuthDirectory {
    fn roles(&self, name: &str) -> Vec<Named> {
        self.roles.get(name)
    }
    fn divisions(&self, name: &str) -> Vec<Named> {
        self.divisions.get(name)
    }
    fn home(&self) -> Named {
        self.home.clone()
    }
}

/// The role and division names to look up for some role items and division names.
pub fn names_to_look_up(
    role_items: &[String],
    division_names: &[String],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut role_names = BTreeSet::new();
    let mut divisions: BTreeSet<String> = division_names.iter().cloned().collect();
    for item in role_items {
        if let Ok(r) = roles::readings(item) {
            role_names.insert(r.whole);
            if let Some((role, division)) = r.split {
                role_names.insert(role);
                if let DivisionName::Named(d) = division {
                    divisions.insert(d);
                }
            }
        }
    }
    (role_names, divisions)
}

/// Look up every role and division the items and names need (the home division
/// only when there are role items).
pub async fn load_auth(
    client: &Client,
    role_items: &[String],
    division_names: &[String],
) -> Result<AuthDirectory, ApiError> {
    let (role_names, divisions) = names_to_look_up(role_items, division_names);
    let mut dir = AuthDirectory::default();
    if !role_items.is_empty() {
        let home = client.home_division().await?;
        dir.home = (home.id.clone(), home.name.unwrap_or(home.id));
    }
    for name in &role_names {
        Names::exact(name, client.find_roles(name).await?, &mut dir.roles);
    }
    for name in &divisions {
        Names::exact(name, client.find_divisions(name).await?, &mut dir.divisions);
    }
    Ok(dir)
}

/// Look up every location name.
pub async fn load_locations(client: &Client, names: &[String]) -> Result<Names, ApiError> {
    let mut out = Names::default();
    let distinct: BTreeSet<&String> = names.iter().collect();
    for name in distinct {
        Names::exact(name, client.search_locations(name).await?, &mut out);
    }
    Ok(out)
}

/// The key a grant is known by in the membership phase: `roleId@divisionId`, lower
/// case (ids never hold an `@`; `*` is every division).
pub fn grant_key(role_id: &str, division_id: &str) -> String {
    format!("{role_id}@{division_id}").to_ascii_lowercase()
}

/// Resolve every role item of the file: one home-division read, one lookup per
/// distinct role and division name. Each item becomes a target keyed by
/// [`grant_key`] and named by its canonical item (`Agent@Sales`).
pub async fn resolve_roles(
    client: &Client,
    items: &BTreeSet<String>,
) -> Result<(HashMap<String, super::names::Lookup>, u64), ApiError> {
    use super::names::Lookup;
    let items: Vec<String> = items.iter().cloned().collect();
    let (role_names, divisions) = names_to_look_up(&items, &[]);
    let dir = load_auth(client, &items, &[]).await?;
    let requests = 1 + role_names.len() as u64 + divisions.len() as u64;
    let out = items
        .into_iter()
        .map(|item| {
            let lookup = match roles::resolve(&item, &dir) {
                Ok(g) => Lookup::Found(super::model::Target {
                    id: grant_key(&g.id.role_id, &g.id.division_id),
                    name: g.item(),
                    division: (g.id.division_id != roles::ALL_DIVISIONS)
                        .then(|| g.id.division_id.clone()),
                    via_groups: Vec::new(),
                }),
                Err(why) => {
                    Lookup::Problem(format!("{why} (names compare exactly, case included)"))
                }
            };
            (item, lookup)
        })
        .collect();
    Ok((out, requests))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &str, name: &str) -> NamedRef {
        NamedRef {
            id: id.into(),
            name: Some(name.into()),
        }
    }

    #[test]
    fn only_exact_names_are_kept_and_two_are_ambiguous() {
        let mut names = Names::default();
        // The API's filter matched a prefix and another case too.
        Names::exact(
            "Admin",
            vec![r("1", "Admin"), r("2", "Admin Lite"), r("3", "admin")],
            &mut names,
        );
        Names::exact(
            "Dup",
            vec![r("a", "Dup"), r("b", "Dup"), r("a", "Dup")],
            &mut names,
        );
        Names::exact("None", vec![r("x", "Nonesuch")], &mut names);
        assert_eq!(names.one("role", "Admin"), Ok(("1".into(), "Admin".into())));
        let dup = names.one("queue", "Dup").unwrap_err();
        assert!(
            dup.starts_with("2 queues are named \"Dup\" (ids a, b)"),
            "{dup}"
        );
        assert_eq!(
            names.one("location", "None").unwrap_err(),
            "no location is named \"None\""
        );
        assert!(names.one("location", "never asked").is_err());
    }

    #[test]
    fn role_items_ask_for_both_readings_and_their_divisions() {
        let items = vec![
            "Agent@Sales".to_string(),
            "Ops@Mail".into(),
            "Admin@*".into(),
        ];
        let (roles, divisions) = names_to_look_up(&items, &["Home".to_string()]);
        let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
        let divisions: Vec<&str> = divisions.iter().map(String::as_str).collect();
        assert_eq!(
            roles,
            vec![
                "Admin",
                "Admin@*",
                "Agent",
                "Agent@Sales",
                "Ops",
                "Ops@Mail"
            ]
        );
        assert_eq!(divisions, vec!["Home", "Mail", "Sales"]);
    }
}
