//! `genupdate apply`: the main job, from a file name to a summary.
//!
//! The order is the promise: validate the whole file (nothing is sent if any row is
//! wrong), resolve the region and credentials (or start the in-process sandbox), take
//! the run lock, connect (token and the org's rate limit), resolve skill and language
//! names once, then hand the rows to the [`crate::runner`]. Every way out of here
//! produces a [`Summary`], so `--output json` always has something to print.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::ApplyArgs;
use crate::client::{Client, ClientConfig};
use crate::config::{self, Credentials, Endpoints};
use crate::execute::RowContext;
use crate::input;
use crate::report::{Outputs, ReportSink};
use crate::runner::{self, RunnerConfig, Stopper};
#[cfg(feature = "sandbox")]
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::settings::{ApplySettings, Output, Target};

/// Built without the `sandbox` feature there is never a sandbox to run against.
#[cfg(not(feature = "sandbox"))]
pub(crate) enum Sandbox {}

#[cfg(not(feature = "sandbox"))]
impl Sandbox {
    fn url(&self) -> String {
        match *self {}
    }

    pub(crate) async fn shutdown(self) {
        match self {}
    }
}
use crate::secret::Secret;
use crate::summary::{ExitReason, Summary};

pub use crate::outcome::print::print_summary;

/// Credentials as found in the environment, read in one place.
#[derive(Clone, Debug, Default)]
pub struct Env {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub access_token: Option<Secret>,
    /// The value of the variable a profile names in `client_secret_env`.
    pub profile_secret: Option<Secret>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v: &String| !v.is_empty())
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            client_id: var("GENESYSCLOUD_OAUTHCLIENT_ID"),
            client_secret: var("GENESYSCLOUD_OAUTHCLIENT_SECRET").map(Secret::new),
            access_token: var("GENESYSCLOUD_ACCESS_TOKEN").map(Secret::new),
            profile_secret: None,
        }
    }

    /// This environment, with the secret variable the target's profile names read
    /// from the process when it was not given (export and validate, as apply does).
    pub fn with_profile_secret(&self, target: &Target) -> Env {
        Env {
            profile_secret: self
                .profile_secret
                .clone()
                .or_else(|| Env::for_target(target).profile_secret),
            ..self.clone()
        }
    }

    /// The environment, plus the secret variable the target's profile names.
    pub fn for_target(target: &Target) -> Env {
        let profile = match target {
            Target::Org { profile, .. } => profile.as_ref(),
            Target::Sandbox => None,
        };
        Env {
            profile_secret: crate::profile::secret_var(profile)
                .and_then(var)
                .map(Secret::new),
            ..Env::from_process()
        }
    }
}

/// How the run talks to the person or the cron job.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ui {
    pub quiet: bool,
    /// The binary listens for SIGINT/SIGTERM; in-process callers do not.
    pub handle_signals: bool,
    /// stderr carries JSON lines (`--log-format json`): diagnostics go through tracing.
    pub json_logs: bool,
    /// The binary may show the plan and ask when stdin and stderr are terminals;
    /// in-process callers (tests run from a terminal) never block on a question.
    pub may_ask: bool,
}

/// After a deadline or a signal, how long in-flight requests may take before every
/// wait is cancelled.
const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// Grace period for in-flight rows after a stop.
const GRACE: Duration = Duration::from_secs(30);

/// `genupdate apply` from the command line: run, print the summary, pick the exit code.
pub fn apply_command(
    args: &ApplyArgs,
    quiet: bool,
    log_style: crate::settings::LogStyle,
) -> crate::exit::Exit {
    let output: Output = args.output.into();
    let summary = match ApplySettings::resolve(args) {
        Err((reason, msg)) => Summary::early(&args.file.display().to_string(), reason, Some(msg)),
        Ok(settings) => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(apply(
                &settings,
                &Env::for_target(&settings.target),
                Ui {
                    quiet,
                    handle_signals: true,
                    json_logs: log_style == crate::settings::LogStyle::Json,
                    may_ask: true,
                },
            )),
            Err(e) => Summary::early(
                &args.file.display().to_string(),
                ExitReason::Usage,
                Some(format!("cannot start: {e}")),
            ),
        },
    };
    crate::outcome::print::print_summary(&summary, output, quiet);
    summary.exit_reason.exit()
}

/// Run one apply to completion. Never panics on user input or network behaviour.
pub async fn apply(settings: &ApplySettings, env: &Env, ui: Ui) -> Summary {
    let started = Instant::now();
    let file = settings.file.display().to_string();
    let early = |reason, msg: String| Summary::early(&file, reason, Some(msg));
    let stopper = Stopper::new();
    if ui.handle_signals {
        runner::watch_signals(stopper.clone());
    }
    let interrupted = || match stopper.get() {
        Some(runner::Stop::Deadline) => early(
            ExitReason::Deadline,
            "the deadline passed before any row was sent".into(),
        ),
        _ => early(
            ExitReason::Interrupted,
            "interrupted by a signal before any row was sent".into(),
        ),
    };

    // 0. Outputs that would overwrite the input or each other were refused when the
    // flags were resolved (crate::settings), before any work.
    let paths = &settings.paths;

    // 1. The whole file validates before anything else happens. Problems stream to
    // stderr as they are found, so a file of bad rows costs no memory.
    let read_options = settings.read;
    let mut problems = 0u64;
    let row_count = input::validate_path_with_options(&settings.file, &read_options, |p| {
        problems += 1;
        p.emit(&file);
    });
    let row_count = match row_count {
        Ok(n) => n,
        Err(input::InputError::Header { problems, .. }) => {
            for p in &problems {
                p.emit(&file);
            }
            return early(
                ExitReason::InvalidInput,
                format!("{file}: the header is invalid; nothing was sent"),
            );
        }
        Err(e) => return early(ExitReason::Usage, e.to_string()),
    };
    if problems > 0 {
        return early(
            ExitReason::InvalidInput,
            format!(
                "{file}: {problems} problem(s); nothing was sent. Fix them (genupdate validate {file}) and run again."
            ),
        );
    }

    // 2. Where and who.
    let deadline = settings.deadline;
    if let Some(deadline) = deadline {
        // From here on, every phase (token, reads, writes, pauses) ends at the deadline.
        stopper.stop_at(deadline);
    }
    let (endpoints, credentials, sandbox) = match connect_target(&settings.target, env).await {
        Ok(t) => t,
        Err(msg) => return early(ExitReason::Usage, msg),
    };
    if let Some(s) = &sandbox {
        crate::confirm::say(
            &format!(
                "rehearsing against the built-in sandbox at {} (nothing leaves this machine)",
                s.url()
            ),
            ui.json_logs,
        );
    }

    // 3. One run at a time (a dry run writes nothing and needs no lock).
    let _lock = match &paths.lock {
        None => None,
        Some(path) => match crate::lock::acquire(path) {
            Ok(lock) => Some(lock),
            Err(e @ crate::lock::LockError::Held { .. }) => {
                return early(ExitReason::LockHeld, e.to_string());
            }
            Err(e) => return early(ExitReason::Usage, e.to_string()),
        },
    };

    // 4. Token and the org's limit.
    let mut cfg = ClientConfig::new(endpoints, credentials);
    cfg.concurrency = settings.client.concurrency;
    cfg.rate_per_minute = settings.client.rate_per_minute;
    cfg.max_retries = settings.client.max_retries;
    cfg.max_retry_after = settings.client.max_retry_after;
    cfg.request_timeout = settings.client.request_timeout;
    cfg.extra_roots = settings.ca_roots.clone();
    stopper.cancel_on_time_stops(cfg.cancel.clone(), CANCEL_GRACE);
    let client = match Client::new(cfg) {
        Ok(c) => c,
        Err(e) => return early(ExitReason::Aborted, e.to_string()),
    };
    tokio::select! {
        c = client.start() => if let Err(e) = c {
            // The counters say what it cost (a DNS failure: one token request).
            return finish(early(ExitReason::Aborted, e.to_string()), &client, started);
        },
        _ = stopper.stopped() => return finish(interrupted(), &client, started),
    };
    // 4b. Which org: the host, and the name when the token may read it.
    let org_name = crate::confirm::org_name(&client, &stopper).await;
    let api_host = client.api_host();
    let org = crate::confirm::org_line(&api_host, org_name.as_deref());
    let named = |mut s: Summary| {
        s.api_host = Some(api_host.clone());
        s.org_name = org_name.clone();
        s.max_changes = settings.limits.max_changes;
        s.limit_rows = settings.limits.limit_rows;
        s
    };

    // 5. The header's skill and language names, resolved once.
    let (header, rows) = match input::open_with_options(&settings.file, &read_options) {
        Ok(x) => x,
        Err(e) => return early(ExitReason::Usage, e.to_string()),
    };
    let routing = tokio::select! {
        r = crate::routing::resolve_routing(&client, &header, &file) => match r {
            Ok(r) => r,
            Err((reason, msg)) => return finish(early(reason, msg), &client, started),
        },
        _ = stopper.stopped() => return finish(interrupted(), &client, started),
    };

    // 5b. Keys and manager emails resolved, and the reading strategy chosen, once and
    // in bulk, before any write.
    let prepared = tokio::select! {
        r = crate::resolve::prepare(&client, &settings.file, &read_options, &header, row_count, crate::execute::EXPAND) => r,
        _ = stopper.stopped() => return finish(interrupted(), &client, started),
    };
    let (resolution, read_plan) = match prepared {
        Ok(p) => p,
        Err(crate::resolve::PrepareError::Input(msg)) => {
            return finish(early(ExitReason::Usage, msg), &client, started);
        }
        Err(crate::resolve::PrepareError::Api(e)) => {
            return finish(
                early(
                    ExitReason::Aborted,
                    format!(
                        "cannot resolve the file's users before writing: {e}; nothing was sent"
                    ),
                ),
                &client,
                started,
            );
        }
    };
    // 5c. Membership names (queues, groups), resolved once and exactly, before any
    // write: an unknown or ambiguous name stops the run here (exit 3).
    let members = tokio::select! {
        r = crate::members::prepare(&client, &settings.file, &read_options, &header, &resolution, &file) => r,
        _ = stopper.stopped() => return finish(interrupted(), &client, started),
    };
    let members = match members {
        Ok(m) => m,
        Err((reason, msg)) => return finish(early(reason, msg), &client, started),
    };
    if let Some(prepared) = &members {
        if let Some(msg) = crate::guard::refuse_with_memberships(settings.limits) {
            return finish(early(ExitReason::Usage, msg), &client, started);
        }
        let rows: std::collections::HashSet<u64> = prepared.wants.iter().map(|w| w.line).collect();
        tracing::info!(
            "{} rows change memberships (queues, groups, roles, division, locations): those \
             writes run after any prompt, before the profile writes, and are not counted in the plan",
            rows.len()
        );
    }

    // A log line, so `--log-format json` keeps stderr all JSON.
    tracing::info!("{}", describe_reads(&read_plan, row_count));

    if let Some(deadline) = deadline {
        warn_if_deadline_too_close(row_count, client.rate_per_minute(), deadline);
    }

    let mut ctx = RowContext {
        client: client.clone(),
        header,
        routing,
        max_conflict_retries: settings.max_conflict_retries,
        journal: None,
        resolution,
        bulk_reads: Default::default(),
        gate: crate::guard::Gate::new(settings.limits),
        members: None,
    };

    // 5c. Before the first write: on a terminal, the plan (reads only), shown and
    // confirmed; off a terminal (cron), the host and row count in the log.
    use std::io::IsTerminal;
    let interactive = ui.may_ask
        && crate::confirm::interactive(
            std::io::stdin().is_terminal(),
            std::io::stderr().is_terminal(),
            settings.dry_run,
        );
    let (rows, spill, forecast, too_many) = if interactive {
        let reopen = || {
            input::open_with_options(&settings.file, &read_options)
                .map(|(_, rows)| rows)
                .map_err(|e| e.to_string())
        };
        let planned = crate::confirm::plan_and_ask(
            &ctx,
            rows,
            reopen,
            &file,
            row_count,
            &org,
            settings.yes,
            ui.json_logs,
            &stopper,
        )
        .await;
        match planned {
            Ok(p) => (p.rows, Some(p.spill), Some(p.forecast), p.too_many),
            Err(crate::confirm::Halt::Declined(forecast)) => {
                let mut s = named(early(
                    ExitReason::Declined,
                    "declined at the prompt: nothing was written".into(),
                ));
                s.rows = row_count;
                s.forecast = Some(forecast);
                return finish(s, &client, started);
            }
            Err(crate::confirm::Halt::Stopped) => {
                return finish(named(interrupted()), &client, started);
            }
            Err(crate::confirm::Halt::Failed(reason, msg)) => {
                return finish(named(early(reason, msg)), &client, started);
            }
        }
    } else {
        let verb = if settings.dry_run {
            "reading from"
        } else {
            "writing to"
        };
        tracing::info!("{verb} {org}: {file}, {row_count} rows");
        (rows, None, None, None)
    };

    // 6. The rows.
    let outputs = Outputs {
        report: paths.report.clone(),
        failed: paths.failed.clone(),
        undo: paths.undo.clone(),
        journal: paths.journal.clone(),
    };
    ctx.journal = match &paths.journal {
        Some(path) => {
            match crate::journal::Journal::open(path, &settings.file, ctx.header.undo_key()) {
                Ok(j) => Some(Arc::new(j)),
                Err(e) => {
                    return finish(
                        early(ExitReason::Usage, format!("cannot open the journal: {e}")),
                        &client,
                        started,
                    );
                }
            }
        }
        None => None,
    };
    let sink = match ReportSink::create(&outputs, &ctx.header) {
        Ok(s) => s,
        Err(e) => {
            return finish(
                early(
                    ExitReason::Usage,
                    format!("cannot create an output file: {e}"),
                ),
                &client,
                started,
            );
        }
    };
    let json = settings.output == Output::Json;
    let terminal = runner::stderr_is_terminal();
    let rcfg = RunnerConfig {
        concurrency: settings.client.concurrency,
        dry_run: settings.dry_run,
        max_errors: settings.max_errors,
        max_error_rate: settings.max_error_rate,
        grace: GRACE,
        total_rows: row_count,
        progress_bar: terminal && !ui.quiet,
        progress_lines: !terminal && !ui.quiet,
        plan: match (settings.dry_run, json) {
            (false, _) => runner::PlanMode::None,
            (true, false) => runner::PlanMode::Text,
            (true, true) => runner::PlanMode::Json,
        },
    };
    // 6a. Memberships: read, diff, batched writes and confirmation across rows; each
    // row's outcomes wait for its profile result in the collector.
    ctx.members = match &members {
        Some(prepared) => {
            let results = crate::members::run(
                &client,
                prepared,
                ctx.journal.as_deref(),
                settings.dry_run,
                &stopper,
            )
            .await;
            Some(Arc::new(results))
        }
        None => None,
    };
    let ctx = Arc::new(ctx);
    let outcome = runner::run(ctx.clone(), rows, sink, rcfg, stopper, spill).await;

    let mut summary = named(Summary::early(&file, ExitReason::Completed, None));
    summary.forecast = forecast;
    summary.dry_run = settings.dry_run;
    summary.rows = row_count;
    summary.report = paths.report.as_ref().map(|p| p.display().to_string());
    summary.failed_rows = paths.failed.as_ref().map(|p| p.display().to_string());
    summary.undo = paths.undo.as_ref().map(|p| p.display().to_string());
    summary.read_strategy = Some(read_plan.strategy);
    summary.org_users = read_plan.org_users;
    summary.read_requests =
        read_plan.requests + ctx.bulk_reads.load(std::sync::atomic::Ordering::Relaxed);
    match outcome {
        Ok(mut o) => {
            // The memberships' writes, planned across rows, join the estimate.
            if let Some(m) = &ctx.members {
                o.totals.writes += m.planned_writes();
            }
            crate::outcome::print::print_failures(
                &file,
                &o.failures,
                summary.failed_rows.as_deref(),
                summary.report.as_deref(),
            );
            if settings.dry_run {
                crate::outcome::print::plan_end(&mut summary, &o, json, client.rate_per_minute());
            }
            summary.counts = o.counts;
            let (reason, error) = match &o.stop {
                Some(stop) => (stop.exit_reason(), Some(stop.describe())),
                None => {
                    crate::guard::end_of_run(&summary.counts, settings.limits, too_many.clone())
                }
            };
            summary.exit_reason = reason;
            summary.error = error;
        }
        Err(e) => {
            summary.exit_reason = ExitReason::Aborted;
            let recover = paths
                .journal
                .as_ref()
                .filter(|j| j.exists())
                .map(|j| {
                    format!(
                        "; every write's before-values are in {}: `genupdate recover {} --undo FILE` makes an undo file of them",
                        j.display(),
                        j.display()
                    )
                })
                .unwrap_or_default();
            summary.error = Some(format!(
                "cannot write the report or undo file: {e}{recover}"
            ));
        }
    }
    summary.exit_code = summary.exit_reason.exit().code();
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    finish(summary, &client, started)
}

/// Fill in the traffic numbers.
fn finish(mut summary: Summary, client: &Client, started: Instant) -> Summary {
    let stats = client.stats();
    summary.requests = stats.requests;
    summary.too_many_requests = stats.too_many_requests;
    summary.retries = stats.retries;
    summary.token_requests = stats.token_requests;
    summary.rate_limit_per_minute = client.rate_per_minute();
    summary.set_elapsed(started.elapsed());
    summary
}

/// The demo sandbox (`apply --sandbox`) and how to reach it.
#[cfg(feature = "sandbox")]
async fn start_sandbox() -> Result<(Endpoints, Credentials, Option<Sandbox>), String> {
    let cfg = SandboxConfig::demo();
    let credentials = Credentials::ClientCredentials {
        client_id: cfg.client_id.clone(),
        client_secret: crate::secret::Secret::new(cfg.client_secret.expose()),
    };
    let sandbox = Sandbox::start(cfg)
        .await
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    let endpoints = config::resolve_region(&sandbox.url(), false).map_err(|e| e.to_string())?;
    Ok((endpoints, credentials, Some(sandbox)))
}

#[cfg(not(feature = "sandbox"))]
async fn start_sandbox() -> Result<(Endpoints, Credentials, Option<Sandbox>), String> {
    Err(
        "--sandbox is not available: this genupdate was built without the `sandbox` \
         feature (build with default features to get it)"
            .into(),
    )
}

/// The endpoints and credentials to use: the in-process sandbox, or the real org.
pub(crate) async fn connect_target(
    target: &Target,
    env: &Env,
) -> Result<(Endpoints, Credentials, Option<Sandbox>), String> {
    let (region, insecure_http, profile) = match target {
        Target::Sandbox => return start_sandbox().await,
        Target::Org {
            region,
            insecure_http,
            profile,
        } => (region, *insecure_http, profile.as_ref()),
    };
    let region = match (region, profile) {
        (Some(r), _) => r,
        (None, Some(p)) => {
            return Err(format!(
                "profile '{}' ({}) has no region: add region = \"eu-west-1\" (or the web \
                 app's address, apps.mypurecloud.ie) to it, or set --region / GENESYSCLOUD_REGION",
                p.name, p.source
            ));
        }
        (None, None) => return Err(config::ConfigError::NoRegion.to_string()),
    };
    let endpoints = config::resolve_region(region, insecure_http).map_err(|e| match profile {
        Some(p) if p.region.as_deref() == Some(region.as_str()) => {
            format!("profile '{}' ({}): {e}", p.name, p.source)
        }
        _ => e.to_string(),
    })?;
    let credentials = crate::profile::credentials(
        env.client_id.clone(),
        env.client_secret.clone(),
        env.access_token.clone(),
        profile,
        env.profile_secret.clone(),
    )
    .map_err(|e| e.to_string())?;
    Ok((endpoints, credentials, None))
}

/// One line on how the users are read, for stderr.
fn describe_reads(plan: &crate::resolve::ReadPlan, rows: u64) -> String {
    let org = plan
        .org_users
        .map(|n| format!(" (the org has {n} users)"))
        .unwrap_or_default();
    match plan.strategy {
        crate::resolve::Strategy::Scan => format!(
            "reading the whole org once, {} users per request{org}: {rows} rows named a large share of it; {} requests so far",
            crate::resolve::LIST_PAGE,
            plan.requests
        ),
        crate::resolve::Strategy::ById => format!(
            "reading users by id, 100 per request{org}; {} requests before the reads",
            plan.requests
        ),
    }
}

/// Warn when the rows cannot all be sent before the deadline at the known rate.
fn warn_if_deadline_too_close(rows: u64, rate_per_minute: f64, deadline: Instant) {
    let requests = rows as f64 * 1.01 + rows as f64 / 100.0;
    let needed = Duration::from_secs_f64(requests / rate_per_minute.max(1.0) * 60.0);
    let left = deadline.saturating_duration_since(Instant::now());
    if needed > left {
        tracing::warn!(
            "the deadline is in {:.0} min but {rows} rows may need up to {:.0} min at {:.0} requests/min; rows not reached will be skipped",
            left.as_secs_f64() / 60.0,
            needed.as_secs_f64() / 60.0,
            rate_per_minute
        );
    }
}
