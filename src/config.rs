//! Turning raw flags and environment into a configuration that cannot be invalid.
//!
//! The clap structs in [`crate::cli`] are raw input. The functions here resolve them
//! once (region to URLs, credentials to a [`Credentials`] value with secrets wrapped),
//! so nothing after this point re-checks a flag.

use reqwest::Url;

use crate::input::ReadOptions;
use crate::phone::Country;
use crate::secret::Secret;

/// The 18 Genesys Cloud regions and their domains, as in ../shared/genesys-api.md.
pub const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "mypurecloud.com"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("eu-west-1", "mypurecloud.ie"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("eu-central-1", "mypurecloud.de"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("eusc-de-east-1", "edee1.eusc-pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
    ("ap-southeast-2", "mypurecloud.com.au"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
];

/// Where the API and the login (token) host are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Base URL of the API, e.g. `https://api.mypurecloud.com/`.
    pub api: Url,
    /// Base URL of the login host, e.g. `https://login.mypurecloud.com/`.
    pub login: Url,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "unknown region '{0}' (--region / GENESYSCLOUD_REGION). Valid region names: {names}. \
         A domain (mypurecloud.ie) or a base URL (https://api.mypurecloud.com) works too.",
        names = region_names()
    )]
    UnknownRegion(String),
    #[error("--region / GENESYSCLOUD_REGION '{0}' is not a valid URL: {1}")]
    BadUrl(String, String),
    #[error(
        "--region / GENESYSCLOUD_REGION '{0}' uses plain http:// on a host that is not loopback; \
         tokens and the client secret would cross the network unencrypted. Use https://, or pass \
         --insecure-allow-http-to-remote-host if you really mean it."
    )]
    InsecureHttp(String),
    #[error(
        "no credentials: set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET \
         (an OAuth client with the client-credentials grant), or GENESYSCLOUD_ACCESS_TOKEN, \
         or use --sandbox to rehearse against the built-in sandbox"
    )]
    NoCredentials,
    #[error("no region: set --region or GENESYSCLOUD_REGION (e.g. us-east-1, eu-west-1)")]
    NoRegion,
    #[error("{0}")]
    Invalid(String),
}

pub fn region_names() -> String {
    REGIONS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolve `--region`: a region name, a domain, or a base URL.
///
/// From a URL the login host is the same URL with a leading `api.` replaced by
/// `login.`, as the official SDKs do; a URL without `api.` serves both.
/// `allow_insecure` permits plain `http://` to hosts that are not loopback.
pub fn resolve_region(value: &str, allow_insecure: bool) -> Result<Endpoints, ConfigError> {
    let value = value.trim();
    if let Some(domain) = region_domain(value) {
        return from_domain(domain);
    }
    if let Some(domain) = browser_domain(value) {
        return from_domain(&domain);
    }
    if value.contains("://") {
        let api =
            Url::parse(value).map_err(|e| ConfigError::BadUrl(value.into(), e.to_string()))?;
        if api.scheme() != "https" && api.scheme() != "http" {
            return Err(ConfigError::BadUrl(
                value.into(),
                "scheme must be https or http".into(),
            ));
        }
        let host = api
            .host_str()
            .ok_or_else(|| ConfigError::BadUrl(value.into(), "no host".into()))?
            .to_string();
        if api.scheme() == "http" && !is_loopback(&host) && !allow_insecure {
            return Err(ConfigError::InsecureHttp(value.into()));
        }
        let mut login = api.clone();
        if let Some(rest) = host.strip_prefix("api.") {
            login
                .set_host(Some(&format!("login.{rest}")))
                .map_err(|e| ConfigError::BadUrl(value.into(), e.to_string()))?;
        }
        return Ok(Endpoints { api, login });
    }
    let looks_like_domain = value.contains('.') && !value.contains(char::is_whitespace);
    if looks_like_domain {
        return from_domain(&value.to_ascii_lowercase());
    }
    Err(ConfigError::UnknownRegion(value.into()))
}

/// The domain of a region name: `eu-west-1` (or `eu_west_1`, as the gc CLI writes
/// some) is `mypurecloud.ie`.
pub fn region_domain(name: &str) -> Option<&'static str> {
    let name = name.trim().replace('_', "-");
    REGIONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        .map(|(_, d)| *d)
}

/// The region a domain belongs to: `mypurecloud.ie` is `eu-west-1`.
pub fn region_of_domain(domain: &str) -> Option<&'static str> {
    REGIONS
        .iter()
        .find(|(_, d)| d.eq_ignore_ascii_case(domain))
        .map(|(n, _)| *n)
}

/// The Genesys host prefixes an admin may copy: the web app, the login page, the API.
const HOST_PREFIXES: &[&str] = &["apps.", "login.", "api."];

/// The org domain behind an address copied from a browser or a document:
/// `apps.mypurecloud.ie`, `https://apps.mypurecloud.ie/directory/#/admin/...`,
/// `login.mypurecloud.ie`, `api.mypurecloud.ie` (with any path) all give
/// `mypurecloud.ie`. Only for https (or no scheme) addresses: either a known region's
/// domain, with or without one of those prefixes, or any host starting with `apps.` or
/// `login.` (an API URL of an unknown domain keeps its path: it may be a gateway).
/// `None` for everything else (region names, plain domains, loopback URLs).
pub fn browser_domain(value: &str) -> Option<String> {
    let value = value.trim();
    let rest = match value.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
        Some(_) => return None,
        None => value,
    };
    let authority = rest.split(['/', '#', '?']).next().unwrap_or("");
    if authority.contains('@') || authority.contains(char::is_whitespace) {
        return None;
    }
    let host = authority
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    if let Some(domain) = REGIONS
        .iter()
        .map(|(_, d)| *d)
        .find(|d| host == *d || HOST_PREFIXES.iter().any(|p| host == format!("{p}{d}")))
    {
        return Some(domain.to_string());
    }
    ["apps.", "login."]
        .iter()
        .find_map(|p| host.strip_prefix(p))
        .filter(|d| d.contains('.'))
        .map(str::to_string)
}

fn from_domain(domain: &str) -> Result<Endpoints, ConfigError> {
    let parse =
        |s: String| Url::parse(&s).map_err(|e| ConfigError::BadUrl(domain.into(), e.to_string()));
    Ok(Endpoints {
        api: parse(format!("https://api.{domain}/"))?,
        login: parse(format!("https://login.{domain}/"))?,
    })
}

/// True for `localhost`, 127.0.0.0/8 and `::1`.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Resolve how the CSV's values are read: `--default-country` /
/// `GENUPDATE_DEFAULT_COUNTRY` (empty counts as unset), an ISO 3166 alpha-2 code in
/// any case.
pub fn read_options(default_country: Option<&str>) -> Result<ReadOptions, ConfigError> {
    let default_country = match default_country.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(code) => Some(code.parse::<Country>().map_err(|e| {
            ConfigError::Invalid(format!(
                "--default-country / GENUPDATE_DEFAULT_COUNTRY: {e}"
            ))
        })?),
    };
    Ok(ReadOptions {
        default_country,
        ..ReadOptions::default()
    })
}

/// How genupdate authenticates.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// OAuth client credentials: a token is requested from the login host and renewed.
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    /// A pre-issued token (`GENESYSCLOUD_ACCESS_TOKEN`), used as given; a 401 aborts.
    AccessToken(Secret),
}

impl Credentials {
    /// From the raw values of the environment variables (empty counts as unset).
    /// A pre-issued access token wins over client credentials.
    pub fn resolve(
        client_id: Option<String>,
        client_secret: Option<Secret>,
        access_token: Option<Secret>,
    ) -> Result<Credentials, ConfigError> {
        if let Some(token) = access_token.filter(|t| !t.is_empty()) {
            return Ok(Credentials::AccessToken(token));
        }
        match (
            client_id.filter(|s| !s.is_empty()),
            client_secret.filter(|s| !s.is_empty()),
        ) {
            (Some(client_id), Some(client_secret)) => Ok(Credentials::ClientCredentials {
                client_id,
                client_secret,
            }),
            (Some(_), None) => Err(ConfigError::Invalid(
                "GENESYSCLOUD_OAUTHCLIENT_ID is set but GENESYSCLOUD_OAUTHCLIENT_SECRET is not"
                    .into(),
            )),
            (None, Some(_)) => Err(ConfigError::Invalid(
                "GENESYSCLOUD_OAUTHCLIENT_SECRET is set but GENESYSCLOUD_OAUTHCLIENT_ID is not"
                    .into(),
            )),
            (None, None) => Err(ConfigError::NoCredentials),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_region_names_resolve_to_api_and_login_hosts() {
        assert_eq!(REGIONS.len(), 18);
        for (name, domain) in REGIONS {
            let e = resolve_region(name, false).unwrap();
            assert_eq!(e.api.as_str(), format!("https://api.{domain}/"));
            assert_eq!(e.login.as_str(), format!("https://login.{domain}/"));
        }
    }

    #[test]
    fn a_domain_resolves_like_its_region() {
        let e = resolve_region("mypurecloud.ie", false).unwrap();
        assert_eq!(e, resolve_region("eu-west-1", false).unwrap());
    }

    #[test]
    fn browser_addresses_of_every_region_map_to_the_region() {
        for (name, domain) in REGIONS {
            let want = resolve_region(name, false).unwrap();
            for copied in [
                format!("apps.{domain}"),
                format!("https://apps.{domain}/directory/#/admin/directory/peopleV3"),
                format!("https://apps.{domain}/#/"),
                format!("login.{domain}"),
                format!("https://login.{domain}/?rid=abc#/authenticate"),
                format!("api.{domain}"),
                format!("https://api.{domain}/api/v2/users"),
                format!("HTTPS://APPS.{}/", domain.to_uppercase()),
                format!("https://{domain}"),
                domain.to_string(),
            ] {
                assert_eq!(resolve_region(&copied, false).unwrap(), want, "{copied}");
            }
            assert_eq!(region_of_domain(domain), Some(*name));
        }
    }

    #[test]
    fn browser_domain_table() {
        let table: &[(&str, Option<&str>)] = &[
            ("apps.mypurecloud.ie", Some("mypurecloud.ie")),
            (
                "https://apps.usw2.pure.cloud/directory/#/x",
                Some("usw2.pure.cloud"),
            ),
            ("login.mypurecloud.de", Some("mypurecloud.de")),
            // Not a region's domain: only apps. and login. are rewritten.
            ("https://apps.inindca.com/", Some("inindca.com")),
            ("https://api.example.com/gateway", None),
            ("http://apps.mypurecloud.ie", None),
            ("http://127.0.0.1:8080", None),
            ("eu-west-1", None),
            ("https://user@apps.mypurecloud.ie", None),
            ("apps.", None),
        ];
        for (value, want) in table {
            assert_eq!(browser_domain(value).as_deref(), *want, "{value}");
        }
    }

    #[test]
    fn region_names_accept_the_gc_clis_underscores() {
        assert_eq!(region_domain("me_central_1"), Some("mec1.pure.cloud"));
        assert_eq!(region_domain("EU-WEST-1"), Some("mypurecloud.ie"));
        assert_eq!(region_domain("mars-1"), None);
    }

    #[test]
    fn an_api_url_gets_a_login_url_by_replacing_the_leading_api() {
        let e = resolve_region("https://api.mypurecloud.com", false).unwrap();
        assert_eq!(e.login.as_str(), "https://login.mypurecloud.com/");
    }

    #[test]
    fn a_url_without_api_serves_both() {
        let e = resolve_region("http://127.0.0.1:8080", false).unwrap();
        assert_eq!(e.api, e.login);
        assert_eq!(e.api.as_str(), "http://127.0.0.1:8080/");
    }

    #[test]
    fn unknown_region_lists_the_valid_names() {
        let err = resolve_region("us-east-9", false).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("us-east-9")
                && msg.contains("eu-west-1")
                && msg.contains("ap-northeast-3")
        );
    }

    #[test]
    fn plain_http_is_only_for_loopback_unless_explicitly_allowed() {
        assert!(resolve_region("http://localhost:9", false).is_ok());
        assert!(resolve_region("http://[::1]:9", false).is_ok());
        assert!(matches!(
            resolve_region("http://api.example.com", false),
            Err(ConfigError::InsecureHttp(_))
        ));
        assert!(resolve_region("http://api.example.com", true).is_ok());
    }

    #[test]
    fn the_default_country_is_an_iso_code_in_any_case() {
        assert_eq!(read_options(None).unwrap(), ReadOptions::default());
        assert_eq!(read_options(Some(" ")).unwrap(), ReadOptions::default());
        let us = read_options(Some("us")).unwrap().default_country.unwrap();
        assert_eq!(us.code(), "US");
        let msg = read_options(Some("USA")).unwrap_err().to_string();
        assert!(
            msg.starts_with("--default-country / GENUPDATE_DEFAULT_COUNTRY: 'USA' is not")
                && msg.contains("ISO 3166 alpha-2"),
            "{msg}"
        );
    }

    #[test]
    fn access_token_wins_and_missing_halves_are_named() {
        let c = Credentials::resolve(
            Some("id".into()),
            Some(Secret::new("s")),
            Some(Secret::new("t")),
        )
        .unwrap();
        assert!(matches!(c, Credentials::AccessToken(_)));
        let e = Credentials::resolve(Some("id".into()), None, None).unwrap_err();
        assert!(e.to_string().contains("GENESYSCLOUD_OAUTHCLIENT_SECRET"));
        assert_eq!(
            Credentials::resolve(None, None, None).unwrap_err(),
            ConfigError::NoCredentials
        );
    }
}

/// Parse `--deadline`: a duration (`45m`, `2h30m`, `90s`) or a local clock time
/// (`05:30`, `05:30:00`; the next time the clock shows it). Returns how long from `now`.
pub fn parse_deadline(
    value: &str,
    now: chrono::NaiveDateTime,
) -> Result<std::time::Duration, ConfigError> {
    let value = value.trim();
    if let Ok(d) = humantime::parse_duration(value) {
        return Ok(d);
    }
    let time = chrono::NaiveTime::parse_from_str(value, "%H:%M:%S")
        .or_else(|_| chrono::NaiveTime::parse_from_str(value, "%H:%M"))
        .map_err(|_| {
            ConfigError::Invalid(format!(
                "--deadline '{value}' is neither a duration (45m, 2h30m) nor a clock time (05:30)"
            ))
        })?;
    let mut at = now.date().and_time(time);
    if at <= now {
        at += chrono::Duration::days(1);
    }
    (at - now)
        .to_std()
        .map_err(|_| ConfigError::Invalid(format!("--deadline '{value}' is out of range")))
}

#[cfg(test)]
mod deadline_tests {
    use super::*;
    use std::time::Duration;

    fn at(h: u32, m: u32) -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 22)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .unwrap()
    }

    #[test]
    fn durations_and_clock_times_are_both_deadlines() {
        assert_eq!(
            parse_deadline("45m", at(1, 0)).unwrap(),
            Duration::from_secs(45 * 60)
        );
        assert_eq!(
            parse_deadline("2h30m", at(1, 0)).unwrap(),
            Duration::from_secs(9000)
        );
        assert_eq!(
            parse_deadline("05:30", at(2, 0)).unwrap(),
            Duration::from_secs(3 * 3600 + 1800)
        );
    }

    #[test]
    fn a_clock_time_already_past_today_means_tomorrow() {
        assert_eq!(
            parse_deadline("01:00", at(2, 0)).unwrap(),
            Duration::from_secs(23 * 3600)
        );
    }

    #[test]
    fn nonsense_names_the_flag() {
        assert!(
            parse_deadline("soon", at(2, 0))
                .unwrap_err()
                .to_string()
                .contains("--deadline")
        );
    }
}
