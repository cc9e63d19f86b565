//! The command line, as clap derive structs. These are raw input: [`crate::config`]
//! resolves them into a configuration. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Environment:
  GENESYSCLOUD_REGION              region name (us-east-1, eu-west-1, ...), domain, or base URL
  GENESYSCLOUD_OAUTHCLIENT_ID      OAuth client id (client-credentials grant)
  GENESYSCLOUD_OAUTHCLIENT_SECRET  OAuth client secret (never printed, never logged)
  GENESYSCLOUD_ACCESS_TOKEN        a pre-issued bearer token, used as given instead
  GENESYSCLOUD_PROFILE             --profile: region and client id from a config file
  GENUPDATE_CONFIG                 genupdate's profile file (default: config.toml in
                                   the user's config directory, genupdate/)
  GENUPDATE_CA_FILE                --ca-file: extra PEM root certificates to trust
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY  proxy to reach Genesys through, and hosts to reach
                                   directly (ALL_PROXY too)
  GENUPDATE_DEFAULT_COUNTRY        --default-country: country of phone numbers without +
  NO_COLOR                         disable colour everywhere
  RUST_LOG                         fine-grained log filter (overrides -v)

Exit codes:
  0    every row succeeded (updated or already up to date), or the file is valid;
       also --limit-rows reached (exit_reason limit) and a declined prompt
       (exit_reason declined: nothing was written)
  1    the run finished but some rows failed (see --report / --failed), the
       deadline passed, or --max-changes stopped the writes (exit_reason
       max_changes); a 403 on one user's division fails that row only
  2    usage or configuration error (including an output path that is the input,
       an unknown --profile, a secret in the profile file, a bad --ca-file)
  3    the input file is invalid, or names a skill, language, queue, group, role,
       division or location the org does not have (or two share the name): nothing
       was sent
  4    the run was aborted (credentials rejected, writes refused in several
       divisions with none accepted, error budget spent, API unreachable,
       a host name that does not resolve or a TLS failure (not retried),
       a record that cannot be written)
  5    another run holds the lock
  130  interrupted by a signal, after in-flight work finished and the report was written

Quick start (no credentials needed):
  genupdate apply --sandbox examples/users.csv";

/// Bulk-update Genesys Cloud users from a CSV file.
///
/// genupdate validates the whole file first, reads the current users 100 at a time,
/// sends only the fields that change (guarded by each user's version, so another
/// integration's concurrent change is never overwritten), paces itself to the org's
/// rate limit, honours Retry-After, and records the outcome of every row.
#[derive(Debug, Parser)]
#[command(name = "genupdate", version, about, long_about, after_long_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More log output on stderr: -v for per-request detail, -vv for everything.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// No progress bar, no periodic progress lines, no summary on stderr; errors and
    /// the failed rows at the end still print.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a CSV file and report every problem in it.
    ///
    /// Each problem is printed on stderr as FILE:LINE:COLUMN: message, where LINE is
    /// the physical line (the header is line 1) and COLUMN the header name. Exit 0
    /// when the file is valid, 3 when it is not. The file is checked offline; with
    /// --sandbox, or a region and credentials, the skill and language names of the
    /// header are also looked up in the org (read-only), with a "did you mean".
    Validate(ValidateArgs),
    /// Apply a CSV file to Genesys Cloud users.
    ///
    /// The whole file is validated before anything is sent (exit 3 on any problem).
    /// Rows whose values already hold are reported `unchanged` and cost no write, so
    /// re-running the same file is always safe.
    ///
    /// Membership columns: `queues` / `groups` hold exactly the user's queues or
    /// groups by name, `;`-separated (`\;` for a `;` inside a name, #CLEAR for
    /// none); `queues:add`, `queues:remove`, `groups:add`, `groups:remove` change only
    /// the names they list. Names are resolved exactly before any write (an unknown
    /// or ambiguous name: exit 3). Changes are written in batches across rows (100
    /// queue members, 50 group members per call) and confirmed by re-reading the
    /// member lists; the dry run shows them as `queues: +Support`.
    ///
    /// `roles` / `roles:add` / `roles:remove` hold role grants as `Role` (the home
    /// division), `Role@Division` (split on the last @) or `Role@*` (every division);
    /// only the user's own grants are managed, never those inherited from a group.
    /// `division` moves the user to that division (one name; one user per move call).
    /// `locations` / `locations:add` / `locations:remove` set the user's locations by
    /// name, keeping the notes of entries the row does not touch. The dry run shows
    /// `roles: +Agent@Sales`, `division: Home -> Sales`, `locations: +Galway Office`.
    ///
    /// A run with failed rows ends by
    /// printing the first 20 on stderr as FILE:LINE: reason: message, and where the
    /// full list is (--failed, --report).
    #[command(after_long_help = crate::columns::render())]
    Apply(Box<ApplyArgs>),
    /// List the columns apply reads, one example each.
    ///
    /// The same list as at the end of `genupdate apply --help`: keys, profile fields,
    /// contact entries (phone:TYPE, sms:TYPE, email:TYPE), skill:NAME, language:NAME,
    /// and the #CLEAR marker and #TEXT: escape.
    Columns,
    /// Write the current values of users as a CSV that `apply` reads back.
    ///
    /// Every user that is not deleted (active and inactive), or the users a --keys
    /// file names, one row each, keyed by --key, with the chosen columns. Cells are
    /// written in exactly the grammar apply reads (formula characters neutralised,
    /// awkward values as #TEXT: escapes), so export -> edit -> apply changes only the
    /// cells you edited. Values that cannot be represented exactly (two contact
    /// entries of one type) are left empty with a warning naming the user.
    Export(Box<ExportArgs>),
    /// Make an undo file from a run's journal, after a crash or kill.
    ///
    /// Every write's before-values are journaled before the write is sent (beside
    /// the undo file, else the report, else the input: NAME.journal). A run that
    /// ends normally folds its journal into the undo file; after `kill -9`, a power
    /// cut or a full disk, this command does it: the undo file at --undo is merged
    /// (never shrunk; the first before-value per user and field wins), and applying
    /// it with `genupdate apply` restores every user the run wrote to.
    Recover(RecoverArgs),
    /// Run the built-in Genesys Cloud look-alike server on loopback.
    ///
    /// It serves the login host and the API host on one port, with Genesys' rate
    /// limits, error bodies and optional faults, for rehearsals and tests:
    /// GENESYSCLOUD_REGION=http://127.0.0.1:PORT genupdate apply users.csv
    #[cfg(feature = "sandbox")]
    Sandbox(Box<crate::sandbox::SandboxArgs>),
}

#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The journal file (e.g. undo.csv.journal).
    pub journal: PathBuf,

    /// The undo file to write or merge into.
    #[arg(long, value_name = "FILE")]
    pub undo: PathBuf,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The CSV file to check.
    pub file: PathBuf,

    /// The country of phone and SMS numbers written without a leading + (an ISO 3166
    /// alpha-2 code: US, GB, IE, DE, ...). Without it, such a number is a validation
    /// problem; numbers are sent in E.164 (+13175550142) either way.
    #[arg(long, value_name = "ISO", env = "GENUPDATE_DEFAULT_COUNTRY")]
    pub default_country: Option<String>,

    /// Print the JSON summary on stdout (and nothing else there).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Which column names the user: `id` (the Genesys user id), `email`, `username`
    /// or `employeeId` (the `employerInfo.employeeId` column). Emails and usernames
    /// match in any case, employee ids exactly after trimming. The key column is never
    /// written; every other column is a value to write.
    #[arg(long, value_enum, default_value_t = crate::input::Key::Id)]
    pub key: crate::input::Key,

    /// The cell delimiter: `,` `;` `tab` (or `\t`) or `|`. Without it, genupdate reads
    /// the header line: a `;` or tab that splits it into known column names (where a
    /// comma does not) is the delimiter, else `,`. The report, failed-rows and undo
    /// files are written with the input's delimiter (and a byte-order mark when the
    /// input had one).
    #[arg(long, value_name = "CHAR", value_parser = crate::input::Delimiter::parse)]
    pub delimiter: Option<crate::input::Delimiter>,

    /// Check skill and language names against the built-in sandbox's org (as
    /// `apply --sandbox`).
    #[arg(long, conflicts_with = "region")]
    pub sandbox: bool,

    /// Check skill and language names against this org: a region name, domain, web
    /// app address or base URL (as for apply), with the credentials from the
    /// environment (or --profile). Without it (or --sandbox or --profile), or without
    /// credentials, validate stays offline and says the names were not checked.
    #[arg(long, env = "GENESYSCLOUD_REGION")]
    pub region: Option<String>,

    /// Allow plain http:// to a host that is not loopback (as for apply).
    #[arg(long)]
    pub insecure_allow_http_to_remote_host: bool,

    /// The profile whose org (region and client id) skill and language names are
    /// checked against, as for apply; it must exist (exit 2 listing the known ones
    /// otherwise).
    #[arg(long, value_name = "NAME", env = "GENESYSCLOUD_PROFILE")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The CSV file to apply (see README, "CSV format").
    pub file: PathBuf,

    /// Which column names the user: `id` (the Genesys user id), `email`, `username`
    /// or `employeeId` (the `employerInfo.employeeId` column). Emails and usernames
    /// match in any case, employee ids exactly after trimming. The key column is never
    /// written; every other column is a value to write.
    #[arg(long, value_enum, default_value_t = crate::input::Key::Id)]
    pub key: crate::input::Key,

    /// The country of phone and SMS numbers written without a leading + (an ISO 3166
    /// alpha-2 code: US, GB, IE, DE, ...). Without it, such a number is a validation
    /// problem; numbers are sent in E.164 (+13175550142) either way.
    #[arg(long, value_name = "ISO", env = "GENUPDATE_DEFAULT_COUNTRY")]
    pub default_country: Option<String>,

    /// The cell delimiter: `,` `;` `tab` (or `\t`) or `|`. Without it, genupdate reads
    /// the header line: a `;` or tab that splits it into known column names (where a
    /// comma does not) is the delimiter, else `,`. The report, failed-rows and undo
    /// files are written with the input's delimiter (and a byte-order mark when the
    /// input had one).
    #[arg(long, value_name = "CHAR", value_parser = crate::input::Delimiter::parse)]
    pub delimiter: Option<crate::input::Delimiter>,

    /// Region name (us-east-1, eu-west-1, ...), domain (mypurecloud.ie), the address
    /// of the Genesys web app as copied from a browser (apps.mypurecloud.ie,
    /// https://apps.mypurecloud.ie/directory/#/...; login. and api. work too), or a
    /// base URL (https://api.mypurecloud.com, http://127.0.0.1:8080).
    #[arg(long, env = "GENESYSCLOUD_REGION")]
    pub region: Option<String>,

    /// Region and client id from a profile: `[profiles.NAME]` in genupdate's config
    /// file (GENUPDATE_CONFIG, else genupdate/config.toml in the user's config
    /// directory), else the Genesys gc CLI's ~/.gc/config.toml. The secret still comes
    /// from the environment (GENESYSCLOUD_OAUTHCLIENT_SECRET, or the variable the
    /// profile names in client_secret_env). --region / GENESYSCLOUD_REGION and
    /// GENESYSCLOUD_OAUTHCLIENT_ID win over the profile.
    #[arg(long, value_name = "NAME", env = "GENESYSCLOUD_PROFILE")]
    pub profile: Option<String>,

    /// Also trust the root certificates in this PEM file (for a company proxy or
    /// firewall that inspects TLS). The built-in roots and the operating system's
    /// certificate store are trusted either way.
    #[arg(long, value_name = "PATH", env = "GENUPDATE_CA_FILE")]
    pub ca_file: Option<PathBuf>,

    /// Run against an in-process sandbox seeded with examples/users.csv's users,
    /// with realistic limits, latency and a few faults. No credentials needed.
    /// (Builds without the `sandbox` feature refuse it with a usage error.)
    #[arg(long, conflicts_with = "region")]
    pub sandbox: bool,

    /// Read and diff only: print the plan on stdout in input order (each changed
    /// field as before -> after), then the users per changed field and the estimated
    /// time of the real run at the pace the dry run learned; send no writes at all.
    /// With --output json the plan is in the JSON summary (`plan`).
    #[arg(long)]
    pub dry_run: bool,

    /// Maximum requests in flight. The rate governor, not this, sets the pace;
    /// 8 covers the default 300/min limit at up to ~1.5 s latency.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Requests per minute to start from, instead of reading the org's limit from
    /// /api/v2/organizations/limits/namespaces/platform.api (300 when neither is known).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,

    /// Retries per request (429s, 5xx, timeouts, dropped connections) before the row fails.
    #[arg(long, default_value_t = 8)]
    pub max_retries: u32,

    /// A Retry-After longer than this (seconds) defers that row to the end of the run
    /// instead of pausing everything.
    #[arg(long, default_value_t = 180)]
    pub max_retry_after: u64,

    /// Times a row is re-read and re-sent after a version conflict before it fails
    /// with reason `conflict`.
    #[arg(long, default_value_t = 5)]
    pub max_conflict_retries: u32,

    /// Total timeout of one HTTP request, in seconds (connect timeout is 10 s).
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,

    /// Write the per-row report (CSV: line,id,status,attempts,http_status,message,...,
    /// name, changes as `field: "before" -> "after"; ...`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Write the failed rows, in the input's own format, ready to feed back.
    #[arg(long, value_name = "FILE")]
    pub failed: Option<PathBuf>,

    /// Write an undo file: the previous values of everything this run changed, in the
    /// input's own format. `genupdate apply UNDO` puts the users back.
    #[arg(long, value_name = "FILE")]
    pub undo: Option<PathBuf>,

    /// `json` prints one JSON summary on stdout (and nothing else there), on every
    /// exit path, usage errors included; a dry run's summary carries the plan.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Run lock file. Default: FILE.lock next to the input file, so two runs of the
    /// same file never overlap.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,

    /// Stop sending new rows after this many failed rows (exit 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_errors: Option<u64>,

    /// Stop sending new rows when more than this share of attempted rows failed
    /// (a fraction from 0 to 1: 0.05 for 5%; judged after 20 rows; exit 4).
    #[arg(long, value_name = "P", value_parser = parse_error_rate)]
    pub max_error_rate: Option<f64>,

    /// Stop cleanly at this time: a duration (`45m`, `2h`) or a clock time (`05:30`).
    /// Rows not attempted are marked `skipped` in the report.
    #[arg(long)]
    pub deadline: Option<String>,

    /// Allow plain http:// to a host that is not loopback. Tokens and the client
    /// secret then cross the network unencrypted.
    #[arg(long)]
    pub insecure_allow_http_to_remote_host: bool,

    /// Do not ask `Continue? [y/N]`. On a terminal (stdin and stderr), apply first
    /// reads and diffs every row, shows the API host, the org's name, how many users
    /// will change and the estimated time, and asks; with --yes it shows the same
    /// and goes on. Off a terminal (cron) it never asks and writes as it reads.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Never write more than N users: a guard for cron against a broken export. On
    /// a terminal, a plan that changes more stops before any write; otherwise the
    /// run stops writing when the N+1th user's write would start. Changing rows not
    /// written are `skipped` (reason `max_changes`); exit 1.
    #[arg(long, value_name = "N")]
    pub max_changes: Option<u64>,

    /// Apply only the first N changing rows, a canary before the whole file: the
    /// other changing rows are `skipped` (reason `limit`, in the --failed file to
    /// feed back) and the run exits 0. Unchanged rows cost nothing and still count.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit_rows: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The key column of the export: id, email, username or employeeId.
    #[arg(long, value_enum, default_value_t = crate::input::Key::Id)]
    pub key: crate::input::Key,

    /// The columns to export, comma-separated, named as in apply's header
    /// (title,department,manager,phone:WORK,skill:Billing,employerInfo.employeeId).
    /// Default: every plain profile column. `queues` and `groups` (each user's own
    /// memberships, `;`-separated) are opt-in: they cost one read per 100 members of
    /// every queue or group in the org. `division` and `locations` come with the user
    /// reads (plus one listing of the org's locations); `roles` (each user's own
    /// grants as `Role@Division`) costs one read per user.
    #[arg(long, value_name = "LIST")]
    pub columns: Option<String>,

    /// Export only the users this CSV names (its --key column).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,

    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The cell delimiter of the export (and of the --keys file): `,` `;` `tab` or
    /// `|`. Default: the --keys file's delimiter (guessed from its header), else `,`.
    #[arg(long, value_name = "CHAR", value_parser = crate::input::Delimiter::parse)]
    pub delimiter: Option<crate::input::Delimiter>,

    /// Start the export with a UTF-8 byte-order mark, which Excel needs to read
    /// UTF-8 (non-ASCII names). Implied when the --keys file starts with one.
    #[arg(long)]
    pub bom: bool,

    /// Region name, domain, web app address or base URL (as for apply).
    #[arg(long, env = "GENESYSCLOUD_REGION")]
    pub region: Option<String>,

    /// Region and client id from a profile (as for apply).
    #[arg(long, value_name = "NAME", env = "GENESYSCLOUD_PROFILE")]
    pub profile: Option<String>,

    /// Also trust the root certificates in this PEM file (as for apply).
    #[arg(long, value_name = "PATH", env = "GENUPDATE_CA_FILE")]
    pub ca_file: Option<PathBuf>,

    /// Export from an in-process sandbox (as for apply).
    #[arg(long, conflicts_with = "region")]
    pub sandbox: bool,

    /// Requests per minute to start from (as for apply).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,

    /// Total timeout of one HTTP request, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,

    /// Allow plain http:// to a host that is not loopback.
    #[arg(long)]
    pub insecure_allow_http_to_remote_host: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `--max-error-rate`: a fraction in 0..=1. `5` (meant as 5%) is refused, not read as
/// "500%", which would never stop anything.
fn parse_error_rate(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|_| {
        format!("`{text}` is not a number: the rate is a fraction from 0 to 1, use 0.05 for 5%")
    })?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{text} is outside 0-1: the rate is a fraction, use 0.05 for 5%"
        ))
    }
}

#[cfg(test)]
mod error_rate_tests {
    use super::parse_error_rate;

    #[test]
    fn fractions_from_0_to_1_are_accepted() {
        assert_eq!(parse_error_rate("0"), Ok(0.0));
        assert_eq!(parse_error_rate("0.05"), Ok(0.05));
        assert_eq!(parse_error_rate("1"), Ok(1.0));
    }

    #[test]
    fn percentages_and_non_numbers_are_refused_with_the_hint() {
        for bad in ["5", "-0.1", "1.01", "NaN", "inf", "5%", ""] {
            let err = parse_error_rate(bad).unwrap_err();
            assert!(err.contains("use 0.05 for 5%"), "{bad}: {err}");
        }
    }
}
