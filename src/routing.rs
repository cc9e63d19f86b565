//! A header's skill and language names, resolved to the org's ids.
//!
//! `apply` resolves every `skill:` and `language:` column once, before any write,
//! by exact, case-insensitive name (the listing's `name` filter is a prefix match);
//! `validate` does the same lookup when it can reach an org ([`check_names`]), so an
//! unknown name is caught before the change window. A name that matches nothing is
//! reported with the org's closest names ([`closest`]: by edit distance, or as a
//! prefix either way), read once per kind from the whole listing.

use crate::apply::Env;
use crate::client::{Client, ClientConfig};
use crate::input::{self, Column, Header, Problem};
use crate::model::RoutingEntity;
use crate::plan::RoutingIds;
use crate::settings::{Target, ValidateSettings};
use crate::summary::ExitReason;

/// Resolve every `skill:` and `language:` column to an id. An unknown name stops the
/// run before any write (exit 3): each is printed as `FILE:1:COLUMN: no skill named
/// 'X' in this org (did you mean 'Y'?)`.
pub async fn resolve_routing(
    client: &Client,
    header: &Header,
    file: &str,
) -> Result<RoutingIds, (ExitReason, String)> {
    let (ids, unknown) = lookup(client, header)
        .await
        .map_err(|e| (ExitReason::Aborted, e))?;
    if unknown.is_empty() {
        return Ok(ids);
    }
    for u in &unknown {
        u.emit(file);
    }
    Err((
        ExitReason::InvalidInput,
        format!(
            "{} unknown skill or language name(s); nothing was sent",
            unknown.len()
        ),
    ))
}

/// Look up each routing column: the ids (by column), and a problem for each name
/// the org does not have. The error is a lookup that failed (network, permission).
pub async fn lookup(
    client: &Client,
    header: &Header,
) -> Result<(RoutingIds, Vec<Problem>), String> {
    let mut ids: RoutingIds = vec![None; header.columns.len()];
    let mut unknown = Vec::new();
    // The whole listing of each kind, read at most once, only after a miss.
    let (mut all_skills, mut all_languages) = (None, None);
    for (i, column) in header.columns.iter().enumerate() {
        let (name, found, what) = match column {
            Column::Skill(name) => (name, client.find_skills(name).await, "skill"),
            Column::Language(name) => (name, client.find_languages(name).await, "language"),
            _ => continue,
        };
        let failed = |e| format!("cannot look up {what} '{name}': {e}");
        let found = found.map_err(failed)?;
        if let Some(entity) = found.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
            ids[i] = Some(entity.id.clone());
            continue;
        }
        let all: &Vec<RoutingEntity> = match column {
            Column::Skill(_) => match &mut all_skills {
                Some(all) => all,
                slot => slot.insert(client.all_skills().await.map_err(failed)?),
            },
            _ => match &mut all_languages {
                Some(all) => all,
                slot => slot.insert(client.all_languages().await.map_err(failed)?),
            },
        };
        let near = closest(name, all.iter().map(|e| e.name.as_str()));
        unknown.push(Problem {
            line: 1,
            column: Some(header.names[i].clone()),
            message: format!(
                "no {what} named '{name}' in this org{}",
                did_you_mean(&near)
            ),
        });
    }
    Ok((ids, unknown))
}

/// ` (did you mean 'A', 'B' or 'C'?)`, or nothing.
fn did_you_mean(near: &[&str]) -> String {
    let quoted: Vec<String> = near.iter().map(|n| format!("'{n}'")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => format!(" (did you mean {last}?)"),
        Some((last, rest)) => format!(" (did you mean {} or {last}?)", rest.join(", ")),
    }
}

/// Up to three of `candidates` closest to `name`, ignoring case: within an edit
/// distance of a third of the name's length (at least 2), or one a prefix of the
/// other (`Billing` for `Billing EMEA`). Nearest first, then alphabetical.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let wanted = name.to_lowercase();
    let limit = (wanted.chars().count() / 3).max(2);
    let mut near: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let lower = c.to_lowercase();
            let d = strsim::osa_distance(&wanted, &lower);
            let prefix = wanted.chars().count() >= 3
                && (lower.starts_with(&wanted) || wanted.starts_with(&lower))
                && !lower.is_empty();
            (d <= limit || prefix).then_some((d, c))
        })
        .collect();
    near.sort();
    near.dedup_by(|a, b| a.1 == b.1);
    near.into_iter().take(3).map(|(_, c)| c).collect()
}

/// What `validate` found out about the header's skill and language names.
#[derive(Debug, PartialEq)]
pub enum NameCheck {
    /// The header has no skill or language columns (or could not be read).
    NoNames,
    /// Not checked, and why (no credentials, no region).
    NotChecked(String),
    /// Looked up: one problem per unknown name.
    Checked(Vec<Problem>),
    /// The lookup failed (connection, credentials refused, permission).
    Failed(String),
}

/// Look the header's skill and language names up when `validate` was given a way to
/// reach an org (`--sandbox`, or a region with credentials); else say why not.
/// Read-only; offline (and instant) when there is nothing to look up or no target.
pub fn check_names(settings: &ValidateSettings, env: &Env) -> NameCheck {
    let Ok((header, _)) = input::open_with_options(&settings.file, &settings.read) else {
        return NameCheck::NoNames;
    };
    let routing = |c: &Column| matches!(c, Column::Skill(_) | Column::Language(_));
    if !header.columns.iter().any(routing) {
        return NameCheck::NoNames;
    }
    let Some(target) = &settings.target else {
        return NameCheck::NotChecked(match has_credentials(env, None) {
            true => "no region (set GENESYSCLOUD_REGION, pass --region or --profile)".into(),
            false => "no credentials".into(),
        });
    };
    // The secret variable a profile names is read here, as apply reads it.
    let env = &env.with_profile_secret(target);
    if let Target::Org { profile, .. } = target
        && !has_credentials(env, profile.as_ref())
    {
        return NameCheck::NotChecked("no credentials".into());
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return NameCheck::Failed(format!("cannot start: {e}")),
    };
    rt.block_on(async {
        let (endpoints, credentials, sandbox) =
            match crate::apply::connect_target(target, env).await {
                Ok(t) => t,
                Err(e) => return NameCheck::Failed(e),
            };
        let result = match Client::connect(ClientConfig::new(endpoints, credentials)).await {
            Ok(client) => match lookup(&client, &header).await {
                Ok((_, unknown)) => NameCheck::Checked(unknown),
                Err(e) => NameCheck::Failed(e),
            },
            Err(e) => NameCheck::Failed(e.to_string()),
        };
        if let Some(s) = sandbox {
            s.shutdown().await;
        }
        result
    })
}

/// Whether the environment (or the profile with its secret) holds usable credentials.
fn has_credentials(env: &Env, profile: Option<&crate::profile::Profile>) -> bool {
    crate::profile::credentials(
        env.client_id.clone(),
        env.client_secret.clone(),
        env.access_token.clone(),
        profile,
        env.profile_secret.clone(),
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_names_by_edit_distance_or_prefix() {
        let org = [
            "Billing",
            "Billing Tier 2",
            "Sales",
            "Sales EMEA",
            "Support",
            "Tech Support",
        ];
        let cases: &[(&str, &[&str])] = &[
            ("Biling", &["Billing"]),
            ("billing tier 3", &["Billing Tier 2", "Billing"]),
            ("Sale", &["Sales", "Sales EMEA"]),
            ("Suport", &["Support"]),
            ("Spanish", &[]),
            ("", &[]),
            ("Bi", &[]),
        ];
        for &(name, want) in cases {
            assert_eq!(closest(name, org), want, "{name}");
        }
        let many = ["Sales 1", "Sales 2", "Sales 3", "Sales 4"];
        assert_eq!(closest("Sales", many).len(), 3, "at most three");
    }

    #[test]
    fn did_you_mean_reads_naturally() {
        assert_eq!(did_you_mean(&[]), "");
        assert_eq!(did_you_mean(&["A"]), " (did you mean 'A'?)");
        assert_eq!(
            did_you_mean(&["A", "B", "C"]),
            " (did you mean 'A', 'B' or 'C'?)"
        );
    }
}
