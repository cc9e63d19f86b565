//! Carrying out one row: complete the read, plan, write, confirm, and on a version
//! conflict or a lost response re-read the user and plan again.
//!
//! A row is `updated` only for what the server confirmed: every PATCH answer (the
//! full `User`) is planned against again, and a column the row set that still
//! differs was not applied, whatever the status code said. Expanded parts are best
//! effort in bulk reads, so a part the row needs and the read lacks is read on its
//! own before anything is decided from it; deleted users are not found.
//!
//! Every write is guarded by the version just read, so a blind resend can never
//! overwrite another integration's change: after a 409 (or the 400 "does not match
//! the current version") or a dropped connection, the user is read again and the row
//! is re-diffed, so a change that already landed is not written twice and fields the
//! row does not name are never sent. This is sequential per row; concurrency lives in
//! [`crate::runner`].

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value as Json;

use crate::client::{ApiError, Client, Fatal, Replay, Request, encode};
use crate::input::{Header, Row};
use crate::model::{ProficiencyUpdate, User};
use crate::outcome::FieldChange;
use crate::plan::{Change, Plan, Refusal, RoutingIds, RoutingKind, RoutingWrite, plan};
use crate::report::{Reason, RowResult, Status};

/// What the bulk and single reads ask the API to include.
pub const EXPAND: &[&str] = &["skills", "languages", "employerInfo"];

/// Skill and language bulk writes take at most this many entries.
pub const ROUTING_CHUNK: usize = crate::plan::ROUTING_CHUNK as usize;

/// Shared, read-only context of a run's rows.
pub struct RowContext {
    pub client: Client,
    pub header: Header,
    pub routing: RoutingIds,
    /// Re-reads after version conflicts or lost responses before the row fails.
    pub max_conflict_retries: u32,
    /// Before-values are recorded here before each write; `None` writes nothing
    /// ahead (dry runs, and tests of the row logic alone).
    pub journal: Option<std::sync::Arc<crate::journal::Journal>>,
    /// Keys and manager emails resolved up front, and the users a scan read.
    pub resolution: crate::resolve::Resolution,
    /// Bulk reads by id the runner sent.
    pub bulk_reads: std::sync::atomic::AtomicU64,
    /// The membership phase's outcomes, merged into each row's result by the
    /// runner's collector (`None`: the file has no list column).
    pub members: Option<std::sync::Arc<crate::members::Results>>,
    /// `--max-changes` and `--limit-rows`: a row's writes start only with a slot.
    pub gate: crate::guard::Gate,
}

/// How a row ended.
#[derive(Debug)]
pub enum RowEnd {
    Done(RowResult),
    /// A Retry-After longer than the maximum: run this row again after `until`,
    /// carrying on from `progress` (writes that already landed stay in its undo).
    Deferred {
        row: Row,
        seq: u64,
        until: Instant,
        progress: Progress,
    },
    /// The run must stop (credentials, permissions, unreachable API).
    Fatal(RowResult, Fatal),
    /// The before-values could not be recorded: nothing more may be written.
    Halt(RowResult, String),
}

/// Why a write round did not finish.
enum Interrupt {
    /// The user changed under us, or we lost the response: re-read and re-plan.
    Reread,
    Error(ApiError),
    /// The journal refused the before-values; the write was not sent.
    Unrecorded(String),
}

/// Per-row bookkeeping across write rounds, and across a deferral.
#[derive(Debug, Default)]
pub struct Progress {
    attempts: u32,
    last_status: Option<u16>,
    correlation_id: Option<String>,
    /// Column -> undo cell, recorded when a write for that column is known to have landed.
    undo: BTreeMap<usize, String>,
    /// Changes of a write whose response was lost: landed if a re-read shows them.
    uncertain: Vec<Change>,
    /// Changes answered 2xx that the server did not apply: (change, value it kept).
    not_applied: Vec<(Change, String)>,
    /// The user's division as read.
    division: Option<String>,
    /// The user's name as first read.
    name: Option<String>,
    /// Column -> before (the first) and after (the last) of each change that landed.
    changes: BTreeMap<usize, FieldChange>,
    /// Writes that timed out (and were re-read): a row that runs out of rounds
    /// this way failed for an outage, not a conflict.
    timeouts: u32,
}

impl Progress {
    fn landed(&mut self, header: &Header, changes: &[Change]) {
        for c in changes {
            self.undo
                .entry(c.column)
                .or_insert_with(|| c.undo_cell(&header.columns[c.column]));
            self.changes
                .entry(c.column)
                .and_modify(|f| f.after = c.after.clone())
                .or_insert_with(|| FieldChange::of(c));
        }
    }

    fn count(&mut self, attempts: u32, status: Option<u16>, correlation_id: Option<String>) {
        self.attempts += attempts;
        if status.is_some() {
            self.last_status = status;
        }
        if correlation_id.is_some() {
            self.correlation_id = correlation_id;
        }
    }
}

/// Apply one row. `user` is the user as read by the bulk read (`None`: not found);
/// `resume` is the progress of a deferred row coming back, which starts with a fresh
/// single read. `admitted`: the row already holds a slot of [`RowContext::gate`]
/// (the runner took it in file order from the plan computed first); otherwise the
/// row takes one before its first write, or is skipped (`max_changes`, `limit`).
pub async fn apply_row(
    ctx: &RowContext,
    seq: u64,
    row: Row,
    user: Option<User>,
    resume: Option<Progress>,
    admitted: bool,
) -> RowEnd {
    #[cfg(debug_assertions)]
    inject_panic(row.line);
    let reread = resume.is_some();
    // A deferred row coming back already wrote, or at least took its slot.
    let mut admitted = admitted || reread;
    let mut p = resume.unwrap_or_default();
    let mut user = match (user, reread) {
        (Some(u), false) if u.is_deleted() => return RowEnd::Done(deleted(seq, &row, &p)),
        (Some(u), false) => u,
        // Missing from the bulk read (or unreadable there): confirmed by a single
        // GET before it is called not found.
        (None, _) | (_, true) => match read(ctx, &row, &mut p).await {
            Ok(Some(u)) => u,
            Ok(None) => return RowEnd::Done(not_found(seq, &row, &p)),
            Err(e) => return fail(ctx, seq, row, p, e),
        },
    };
    let mut rounds = 0;
    loop {
        p.division = user.division_id().map(str::to_string);
        if p.name.is_none() {
            p.name = user.name.clone();
        }
        match complete(ctx, &row, &mut user).await {
            Ok(n) => p.count(n, None, None),
            Err(Incomplete::Api(e)) => return fail(ctx, seq, row, p, e),
            Err(Incomplete::Missing(what)) => {
                return RowEnd::Done(incomplete(seq, &row, &ctx.header, p, what));
            }
        }
        let plan = match plan(&ctx.header, &row, &user, &ctx.routing) {
            Ok(plan) => plan,
            Err(refusal) => return RowEnd::Done(refused(seq, &row, &ctx.header, p, &refusal)),
        };
        if !p.uncertain.is_empty() {
            // A lost response: whatever the new plan no longer needs has landed.
            let pending = std::mem::take(&mut p.uncertain);
            let still: Vec<usize> = plan.changes().iter().map(|c| c.column).collect();
            let landed: Vec<Change> = pending
                .into_iter()
                .filter(|c| !still.contains(&c.column))
                .collect();
            p.landed(&ctx.header, &landed);
        }
        if plan.is_empty() {
            return RowEnd::Done(done(seq, &row, &ctx.header, p));
        }
        if !admitted {
            if let Err(reason) = ctx.gate.try_start() {
                let mut r = unfinished_result(seq, &row, &ctx.header, p, Status::Skipped);
                r.reason = Some(reason);
                r.message = ctx.gate.limits().message(reason);
                return RowEnd::Done(r);
            }
            admitted = true;
        }
        match execute(ctx, &row, &mut user, &plan, &mut p).await {
            Ok(()) => return RowEnd::Done(done(seq, &row, &ctx.header, p)),
            Err(Interrupt::Error(e)) => return fail(ctx, seq, row, p, e),
            Err(Interrupt::Unrecorded(why)) => {
                let mut r = unfinished_result(seq, &row, &ctx.header, p, Status::Failed);
                r.reason = Some(Reason::Aborted);
                r.message = format!("not sent: {why}");
                return RowEnd::Halt(r, why);
            }
            Err(Interrupt::Reread) => {
                rounds += 1;
                if rounds > ctx.max_conflict_retries && p.timeouts > 0 {
                    let mut r = unfinished_result(seq, &row, &ctx.header, p, Status::Failed);
                    r.reason = Some(Reason::Timeout);
                    r.message = "the API did not answer the write in time (it may have landed; \
                                 the journal holds its before-values): re-run the row"
                        .into();
                    return RowEnd::Done(r);
                }
                if rounds > ctx.max_conflict_retries {
                    let mut r = result(seq, &row, &p, Status::Failed);
                    r.reason = Some(Reason::Conflict);
                    r.message = format!(
                        "the user kept changing under us: still in conflict after {} re-reads; re-run the row",
                        ctx.max_conflict_retries
                    );
                    return RowEnd::Done(r);
                }
                match read(ctx, &row, &mut p).await {
                    Ok(Some(u)) => user = u,
                    Ok(None) => return RowEnd::Done(not_found(seq, &row, &p)),
                    Err(e) => return fail(ctx, seq, row, p, e),
                }
            }
        }
    }
}

/// Fault injection for the tests of a worker panic (debug builds only): panic on the
/// row at the line `GENUPDATE_FAULT_PANIC_LINE` names.
#[cfg(debug_assertions)]
fn inject_panic(line: u64) {
    let want = std::env::var("GENUPDATE_FAULT_PANIC_LINE")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    if want == Some(line) {
        panic!("injected panic on line {line} (GENUPDATE_FAULT_PANIC_LINE)");
    }
}

/// Why a user's read could not be completed.
pub enum Incomplete {
    Api(ApiError),
    /// The part (`skills`, `languages`, `employerInfo`) that stayed missing.
    Missing(&'static str),
}

/// Expanded parts are best effort: read each part the row needs and the read lacks
/// on its own (skills and languages from their per-user endpoints, employerInfo
/// from a single GET with expand). Missing is not empty. Returns the requests made.
pub async fn complete(ctx: &RowContext, row: &Row, user: &mut User) -> Result<u32, Incomplete> {
    let needs = Needs::of(&ctx.header, row);
    let mut requests = 0;
    if needs.skills && user.skills.is_none() {
        requests += 1;
        user.skills = Some(
            ctx.client
                .get_user_skills(&user.id)
                .await
                .map_err(Incomplete::Api)?,
        );
    }
    if needs.languages && user.languages.is_none() {
        requests += 1;
        user.languages = Some(
            ctx.client
                .get_user_languages(&user.id)
                .await
                .map_err(Incomplete::Api)?,
        );
    }
    if needs.employer && user.employer_info.is_none() {
        requests += 1;
        let single = ctx
            .client
            .get_user(&user.id, &["employerInfo"])
            .await
            .map_err(Incomplete::Api)?;
        user.employer_info = single.employer_info;
        if user.employer_info.is_none() {
            return Err(Incomplete::Missing("employerInfo"));
        }
    }
    Ok(requests)
}

/// Which expanded parts a row's cells depend on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub skills: bool,
    pub languages: bool,
    pub employer: bool,
}

impl Needs {
    pub fn of(header: &Header, row: &Row) -> Needs {
        use crate::input::{Cell, Column, ProfileField as F};
        let mut n = Needs::default();
        for (column, cell) in header.columns.iter().zip(&row.cells) {
            if *cell == Cell::Keep {
                continue;
            }
            match column {
                Column::Skill(_) => n.skills = true,
                Column::Language(_) => n.languages = true,
                Column::Profile(
                    F::OfficialName | F::EmployeeId | F::EmployeeType | F::DateHire,
                ) => n.employer = true,
                _ => {}
            }
        }
        n
    }
}

/// One write round: profile PATCH, state PATCH, skills, languages, in that order.
async fn execute(
    ctx: &RowContext,
    row: &Row,
    user: &mut User,
    plan: &Plan,
    p: &mut Progress,
) -> Result<(), Interrupt> {
    let id = row.id.as_str();
    if !plan.profile.is_empty() {
        record(ctx, row, plan.profile_changes.iter())?;
        let mut body = plan.profile.clone();
        body.insert("version".into(), Json::from(user.version));
        patch(ctx, row, user, Json::Object(body), &plan.profile_changes, p).await?;
    }
    if let Some((state, change)) = &plan.state {
        record(ctx, row, std::iter::once(change))?;
        let body = serde_json::json!({ "state": state.wire(), "version": user.version });
        patch(ctx, row, user, body, std::slice::from_ref(change), p).await?;
    }
    for kind in [RoutingKind::Skill, RoutingKind::Language] {
        let writes: Vec<&RoutingWrite> = plan.routing.iter().filter(|w| w.kind == kind).collect();
        let sets: Vec<&RoutingWrite> = writes
            .iter()
            .copied()
            .filter(|w| w.proficiency.is_some())
            .collect();
        for chunk in sets.chunks(ROUTING_CHUNK) {
            record(ctx, row, chunk.iter().map(|w| &w.change))?;
            let body: Vec<ProficiencyUpdate> = chunk
                .iter()
                .map(|w| ProficiencyUpdate {
                    id: w.id.clone(),
                    proficiency: w.proficiency.unwrap_or_default(),
                })
                .collect();
            let sent = match kind {
                RoutingKind::Skill => ctx.client.patch_user_skills(id, &body).await,
                RoutingKind::Language => ctx.client.patch_user_languages(id, &body).await,
            };
            let listed = match sent {
                Ok(listed) => listed,
                Err(e) => return Err(Interrupt::Error(e)),
            };
            // Confirm from the list the answer carries: a proficiency it does not
            // show was not applied.
            let (ok, kept): (Vec<&RoutingWrite>, Vec<&RoutingWrite>) =
                chunk.iter().partition(|w| match &listed {
                    None => true,
                    Some(list) => list
                        .iter()
                        .any(|s| s.id == w.id && Some(s.proficiency) == w.proficiency),
                });
            for w in kept {
                let now = listed
                    .as_deref()
                    .and_then(|l| l.iter().find(|s| s.id == w.id))
                    .map(|s| crate::plan::fmt_prof(Some(s.proficiency)))
                    .unwrap_or_default();
                p.not_applied.push((w.change.clone(), now));
            }
            step(ctx, Ok(()), &ok, p)?;
        }
        for w in writes.iter().filter(|w| w.proficiency.is_none()) {
            record(ctx, row, std::iter::once(&w.change))?;
            let sent = match kind {
                RoutingKind::Skill => ctx.client.delete_user_skill(id, &w.id).await,
                RoutingKind::Language => ctx.client.delete_user_language(id, &w.id).await,
            };
            step(ctx, sent, std::slice::from_ref(w), p)?;
        }
    }
    Ok(())
}

/// Write the before-values of `changes` to the journal; the write may go only then.
fn record<'a>(
    ctx: &RowContext,
    row: &Row,
    changes: impl Iterator<Item = &'a Change>,
) -> Result<(), Interrupt> {
    let Some(journal) = &ctx.journal else {
        return Ok(());
    };
    let before: Vec<_> = changes
        .filter_map(|c| {
            let column = ctx.header.columns.get(c.column)?;
            Some((c.field.clone(), c.before_value(column)?))
        })
        .collect();
    journal.record(row.line, &row.id, before).map_err(|e| {
        Interrupt::Unrecorded(format!(
            "cannot record the before-values ({e}); no further write is sent"
        ))
    })
}

async fn patch(
    ctx: &RowContext,
    row: &Row,
    user: &mut User,
    body: Json,
    changes: &[Change],
    p: &mut Progress,
) -> Result<(), Interrupt> {
    let path = format!("/api/v2/users/{}", encode(&row.id));
    let sent_employer = body.get("employerInfo").is_some();
    let sent = ctx
        .client
        .send(Request::patch(path, body, Replay::Guarded))
        .await;
    let answer = match sent {
        // A 2xx is a landed write even when its body cannot be read (HTML from a
        // proxy, no `version`): re-read the user and decide from what it holds.
        Ok(r) => match r.json::<User>() {
            Ok(u) => Ok((u, r.attempts, r.correlation_id, r.status)),
            Err(_) => {
                p.count(r.attempts, Some(r.status), r.correlation_id);
                p.uncertain.extend(changes.iter().cloned());
                return Err(Interrupt::Reread);
            }
        },
        Err(e) => Err(e),
    };
    match answer {
        Ok((mut updated, attempts, correlation_id, status)) => {
            p.count(attempts, Some(status), correlation_id);
            // The PATCH answer carries no expanded parts: skills and languages are
            // not touched by it; employerInfo, when sent, is confirmed by a read.
            updated.skills = user.skills.take();
            updated.languages = user.languages.take();
            if updated.employer_info.is_none() {
                if sent_employer {
                    match ctx.client.get_user(&row.id, &["employerInfo"]).await {
                        Ok(u) => {
                            p.count(1, Some(200), None);
                            updated.employer_info = u.employer_info;
                        }
                        Err(e) => return Err(Interrupt::Error(e)),
                    }
                } else {
                    updated.employer_info = user.employer_info.take();
                }
            }
            *user = updated;
            confirm(ctx, row, user, changes, p);
            Ok(())
        }
        Err(ApiError::Conflict {
            status,
            correlation_id,
            attempts,
            ..
        }) => {
            p.count(attempts, Some(status), correlation_id);
            if attempts > 1 {
                // An earlier attempt was answered 5xx: a gateway may have applied it
                // before giving up, and this conflict may be our own write.
                p.uncertain.extend(changes.iter().cloned());
            }
            Err(Interrupt::Reread)
        }
        Err(ApiError::Uncertain { attempts, .. }) => {
            p.count(attempts, None, None);
            p.uncertain.extend(changes.iter().cloned());
            Err(Interrupt::Reread)
        }
        // A write that timed out may have landed: re-read before anything else (an
        // outage then fails the re-read as a timeout, not as a conflict).
        Err(ApiError::Timeout {
            may_have_landed: true,
            attempts,
            ..
        }) => {
            p.timeouts += 1;
            p.count(attempts, None, None);
            p.uncertain.extend(changes.iter().cloned());
            Err(Interrupt::Reread)
        }
        Err(e) => Err(Interrupt::Error(e)),
    }
}

/// Book what a 2xx write answer confirms: a change whose column the row still
/// plans against the answer was not applied (the server kept another value).
fn confirm(ctx: &RowContext, row: &Row, after: &User, changes: &[Change], p: &mut Progress) {
    let still = plan(&ctx.header, row, after, &ctx.routing);
    let mut landed = Vec::new();
    for c in changes {
        let kept = match &still {
            Ok(plan) => plan
                .changes()
                .into_iter()
                .find(|s| s.column == c.column)
                .map(|s| s.before.clone()),
            // The answer no longer fits one entry per type: nothing is confirmed.
            Err(_) => Some(String::new()),
        };
        match kept {
            None => landed.push(c.clone()),
            Some(kept) => p.not_applied.push((c.clone(), kept)),
        }
    }
    p.landed(&ctx.header, &landed);
}

/// Book a skill or language write: its changes landed, or the row fails.
fn step(
    ctx: &RowContext,
    r: Result<(), ApiError>,
    writes: &[&RoutingWrite],
    p: &mut Progress,
) -> Result<(), Interrupt> {
    match r {
        Ok(()) => {
            p.count(1, Some(200), None);
            let changes: Vec<Change> = writes.iter().map(|w| w.change.clone()).collect();
            p.landed(&ctx.header, &changes);
            Ok(())
        }
        Err(e) => Err(Interrupt::Error(e)),
    }
}

/// A fresh single read; `Ok(None)` when the user no longer exists.
async fn read(ctx: &RowContext, row: &Row, p: &mut Progress) -> Result<Option<User>, ApiError> {
    match ctx.client.get_user(&row.id, EXPAND).await {
        Ok(u) => {
            p.count(1, Some(200), None);
            Ok((!u.is_deleted()).then_some(u))
        }
        Err(ApiError::Rejected {
            status: 404,
            attempts,
            correlation_id,
            ..
        }) => {
            p.count(attempts, Some(404), correlation_id);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn result(seq: u64, row: &Row, p: &Progress, status: Status) -> RowResult {
    let mut r = RowResult::new(seq, row.line, &row.id, row.raw.clone(), status);
    r.attempts = p.attempts;
    r.http_status = p.last_status;
    r.correlation_id = p.correlation_id.clone();
    r.division = p.division.clone();
    r.name = p.name.clone().unwrap_or_default();
    r.changes = p.changes.values().cloned().collect();
    r
}

fn done(seq: u64, row: &Row, header: &Header, mut p: Progress) -> RowResult {
    let not_applied = std::mem::take(&mut p.not_applied);
    let status = if !not_applied.is_empty() {
        Status::Failed
    } else if p.undo.is_empty() {
        Status::Unchanged
    } else {
        Status::Updated
    };
    let mut r = result(seq, row, &p, status);
    r.changed = p.undo.keys().map(|c| header.names[*c].clone()).collect();
    r.message = match status {
        Status::Updated => format!("changed {}", r.changed.join(", ")),
        Status::Failed => {
            let kept: Vec<String> = not_applied
                .iter()
                .map(|(c, kept)| {
                    format!(
                        "{} (sent {:?}, the server kept {:?})",
                        c.field, c.after, kept
                    )
                })
                .collect();
            let mut m = format!("not applied: {}", kept.join("; "));
            if !r.changed.is_empty() {
                m.push_str(&format!("; changed {}", r.changed.join(", ")));
            }
            m
        }
        _ => "already up to date".into(),
    };
    if status == Status::Failed {
        r.reason = Some(Reason::NotApplied);
    }
    r.undo = p.undo.into_iter().collect();
    r
}

fn refused(seq: u64, row: &Row, header: &Header, p: Progress, refusal: &Refusal) -> RowResult {
    let mut r = unfinished_result(seq, row, header, p, Status::Failed);
    r.reason = Some(match refusal {
        Refusal::AmbiguousContact { .. } => Reason::AmbiguousContact,
    });
    r.message = refusal.to_string();
    r
}

fn incomplete(seq: u64, row: &Row, header: &Header, p: Progress, what: &str) -> RowResult {
    let mut r = unfinished_result(seq, row, header, p, Status::Failed);
    r.reason = Some(Reason::IncompleteRead);
    r.message = format!(
        "the API did not return the user's {what} (expand is best effort), even when read \
         on its own; nothing was decided from a guess: re-run the row"
    );
    r
}

/// A result that keeps the writes that already landed in the undo file.
fn unfinished_result(
    seq: u64,
    row: &Row,
    header: &Header,
    p: Progress,
    status: Status,
) -> RowResult {
    let mut r = result(seq, row, &p, status);
    r.undo = p.undo.into_iter().collect();
    r.changed = r
        .undo
        .iter()
        .map(|(c, _)| header.names[*c].clone())
        .collect();
    r
}

fn deleted(seq: u64, row: &Row, p: &Progress) -> RowResult {
    let mut r = not_found(seq, row, p);
    r.message = deleted_message(&row.id);
    r
}

/// Why a deleted user is not written to.
pub fn deleted_message(id: &str) -> String {
    format!(
        "user {id} is deleted: genupdate does not write to deleted users (a state change would restore one)"
    )
}

fn not_found(seq: u64, row: &Row, p: &Progress) -> RowResult {
    let mut r = result(seq, row, p, Status::Failed);
    r.reason = Some(Reason::NotFound);
    r.http_status = r.http_status.or(Some(404));
    r.message = format!("no user with id {} in this org", row.id);
    r
}

fn fail(ctx: &RowContext, seq: u64, row: Row, mut p: Progress, e: ApiError) -> RowEnd {
    if let ApiError::Deferred {
        retry_after,
        attempts,
        ..
    } = &e
    {
        p.attempts += attempts;
        return RowEnd::Deferred {
            seq,
            until: Instant::now() + *retry_after,
            row,
            progress: p,
        };
    }
    if let ApiError::Cancelled {
        may_have_landed: false,
        ..
    } = &e
        && p.undo.is_empty()
        && p.uncertain.is_empty()
    {
        // The run stopped (deadline or signal) before this row sent a write: it was
        // not attempted, so it is skipped and ready to feed back, never half-done.
        let mut r = result(seq, &row, &p, Status::Skipped);
        r.reason = Some(Reason::Interrupted);
        r.message = "not attempted: the run stopped before this row's write was sent".into();
        return RowEnd::Done(r);
    }
    p.count(
        e.attempts(),
        e.status(),
        e.correlation_id().map(str::to_string),
    );
    let mut r = result(seq, &row, &p, Status::Failed);
    // Writes that landed before the failure still belong in the undo file.
    r.undo = std::mem::take(&mut p.undo).into_iter().collect();
    r.changed = r
        .undo
        .iter()
        .map(|(c, _)| ctx.header.names[*c].clone())
        .collect();
    r.code = e.code().map(str::to_string);
    r.message = e.to_string();
    r.reason = Some(match &e {
        ApiError::Rejected { status: 404, .. } => Reason::NotFound,
        ApiError::Rejected { .. } => Reason::Rejected,
        ApiError::Forbidden { .. } => Reason::Forbidden,
        ApiError::Exhausted {
            status: Some(429), ..
        } => Reason::RateLimited,
        ApiError::Exhausted { .. } => Reason::ServerError,
        ApiError::Conflict { .. } | ApiError::Uncertain { .. } => Reason::Conflict,
        ApiError::Deferred { .. } => Reason::RateLimited,
        ApiError::Timeout { .. } => Reason::Timeout,
        ApiError::Cancelled { .. } => Reason::Interrupted,
        ApiError::Fatal(_) => Reason::Aborted,
    });
    if let ApiError::Fatal(f) = e {
        return RowEnd::Fatal(r, f);
    }
    RowEnd::Done(r)
}

/// The result of a deferred row that is not run again (`status` Failed or Skipped):
/// writes that landed before it was deferred stay in the undo file.
pub fn unfinished(
    ctx: &RowContext,
    seq: u64,
    row: &Row,
    progress: Progress,
    status: Status,
) -> RowResult {
    unfinished_result(seq, row, &ctx.header, progress, status)
}

/// How many long Retry-After waits a row may take before it fails as rate limited.
pub const MAX_DEFERRALS: u32 = 3;
