//! The run lock leaves nothing behind after a clean exit, and the error-budget flags
//! refuse values that cannot mean what the admin meant.

use std::process::{Command, Output};

fn genupdate(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genupdate"))
        .args(args)
        .current_dir(dir)
        .env_remove("GENESYSCLOUD_REGION")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET")
        .output()
        .expect("the binary runs")
}

#[cfg(feature = "sandbox")]
#[test]
fn no_lock_file_remains_after_a_clean_exit() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/users.csv");
    std::fs::copy(example, dir.path().join("users.csv")).unwrap();
    let custom = dir.path().join("custom.lock");
    for extra in [&[][..], &["--lock", custom.to_str().unwrap()][..]] {
        let mut args = vec!["apply", "--sandbox", "users.csv"];
        args.extend_from_slice(extra);
        let run = genupdate(&args, dir.path());
        // The demo org's restricted and deleted users fail their rows: exit 1.
        assert!(
            matches!(run.status.code(), Some(0 | 1)),
            "{args:?}: {run:?}"
        );
        assert!(!dir.path().join("users.csv.lock").exists(), "{args:?}");
        assert!(!custom.exists(), "{args:?}");
    }
}

#[test]
fn max_error_rate_5_is_refused_with_the_fraction_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("u.csv"), "id,title\n").unwrap();
    for bad in ["5", "-0.5", "1.5", "five"] {
        let flag = format!("--max-error-rate={bad}");
        let run = genupdate(&["apply", "u.csv", &flag], dir.path());
        assert_eq!(run.status.code(), Some(2), "{bad}: {run:?}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("--max-error-rate"), "{bad}: {stderr}");
        assert!(stderr.contains("use 0.05 for 5%"), "{bad}: {stderr}");
        assert!(!dir.path().join("u.csv.lock").exists());
    }
}

#[test]
fn max_errors_0_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = genupdate(&["apply", "u.csv", "--max-errors", "0"], dir.path());
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("--max-errors"));
}

/// cron's own PATH is /usr/bin:/bin, without /usr/local/bin where the README installs.
#[test]
fn the_crontab_example_sets_a_path_with_the_install_directory() {
    let crontab = include_str!("../examples/genupdate.crontab");
    let path = crontab
        .lines()
        .find_map(|l| l.strip_prefix("PATH="))
        .expect("a PATH= line");
    assert!(path.split(':').any(|d| d == "/usr/local/bin"), "{path}");
    let job = crontab
        .lines()
        .position(|l| l.contains("genupdate apply"))
        .unwrap();
    let set = crontab
        .lines()
        .position(|l| l.starts_with("PATH="))
        .unwrap();
    assert!(set < job, "PATH is set before the job line");
}
