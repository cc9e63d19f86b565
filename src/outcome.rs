//! What a run shows of its outcome without any flag: the first failed rows with where
//! the full list is, the dry-run plan in input order with totals per field and an
//! estimate of the real run, and the before -> after text of a row's changes.
//!
//! Everything here is pure formatting and bookkeeping with bounded memory (the first
//! [`SHOWN_FAILURES`] failed rows, one count per changed column, a reorder buffer
//! capped at [`REORDER_CAP`] entries); printing is the caller's.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::report::{RowResult, Status};

pub mod print;

/// Failed rows printed at the end of a run; the rest are counted.
pub const SHOWN_FAILURES: usize = 20;

/// Rows the plan printer holds back waiting for an earlier row (a row deferred by a
/// long Retry-After) before it prints what it holds out of order.
pub const REORDER_CAP: usize = 1_000;

/// One changed field of a row: the report's `changes`, the plan's lines, the JSON plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Index into the header's columns (the totals' order).
    #[serde(skip)]
    pub column: usize,
    /// The header name (`title`, `phone:WORK`, `skill:Billing`).
    pub field: String,
    /// The value before, as a CSV cell; empty when there was none.
    pub before: String,
    /// The value after; empty when cleared.
    pub after: String,
    /// A membership change, as the plan writes it (`+Support`, `-Agent@Sales`,
    /// `Home -> Sales`): shown instead of before -> after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Shown but not a change (a role grant inherited through a group): left out of
    /// the totals.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub kept: bool,
}

impl FieldChange {
    pub fn of(c: &crate::plan::Change) -> FieldChange {
        FieldChange {
            column: c.column,
            field: c.field.clone(),
            before: c.before.clone(),
            after: c.after.clone(),
            op: None,
            kept: false,
        }
    }

    /// One membership change of a row (`queues: +Support`). Its totals come after
    /// the header's columns, one per family.
    pub fn membership(family: crate::input::Family, op: String) -> FieldChange {
        let rank = crate::input::Family::ALL
            .iter()
            .position(|f| *f == family)
            .unwrap_or(0);
        FieldChange {
            column: usize::MAX - crate::input::Family::ALL.len() + rank,
            field: family.header().to_string(),
            before: String::new(),
            after: String::new(),
            op: Some(op),
            kept: false,
        }
    }

    /// What a membership column leaves alone, shown in the plan beside its changes.
    pub fn kept(family: crate::input::Family, what: String) -> FieldChange {
        FieldChange {
            kept: true,
            ..FieldChange::membership(family, what)
        }
    }
}

/// A value for a human: `(empty)` for none, else quoted with control and invisible
/// characters escaped, so `; ` and ` -> ` inside a value cannot be misread.
pub fn show(v: &str) -> String {
    if v.is_empty() {
        "(empty)".into()
    } else {
        format!("{v:?}")
    }
}

/// `field: before -> after`.
pub fn describe_change(c: &FieldChange) -> String {
    if let Some(op) = &c.op {
        return format!("{}: {op}", c.field);
    }
    format!("{}: {} -> {}", c.field, show(&c.before), show(&c.after))
}

/// Every change of a row on one line, `; `-separated (the report's `changes` cell).
pub fn describe_changes(changes: &[FieldChange]) -> String {
    changes
        .iter()
        .map(describe_change)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Text for one line of a terminal or a log: control characters escaped.
fn one_line(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.chars()
            .flat_map(|c| {
                if c.is_control() {
                    c.escape_default().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect()
    } else {
        s.to_string()
    }
}

/// A failed row as it is shown at the end of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRow {
    pub line: u64,
    pub reason: String,
    pub message: String,
    pub correlation_id: Option<String>,
}

impl FailedRow {
    /// `FILE:LINE: reason: message`.
    pub fn render(&self, file: &str) -> String {
        format!(
            "{file}:{}: {}: {}",
            self.line,
            self.reason,
            one_line(&self.message)
        )
    }
}

/// The failed rows with the lowest input lines, at most `limit`, and how many failed
/// in all: memory stays flat however many rows fail, and what is shown does not
/// depend on which row happened to finish first.
#[derive(Clone, Debug)]
pub struct FirstFailures {
    limit: usize,
    kept: BTreeMap<u64, FailedRow>,
    total: u64,
}

impl Default for FirstFailures {
    fn default() -> Self {
        FirstFailures::new(SHOWN_FAILURES)
    }
}

impl FirstFailures {
    pub fn new(limit: usize) -> FirstFailures {
        FirstFailures {
            limit,
            kept: BTreeMap::new(),
            total: 0,
        }
    }

    /// Look at one result; only `failed` rows count (skipped rows were not tried).
    pub fn observe(&mut self, r: &RowResult) {
        if r.status != Status::Failed {
            return;
        }
        self.total += 1;
        let row = FailedRow {
            line: r.line,
            reason: r.reason.map(|x| x.as_str()).unwrap_or("failed").to_string(),
            message: r.message.clone(),
            correlation_id: r.correlation_id.clone(),
        };
        self.kept.insert(r.seq, row);
        if self.kept.len() > self.limit {
            self.kept.pop_last();
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept rows, in input order.
    pub fn rows(&self) -> impl Iterator<Item = &FailedRow> {
        self.kept.values()
    }

    /// The closing line: where every failed row is, or how to get the list.
    pub fn where_all(&self, failed: Option<&str>, report: Option<&str>) -> Option<String> {
        if self.total == 0 {
            return None;
        }
        let shown = self.kept.len() as u64;
        let head = if self.total > shown {
            format!("{} failed rows, the first {shown} shown", self.total)
        } else if self.total == 1 {
            "1 failed row".to_string()
        } else {
            format!("{} failed rows", self.total)
        };
        Some(match (failed, report) {
            (Some(f), _) => format!(
                "{head}; all of them are in {f} (with skipped rows), ready to fix and apply again: genupdate apply {f}"
            ),
            (None, Some(r)) => format!(
                "{head}; the report {r} has every row with its reason, HTTP status and correlation id"
            ),
            (None, None) => format!(
                "{head}; to keep the list, run again with --failed FILE (rows already applied come back unchanged) or --report FILE"
            ),
        })
    }
}

/// Puts results back in input order with bounded memory: rows come in almost in
/// order (a batch's key failures first, a deferred row at the end); a row held back
/// longer than `cap` entries lets the rest through out of order.
#[derive(Debug)]
pub struct Reorder<T> {
    next: u64,
    cap: usize,
    pending: BTreeMap<u64, Option<T>>,
}

impl<T> Reorder<T> {
    pub fn new(cap: usize) -> Reorder<T> {
        Reorder {
            next: 0,
            cap,
            pending: BTreeMap::new(),
        }
    }

    /// Row `seq` is done (`None`: it has nothing to show). Returns what may go out now.
    pub fn push(&mut self, seq: u64, item: Option<T>) -> Vec<T> {
        let mut out = Vec::new();
        if seq < self.next {
            // Its place was given up (see `cap`): it goes out as it comes.
            out.extend(item);
            return out;
        }
        self.pending.insert(seq, item);
        self.release(&mut out);
        out
    }

    fn release(&mut self, out: &mut Vec<T>) {
        loop {
            match self.pending.first_key_value() {
                Some((&seq, _)) if seq == self.next => {}
                Some((&seq, _)) if self.pending.len() > self.cap => self.next = seq,
                _ => return,
            }
            if let Some((_, item)) = self.pending.pop_first() {
                out.extend(item);
            }
            self.next += 1;
        }
    }

    /// Whatever is still held, in order (the end of the run).
    pub fn finish(&mut self) -> Vec<T> {
        std::mem::take(&mut self.pending)
            .into_values()
            .flatten()
            .collect()
    }
}

/// How many users each column changes in a dry run, and what the real run would cost.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanTotals {
    /// Column index -> (header name, users).
    pub fields: BTreeMap<usize, (String, u64)>,
    /// Rows that would change.
    pub users: u64,
    /// Write requests the real run would send (not counting reads).
    pub writes: u64,
}

/// One column's total, for the JSON summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldTotal {
    pub field: String,
    pub users: u64,
}

impl PlanTotals {
    pub fn observe(&mut self, r: &RowResult) {
        if r.status != Status::Planned {
            return;
        }
        self.users += 1;
        self.writes += u64::from(r.planned_writes);
        // Users per column: a row adding two queues counts once for `queues`.
        let mut seen = std::collections::HashSet::new();
        for c in r
            .changes
            .iter()
            .filter(|c| !c.kept && seen.insert(c.column))
        {
            self.fields
                .entry(c.column)
                .or_insert_with(|| (c.field.clone(), 0))
                .1 += 1;
        }
    }

    pub fn list(&self) -> Vec<FieldTotal> {
        self.fields
            .values()
            .map(|(field, users)| FieldTotal {
                field: field.clone(),
                users: *users,
            })
            .collect()
    }

    /// `title: 120 users, phone:WORK: 80 users` in header order.
    pub fn render_fields(&self) -> String {
        self.fields
            .values()
            .map(|(f, n)| format!("{f}: {n} {}", if *n == 1 { "user" } else { "users" }))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How long `requests` take at `rate_per_minute` (the pace the run learned).
pub fn eta(requests: u64, rate_per_minute: f64) -> Duration {
    if requests == 0 {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(requests as f64 * 60.0 / rate_per_minute.max(1.0))
}

/// `45 s`, `12 min 30 s`, `2 h 05 min`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64().ceil() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 if s.is_multiple_of(60) => format!("{} min", s / 60),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600).div_ceil(60).min(59)),
    }
}

/// The plan's closing lines: totals per field and the estimate of the real run.
pub fn render_plan_end(totals: &PlanTotals, rows: u64, reads: u64, rate_per_minute: f64) -> String {
    let mut out = format!(
        "plan: {} of {rows} rows would change a user\n",
        totals.users
    );
    if !totals.fields.is_empty() {
        out.push_str(&format!("  {}\n", totals.render_fields()));
    }
    let requests = totals.writes + reads;
    out.push_str(&format!(
        "  the real run: about {} ({}, {}), {} at {:.0} requests/min\n",
        plural(requests, "request"),
        plural(totals.writes, "write"),
        plural(reads, "read"),
        human_duration(eta(requests, rate_per_minute)),
        rate_per_minute
    ));
    out
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The plan's text for one row (`None` when it has nothing to show: unchanged or
/// skipped). Changing rows show every field as `before -> after`.
pub fn render_plan_row(r: &RowResult) -> Option<String> {
    match r.status {
        Status::Planned => {
            let mut out = format!("line {}  {}  {}", r.line, r.id, one_line(&r.name));
            for c in &r.changes {
                out.push_str(&format!("\n    {}", describe_change(c)));
            }
            Some(out)
        }
        // A failed row, and one `--max-changes` / `--limit-rows` holds back.
        Status::Failed | Status::Skipped => Some(format!(
            "line {}  {}  {}: {}",
            r.line,
            r.id,
            r.reason.map(|x| x.as_str()).unwrap_or(r.status.as_str()),
            one_line(&r.message)
        )),
        _ => None,
    }
}

/// One row of the JSON plan (`--dry-run --output json`).
#[derive(Debug, Serialize)]
pub struct PlanRow<'a> {
    pub line: u64,
    pub id: &'a str,
    pub name: &'a str,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub message: &'a str,
    pub changes: &'a [FieldChange],
}

/// The JSON plan's entry for a row (`None` for unchanged rows).
pub fn plan_row(r: &RowResult) -> Option<PlanRow<'_>> {
    (r.status != Status::Unchanged).then(|| PlanRow {
        line: r.line,
        id: &r.id,
        name: &r.name,
        status: r.status,
        reason: r.reason.map(|x| x.as_str()),
        message: if r.status == Status::Planned {
            ""
        } else {
            &r.message
        },
        changes: &r.changes,
    })
}

#[cfg(test)]
mod tests;
