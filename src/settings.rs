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
}

impl ValidateSettings {
    /// Resolve the flags; the error says what to fix (a usage error, exit 2).
    pub fn resolve(args: &ValidateArgs) -> Result<ValidateSettings, String> {
        let read = crate::config::read_options(args.default_country.as_deref())
            .map(|o| ReadOptions { key: args.key, ..o })
            .map_err(|e| e.to_string())?;
        Ok(ValidateSettings {
            file: args.file.clone(),
            read,
            output: args.output.into(),
        })
    }
}

/// Where the run sends its requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The built-in sandbox, started in process.
    Sandbox,
    /// A real org: the `--region` value (or `GENESYSCLOUD_REGION`), resolved later
    /// with the credentials; `None` is reported then, with what to set.
    Org {
        region: Option<String>,
        insecure_http: bool,
    },
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
            .map(|o| ReadOptions { key: args.key, ..o })
            .map_err(|e| usage(e.to_string()))?;
        let deadline = match &args.deadline {
            Some(d) => {
                let left = crate::config::parse_deadline(d, chrono::Local::now().naive_local())
                    .map_err(|e| usage(e.to_string()))?;
                Some(Instant::now() + left)
            }
            None => None,
        };
        Ok(ApplySettings {
            file: args.file.clone(),
            read,
            target: if args.sandbox {
                Target::Sandbox
            } else {
                Target::Org {
                    region: args.region.clone(),
                    insecure_http: args.insecure_allow_http_to_remote_host,
                }
            },
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
    fn bad_values_are_usage_errors_naming_the_flag() {
        let (reason, msg) = ApplySettings::resolve(&args(&["--deadline", "soon"])).unwrap_err();
        assert_eq!(reason, ExitReason::Usage);
        assert!(msg.contains("soon"), "{msg}");
        let (_, msg) = ApplySettings::resolve(&args(&["--default-country", "XX"])).unwrap_err();
        assert!(msg.to_lowercase().contains("country"), "{msg}");
    }
}
