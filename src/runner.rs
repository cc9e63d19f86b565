//! The only place with concurrency.
//!
//! A blocking reader streams validated rows into a bounded channel; the dispatcher
//! takes them 100 at a time, reads those users in one bulk GET, and hands each row
//! to a worker task under a semaphore (`--concurrency`); workers send results to one
//! collector, which owns the counts, the progress display and the report files. A
//! stop (signal, deadline, error budget, fatal API error) ends the intake of new rows:
//! in-flight rows finish within a grace period, and every row not attempted is
//! reported `skipped`, so the report always has one line per input row. Memory is
//! bounded by the channel, the semaphore and the report's reorder buffer, never by
//! the file's length.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::client::ApiError;
use crate::execute::{
    EXPAND, Incomplete, MAX_DEFERRALS, Progress, RowContext, RowEnd, apply_row, complete,
    unfinished,
};
use crate::input::{Problem, Row, RowReader};
use crate::model::User;
use crate::outcome::{FieldChange, FirstFailures, PlanTotals, print::PlanOut};
use crate::plan::{Refusal, plan};
use crate::prepass::Spill;
use crate::report::{Reason, ReportSink, RowResult, Status};
use crate::summary::Counts;

pub use crate::stop::{Stop, Stopper, watch_signals};

/// Rows in a row that ended in a timeout after which the API counts as unreachable
/// (a hung API is an outage: every later row would wait out its timeout too).
pub const UNREACHABLE_AFTER: u64 = 10;

/// The longest wait for a deferred row's Retry-After at the end of a run.
pub const MAX_DEFERRED_WAIT: Duration = Duration::from_secs(15 * 60);

/// Users per bulk read (the API's maximum for `GET /api/v2/users?id=`).
pub const BATCH: usize = 100;

/// How the run is driven.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    pub concurrency: usize,
    pub dry_run: bool,
    pub max_errors: Option<u64>,
    pub max_error_rate: Option<f64>,
    /// How long in-flight rows may take to finish after a stop.
    pub grace: Duration,
    /// Rows in the file (from validation), for progress.
    pub total_rows: u64,
    /// Show a progress bar (stderr is a terminal and not --quiet).
    pub progress_bar: bool,
    /// Log a progress line every so often (not a terminal, not --quiet).
    pub progress_lines: bool,
    /// Where the dry-run plan goes (text on stdout, or the JSON summary's `plan`).
    pub plan: PlanMode,
}

/// How the dry-run plan is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanMode {
    /// Not a dry run, or nothing to show.
    None,
    /// Text on stdout, in input order.
    Text,
    /// Spilled to a temporary file for the JSON summary.
    Json,
}

/// What the run did.
#[derive(Debug)]
pub struct RunOutcome {
    pub counts: Counts,
    pub stop: Option<Stop>,
    /// The first failed rows, to show at the end.
    pub failures: crate::outcome::FirstFailures,
    /// Dry run: users per changed column and the writes the real run would send.
    pub totals: crate::outcome::PlanTotals,
    /// Dry run with `--output json`: the plan, one JSON object a line, in input order.
    pub plan_json: Option<std::fs::File>,
}

/// Run every row of `rows` through `ctx`, writing results to `sink`. `stopper` may
/// already be watched for signals (see [`watch_signals`]) and for the deadline
/// ([`Stopper::stop_at`], set before the run's first request). `spill` holds the
/// users the plan computed first already read ([`crate::prepass`]): they are not
/// read again.
pub async fn run(
    ctx: Arc<RowContext>,
    rows: RowReader,
    sink: ReportSink,
    cfg: RunnerConfig,
    stopper: Stopper,
    spill: Option<Spill>,
) -> std::io::Result<RunOutcome> {
    let (row_tx, row_rx) = mpsc::channel::<Result<Row, Vec<Problem>>>(4 * BATCH);
    let reader = tokio::task::spawn_blocking(move || {
        for item in rows {
            if row_tx.blocking_send(item).is_err() {
                break;
            }
        }
    });

    let (result_tx, result_rx) = mpsc::channel::<RowResult>(4 * BATCH);
    let collector = tokio::spawn(collect(
        result_rx,
        sink,
        cfg.clone(),
        stopper.clone(),
        ctx.clone(),
    ));

    let mut d = Dispatcher {
        ctx,
        cfg: cfg.clone(),
        stopper: stopper.clone(),
        results: result_tx,
        permits: Arc::new(Semaphore::new(cfg.concurrency.max(1))),
        workers: JoinSet::new(),
        in_flight: HashMap::new(),
        tasks: HashMap::new(),
        deferred: Vec::new(),
        deferrals: HashMap::new(),
        seq: 0,
    };
    // Bulk reads run ahead of the workers (one batch queued, one being read), so the
    // read of the next hundred users overlaps the writes of the current ones instead
    // of leaving the pace idle between batches.
    let (batch_tx, mut batch_rx) = mpsc::channel::<ReadBatch>(1);
    let prefetch = tokio::spawn(read_batches(
        row_rx,
        batch_tx,
        d.ctx.clone(),
        stopper.clone(),
        spill,
    ));
    while let Some((rows, users)) = batch_rx.recv().await {
        d.dispatch(rows, users).await;
    }
    let _ = prefetch.await;
    let _ = reader.await;
    d.drain().await;
    d.run_deferred().await;
    d.drain().await;
    let stop = stopper.get();
    drop(d);
    let mut outcome = collector.await.map_err(std::io::Error::other)??;
    outcome.stop = stop;
    Ok(outcome)
}

struct Dispatcher {
    ctx: Arc<RowContext>,
    cfg: RunnerConfig,
    stopper: Stopper,
    results: mpsc::Sender<RowResult>,
    permits: Arc<Semaphore>,
    workers: JoinSet<RowEnd>,
    /// Rows being worked on, to report them if the grace period runs out.
    in_flight: HashMap<u64, (u64, String, Vec<String>)>,
    /// Worker task ids to their rows' seq, to report a worker that panicked.
    tasks: HashMap<tokio::task::Id, u64>,
    /// Rows waiting for a long Retry-After, with what they had already done.
    deferred: Vec<(Row, u64, Instant, Progress)>,
    /// How many times each deferred row was deferred.
    deferrals: HashMap<u64, u32>,
    seq: u64,
}

impl Dispatcher {
    /// One batch: a bulk read, then a worker per row.
    async fn dispatch(&mut self, items: Vec<BatchRow>, read: Option<Result<Vec<User>, ApiError>>) {
        let first_seq = self.seq;
        self.seq += items.len() as u64;
        // Rows whose key or manager did not resolve fail now, before any write.
        let mut rows = Vec::with_capacity(items.len());
        for (i, (row, failure, planned)) in items.into_iter().enumerate() {
            let seq = first_seq + i as u64;
            match failure {
                Some(f) => {
                    let mut r = RowResult::new(seq, row.line, &row.key, row.raw, Status::Failed);
                    r.attempts = 0;
                    r.reason = Some(f.reason);
                    r.message = f.message;
                    self.send(r).await;
                }
                None => rows.push((seq, row, planned)),
            }
        }
        let (Some(read), None) = (read, self.stopper.get()) else {
            let stop = self.stopper.get().unwrap_or(Stop::Interrupted);
            for (seq, row, _) in rows {
                self.skip(seq, row, &stop).await;
            }
            return;
        };
        let users = match read {
            Ok(users) => users,
            Err(crate::client::ApiError::Deferred { retry_after, .. }) => {
                let until = Instant::now() + retry_after;
                for (seq, row, _) in rows {
                    self.defer(row, seq, until, Progress::default());
                }
                return;
            }
            Err(ApiError::Cancelled { .. }) => {
                let stop = self.stopper.get().unwrap_or(Stop::Interrupted);
                for (seq, row, _) in rows {
                    self.skip(seq, row, &stop).await;
                }
                return;
            }
            Err(e) => {
                if let crate::client::ApiError::Fatal(f) = &e {
                    self.stopper.stop(Stop::Fatal(f.to_string()));
                }
                let reason = match &e {
                    ApiError::Fatal(_) => Reason::Aborted,
                    ApiError::Forbidden { .. } => Reason::Forbidden,
                    _ => Reason::ServerError,
                };
                if let ApiError::Forbidden { .. } = &e {
                    // Reading users is not division-scoped the way writes are: a
                    // refused bulk read means no row can be read.
                    self.stopper.stop(Stop::Permission(format!(
                        "the OAuth client may not read users: {e}. Grant its role \
                         directory:user:view and run again"
                    )));
                }
                for (seq, row, _) in rows {
                    let mut r = RowResult::new(seq, row.line, &row.id, row.raw, Status::Failed);
                    r.reason = Some(reason);
                    r.http_status = e.status();
                    r.correlation_id = e.correlation_id().map(str::to_string);
                    r.message = format!("bulk read of this row's batch failed: {e}");
                    self.send(r).await;
                }
                return;
            }
        };
        let mut by_id: HashMap<String, User> = users
            .into_iter()
            .map(|u| (u.id.to_ascii_lowercase(), u))
            .collect();
        for (seq, row, planned) in rows {
            let user = by_id.remove(&row.id);
            if self.cfg.dry_run {
                self.plan_only(seq, row, Read::Bulk(user)).await;
            } else if planned {
                // The plan computed first says this row writes: its slot is taken
                // here, in file order, so `--limit-rows N` is exactly the first N.
                match self.ctx.gate.try_start() {
                    Ok(()) => self.spawn(seq, row, user, None, true).await,
                    Err(reason) => self.limited(seq, row, reason).await,
                }
            } else {
                self.spawn(seq, row, user, None, false).await;
            }
        }
    }

    /// A row the run may not write (`--max-changes`, `--limit-rows`): skipped.
    async fn limited(&mut self, seq: u64, row: Row, reason: Reason) {
        let mut r = RowResult::new(seq, row.line, &row.id, row.raw, Status::Skipped);
        r.attempts = 0;
        r.reason = Some(reason);
        r.message = self.ctx.gate.limits().message(reason);
        self.send(r).await;
    }

    /// Start a worker on `row`; `resume` is the progress of a deferred row; `admitted`:
    /// the row already holds a slot of the run's gate.
    async fn spawn(
        &mut self,
        seq: u64,
        row: Row,
        user: Option<User>,
        resume: Option<Progress>,
        admitted: bool,
    ) {
        let permit = tokio::select! {
            p = self.permits.clone().acquire_owned() => p,
            _ = self.stopper.stopped() => {
                let stop = self.stopper.get().unwrap_or(Stop::Interrupted);
                return self.skip_resumed(seq, row, &stop, resume).await;
            }
        };
        let Ok(permit) = permit else { return };
        if let Some(stop) = self.stopper.get() {
            return self.skip_resumed(seq, row, &stop, resume).await;
        }
        self.reap().await;
        self.in_flight
            .insert(seq, (row.line, row.id.clone(), row.raw.clone()));
        let ctx = self.ctx.clone();
        let handle = self.workers.spawn(async move {
            let end = apply_row(&ctx, seq, row, user, resume, admitted).await;
            drop(permit);
            end
        });
        self.tasks.insert(handle.id(), seq);
    }

    /// Handle the workers that have finished, without waiting.
    async fn reap(&mut self) {
        while let Some(joined) = self.workers.try_join_next_with_id() {
            self.finished(joined).await;
        }
    }

    async fn finished(
        &mut self,
        joined: Result<(tokio::task::Id, RowEnd), tokio::task::JoinError>,
    ) {
        let end = match joined {
            Ok((id, end)) => {
                self.tasks.remove(&id);
                end
            }
            Err(e) => {
                // A panic is a failed row (and so a non-zero exit), never a lost one.
                tracing::error!("a worker ended abnormally: {e}");
                let Some(seq) = self.tasks.remove(&e.id()) else {
                    return;
                };
                if let Some((line, id, raw)) = self.in_flight.remove(&seq) {
                    let mut r = RowResult::new(seq, line, &id, raw, Status::Failed);
                    r.reason = Some(Reason::Aborted);
                    r.message = "internal error: the worker for this row panicked; the journal \
                                 holds the before-values of any write it sent: re-run the row"
                        .into();
                    self.send(r).await;
                }
                return;
            }
        };
        match end {
            RowEnd::Done(mut r) => {
                if r.reason == Some(Reason::Interrupted)
                    && let Some(stop) = self.stopper.get()
                {
                    r.reason = Some(stop.reason());
                }
                self.in_flight.remove(&r.seq);
                self.send(r).await;
            }
            RowEnd::Fatal(r, fatal) => {
                self.in_flight.remove(&r.seq);
                self.stopper.stop(Stop::Fatal(fatal.to_string()));
                self.send(r).await;
            }
            RowEnd::Halt(r, why) => {
                self.in_flight.remove(&r.seq);
                self.stopper.stop(Stop::Fatal(why));
                self.send(r).await;
            }
            RowEnd::Deferred {
                row,
                seq,
                until,
                progress,
            } => {
                self.in_flight.remove(&seq);
                tracing::info!(
                    line = row.line,
                    "a long Retry-After: row {} deferred to the end of the run",
                    row.line
                );
                self.defer(row, seq, until, progress);
            }
        }
    }

    /// Wait for every worker; after a stop, only for the grace period.
    async fn drain(&mut self) {
        let mut grace_until: Option<tokio::time::Instant> = None;
        loop {
            if grace_until.is_none() && self.stopper.get().is_some() {
                grace_until = Some(tokio::time::Instant::now() + self.cfg.grace);
            }
            let next = tokio::select! {
                j = self.workers.join_next_with_id() => j,
                _ = self.stopper.stopped(), if grace_until.is_none() => continue,
                _ = sleep_until_opt(grace_until) => {
                    self.abandon().await;
                    return;
                }
            };
            match next {
                Some(joined) => self.finished(joined).await,
                None => return,
            }
        }
    }

    /// The grace period ran out: abort what is left and report it.
    async fn abandon(&mut self) {
        self.workers.abort_all();
        while self.workers.join_next().await.is_some() {}
        let left: Vec<_> = self.in_flight.drain().collect();
        for (seq, (line, id, raw)) in left {
            let mut r = RowResult::new(seq, line, &id, raw, Status::Failed);
            r.reason = Some(Reason::Interrupted);
            r.message = "still in flight when the grace period ended; a re-run re-reads the user and finishes it".into();
            self.send(r).await;
        }
    }

    /// Rows whose Retry-After was longer than the maximum get their turn now, each
    /// after its own Retry-After; a row deferred too often fails as rate limited.
    async fn run_deferred(&mut self) {
        while !self.deferred.is_empty() {
            let mut rows = std::mem::take(&mut self.deferred);
            rows.sort_by_key(|(_, _, until, _)| *until);
            for (row, seq, until, progress) in rows {
                if let Some(stop) = self.stopper.get() {
                    self.skip_resumed(seq, row, &stop, Some(progress)).await;
                    continue;
                }
                let round = self.deferrals.get(&seq).copied().unwrap_or(0);
                if round > MAX_DEFERRALS {
                    let mut r = unfinished(&self.ctx, seq, &row, progress, Status::Failed);
                    r.reason = Some(Reason::RateLimited);
                    r.http_status = Some(429);
                    r.message =
                        format!("still rate limited after {MAX_DEFERRALS} long Retry-After waits");
                    self.send(r).await;
                    continue;
                }
                let wait = until.saturating_duration_since(Instant::now());
                if wait > MAX_DEFERRED_WAIT {
                    // Never sleep for hours holding the cron lock: a daily limit is
                    // the row's failure, for a later run to retry.
                    let mut r = unfinished(&self.ctx, seq, &row, progress, Status::Failed);
                    r.reason = Some(Reason::RateLimited);
                    r.http_status = Some(429);
                    r.message = format!(
                        "rate limited with a Retry-After of {:.0} s (more than {} s): re-run later",
                        wait.as_secs_f64(),
                        MAX_DEFERRED_WAIT.as_secs()
                    );
                    self.send(r).await;
                    continue;
                }
                if !wait.is_zero() {
                    tracing::info!(
                        "waiting {:.0} s for a long Retry-After before the deferred rows",
                        wait.as_secs_f64()
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.stopper.stopped() => {}
                    }
                }
                if self.cfg.dry_run {
                    // A dry run never writes: read the user again and plan only.
                    self.plan_deferred(seq, row).await;
                } else {
                    self.spawn(seq, row, None, Some(progress), true).await;
                }
            }
            self.drain().await;
        }
    }

    fn defer(&mut self, row: Row, seq: u64, until: Instant, progress: Progress) {
        *self.deferrals.entry(seq).or_default() += 1;
        self.deferred.push((row, seq, until, progress));
    }

    /// Dry run: a row whose bulk read was deferred, read on its own and planned.
    async fn plan_deferred(&mut self, seq: u64, row: Row) {
        use crate::client::ApiError;
        match self.ctx.client.get_user(&row.id, EXPAND).await {
            Ok(user) => self.plan_only(seq, row, Read::Single(Some(user))).await,
            Err(e) if e.is_not_found() => self.plan_only(seq, row, Read::Single(None)).await,
            Err(ApiError::Deferred { retry_after, .. }) => {
                let until = Instant::now() + retry_after;
                self.defer(row, seq, until, Progress::default());
            }
            Err(e) => {
                let r = RowResult::new(seq, row.line, &row.id, row.raw, Status::Failed);
                self.read_failed(r, e).await;
            }
        }
    }

    /// A dry-run row whose read failed: record it, and stop the run on a fatal error.
    async fn read_failed(&mut self, mut r: RowResult, e: ApiError) {
        if let ApiError::Fatal(f) = &e {
            self.stopper.stop(Stop::Fatal(f.to_string()));
        }
        r.status = Status::Failed;
        r.reason = Some(if e.is_fatal() {
            Reason::Aborted
        } else {
            Reason::ServerError
        });
        r.http_status = e.status();
        r.correlation_id = e.correlation_id().map(str::to_string);
        r.message = format!("read failed: {e}");
        self.send(r).await;
    }

    async fn plan_only(&mut self, seq: u64, row: Row, read: Read) {
        let mut r = RowResult::new(seq, row.line, &row.id, row.raw.clone(), Status::Unchanged);
        r.attempts = 0;
        let user = match read {
            Read::Single(user) => user,
            Read::Bulk(Some(u)) => Some(u),
            // A gap in the bulk read is confirmed with a single GET.
            Read::Bulk(None) => match self.ctx.client.get_user(&row.id, EXPAND).await {
                Ok(u) => {
                    r.attempts += 1;
                    Some(u)
                }
                Err(e) if e.is_not_found() => {
                    r.attempts += 1;
                    None
                }
                Err(e) => return self.read_failed(r, e).await,
            },
        };
        let deleted = user.as_ref().is_some_and(|u| u.is_deleted());
        let Some(mut user) = user.filter(|u| !u.is_deleted()) else {
            r.status = Status::Failed;
            r.reason = Some(Reason::NotFound);
            r.http_status = Some(404);
            r.message = if deleted {
                crate::execute::deleted_message(&row.id)
            } else {
                format!("no user with id {} in this org", row.id)
            };
            return self.send(r).await;
        };
        r.division = user.division_id().map(str::to_string);
        r.name = user.name.clone().unwrap_or_default();
        match complete(&self.ctx, &row, &mut user).await {
            Ok(n) => r.attempts += n,
            Err(Incomplete::Missing(what)) => {
                r.status = Status::Failed;
                r.reason = Some(Reason::IncompleteRead);
                r.message =
                    format!("the API did not return the user's {what}, even when read on its own");
                return self.send(r).await;
            }
            Err(Incomplete::Api(e)) => return self.read_failed(r, e).await,
        }
        let p = match plan(&self.ctx.header, &row, &user, &self.ctx.routing) {
            Ok(p) => p,
            Err(refusal) => {
                r.status = Status::Failed;
                r.reason = Some(match refusal {
                    Refusal::AmbiguousContact { .. } => Reason::AmbiguousContact,
                });
                r.message = refusal.to_string();
                return self.send(r).await;
            }
        };
        let memberships = self
            .ctx
            .members
            .as_ref()
            .is_some_and(|m| !m.peek(row.line).is_empty());
        if p.is_empty() && !memberships {
            r.message = "already up to date".into();
        } else if p.is_empty() {
            // Only memberships change: the collector's merge says what.
        } else if let Err(reason) = self.ctx.gate.try_start() {
            // The dry run shows what `--max-changes` / `--limit-rows` would do.
            r.status = Status::Skipped;
            r.reason = Some(reason);
            r.message = self.ctx.gate.limits().message(reason);
        } else {
            r.status = Status::Planned;
            r.changed = p.changes().iter().map(|c| c.field.clone()).collect();
            r.changes = p.changes().into_iter().map(FieldChange::of).collect();
            r.planned_writes = p.requests();
            r.message = format!("would change {}", r.changed.join(", "));
        }
        self.send(r).await;
    }

    /// Skip a row that may have been deferred: writes that landed before stay in
    /// the undo file.
    async fn skip_resumed(&mut self, seq: u64, row: Row, stop: &Stop, resume: Option<Progress>) {
        let Some(progress) = resume else {
            return self.skip(seq, row, stop).await;
        };
        let mut r = unfinished(&self.ctx, seq, &row, progress, Status::Skipped);
        r.reason = Some(stop.reason());
        r.message = "deferred by a long Retry-After and not retried: the run stopped".into();
        self.send(r).await;
    }

    async fn skip(&mut self, seq: u64, row: Row, stop: &Stop) {
        let mut r = RowResult::new(seq, row.line, &row.id, row.raw, Status::Skipped);
        r.reason = Some(stop.reason());
        r.message = "not attempted: the run stopped before this row".into();
        self.send(r).await;
    }

    async fn send(&mut self, r: RowResult) {
        // The collector only goes away if writing the report failed; that error is
        // returned from the collector itself.
        let _ = self.results.send(r).await;
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A row, why it fails before any read when its key did not resolve, and whether
/// the plan computed first found that it writes.
type BatchRow = (Row, Option<crate::resolve::Failure>, bool);

/// How a dry-run row's user was read: by the bulk read (a gap is confirmed by a
/// single GET), or already by a single GET.
enum Read {
    Bulk(Option<User>),
    Single(Option<User>),
}

/// A batch of rows and the bulk read of their users (`None`: not read, the run stopped).
type ReadBatch = (Vec<BatchRow>, Option<Result<Vec<User>, ApiError>>);

/// Take rows 100 at a time and read their users in one request each.
async fn read_batches(
    mut rows: mpsc::Receiver<Result<Row, Vec<Problem>>>,
    out: mpsc::Sender<ReadBatch>,
    ctx: Arc<RowContext>,
    stopper: Stopper,
    mut spill: Option<Spill>,
) {
    loop {
        let mut items = Vec::with_capacity(BATCH);
        while items.len() < BATCH {
            let room = BATCH - items.len();
            if rows.recv_many(&mut items, room).await == 0 {
                break;
            }
        }
        if items.is_empty() {
            return;
        }
        let mut batch = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Ok(mut row) => {
                    let failure = ctx.resolution.apply(&mut row).err();
                    batch.push((row, failure, false));
                }
                Err(problems) => {
                    let first = problems
                        .first()
                        .map(|p| p.render("input"))
                        .unwrap_or_default();
                    stopper.stop(Stop::Fatal(format!(
                        "the input file changed during the run: {first}"
                    )));
                }
            }
        }
        let ids: Vec<String> = batch
            .iter()
            .filter(|(_, failure, _)| failure.is_none())
            .map(|(r, _, _)| r.id.clone())
            .collect();
        let read = if stopper.get().is_some() || batch.is_empty() {
            None
        } else if let Some(spill) = spill.as_mut() {
            // The plan computed first read these users: no request.
            match from_spill(spill, &mut batch) {
                Ok(users) => Some(Ok(users)),
                Err(why) => {
                    stopper.stop(Stop::Fatal(why));
                    None
                }
            }
        } else if ctx.resolution.scanned() {
            // The scan read every user already: each is used once, no request.
            Some(Ok(ids
                .iter()
                .filter_map(|id| ctx.resolution.take(id))
                .collect()))
        } else if ids.is_empty() {
            Some(Ok(Vec::new()))
        } else {
            let reads = ids.len().div_ceil(crate::client::MAX_IDS_PER_READ) as u64;
            ctx.bulk_reads
                .fetch_add(reads, std::sync::atomic::Ordering::Relaxed);
            Some(ctx.client.get_users(&ids, EXPAND).await)
        };
        if out.send((batch, read)).await.is_err() {
            return;
        }
    }
}

/// The users of a batch as the plan read them; marks the rows the plan writes.
fn from_spill(spill: &mut Spill, batch: &mut [BatchRow]) -> Result<Vec<User>, String> {
    let mut users = Vec::with_capacity(batch.len());
    for (row, _, planned) in batch.iter_mut() {
        let entry = spill.next_for(row.line)?;
        *planned = entry.change;
        users.extend(entry.user);
    }
    Ok(users)
}

/// The collector: counts, error budget, progress, and the report files.
async fn collect(
    mut rx: mpsc::Receiver<RowResult>,
    mut sink: ReportSink,
    cfg: RunnerConfig,
    stopper: Stopper,
    ctx: Arc<RowContext>,
) -> std::io::Result<RunOutcome> {
    let mut counts = Counts::default();
    let mut failures = FirstFailures::default();
    let mut totals = PlanTotals::default();
    let mut plan_out = PlanOut::new(cfg.plan);
    let bar = cfg.progress_bar.then(|| progress_bar(cfg.total_rows));
    let started = Instant::now();
    let mut last_line = Instant::now();
    let mut breaker = crate::breaker::PermissionBreaker::default();
    let mut sink_error: Option<std::io::Error> = None;
    let mut timeouts_in_a_row = 0u64;
    while let Some(mut r) = rx.recv().await {
        if let Some(members) = &ctx.members {
            let outcomes = members.take(r.line);
            crate::members::outcome::merge(&mut r, &outcomes);
        }
        counts.add(r.status, r.reason);
        failures.observe(&r);
        totals.observe(&r);
        plan_out.push(&r, bar.as_ref());
        if let Some(why) = breaker.observe(&r) {
            stopper.stop(Stop::Permission(why));
        }
        // Rows that ended in a timeout one after another (re-reads in between may
        // be answered: a hung write path is still an outage).
        timeouts_in_a_row = match r.reason {
            Some(Reason::Timeout) => timeouts_in_a_row + 1,
            _ if r.status != Status::Skipped => 0,
            _ => timeouts_in_a_row,
        };
        if timeouts_in_a_row >= UNREACHABLE_AFTER {
            stopper.stop(Stop::Unreachable(format!(
                "the API is unreachable: {timeouts_in_a_row} rows in a row got no answer \
                 within --timeout; rows not attempted are skipped"
            )));
        }
        if r.status == Status::Failed {
            tracing::debug!(line = r.line, id = %r.id, reason = r.reason.map(Reason::as_str).unwrap_or(""), "row failed: {}", r.message);
            if let Some(why) = over_budget(&counts, cfg.max_errors, cfg.max_error_rate) {
                stopper.stop(Stop::ErrorBudget(why));
            }
        }
        if sink_error.is_none()
            && let Err(e) = sink.push(r)
        {
            // No record, no writes: stop the intake now (the journal, written
            // before every write, still covers what is in flight).
            stopper.stop(Stop::Fatal(format!(
                "cannot write the report: {e}; no further row is sent"
            )));
            sink_error = Some(e);
        }
        let done = counts.total();
        if let Some(bar) = &bar {
            bar.set_position(done);
        } else if cfg.progress_lines && last_line.elapsed() >= Duration::from_secs(10) {
            last_line = Instant::now();
            let stats = ctx.client.stats();
            let elapsed = started.elapsed().as_secs_f64().max(0.001);
            let per_sec = done as f64 / elapsed;
            let eta = (cfg.total_rows.saturating_sub(done)) as f64 / per_sec.max(0.001);
            tracing::info!(
                "progress: {done}/{} rows, {} requests, {:.1} rows/s, ETA {:.0} s",
                cfg.total_rows,
                stats.requests,
                per_sec,
                eta
            );
        }
    }
    let plan_json = plan_out.finish(bar.as_ref());
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(e) = sink_error {
        return Err(e);
    }
    sink.finish()?;
    Ok(RunOutcome {
        counts,
        stop: None,
        failures,
        totals,
        plan_json,
    })
}

/// The error budget: `Some(why)` once too many rows failed.
pub fn over_budget(
    counts: &Counts,
    max_errors: Option<u64>,
    max_rate: Option<f64>,
) -> Option<String> {
    if let Some(max) = max_errors
        && counts.failed >= max
    {
        return Some(format!(
            "{} rows failed (--max-errors {max})",
            counts.failed
        ));
    }
    let attempted = counts.attempted();
    if let Some(rate) = max_rate
        && attempted >= 20
    {
        let share = counts.failed as f64 / attempted as f64;
        if share > rate {
            return Some(format!(
                "{} of {attempted} attempted rows failed ({:.0}% > --max-error-rate {rate})",
                counts.failed,
                share * 100.0
            ));
        }
    }
    None
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    let template = "{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}";
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Whether stderr can show a progress bar.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(failed: u64, ok: u64) -> Counts {
        Counts {
            failed,
            updated: ok,
            ..Counts::default()
        }
    }

    #[test]
    fn error_budget_by_count() {
        assert!(over_budget(&counts(2, 100), Some(3), None).is_none());
        assert!(
            over_budget(&counts(3, 100), Some(3), None)
                .unwrap()
                .contains("--max-errors 3")
        );
    }

    #[test]
    fn error_budget_by_rate_waits_for_twenty_rows() {
        assert!(
            over_budget(&counts(5, 5), None, Some(0.1)).is_none(),
            "only 10 rows attempted"
        );
        assert!(over_budget(&counts(5, 15), None, Some(0.1)).is_some());
        assert!(over_budget(&counts(1, 19), None, Some(0.1)).is_none());
    }
}
