//! Printing the outcome: the dry-run plan while the run goes (text on stdout with the
//! progress bar suspended around each row, or JSON lines spilled to a temporary file
//! for the JSON summary), the first failed rows on stderr at the end, the dry run's
//! closing totals, and the summary itself (JSON on stdout, or text on stderr).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

use indicatif::ProgressBar;

use super::{FirstFailures, REORDER_CAP, Reorder, plan_row, render_plan_row};
use crate::report::RowResult;
use crate::runner::PlanMode;
use crate::settings::{LogStyle, Output};
use crate::summary::Summary;

/// The dry-run plan on its way out, in input order.
pub struct PlanOut {
    mode: PlanMode,
    order: Reorder<String>,
    /// JSON mode: the spill file (`None` once it failed: the plan is then left out).
    spill: Option<BufWriter<File>>,
}

impl PlanOut {
    pub fn new(mode: PlanMode) -> PlanOut {
        let spill = match mode {
            PlanMode::Json => match tempfile::tempfile() {
                Ok(f) => Some(BufWriter::new(f)),
                Err(e) => {
                    tracing::warn!(
                        "cannot create a temporary file for the JSON plan ({e}); the summary \
                         will not carry the plan"
                    );
                    None
                }
            },
            _ => None,
        };
        PlanOut {
            mode,
            order: Reorder::new(REORDER_CAP),
            spill,
        }
    }

    /// One row's result, in any order.
    pub fn push(&mut self, r: &RowResult, bar: Option<&ProgressBar>) {
        let item = match self.mode {
            PlanMode::None => return,
            PlanMode::Text => render_plan_row(r),
            PlanMode::Json => plan_row(r).and_then(|row| serde_json::to_string(&row).ok()),
        };
        let ready = self.order.push(r.seq, item);
        self.emit(ready, bar);
    }

    fn emit(&mut self, ready: Vec<String>, bar: Option<&ProgressBar>) {
        if ready.is_empty() {
            return;
        }
        match self.mode {
            PlanMode::None => {}
            PlanMode::Text => {
                let print = || {
                    let mut out = io::stdout().lock();
                    for text in &ready {
                        // A closed stdout (`| head`) must not end the run.
                        let _ = writeln!(out, "{text}");
                    }
                    let _ = out.flush();
                };
                // The bar is cleared while the lines print and drawn again after,
                // so no bar is left inside the plan on a terminal.
                match bar {
                    Some(bar) => bar.suspend(print),
                    None => print(),
                }
            }
            PlanMode::Json => {
                let failed = match &mut self.spill {
                    Some(f) => ready
                        .iter()
                        .try_for_each(|line| writeln!(f, "{line}"))
                        .err(),
                    None => None,
                };
                if let Some(e) = failed {
                    tracing::warn!(
                        "cannot write the JSON plan to a temporary file ({e}); the summary \
                         will not carry the plan"
                    );
                    self.spill = None;
                }
            }
        }
    }

    /// Print what is still held; the JSON plan's file, rewound, when there is one.
    pub fn finish(mut self, bar: Option<&ProgressBar>) -> Option<File> {
        let rest = self.order.finish();
        self.emit(rest, bar);
        let mut file = self.spill.take()?.into_inner().ok()?;
        file.seek(SeekFrom::Start(0)).ok()?;
        Some(file)
    }
}

/// Write `summary` (one JSON object, on one line) with the spilled plan as its last
/// field `plan`: the summary's own fields stay as they are.
pub fn write_json_with_plan(
    out: &mut impl Write,
    summary_json: &str,
    plan: &File,
) -> io::Result<()> {
    let head = summary_json.strip_suffix('}').unwrap_or(summary_json);
    write!(out, "{head},\"plan\":[")?;
    let mut rewound: &File = plan;
    rewound.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::new(rewound);
    let mut first = true;
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 {
        let entry = line.trim_end();
        if !entry.is_empty() {
            if !first {
                out.write_all(b",")?;
            }
            out.write_all(entry.as_bytes())?;
            first = false;
        }
        line.clear();
    }
    writeln!(out, "]}}")
}

/// The first failed rows, then where the rest are: plain `FILE:LINE: reason: message`
/// lines on stderr, or JSON log lines with `--log-format json`. Printed with `--quiet`
/// too: failures are not chatter.
pub fn print_failures(
    file: &str,
    failures: &FirstFailures,
    failed_path: Option<&str>,
    report_path: Option<&str>,
) {
    let Some(closing) = failures.where_all(failed_path, report_path) else {
        return;
    };
    match crate::logging::style() {
        LogStyle::Json => {
            for row in failures.rows() {
                tracing::warn!(
                    file,
                    line = row.line,
                    reason = %row.reason,
                    correlation_id = row.correlation_id.as_deref().unwrap_or(""),
                    "{}",
                    row.render(file)
                );
            }
            tracing::warn!(failed_rows = failures.total(), "{closing}");
        }
        LogStyle::Text => {
            let mut err = io::stderr().lock();
            for row in failures.rows() {
                let _ = writeln!(err, "{}", row.render(file));
            }
            let _ = writeln!(err, "genupdate: {closing}");
        }
    }
}

/// Print the summary: JSON on stdout with `--output json`, text on stderr otherwise.
pub fn print_summary(summary: &Summary, output: Output, quiet: bool) {
    match output {
        Output::Json => match serde_json::to_string(summary) {
            Ok(json) => {
                let written = match &summary.plan {
                    Some(plan) => crate::outcome::print::write_json_with_plan(
                        &mut std::io::stdout().lock(),
                        &json,
                        plan,
                    ),
                    None => writeln!(std::io::stdout().lock(), "{json}"),
                };
                if let Err(e) = written {
                    eprintln!("genupdate: cannot write the JSON summary: {e}");
                }
            }
            Err(e) => eprintln!("genupdate: cannot write the JSON summary: {e}"),
        },
        // With --log-format json stderr stays JSON lines: the text goes out as a log line.
        Output::Text => {
            let json_log = crate::logging::style() == crate::settings::LogStyle::Json;
            if let Some(error) = &summary.error
                && summary.rows == 0
            {
                if json_log {
                    tracing::error!(exit_reason = ?summary.exit_reason, "{error}");
                } else {
                    eprintln!("genupdate: {error}");
                }
            } else if !quiet {
                let text = summary.render_text();
                if json_log {
                    tracing::info!(exit_code = summary.exit_code, "{}", text.trim_end());
                } else {
                    eprint!("{text}");
                }
            }
        }
    }
}

/// The dry run's closing: totals per field and the estimate of the real run, as text
/// on stdout after the plan, or in the JSON summary with the plan itself.
pub fn plan_end(
    summary: &mut Summary,
    o: &crate::runner::RunOutcome,
    json: bool,
    rate_per_minute: f64,
) {
    let requests = o.totals.writes + summary.read_requests;
    if json {
        summary.plan_totals = Some(o.totals.list());
        summary.estimated_requests = Some(requests);
        summary.estimated_seconds =
            Some(crate::outcome::eta(requests, rate_per_minute).as_secs_f64());
        summary.plan = o
            .plan_json
            .as_ref()
            .and_then(|f| f.try_clone().ok())
            .map(std::sync::Arc::new);
    } else {
        let text = crate::outcome::render_plan_end(
            &o.totals,
            summary.rows,
            summary.read_requests,
            rate_per_minute,
        );
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}
