//! Memberships (queues, groups, and the families built on this core): planned across
//! rows, written in batches per target, confirmed by re-reading member lists.
//!
//! Profile fields are one user's business and go row by row through
//! [`crate::runner`]. Memberships are not: the API writes up to 100 members of one
//! queue (50 of one group) per call, so the cheap way is across rows. The phase runs
//! after names are resolved and before the row pool, in five steps:
//!
//! 1. [`prepare`] (before any write): the file's list cells are collected (only rows
//!    that have one: memory follows the memberships touched, not the file) and every
//!    name is resolved once, exactly; an unknown or ambiguous name stops the run
//!    (exit 3) naming FILE:LINE:COLUMN and the value, with a "did you mean".
//! 2. [`run`] reads current state: the member lists of every target involved (paged
//!    until empty), and for a replace cell the user's own list.
//! 3. [`model::diff`] decides the changes (pure); [`batch::batches`] groups them per
//!    target and direction at the API's limit (pure).
//! 4. Each batch is journalled ahead (the inverse operation, as an undo cell) and
//!    sent; a 400 naming members is re-sent without them, a 403 fails the batch's
//!    rows for that target. Each target's list is read again once after its writes:
//!    a change is `Landed` only when that read shows it. Queue members added but not
//!    joined are joined (`PATCH`, asynchronous) and read until joined, boundedly.
//! 5. The runner's collector folds each row's [`Outcome`]s into its profile result
//!    ([`outcome::merge`]), so a row is still one report line.
//!
//! The phase sends one request at a time (the shared pace sets the speed; the runner
//! stays the only place with concurrency). Family-specific I/O is in [`family`].

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;

use crate::client::{ApiError, Client};
use crate::input::{self, Cell, Column, Family, Header, ListOp, ReadOptions, Value, lists};
use crate::journal::Journal;
use crate::report::Reason;
use crate::runner::{Stop, Stopper};
use crate::summary::ExitReason;

pub mod batch;
pub mod division;
pub mod export;
pub mod family;
pub mod locations;
pub mod lookup;
pub mod model;
pub mod names;
pub mod outcome;
pub mod personal;
pub mod roles;
pub mod writes;

pub use model::{Change, Ending, Failure, Op, Outcome, Target, Want};

/// What [`prepare`] found: the rows' wants and every name resolved.
#[derive(Debug, Default)]
pub struct Prepared {
    pub wants: Vec<Want>,
    /// Per family, name -> target.
    pub targets: HashMap<Family, HashMap<String, Target>>,
    /// Lookups sent.
    pub requests: u64,
}

/// Each row's outcomes, by input line, until the collector takes them.
#[derive(Debug, Default)]
pub struct Results {
    by_line: Mutex<HashMap<u64, Vec<Outcome>>>,
    /// Dry run: the write requests the real run would send for the planned changes.
    planned_writes: std::sync::atomic::AtomicU64,
}

impl Results {
    /// Dry run: `n` more write requests the real run would send.
    fn plan_writes(&self, n: u64) {
        self.planned_writes
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Dry run: the write requests the real run would send for the memberships (one
    /// per batch for queues and groups; per user for roles, division and locations).
    pub fn planned_writes(&self) -> u64 {
        self.planned_writes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn push(&self, o: Outcome) {
        let mut map = self.by_line.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(o.op.line).or_default().push(o);
    }

    /// Take a row's outcomes (the collector merges them into the row's result).
    pub fn take(&self, line: u64) -> Vec<Outcome> {
        let mut map = self.by_line.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&line).unwrap_or_default()
    }

    /// A row's outcomes without taking them (the dry-run plan lines).
    pub fn peek(&self, line: u64) -> Vec<Outcome> {
        let map = self.by_line.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&line).cloned().unwrap_or_default()
    }

    /// Every outcome (tests and the summary).
    pub fn all(&self) -> Vec<Outcome> {
        let map = self.by_line.lock().unwrap_or_else(|e| e.into_inner());
        map.values().flatten().cloned().collect()
    }
}

/// Whether the header has any membership column.
pub fn in_header(header: &Header) -> bool {
    header
        .columns
        .iter()
        .any(|c| matches!(c, Column::Member(..)))
}

/// Collect the file's list cells and resolve every name, before any write. `None`
/// when the file has no list column. An unknown or ambiguous name is printed as
/// `FILE:LINE:COLUMN: ...` on stderr and stops the run with exit 3.
pub async fn prepare(
    client: &Client,
    path: &Path,
    options: &ReadOptions,
    header: &Header,
    resolution: &crate::resolve::Resolution,
    file: &str,
) -> Result<Option<Prepared>, (ExitReason, String)> {
    if !in_header(header) {
        return Ok(None);
    }
    let (_, rows) =
        input::open_with_options(path, options).map_err(|e| (ExitReason::Usage, e.to_string()))?;
    let mut prepared = Prepared::default();
    // (family, name) -> where it first appears, for messages.
    let mut first_seen: HashMap<(Family, String), (u64, String)> = HashMap::new();
    for row in rows {
        let Ok(mut row) = row else { continue };
        if resolution.apply(&mut row).is_err() {
            // The row fails on its key; its memberships are never planned.
            continue;
        }
        for (i, (column, cell)) in header.columns.iter().zip(&row.cells).enumerate() {
            let Column::Member(family, op) = column else {
                continue;
            };
            let names = match cell {
                Cell::Keep => continue,
                Cell::Clear => Vec::new(),
                Cell::Set(Value::Text(text)) => lists::parse(text).unwrap_or_default(),
                Cell::Set(_) => continue,
            };
            for n in &names {
                first_seen
                    .entry((*family, n.clone()))
                    .or_insert_with(|| (row.line, header.names[i].clone()));
            }
            prepared.wants.push(Want {
                line: row.line,
                user: row.id.to_ascii_lowercase(),
                family: *family,
                op: *op,
                names,
            });
        }
    }
    let mut by_family: HashMap<Family, BTreeSet<String>> = HashMap::new();
    for (family, name) in first_seen.keys() {
        by_family.entry(*family).or_default().insert(name.clone());
    }
    let mut problems = Vec::new();
    for family in Family::ALL {
        let Some(wanted) = by_family.get(&family) else {
            continue;
        };
        let (found, requests) = names::resolve(client, family, wanted).await.map_err(|e| {
            (
                ExitReason::Aborted,
                format!(
                    "cannot look up {} names before writing: {e}; nothing was sent",
                    family.noun()
                ),
            )
        })?;
        prepared.requests += requests;
        let mut targets = HashMap::new();
        for (name, lookup) in found {
            match lookup {
                names::Lookup::Found(t) => {
                    targets.insert(name, t);
                }
                names::Lookup::Problem(message) => {
                    let (line, column) = first_seen
                        .get(&(family, name.clone()))
                        .cloned()
                        .unwrap_or((1, family.header().to_string()));
                    problems.push((line, column, message));
                }
            }
        }
        prepared.targets.insert(family, targets);
    }
    if problems.is_empty() {
        return Ok(Some(prepared));
    }
    problems.sort();
    for (line, column, message) in &problems {
        let p = input::Problem {
            line: *line,
            column: Some(column.clone()),
            message: message.clone(),
        };
        p.emit(file);
    }
    Err((
        ExitReason::InvalidInput,
        format!(
            "{file}: {} unknown or ambiguous name(s) in list columns; nothing was sent",
            problems.len()
        ),
    ))
}

/// Read, diff, write in batches, confirm. Writes nothing when `dry_run`.
pub async fn run(
    client: &Client,
    prepared: &Prepared,
    journal: Option<&Journal>,
    dry_run: bool,
    stopper: &Stopper,
) -> Results {
    let results = Results::default();
    let mut phase = family::Phase::new(client, stopper, &results);
    let empty = HashMap::new();
    for fam in Family::ALL {
        let wants: Vec<&Want> = prepared.wants.iter().filter(|w| w.family == fam).collect();
        if wants.is_empty() {
            continue;
        }
        let targets = prepared.targets.get(&fam).unwrap_or(&empty);
        if personal::is_personal(fam) {
            let ctx = personal::Ctx {
                client,
                journal,
                dry_run,
                stopper,
                results: &results,
            };
            personal::run(&ctx, fam, &wants, targets).await;
            continue;
        }
        // The users' own lists, for replace cells.
        let mut current: HashMap<String, Vec<(String, String)>> = HashMap::new();
        let replacing: BTreeSet<&str> = wants
            .iter()
            .filter(|w| w.op == ListOp::Replace)
            .map(|w| w.user.as_str())
            .collect();
        if !replacing.is_empty() {
            current = phase.current_lists(fam, &replacing, &wants).await;
        }
        // Every target involved, read once.
        let mut involved: BTreeSet<String> = BTreeSet::new();
        for w in &wants {
            involved.extend(
                w.names
                    .iter()
                    .filter_map(|n| targets.get(n))
                    .map(|t| t.id.clone()),
            );
            if let Some(c) = current.get(&w.user) {
                involved.extend(c.iter().map(|(id, _)| id.clone()));
            }
        }
        let lists = phase.read_lists(fam, &involved).await;
        let mut ops = Vec::new();
        for w in &wants {
            let mine = current.get(&w.user).map(Vec::as_slice).unwrap_or(&[]);
            if w.op == ListOp::Replace && !current.contains_key(&w.user) {
                continue; // its read failed: already reported
            }
            for d in model::diff(w, targets, &lists.members, mine) {
                match d {
                    model::Decision::Write(op) => match lists.failed.get(&op.target) {
                        Some(f) => results.push(Outcome {
                            op,
                            ending: Ending::Failed(f.clone()),
                            note: None,
                        }),
                        None => ops.push(op),
                    },
                    model::Decision::Refuse(op, _) => {
                        // Name the group: the queue listing does not say which one,
                        // so the user's groups are read (only when this happens).
                        let groups = phase.groups_of(&op.user).await;
                        let t = targets
                            .values()
                            .find(|t| t.id == op.target)
                            .cloned()
                            .unwrap_or_default();
                        let message = model::by_group_of(&t, &groups);
                        results.push(Outcome {
                            op,
                            ending: Ending::Failed(Failure {
                                reason: Some(Reason::Rejected),
                                message,
                                ..Failure::default()
                            }),
                            note: None,
                        })
                    }
                }
            }
        }
        if dry_run {
            results.plan_writes(family::batches_of(ops.clone()));
            for op in ops {
                results.push(Outcome {
                    op,
                    ending: Ending::Planned,
                    note: None,
                });
            }
            continue;
        }
        let by_id: HashMap<String, Target> = targets
            .values()
            .map(|t| (t.id.clone(), t.clone()))
            .collect();
        phase.write(fam, ops, &by_id, journal).await;
    }
    let all = results.all();
    let count = |f: fn(&Ending) -> bool| all.iter().filter(|o| f(&o.ending)).count();
    // A log line, so `--log-format json` keeps stderr all JSON.
    tracing::info!(
        "memberships: {} change(s) {}, {} failed, {} not sent, {} lookup(s)",
        count(|e| matches!(e, Ending::Planned | Ending::Landed)),
        if dry_run { "planned" } else { "confirmed" },
        count(|e| matches!(e, Ending::Failed(_))),
        count(|e| matches!(e, Ending::Skipped(_))),
        prepared.requests
    );
    results
}

/// The reason and message for a request about `target` that failed.
pub fn failure(e: &ApiError, family: Family, target: &Target, stopper: &Stopper) -> Failure {
    let reason = match e {
        ApiError::Forbidden { .. } => Reason::Forbidden,
        ApiError::Rejected { status: 404, .. } => Reason::NotFound,
        ApiError::Rejected { .. } => Reason::Rejected,
        ApiError::Conflict { .. } => Reason::Conflict,
        ApiError::Timeout { .. } => Reason::Timeout,
        ApiError::Deferred { .. } => Reason::RateLimited,
        ApiError::Exhausted {
            status: Some(429), ..
        } => Reason::RateLimited,
        ApiError::Exhausted { .. } | ApiError::Uncertain { .. } => Reason::ServerError,
        ApiError::Cancelled { .. } => match stopper.get() {
            Some(Stop::Deadline) => Reason::Deadline,
            _ => Reason::Interrupted,
        },
        ApiError::Fatal(f) => {
            stopper.stop(Stop::Fatal(f.to_string()));
            Reason::Aborted
        }
    };
    let permission = match (reason, family) {
        (Reason::Forbidden, Family::Queues) => {
            " (the OAuth client's role needs routing:queue:edit or routing:queueMember:manage \
             in the queue's division)"
        }
        (Reason::Forbidden, Family::Groups) => {
            " (the OAuth client's role needs directory:group:edit in the group's division)"
        }
        (Reason::Forbidden, Family::Roles) => {
            " (the OAuth client's role needs authorization:grant:add to add grants and \
             authorization:grant:delete to remove them; authorization:grant:view to read them)"
        }
        (Reason::Forbidden, Family::Locations) => {
            " (the OAuth client's role needs directory:user:edit in the user's division)"
        }
        _ => "",
    };
    Failure {
        reason: Some(reason),
        message: format!("{} '{}': {e}{permission}", family.noun(), target.name),
        http_status: e.status(),
        code: e.code().map(str::to_string),
        correlation_id: e.correlation_id().map(str::to_string),
        division: target.division.clone(),
    }
}
