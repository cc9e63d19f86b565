//! Before the first write: say which org the run is about to change, and on a
//! terminal show the plan and ask `Continue? [y/N]`.
//!
//! The decisions (is this an interactive run, is this answer a yes, what the lines
//! say) are pure and tested here; reading the answer is the only I/O.

use std::io::Write;

use crate::client::Client;
use crate::execute::RowContext;
use crate::guard::{Limits, Verdict, eta, human, verdict};
use crate::input::RowReader;
use crate::prepass::{Forecast, PrePassError, Spill, plan_first};
use crate::report::Reason;
use crate::runner::Stopper;
use crate::summary::ExitReason;

/// The org's name (`GET /api/v2/organizations/me`). Its permission is not documented:
/// a 403, or any other error, only drops the name.
pub async fn org_name(client: &Client, stopper: &Stopper) -> Option<String> {
    let read = tokio::select! {
        r = client.organization() => r,
        _ = stopper.stopped() => return None,
    };
    match read {
        Ok(org) => org.name.filter(|n| !n.trim().is_empty()),
        Err(e) => {
            tracing::debug!("the org's name could not be read (it is only shown): {e}");
            None
        }
    }
}

/// How an interactive run goes on after the plan.
pub struct Planned {
    /// The rows again, for the write pass.
    pub rows: RowReader,
    pub spill: Spill,
    pub forecast: Forecast,
    /// The plan changes more users than `--max-changes`: nothing may be written.
    pub too_many: Option<String>,
}

/// Why an interactive run writes nothing at all.
pub enum Halt {
    /// Answered no (or nothing) at the prompt.
    Declined(Forecast),
    /// Ctrl-C or the deadline while planning or asking.
    Stopped,
    /// The plan could not be computed.
    Failed(ExitReason, String),
}

/// Everything an interactive run does before its first write: compute the plan
/// (reads only), show it, and ask unless `yes`. A plan over `--max-changes` is not
/// asked about: the gate is closed and the write pass skips every changing row.
#[allow(clippy::too_many_arguments)]
pub async fn plan_and_ask(
    ctx: &RowContext,
    rows: RowReader,
    reopen: impl FnOnce() -> Result<RowReader, String>,
    file: &str,
    row_count: u64,
    org: &str,
    yes: bool,
    json_logs: bool,
    stopper: &Stopper,
) -> Result<Planned, Halt> {
    let limits = ctx.gate.limits();
    say(
        &format!("reading and diffing {row_count} rows before any write ..."),
        json_logs,
    );
    let (forecast, spill) = match plan_first(ctx, rows, limits, stopper).await {
        Ok(x) => x,
        Err(PrePassError::Stopped) => return Err(Halt::Stopped),
        Err(PrePassError::Api(e)) => {
            return Err(Halt::Failed(
                ExitReason::Aborted,
                format!("cannot read the users to plan the run: {e}; nothing was sent"),
            ));
        }
        Err(PrePassError::Io(msg)) => {
            return Err(Halt::Failed(
                ExitReason::Aborted,
                format!("{msg}; nothing was sent"),
            ));
        }
    };
    let rate = ctx.client.rate_per_minute();
    for line in describe(file, row_count, org, &forecast, limits, rate) {
        say(&line, json_logs);
    }
    let rows = reopen().map_err(|e| Halt::Failed(ExitReason::Usage, e))?;
    let too_many = match verdict(forecast.changing, limits) {
        Verdict::TooMany { changing, max } => {
            ctx.gate.close(Reason::MaxChanges);
            let why = format!(
                "the plan changes {changing} users, more than --max-changes {max}: nothing was \
                 written (check the file; raise --max-changes if it is right)"
            );
            say(&why, json_logs);
            Some(why)
        }
        Verdict::Write(0) => {
            say("nothing to write", json_logs);
            None
        }
        Verdict::Write(_) if yes => None,
        Verdict::Write(_) => match ask(json_logs, stopper).await {
            None => return Err(Halt::Stopped),
            Some(false) => return Err(Halt::Declined(forecast)),
            Some(true) => None,
        },
    };
    Ok(Planned {
        rows,
        spill,
        forecast,
        too_many,
    })
}

/// The plan is computed first and shown (and, without `--yes`, a question asked)
/// only when a person is there to read it: stdin and stderr are terminals. A dry run
/// is already only a plan.
pub fn interactive(stdin_terminal: bool, stderr_terminal: bool, dry_run: bool) -> bool {
    stdin_terminal && stderr_terminal && !dry_run
}

/// `y` and `yes`, in any case and with spaces around, are a yes; anything else
/// (an empty line, end of input, `n`, `yeah`) is a no.
pub fn is_yes(answer: &str) -> bool {
    let a = answer.trim();
    a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes")
}

/// `api.mypurecloud.ie (org "Acme Prod")`, or the host alone when the name could not
/// be read.
pub fn org_line(host: &str, org_name: Option<&str>) -> String {
    match org_name {
        Some(name) => format!("{host} (org {name:?})"),
        None => format!("{host} (the org's name could not be read)"),
    }
}

/// What is shown before the question.
pub fn describe(
    file: &str,
    rows: u64,
    org: &str,
    f: &Forecast,
    limits: Limits,
    rate_per_minute: f64,
) -> Vec<String> {
    let mut lines = vec![
        format!("about to write to {org}"),
        format!(
            "{file}: {rows} rows: {} users will change, {} unchanged, {} failing",
            f.changing, f.unchanged, f.failing
        ),
    ];
    if f.to_write < f.changing
        && let Some(n) = limits.limit_rows
    {
        lines.push(format!(
            "--limit-rows {n}: only the first {} of them are written, the other {} are skipped",
            f.to_write,
            f.changing - f.to_write
        ));
    }
    if f.to_write > 0 {
        lines.push(format!(
            "estimated time: {} ({} write requests at {:.0} requests/min)",
            human(eta(f.write_requests, rate_per_minute)),
            f.write_requests,
            rate_per_minute
        ));
    }
    lines
}

/// Diagnostics for the person at the terminal: plain lines, or log lines when
/// stderr carries JSON (`--log-format json`).
pub fn say(line: &str, json_logs: bool) {
    if json_logs {
        tracing::info!("{line}");
    } else {
        eprintln!("genupdate: {line}");
    }
}

/// Ask `Continue? [y/N]` on stderr and read one line of stdin. `None`: the run was
/// stopped (Ctrl-C) while waiting.
pub async fn ask(json_logs: bool, stopper: &Stopper) -> Option<bool> {
    if json_logs {
        tracing::warn!("Continue? [y/N] (answer on stdin)");
    } else {
        eprint!("Continue? [y/N] ");
        let _ = std::io::stderr().flush();
    }
    // A plain thread, not spawn_blocking: a read that never returns (Ctrl-C at the
    // prompt) must not hold the runtime open at exit.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let answer = match std::io::stdin().read_line(&mut line) {
            Ok(_) => is_yes(&line),
            Err(_) => false,
        };
        let _ = tx.send(answer);
    });
    tokio::select! {
        answer = rx => Some(answer.unwrap_or(false)),
        _ = stopper.stopped() => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_person_at_a_terminal_is_asked() {
        let table = [
            ((true, true, false), true),
            ((true, true, true), false),
            ((false, true, false), false),
            ((true, false, false), false),
            ((false, false, false), false),
        ];
        for ((stdin, stderr, dry), want) in table {
            assert_eq!(
                interactive(stdin, stderr, dry),
                want,
                "{stdin} {stderr} {dry}"
            );
        }
    }

    #[test]
    fn only_y_and_yes_are_a_yes() {
        for yes in ["y", "Y", "yes", "YES", " yes \n", "y\r\n"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yeah", "ye", "y es", "sure", "1"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }

    #[test]
    fn the_plan_lines_name_the_org_the_counts_and_the_time() {
        let f = Forecast {
            changing: 120,
            unchanged: 1100,
            failing: 14,
            write_requests: 10,
            to_write: 10,
        };
        let limits = Limits {
            max_changes: None,
            limit_rows: Some(10),
        };
        let org = org_line("api.mypurecloud.ie", Some("Acme Prod"));
        let lines = describe("users.csv", 1234, &org, &f, limits, 300.0);
        assert_eq!(
            lines,
            [
                "about to write to api.mypurecloud.ie (org \"Acme Prod\")",
                "users.csv: 1234 rows: 120 users will change, 1100 unchanged, 14 failing",
                "--limit-rows 10: only the first 10 of them are written, the other 110 are skipped",
                "estimated time: 2 s (10 write requests at 300 requests/min)",
            ]
        );
        assert_eq!(
            org_line("127.0.0.1:8080", None),
            "127.0.0.1:8080 (the org's name could not be read)"
        );
    }
}
