//! One resolve step: the only reader of the `apply` command's clap structs.
//!
//! [`ApplySettings::resolve`] turns the flags (and the clock, for `--deadline`) into a
//! value that cannot be invalid: output paths checked against the input and each
//! other, the key and default country parsed, durations typed, the deadline fixed to
//! an instant. `apply` and the runner take this, never clap types, so a flag is
//! checked once and a new flag cannot slip past the checks.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cli::{ApplyArgs, LogFormat, OutputFormat, ValidateArgs};
use crate::input::ReadOptions;
use crate::outputs::OutputPaths;
use crate::profile::Profile;
use crate::summary::ExitReason;

/// How the summary is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

impl From<OutputFormat> for Output {
    fn from(f: OutputFormat) -> Output {
        match f {
            OutputFormat::Text => Output::Text,
            OutputFormat::Json => Output::Json,
        }
    }
}

/// Log lines on stderr: text or one JSON object per line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogStyle {
    Text,
    Json,
}

impl From<LogFormat> for LogStyle {
    fn from(f: LogFormat) -> LogStyle {
        match f {
            LogFormat::Text => LogStyle::Text,
            LogFormat::Json => LogStyle::Json,
        }
    }
}

/// Everything `genupdate validate` needs, resolved.
#[derive(Clone, Debug)]
pub struct ValidateSettings {
    pub file: PathBuf,
    pub read: ReadOptions,
    pub output: Output,
    /// Where skill and language names are looked up: `None` when neither
    /// `--sandbox` nor a region was given (the names are not checked).
    pub target: Option<Target>,
}

impl ValidateSettings {
    /// Resolve the flags; the error says what to fix (a usage error, exit 2).
    pub fn resolve(args: &ValidateArgs) -> Result<ValidateSettings, String> {
        let read = crate::config::read_options(args.default_country.as_deref())
            .map(|o| ReadOptions {
                key: args.key,
                delimiter: args.delimiter,
                ..o
            })
            .map_err(|e| e.to_string())?;
        // --sandbox, or an org named by --region / GENESYSCLOUD_REGION or a profile;
        // nothing named: the names are not checked.
        let region = args.region.as_deref().filter(|r| !r.trim().is_empty());
        let profile = args.profile.as_deref().filter(|p| !p.trim().is_empty());
        let target = if args.sandbox || region.is_some() || profile.is_some() {
            Some(target(
                args.sandbox,
                region,
                args.insecure_allow_http_to_remote_host,
                profile,
            )?)
        } else {
            None
        };
        Ok(ValidateSettings {
            file: args.file.clone(),
            read,
            output: args.output.into(),
            target,
        })
    }
}

/// Where the run sends its requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The built-in sandbox, started in process.
    Sandbox,
    /// A real org: the `--region` value (or `GENESYSCLOUD_REGION`, else the
    /// profile's), resolved later with the credentials; `None` is reported then, with
    /// what to set.
    Org {
        region: Option<String>,
        insecure_http: bool,
        /// `--profile` / `GENESYSCLOUD_PROFILE`, as found.
        profile: Option<Profile>,
    },
}

/// The profile `--profile` names, looked up in the user's files; `None` without one.
pub fn find_profile(name: Option<&str>) -> Result<Option<Profile>, String> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(name) => crate::profile::select(name, &crate::profile::Sources::of_user()).map(Some),
    }
}

/// Where a run goes: the built-in sandbox, or an org whose region is the flag's or
/// the environment's (they win, with a warning when they differ from the profile's),
/// else the profile's. Shared by `apply` and `export`.
pub fn target(
    sandbox: bool,
    region: Option<&str>,
    insecure_http: bool,
    profile: Option<&str>,
) -> Result<Target, String> {
    if sandbox {
        return Ok(Target::Sandbox);
    }
    let profile = find_profile(profile)?;
    let region = pick_region(region, profile.as_ref());
    Ok(Target::Org {
        region,
        insecure_http,
        profile,
    })
}

/// `--region` / `GENESYSCLOUD_REGION` over the profile's region.
pub fn pick_region(flag_or_env: Option<&str>, profile: Option<&Profile>) -> Option<String> {
    let given = flag_or_env.map(str::trim).filter(|r| !r.is_empty());
    let from_profile = profile.and_then(|p| p.region.as_deref());
    if let (Some(given), Some(theirs), Some(p)) = (given, from_profile, profile)
        && given != theirs
    {
        tracing::warn!(
            "--region / GENESYSCLOUD_REGION ({given}) overrides the region of profile '{}' ({theirs})",
            p.name
        );
    }
    given.or(from_profile).map(str::to_string)
}

/// `--ca-file` / `GENUPDATE_CA_FILE`, read and checked (a usage error names the file).
pub fn ca_roots(path: Option<&std::path::Path>) -> Result<Vec<reqwest::Certificate>, String> {
    path.map_or(Ok(Vec::new()), crate::trust::load_ca_file)
}

/// The client's knobs, typed.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientKnobs {
    pub concurrency: usize,
    pub rate_per_minute: Option<f64>,
    pub max_retries: u32,
    pub max_retry_after: Duration,
    pub request_timeout: Duration,
}

/// Everything `genupdate apply` needs, resolved.
#[derive(Clone, Debug)]
pub struct ApplySettings {
    pub file: PathBuf,
    pub read: ReadOptions,
    pub target: Target,
    pub dry_run: bool,
    pub paths: OutputPaths,
    pub output: Output,
    pub client: ClientKnobs,
    pub max_errors: Option<u64>,
    pub max_error_rate: Option<f64>,
    pub max_conflict_retries: u32,
    /// The instant the run stops, fixed when the flags are resolved.
    pub deadline: Option<Instant>,
    /// Root certificates from `--ca-file`, trusted besides the built-in and OS ones.
    pub ca_roots: Vec<reqwest::Certificate>,
    /// `--yes`: never ask `Continue? [y/N]`.
    pub yes: bool,
    /// `--max-changes` and `--limit-rows`.
    pub limits: crate::guard::Limits,
}

impl ApplySettings {
    /// Resolve and check the flags; the error is the exit reason and what to fix.
    pub fn resolve(args: &ApplyArgs) -> Result<ApplySettings, (ExitReason, String)> {
        let usage = |e: String| (ExitReason::Usage, e);
        let paths = output_paths(args);
        paths.check(&args.file).map_err(usage)?;
        let read = crate::config::read_options(args.default_country.as_deref())
            .map(|o| ReadOptions {
                key: args.key,
                delimiter: args.delimiter,
                ..o
            })
            .map_err(|e| usage(e.to_string()))?;
        let deadline = match &args.deadline {
            Some(d) => {
                let left = crate::config::parse_deadline(d, chrono::Local::now().naive_local())
                    .map_err(|e| usage(e.to_string()))?;
                Some(Instant::now() + left)
            }
            None => None,
        };
        let target = target(
            args.sandbox,
            args.region.as_deref(),
            args.insecure_allow_http_to_remote_host,
            args.profile.as_deref(),
        )
        .map_err(usage)?;
        let ca_roots = ca_roots(args.ca_file.as_deref()).map_err(usage)?;
        Ok(ApplySettings {
            file: args.file.clone(),
            read,
            target,
            ca_roots,
            dry_run: args.dry_run,
            paths,
            output: args.output.into(),
            client: ClientKnobs {
                concurrency: (args.concurrency as usize).max(1),
                rate_per_minute: args.rate.map(f64::from),
                max_retries: args.max_retries,
                max_retry_after: Duration::from_secs(args.max_retry_after),
                request_timeout: Duration::from_secs(args.timeout.max(1)),
            },
            max_errors: args.max_errors,
            max_error_rate: args.max_error_rate,
            max_conflict_retries: args.max_conflict_retries,
            deadline,
            yes: args.yes,
            limits: crate::guard::Limits {
                max_changes: args.max_changes,
                limit_rows: args.limit_rows,
            },
        })
    }
}

/// Every file this run may write (the lock and journal only when it writes).
pub fn output_paths(args: &ApplyArgs) -> OutputPaths {
    let writes = !args.dry_run;
    OutputPaths {
        report: args.report.clone(),
        failed: args.failed.clone(),
        undo: args.undo.clone(),
        lock: writes.then(|| {
            args.lock
                .clone()
                .unwrap_or_else(|| crate::lock::default_path(&args.file))
        }),
        journal: writes.then(|| {
            crate::outputs::journal_path(&args.file, args.report.as_deref(), args.undo.as_deref())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> ApplyArgs {
        let mut all = vec!["genupdate", "apply", "users.csv"];
        all.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(all).command {
            crate::cli::Command::Apply(a) => *a,
            _ => unreachable!("apply"),
        }
    }

    #[test]
    fn flags_resolve_into_typed_settings() {
        let s = ApplySettings::resolve(&args(&[
            "--timeout",
            "0",
            "--deadline",
            "10m",
            "--rate",
            "120",
        ]))
        .unwrap();
        assert_eq!(
            s.client.request_timeout,
            Duration::from_secs(1),
            "never zero"
        );
        assert_eq!(s.client.rate_per_minute, Some(120.0));
        let left = s.deadline.unwrap() - Instant::now();
        assert!(left > Duration::from_secs(590) && left <= Duration::from_secs(600));
        assert!(s.paths.journal.is_some() && s.paths.lock.is_some());
    }

    #[test]
    fn the_write_guards_and_yes_are_resolved() {
        let s = ApplySettings::resolve(&args(&["-y", "--max-changes", "0", "--limit-rows", "5"]))
            .unwrap();
        assert!(s.yes);
        assert_eq!(s.limits.max_changes, Some(0));
        assert_eq!(s.limits.limit_rows, Some(5));
        let s = ApplySettings::resolve(&args(&[])).unwrap();
        assert!(!s.yes && !s.limits.any());
    }

    #[test]
    fn a_dry_run_writes_no_lock_and_no_journal() {
        let s = ApplySettings::resolve(&args(&["--dry-run"])).unwrap();
        assert_eq!((s.paths.lock, s.paths.journal), (None, None));
    }

    #[test]
    fn the_flag_or_environment_region_wins_over_the_profile() {
        let p = Profile {
            name: "prod".into(),
            region: Some("eu-west-1".into()),
            client_id: None,
            secret_env: None,
            source: "config.toml".into(),
        };
        let table: &[(Option<&str>, Option<&Profile>, Option<&str>)] = &[
            (None, Some(&p), Some("eu-west-1")),
            (Some("us-east-1"), Some(&p), Some("us-east-1")),
            (Some("  "), Some(&p), Some("eu-west-1")),
            (Some("us-east-1"), None, Some("us-east-1")),
            (None, None, None),
        ];
        for (given, profile, want) in table {
            assert_eq!(pick_region(*given, *profile).as_deref(), *want, "{given:?}");
        }
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_a_usage_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corp.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let (reason, msg) =
            ApplySettings::resolve(&args(&["--ca-file", path.to_str().unwrap()])).unwrap_err();
        assert_eq!(reason, ExitReason::Usage);
        assert!(
            msg.contains("corp.pem") && msg.contains("--ca-file"),
            "{msg}"
        );
    }

    #[test]
    fn bad_values_are_usage_errors_naming_the_flag() {
        let (reason, msg) = ApplySettings::resolve(&args(&["--deadline", "soon"])).unwrap_err();
        assert_eq!(reason, ExitReason::Usage);
        assert!(msg.contains("soon"), "{msg}");
        let (_, msg) = ApplySettings::resolve(&args(&["--default-country", "XX"])).unwrap_err();
        assert!(msg.to_lowercase().contains("country"), "{msg}");
    }
}
