//! The end-of-run summary: counts by status, traffic, time and why the run ended.
//! Printed as text on stderr, or as one JSON object on stdout with `--output json`
//! on every exit path, so cron wrappers can always parse what happened.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::exit::Exit;
use crate::report::Status;

/// Why the run ended, for scripts (`exit_reason` in the JSON summary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    Completed,
    RowsFailed,
    InvalidInput,
    Usage,
    Aborted,
    /// Writes were refused (403) in several divisions and none succeeded: the OAuth
    /// client's role lacks a permission. Exit code of an abort.
    Permission,
    /// Requests timed out one after another: the API is unreachable (exit 4).
    Unreachable,
    ErrorBudget,
    Deadline,
    Interrupted,
    LockHeld,
    /// `--max-changes` stopped the writes: changing rows beyond it were skipped, or
    /// (with the plan computed first) none was written. Exit 1.
    MaxChanges,
    /// Only `--limit-rows` changing rows were applied, as asked; the rest were skipped
    /// with reason `limit`. Exit 0.
    Limit,
    /// Answered no at `Continue? [y/N]`: nothing was written. Exit 0.
    Declined,
}

impl ExitReason {
    pub fn exit(self) -> Exit {
        match self {
            ExitReason::Completed | ExitReason::Limit | ExitReason::Declined => Exit::Success,
            ExitReason::RowsFailed | ExitReason::Deadline | ExitReason::MaxChanges => {
                Exit::RowsFailed
            }
            ExitReason::InvalidInput => Exit::InvalidInput,
            ExitReason::Usage => Exit::Usage,
            ExitReason::Aborted
            | ExitReason::Permission
            | ExitReason::Unreachable
            | ExitReason::ErrorBudget => Exit::Aborted,
            ExitReason::Interrupted => Exit::Interrupted,
            ExitReason::LockHeld => Exit::Locked,
        }
    }
}

/// Row counts by status and by failure reason.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    pub updated: u64,
    pub unchanged: u64,
    pub planned: u64,
    pub failed: u64,
    pub skipped: u64,
    /// Failed and skipped rows by reason (not_found, conflict, ...).
    pub reasons: BTreeMap<String, u64>,
}

impl Counts {
    pub fn add(&mut self, status: Status, reason: Option<crate::report::Reason>) {
        match status {
            Status::Updated => self.updated += 1,
            Status::Unchanged => self.unchanged += 1,
            Status::Planned => self.planned += 1,
            Status::Failed => self.failed += 1,
            Status::Skipped => self.skipped += 1,
        }
        if let Some(reason) = reason {
            *self.reasons.entry(reason.as_str().to_string()).or_default() += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.updated + self.unchanged + self.planned + self.failed + self.skipped
    }

    /// Rows that were tried (not skipped).
    pub fn attempted(&self) -> u64 {
        self.total() - self.skipped
    }
}

/// Everything the summary says.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub file: String,
    pub exit_code: u8,
    pub exit_reason: ExitReason,
    /// A sentence for humans when the run did not complete normally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub dry_run: bool,
    pub rows: u64,
    #[serde(flatten)]
    pub counts: Counts,
    pub requests: u64,
    pub too_many_requests: u64,
    pub retries: u64,
    /// Requests to the login host's token endpoint (not in `requests`).
    pub token_requests: u64,
    pub elapsed_seconds: f64,
    /// Requests per minute achieved over the run.
    pub achieved_rate_per_minute: f64,
    /// The pace the governor ended at (requests per minute).
    pub rate_limit_per_minute: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_rows: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<String>,
    /// How users were read: `by_id` (100 per request) or `scan` (the whole org).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_strategy: Option<crate::resolve::Strategy>,
    /// The org's size, when the first page of the listing was read to choose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_users: Option<u64>,
    /// Requests spent reading and resolving users (search, scan, bulk reads).
    pub read_requests: u64,
    /// The API host the run talked to (`api.mypurecloud.ie`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_host: Option<String>,
    /// The org's name from `GET /api/v2/organizations/me`, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    /// `--max-changes`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_changes: Option<u64>,
    /// `--limit-rows`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_rows: Option<u64>,
    /// The plan computed before the first write (interactive runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast: Option<crate::prepass::Forecast>,
    /// Dry run: users per changed column, in header order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_totals: Option<Vec<crate::outcome::FieldTotal>>,
    /// Dry run: the requests the real run would send (its writes and the same reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_requests: Option<u64>,
    /// Dry run: how long those requests take at the pace this run learned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_seconds: Option<f64>,
    /// Dry run with `--output json`: the plan, one JSON object a line, printed as the
    /// summary's last field `plan` (kept in a file, not in memory).
    #[serde(skip)]
    pub plan: Option<std::sync::Arc<std::fs::File>>,
}

impl Summary {
    /// A summary for a run that ended before any row was processed.
    pub fn early(file: &str, reason: ExitReason, error: Option<String>) -> Summary {
        Summary {
            file: file.to_string(),
            exit_code: reason.exit().code(),
            exit_reason: reason,
            error,
            dry_run: false,
            rows: 0,
            counts: Counts::default(),
            requests: 0,
            too_many_requests: 0,
            retries: 0,
            token_requests: 0,
            elapsed_seconds: 0.0,
            achieved_rate_per_minute: 0.0,
            rate_limit_per_minute: 0.0,
            report: None,
            failed_rows: None,
            undo: None,
            read_strategy: None,
            org_users: None,
            read_requests: 0,
            api_host: None,
            org_name: None,
            max_changes: None,
            limit_rows: None,
            forecast: None,
            plan_totals: None,
            estimated_requests: None,
            estimated_seconds: None,
            plan: None,
        }
    }

    pub fn set_elapsed(&mut self, elapsed: Duration) {
        self.elapsed_seconds = elapsed.as_secs_f64();
        self.achieved_rate_per_minute = rate_per_minute(self.requests, elapsed);
    }

    /// The text form, several lines, for stderr.
    pub fn render_text(&self) -> String {
        let c = &self.counts;
        let mut out = String::new();
        let verb = if self.dry_run {
            "planned (dry run)"
        } else {
            "updated"
        };
        let done = if self.dry_run { c.planned } else { c.updated };
        out.push_str(&format!(
            "{}: {} rows: {done} {verb}, {} unchanged, {} failed, {} skipped\n",
            self.file, self.rows, c.unchanged, c.failed, c.skipped
        ));
        if !c.reasons.is_empty() {
            let reasons: Vec<String> = c.reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out.push_str(&format!("  reasons: {}\n", reasons.join(", ")));
        }
        out.push_str(&format!(
            "  {} requests, {} retries, {} rate-limited (429), {:.1} s, {:.0} requests/min (limit {:.0}/min)\n",
            self.requests,
            self.retries,
            self.too_many_requests,
            self.elapsed_seconds,
            self.achieved_rate_per_minute,
            self.rate_limit_per_minute
        ));
        if let Some(strategy) = self.read_strategy {
            let how = match strategy {
                crate::resolve::Strategy::Scan => "whole-org scan",
                crate::resolve::Strategy::ById => "by id",
            };
            out.push_str(&format!(
                "  reads: {how}, {} requests{}\n",
                self.read_requests,
                self.org_users
                    .map(|n| format!(" (org of {n} users)"))
                    .unwrap_or_default()
            ));
        }
        for (what, path) in [
            ("report", &self.report),
            ("failed rows", &self.failed_rows),
            ("undo file", &self.undo),
        ] {
            if let Some(path) = path {
                out.push_str(&format!("  {what}: {path}\n"));
            }
        }
        if let Some(host) = &self.api_host {
            let org = self
                .org_name
                .as_ref()
                .map(|n| format!(" (org {n:?})"))
                .unwrap_or_default();
            out.push_str(&format!("  org: {host}{org}\n"));
        }
        if let Some(error) = &self.error {
            let what = match self.exit_reason {
                ExitReason::Declined | ExitReason::Limit => "note",
                _ => "stopped",
            };
            out.push_str(&format!("  {what}: {error}\n"));
        }
        out
    }
}

/// Requests per minute over `elapsed` (0 for an instant run).
pub fn rate_per_minute(requests: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        0.0
    } else {
        requests as f64 * 60.0 / secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_reasons_map_to_the_documented_codes() {
        assert_eq!(ExitReason::Completed.exit().code(), 0);
        assert_eq!(ExitReason::RowsFailed.exit().code(), 1);
        assert_eq!(ExitReason::Deadline.exit().code(), 1);
        assert_eq!(ExitReason::Usage.exit().code(), 2);
        assert_eq!(ExitReason::InvalidInput.exit().code(), 3);
        assert_eq!(ExitReason::ErrorBudget.exit().code(), 4);
        assert_eq!(ExitReason::LockHeld.exit().code(), 5);
        assert_eq!(ExitReason::Interrupted.exit().code(), 130);
        assert_eq!(ExitReason::MaxChanges.exit().code(), 1);
        assert_eq!(ExitReason::Limit.exit().code(), 0);
        assert_eq!(ExitReason::Declined.exit().code(), 0);
    }

    #[test]
    fn the_json_summary_names_the_org_and_the_guard() {
        let mut s = Summary::early("users.csv", ExitReason::MaxChanges, None);
        s.api_host = Some("api.mypurecloud.ie".into());
        s.org_name = Some("Acme".into());
        s.max_changes = Some(10);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["exit_reason"], "max_changes");
        assert_eq!(v["api_host"], "api.mypurecloud.ie");
        assert_eq!(v["org_name"], "Acme");
        assert_eq!(v["max_changes"], 10);
        assert!(v.get("limit_rows").is_none());
        assert!(
            s.render_text()
                .contains("org: api.mypurecloud.ie (org \"Acme\")")
        );
    }

    #[test]
    fn counts_add_up_and_keep_reasons() {
        let mut c = Counts::default();
        c.add(Status::Updated, None);
        c.add(Status::Failed, Some(crate::report::Reason::NotFound));
        c.add(Status::Skipped, Some(crate::report::Reason::Deadline));
        assert_eq!((c.total(), c.attempted()), (3, 2));
        assert_eq!(c.reasons["not_found"], 1);
    }

    #[test]
    fn the_json_summary_flattens_counts_and_names_the_exit_reason() {
        let s = Summary::early(
            "users.csv",
            ExitReason::LockHeld,
            Some("held by pid 7".into()),
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["exit_reason"], "lock_held");
        assert_eq!(v["exit_code"], 5);
        assert_eq!(v["updated"], 0);
    }

    #[test]
    fn rate_is_per_minute_and_zero_for_no_time() {
        assert_eq!(rate_per_minute(10, Duration::from_secs(30)), 20.0);
        assert_eq!(rate_per_minute(10, Duration::ZERO), 0.0);
    }
}
