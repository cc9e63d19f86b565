//! Profiles: `--profile NAME` (or `GENESYSCLOUD_PROFILE`) names an org by its region
//! and OAuth client id, so an admin with a dev and a prod org does not juggle
//! variables. Secrets never come from a file: the secret is read from
//! `GENESYSCLOUD_OAUTHCLIENT_SECRET`, or from the variable the profile names.
//!
//! Two files are read, in this order:
//!
//! 1. genupdate's own, `GENUPDATE_CONFIG` or `config.toml` in the user's config
//!    directory (`$XDG_CONFIG_HOME/genupdate/` or `~/.config/genupdate/` on Linux,
//!    `~/Library/Application Support/genupdate/` on macOS, `%APPDATA%\genupdate\` on
//!    Windows):
//!
//!    ```toml
//!    [profiles.prod]
//!    region = "eu-west-1"                       # or apps.mypurecloud.ie, or a URL
//!    client_id = "7de3af06-..."
//!    client_secret_env = "PROD_GENESYS_SECRET"  # optional; default GENESYSCLOUD_OAUTHCLIENT_SECRET
//!    ```
//!
//!    A key that looks like a secret (`client_secret`, `access_token`, a password) is
//!    refused with its line and column, and its value is never shown.
//! 2. the Genesys `gc` CLI's `~/.gc/config.toml`: one table per profile (names in
//!    lower case), of which only `environment` (a region or a domain) and
//!    `client_credentials` (the client id) are read. Its `client_secret` and
//!    `access_token` are never read into genupdate's values nor shown.
//!
//! Reading the files is here; every decision (which profile, which secret) is a pure
//! function over their text, tested below.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{ConfigError, Credentials};
use crate::secret::Secret;

/// One profile, as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// A region name, domain, browser address or URL (as `--region` takes).
    pub region: Option<String>,
    pub client_id: Option<String>,
    /// The environment variable that holds this profile's client secret.
    pub secret_env: Option<String>,
    /// Where it was found, for messages: a path, with "(gc CLI)" for the gc file.
    pub source: String,
}

/// Where profiles are looked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    pub own: Option<PathBuf>,
    pub gc: Option<PathBuf>,
}

impl Sources {
    /// The files of this user: `GENUPDATE_CONFIG` (or the config directory's
    /// `genupdate/config.toml`) and `~/.gc/config.toml`.
    pub fn of_user() -> Sources {
        let own = std::env::var_os("GENUPDATE_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| dirs::config_dir().map(|d| d.join("genupdate").join("config.toml")));
        let gc = dirs::home_dir().map(|h| h.join(".gc").join("config.toml"));
        Sources { own, gc }
    }
}

/// The keys a profile in genupdate's file may have.
const KEYS: &[&str] = &["region", "client_id", "client_secret_env"];

/// Find profile `name`: genupdate's file first, then the gc CLI's. Unknown: the
/// error lists the known profiles and where they were looked for.
pub fn select(name: &str, sources: &Sources) -> Result<Profile, String> {
    let name = name.trim();
    let mut known: Vec<String> = Vec::new();
    let mut looked: Vec<String> = Vec::new();
    if let Some(path) = &sources.own {
        looked.push(path.display().to_string());
        if let Some(text) = read_optional(path)? {
            let profiles = parse_own(&text, &path.display().to_string())?;
            if let Some(p) = profiles.get(name) {
                return Ok(p.clone());
            }
            known.extend(profiles.into_keys());
        }
    }
    if let Some(path) = &sources.gc {
        looked.push(format!("{} (gc CLI)", path.display()));
        if let Some(text) = read_optional(path)? {
            let profiles = parse_gc(&text, &path.display().to_string())?;
            if let Some(p) = profiles
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, p)| p)
            {
                return Ok(p.clone());
            }
            known.extend(profiles.into_keys().map(|n| format!("{n} (gc CLI)")));
        }
    }
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    let own = sources
        .own
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "genupdate/config.toml in your config directory".into());
    Err(format!(
        "unknown profile '{name}' (--profile / GENESYSCLOUD_PROFILE). Known profiles: {known} \
         (looked in {}). Add it to {own} as [profiles.{name}] with region = \"...\" and \
         client_id = \"...\"",
        looked.join(" and ")
    ))
}

fn read_optional(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: cannot read it: {e}", path.display())),
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}

/// A TOML syntax error as `FILE:LINE:COLUMN`, with the parser's message only where the
/// file cannot hold a secret worth hiding (the parser's own snippet is never shown:
/// the offending line could be a secret).
fn toml_error(file: &str, text: &str, e: &toml::de::Error, show_message: bool) -> String {
    let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
    if show_message {
        format!("{file}:{line}:{col}: {}", e.message().trim())
    } else {
        format!("{file}:{line}:{col}: not valid TOML")
    }
}

/// Does a key name a secret? (`client_secret`, `secret`, `access_token`, `password`...)
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k != "client_secret_env"
        && ["secret", "token", "password"]
            .iter()
            .any(|w| k.contains(w))
}

type Table = BTreeMap<String, toml::Spanned<toml::Value>>;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnFile {
    #[serde(default)]
    profiles: BTreeMap<String, Table>,
}

/// The profiles of genupdate's own file.
pub fn parse_own(text: &str, file: &str) -> Result<BTreeMap<String, Profile>, String> {
    let parsed: OwnFile = toml::from_str(text).map_err(|e| {
        let msg = toml_error(file, text, &e, false);
        if e.message().contains("unknown field") {
            format!("{msg}: the file has one section, [profiles.NAME]")
        } else {
            msg
        }
    })?;
    let mut out = BTreeMap::new();
    for (name, table) in parsed.profiles {
        let mut p = Profile {
            name: name.clone(),
            region: None,
            client_id: None,
            secret_env: None,
            source: file.to_string(),
        };
        for (key, value) in table {
            let (line, col) = line_col(text, value.span().start);
            let at = format!("{file}:{line}:{col}: profiles.{name}.{key}");
            if is_secret_key(&key) {
                return Err(format!(
                    "{at}: a secret in a file is refused (secrets come only from the \
                     environment). Remove it, and set GENESYSCLOUD_OAUTHCLIENT_SECRET or \
                     name the variable that holds it: client_secret_env = \"PROD_GENESYS_SECRET\""
                ));
            }
            let Some(text_value) = value.get_ref().as_str().map(str::trim) else {
                return Err(format!("{at}: must be a string in quotes"));
            };
            let text_value = Some(text_value.to_string()).filter(|v| !v.is_empty());
            match key.as_str() {
                "region" => p.region = text_value,
                "client_id" => p.client_id = text_value,
                "client_secret_env" => p.secret_env = text_value,
                _ => {
                    return Err(format!(
                        "{at}: unknown key (a profile has {})",
                        KEYS.join(", ")
                    ));
                }
            }
        }
        out.insert(name, p);
    }
    Ok(out)
}

/// The profiles of the gc CLI's file: region (`environment`) and client id
/// (`client_credentials`) only.
pub fn parse_gc(text: &str, file: &str) -> Result<BTreeMap<String, Profile>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(file, text, &e, false))?;
    let mut out = BTreeMap::new();
    for (name, value) in table {
        let Some(t) = value.as_table() else { continue };
        let get = |key: &str| {
            t.get(key)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let p = Profile {
            name: name.clone(),
            region: get("environment"),
            client_id: get("client_credentials"),
            secret_env: None,
            source: format!("{file} (gc CLI)"),
        };
        out.insert(name, p);
    }
    Ok(out)
}

/// The credentials to use. A pre-issued `GENESYSCLOUD_ACCESS_TOKEN` wins; then the
/// client id from `GENESYSCLOUD_OAUTHCLIENT_ID` (the environment overrides the
/// profile) or the profile. The secret goes with the id: with the environment's id,
/// `GENESYSCLOUD_OAUTHCLIENT_SECRET`; with the profile's, the variable it names in
/// `client_secret_env` (`profile_secret` holds that variable's value), else
/// `GENESYSCLOUD_OAUTHCLIENT_SECRET`.
pub fn credentials(
    client_id: Option<String>,
    client_secret: Option<Secret>,
    access_token: Option<Secret>,
    profile: Option<&Profile>,
    profile_secret: Option<Secret>,
) -> Result<Credentials, ConfigError> {
    let client_id = client_id.filter(|s| !s.is_empty());
    let Some(p) = profile else {
        return Credentials::resolve(client_id, client_secret, access_token);
    };
    if client_id.is_some() || access_token.as_ref().is_some_and(|t| !t.is_empty()) {
        return Credentials::resolve(client_id, client_secret, access_token);
    }
    let Some(id) = p.client_id.clone() else {
        return Err(ConfigError::Invalid(format!(
            "profile '{}' ({}) has no client id: add client_id = \"...\" to it, or set \
             GENESYSCLOUD_OAUTHCLIENT_ID",
            p.name, p.source
        )));
    };
    let (secret, var) = match &p.secret_env {
        Some(var) => (profile_secret, var.as_str()),
        None => (client_secret, "GENESYSCLOUD_OAUTHCLIENT_SECRET"),
    };
    match secret.filter(|s| !s.is_empty()) {
        Some(client_secret) => Ok(Credentials::ClientCredentials {
            client_id: id,
            client_secret,
        }),
        None => Err(ConfigError::Invalid(format!(
            "profile '{}' ({}) gives the client id; its secret comes from the environment, \
             and {var} is not set",
            p.name, p.source
        ))),
    }
}

/// The environment variable a profile's secret is in, when it names one; `None`
/// otherwise. (For reading it: the variable names live here, the reading in `apply`.)
pub fn secret_var(profile: Option<&Profile>) -> Option<&str> {
    profile.and_then(|p| p.secret_env.as_deref())
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
