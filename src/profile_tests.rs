use super::*;

const OWN: &str = r#"
[profiles.prod]
region = "eu-west-1"
client_id = "prod-client"
client_secret_env = "PROD_GENESYS_SECRET"

[profiles.dev]
region = "apps.mypurecloud.de"
client_id = "dev-client"
"#;

const GC: &str = r#"
[default]
environment = "mypurecloud.ie"
client_credentials = "gc-client"
client_secret = "gc-SECRET-never-read"
access_token = "gc-TOKEN-never-read"

[sandbox]
environment = "me_central_1"
client_credentials = "gc-2"
"#;

fn own(text: &str) -> Result<BTreeMap<String, Profile>, String> {
    parse_own(text, "config.toml")
}

#[test]
fn own_profiles_give_region_client_id_and_the_secrets_variable() {
    let p = own(OWN).unwrap();
    assert_eq!(p.len(), 2);
    let prod = &p["prod"];
    assert_eq!(prod.region.as_deref(), Some("eu-west-1"));
    assert_eq!(prod.client_id.as_deref(), Some("prod-client"));
    assert_eq!(prod.secret_env.as_deref(), Some("PROD_GENESYS_SECRET"));
    assert_eq!(p["dev"].secret_env, None);
    assert_eq!(own("").unwrap().len(), 0, "an empty file has no profiles");
}

#[test]
fn a_secret_in_our_file_is_refused_with_its_position_and_never_its_value() {
    for key in [
        "client_secret",
        "secret",
        "access_token",
        "password",
        "Client_Secret",
    ] {
        let text = format!("[profiles.prod]\nregion = \"eu-west-1\"\n{key} = \"hunter2-VALUE\"\n");
        let e = own(&text).unwrap_err();
        assert!(e.starts_with("config.toml:3:"), "{e}");
        assert!(
            e.contains(&format!("profiles.prod.{key}")) && e.contains("environment"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }
    // A malformed secret line is a syntax error that does not quote the line.
    let e = own("[profiles.prod]\nclient_secret = hunter2-VALUE\n").unwrap_err();
    assert!(
        e.starts_with("config.toml:2:") && !e.contains("hunter2"),
        "{e}"
    );
}

#[test]
fn unknown_keys_sections_and_types_are_named() {
    let table: &[(&str, &str)] = &[
        (
            "[profiles.p]\nregoin = \"x\"\n",
            "config.toml:2:10: profiles.p.regoin: unknown key",
        ),
        (
            "[profiles.p]\nregion = 1\n",
            "config.toml:2:10: profiles.p.region: must be a string",
        ),
        ("[profile.p]\nregion = \"x\"\n", "config.toml:1:"),
    ];
    for (text, want) in table {
        let e = own(text).unwrap_err();
        assert!(e.starts_with(want), "{text:?}: {e}");
    }
}

#[test]
fn gc_profiles_give_environment_and_client_id_only() {
    let p = parse_gc(GC, "/h/.gc/config.toml").unwrap();
    let d = &p["default"];
    assert_eq!(d.region.as_deref(), Some("mypurecloud.ie"));
    assert_eq!(d.client_id.as_deref(), Some("gc-client"));
    assert_eq!(d.secret_env, None);
    let shown = format!("{p:?}");
    assert!(!shown.contains("never-read"), "{shown}");
    assert!(d.source.contains("gc CLI"));
    // gc writes some regions with underscores; they resolve.
    let region = p["sandbox"].region.as_deref().unwrap();
    assert!(crate::config::resolve_region(region, false).is_ok());
    let e = parse_gc("[default]\nclient_secret = oops-SECRET\n", "gc.toml").unwrap_err();
    assert!(e.starts_with("gc.toml:2:") && !e.contains("oops"), "{e}");
}

fn files(own_text: Option<&str>, gc_text: Option<&str>) -> (tempfile::TempDir, Sources) {
    let dir = tempfile::tempdir().unwrap();
    let mut sources = Sources {
        own: Some(dir.path().join("genupdate.toml")),
        gc: Some(dir.path().join("gc.toml")),
    };
    match own_text {
        Some(t) => std::fs::write(sources.own.as_ref().unwrap(), t).unwrap(),
        None => sources.own = Some(dir.path().join("missing.toml")),
    }
    if let Some(t) = gc_text {
        std::fs::write(sources.gc.as_ref().unwrap(), t).unwrap();
    }
    (dir, sources)
}

#[test]
fn selection_prefers_our_file_then_the_gc_file_and_lists_known_names() {
    let (_d, s) = files(Some(OWN), Some(GC));
    assert_eq!(
        select("prod", &s).unwrap().client_id.as_deref(),
        Some("prod-client")
    );
    assert_eq!(
        select("DEFAULT", &s).unwrap().client_id.as_deref(),
        Some("gc-client")
    );
    let e = select("staging", &s).unwrap_err();
    assert!(e.contains("unknown profile 'staging'"), "{e}");
    assert!(
        e.contains("dev, prod, default (gc CLI), sandbox (gc CLI)"),
        "{e}"
    );
    let (_d, s) = files(None, None);
    let e = select("prod", &s).unwrap_err();
    assert!(e.contains("Known profiles: none"), "{e}");
    // Our file's profile of the same name wins over gc's.
    let (_d, s) = files(
        Some("[profiles.default]\nregion = \"eu-west-2\"\n"),
        Some(GC),
    );
    assert_eq!(
        select("default", &s).unwrap().region.as_deref(),
        Some("eu-west-2")
    );
}

fn prod() -> Profile {
    own(OWN).unwrap().remove("prod").unwrap()
}

fn id_of(c: &Credentials) -> String {
    match c {
        Credentials::ClientCredentials { client_id, .. } => client_id.clone(),
        Credentials::AccessToken(_) => "<token>".into(),
    }
}

/// (env id, env secret, token, profile, the profile's variable, what comes out).
type Row<'a> = (
    Option<&'a str>,
    Option<Secret>,
    Option<Secret>,
    Option<Profile>,
    Option<Secret>,
    &'a str,
);

#[test]
fn the_secret_goes_with_the_client_id() {
    let s = |v: &str| Some(Secret::new(v));
    let mut dev = prod();
    dev.secret_env = None;
    // (env id, env secret, token, profile, profile's variable) -> client id used, or error text
    let table: Vec<Row> = vec![
        (None, None, None, Some(prod()), s("p"), "prod-client"),
        (
            None,
            s("e"),
            None,
            Some(prod()),
            None,
            "PROD_GENESYS_SECRET is not set",
        ),
        (None, s("e"), None, Some(dev.clone()), None, "prod-client"),
        (
            None,
            None,
            None,
            Some(dev),
            None,
            "GENESYSCLOUD_OAUTHCLIENT_SECRET is not set",
        ),
        (Some("env-id"), s("e"), None, Some(prod()), s("p"), "env-id"),
        (None, None, s("t"), Some(prod()), None, "<token>"),
        (Some("env-id"), s("e"), None, None, None, "env-id"),
    ];
    for (id, secret, token, profile, psecret, want) in table {
        let got = credentials(
            id.map(String::from),
            secret,
            token,
            profile.as_ref(),
            psecret,
        );
        let text = match &got {
            Ok(c) => id_of(c),
            Err(e) => e.to_string(),
        };
        assert!(text.contains(want), "{want}: {text}");
    }
}

#[test]
fn line_and_column_are_one_based() {
    assert_eq!(line_col("ab\ncd", 0), (1, 1));
    assert_eq!(line_col("ab\ncd", 4), (2, 2));
    assert_eq!(line_col("ab", 99), (1, 3));
}
