//! `--profile`: region and client id from genupdate's config file or the gc CLI's,
//! the secret from the environment, driving the real binary against the sandbox.

mod common;

use common::{csv, genupdate_env, s, sandbox, small};

/// The environment of a run that has only a profile: no region, no client id, no
/// secret in the usual variables; genupdate's file at `config`, HOME at `home`.
fn profile_env<'a>(config: &'a str, home: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("GENESYSCLOUD_REGION", ""),
        ("GENESYSCLOUD_OAUTHCLIENT_ID", ""),
        ("GENESYSCLOUD_OAUTHCLIENT_SECRET", ""),
        ("GENUPDATE_CONFIG", config),
        ("HOME", home),
    ]
}

/// `config.toml` in `dir` with the profile `rehearsal`: the sandbox's address, the test
/// client id, and the secret in `REHEARSAL_SECRET`.
fn rehearsal_profile(sb: &genesys_sandbox::Sandbox, dir: &std::path::Path) -> std::path::PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.rehearsal]\nregion = \"{}\"\nclient_id = \"{}\"\n\
             client_secret_env = \"REHEARSAL_SECRET\"\n",
            sb.url(),
            common::ID
        ),
    )
    .unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_gives_region_and_client_id_and_the_secret_comes_from_its_variable() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = common::one_title(&sb, dir.path(), "Profiled Agent");
    let config = rehearsal_profile(&sb, dir.path());
    let mut env = profile_env(s(&config), s(dir.path()));
    env.push(("REHEARSAL_SECRET", common::SECRET));
    let run = genupdate_env(
        &sb,
        &[
            "apply",
            s(&file),
            "--profile",
            "rehearsal",
            "--output",
            "json",
        ],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.summary()["updated"], 1);
    // The same through GENESYSCLOUD_PROFILE; without the variable it names, exit 2
    // naming it, before anything is sent.
    let before = sb.stats().requests;
    env.pop();
    env.push(("GENESYSCLOUD_PROFILE", "rehearsal"));
    let run = genupdate_env(&sb, &["apply", s(&file), "--output", "json"], &env).await;
    assert_eq!(run.code, 2, "{run:?}");
    let error = run.summary()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("REHEARSAL_SECRET is not set") && error.contains("rehearsal"),
        "{error}"
    );
    assert_eq!(sb.stats().requests, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gc_cli_profile_is_read_without_its_secret() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = common::one_title(&sb, dir.path(), "From gc");
    let gc = dir.path().join(".gc");
    std::fs::create_dir(&gc).unwrap();
    // As `gc profiles new` writes it (viper lower-cases the profile name). The stored
    // secret is wrong on purpose: were it used, the token request would fail.
    std::fs::write(
        gc.join("config.toml"),
        format!(
            "[default]\n  access_token = \"gc-ACCESS-TOKEN-do-not-read\"\n  \
             client_credentials = \"{}\"\n  client_secret = \"gc-STORED-SECRET-do-not-read\"\n  \
             environment = \"{}\"\n  grant_type = \"1\"\n  logging_enabled = false\n",
            common::ID,
            sb.url()
        ),
    )
    .unwrap();
    let missing = dir.path().join("no-genupdate-config.toml");
    let mut env = profile_env(s(&missing), s(dir.path()));
    env.push(("GENESYSCLOUD_OAUTHCLIENT_SECRET", common::SECRET));
    let run = genupdate_env(
        &sb,
        &[
            "-vv",
            "apply",
            s(&file),
            "--profile",
            "DEFAULT",
            "--output",
            "json",
        ],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.summary()["updated"], 1);
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.contains("do-not-read"),
            "the gc file's secrets were shown"
        );
    }
    // An unknown profile: exit 2, listing the known ones.
    let run = genupdate_env(&sb, &["apply", s(&file), "--profile", "prod"], &env).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("unknown profile 'prod'") && run.stderr.contains("default (gc CLI)"),
        "{}",
        run.stderr
    );
    let run = genupdate_env(&sb, &["validate", s(&file), "--profile", "prod"], &env).await;
    assert_eq!(run.code, 2, "validate checks the profile too: {run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_in_genupdates_file_is_refused_and_not_shown() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = common::one_title(&sb, dir.path(), "Agent");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.prod]\nregion = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n",
            sb.url(),
            common::ID,
            common::SECRET
        ),
    )
    .unwrap();
    let env = profile_env(s(&config), s(dir.path()));
    let run = genupdate_env(&sb, &["apply", s(&file), "--profile", "prod"], &env).await;
    assert_eq!(run.code, 2, "{run:?}");
    let where_ = format!("{}:4:17: profiles.prod.client_secret", s(&config));
    assert!(run.stderr.contains(&where_), "{}", run.stderr);
    assert!(!run.stderr.contains(common::SECRET), "{}", run.stderr);
    assert_eq!(sb.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_checks_skill_names_against_the_profiles_org() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let id = sb.user_ids()[0].clone();
    let config = rehearsal_profile(&sb, dir.path());
    let mut env = profile_env(s(&config), s(dir.path()));
    env.push(("REHEARSAL_SECRET", common::SECRET));
    let typo = csv(
        dir.path(),
        "typo.csv",
        "id,skill:Biling",
        &[format!("{id},3")],
    );
    let run = genupdate_env(&sb, &["validate", s(&typo), "--profile", "rehearsal"], &env).await;
    assert_eq!(
        run.code, 3,
        "the profile's org has no skill Biling: {run:?}"
    );
    assert!(
        run.stderr.contains("did you mean 'Billing'?"),
        "{}",
        run.stderr
    );
    let good = csv(
        dir.path(),
        "good.csv",
        "id,skill:Billing",
        &[format!("{id},3")],
    );
    let run = genupdate_env(
        &sb,
        &[
            "validate",
            s(&good),
            "--profile",
            "rehearsal",
            "--output",
            "json",
        ],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.summary()["names_checked"], true, "{run:?}");
    // Validation writes nothing.
    assert_eq!(common::count(&sb.stats(), "PATCH "), 0);
}
