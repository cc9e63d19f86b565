//! The plan computed first, before an interactive run writes anything.
//!
//! On a terminal `apply` reads every user the file names (100 per request, or from
//! the whole-org scan), completes and diffs them exactly as the write pass would,
//! and counts the users that will change, the rows already up to date and the rows
//! that will fail, with the write requests they need. Nothing is written.
//!
//! Each user read is spilled, one JSON line per row, to an anonymous temporary file
//! (unlinked at once on Unix, gone when the run ends), so memory stays flat for any
//! file. The write pass takes every user from the spill instead of reading it again,
//! and writes with the `version` read here: a user another integration changed in
//! between answers the PATCH 409 and is re-read and re-planned, as always.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};

use serde::{Deserialize, Serialize};

use crate::client::ApiError;
use crate::execute::{EXPAND, RowContext, complete};
use crate::guard::Limits;
use crate::input::RowReader;
use crate::model::User;
use crate::plan::plan;
use crate::runner::{BATCH, Stopper};

/// What the plan says the run will do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Forecast {
    /// Users the file changes.
    pub changing: u64,
    /// Rows whose values already hold.
    pub unchanged: u64,
    /// Rows that fail without a write (not found, ambiguous, unreadable, refused).
    pub failing: u64,
    /// Write requests of the changing users the run will write (all of them, or the
    /// first `--limit-rows`).
    pub write_requests: u64,
    /// Users the run will write: `changing`, or fewer with `--limit-rows`.
    pub to_write: u64,
}

impl Forecast {
    fn add(&mut self, outcome: Outcome, limits: Limits) {
        match outcome {
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Failing => self.failing += 1,
            Outcome::Changing(requests) => {
                self.changing += 1;
                if limits.limit_rows.is_none_or(|n| self.to_write < n) {
                    self.to_write += 1;
                    self.write_requests += requests;
                }
            }
        }
    }
}

/// One row's fate in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Unchanged,
    Failing,
    /// Changes the user, with this many write requests.
    Changing(u64),
}

/// One row of the spill: the user as read (completed), and whether the plan changes it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Spilled {
    pub line: u64,
    /// `None`: the user was not read (not found, a key that did not resolve, a read
    /// that failed); the write pass decides as it would without a plan.
    pub user: Option<User>,
    pub change: bool,
}

/// The users the plan read, in row order, for the write pass.
pub struct Spill {
    lines: std::io::Lines<BufReader<File>>,
}

impl Spill {
    /// The next row's entry; it must be for `line` (the write pass reads the same
    /// file in the same order).
    pub fn next_for(&mut self, line: u64) -> Result<Spilled, String> {
        let text = match self.lines.next() {
            Some(Ok(text)) => text,
            Some(Err(e)) => return Err(format!("cannot read the plan's temporary file: {e}")),
            None => {
                return Err(format!(
                    "line {line} was not in the plan: the input file changed after the plan"
                ));
            }
        };
        let entry: Spilled = serde_json::from_str(&text)
            .map_err(|e| format!("the plan's temporary file is damaged: {e}"))?;
        if entry.line != line {
            return Err(format!(
                "the plan has line {} where the file now has line {line}: the input file \
                 changed after the plan",
                entry.line
            ));
        }
        Ok(entry)
    }
}

/// Why the plan could not be computed.
#[derive(Debug)]
pub enum PrePassError {
    /// The run was stopped (signal, deadline) while planning.
    Stopped,
    /// A fatal API error (credentials, unreachable).
    Api(ApiError),
    /// The input or the temporary file.
    Io(String),
}

/// Read and plan every row; spill the users for the write pass.
pub async fn plan_first(
    ctx: &RowContext,
    mut rows: RowReader,
    limits: Limits,
    stopper: &Stopper,
) -> Result<(Forecast, Spill), PrePassError> {
    let file = tempfile::tempfile()
        .map_err(|e| PrePassError::Io(format!("cannot create a temporary file: {e}")))?;
    let mut out = BufWriter::new(file);
    let mut forecast = Forecast::default();
    loop {
        if stopper.get().is_some() {
            return Err(PrePassError::Stopped);
        }
        // The reader does blocking file IO: off the async workers.
        let (back, chunk) = tokio::task::spawn_blocking(move || {
            let chunk: Vec<_> = rows.by_ref().take(BATCH).collect();
            (rows, chunk)
        })
        .await
        .map_err(|e| PrePassError::Io(format!("the input reader stopped: {e}")))?;
        rows = back;
        if chunk.is_empty() {
            break;
        }
        let mut batch = Vec::with_capacity(chunk.len());
        for item in chunk {
            match item {
                Ok(mut row) => {
                    let resolved = ctx.resolution.apply(&mut row).is_ok();
                    batch.push((row, resolved));
                }
                Err(problems) => {
                    let first = problems.first().map(|p| p.render("input"));
                    return Err(PrePassError::Io(format!(
                        "the input file changed during the run: {}",
                        first.unwrap_or_default()
                    )));
                }
            }
        }
        let mut users = read_batch(ctx, &batch, stopper).await?;
        for (row, resolved) in batch {
            let user = if resolved {
                users.as_mut().and_then(|u| u.remove(&row.id))
            } else {
                None
            };
            let (user, outcome) = match user {
                None => (None, Outcome::Failing),
                Some(u) if u.is_deleted() => (Some(u), Outcome::Failing),
                Some(mut u) => {
                    let outcome = match complete(ctx, &row, &mut u).await {
                        Err(crate::execute::Incomplete::Api(e)) if e.is_fatal() => {
                            return Err(PrePassError::Api(e));
                        }
                        Err(_) => Outcome::Failing,
                        Ok(_) => match plan(&ctx.header, &row, &u, &ctx.routing) {
                            Err(_) => Outcome::Failing,
                            Ok(p) if p.is_empty() => Outcome::Unchanged,
                            Ok(p) => Outcome::Changing(u64::from(p.requests())),
                        },
                    };
                    (Some(u), outcome)
                }
            };
            forecast.add(outcome, limits);
            let entry = Spilled {
                line: row.line,
                user,
                change: matches!(outcome, Outcome::Changing(_)),
            };
            serde_json::to_writer(&mut out, &entry)
                .map_err(|e| PrePassError::Io(format!("cannot write the plan: {e}")))?;
            out.write_all(b"\n")
                .map_err(|e| PrePassError::Io(format!("cannot write the plan: {e}")))?;
        }
    }
    let mut file = out
        .into_inner()
        .map_err(|e| PrePassError::Io(format!("cannot write the plan: {}", e.error())))?;
    file.rewind()
        .map_err(|e| PrePassError::Io(format!("cannot read the plan back: {e}")))?;
    Ok((
        forecast,
        Spill {
            lines: BufReader::new(file).lines(),
        },
    ))
}

/// The users of one batch, by id: from the scan, or one bulk read. `None` when the
/// read failed for a reason that is not fatal: those rows are read again when
/// their turn comes in the write pass.
async fn read_batch(
    ctx: &RowContext,
    batch: &[(crate::input::Row, bool)],
    stopper: &Stopper,
) -> Result<Option<HashMap<String, User>>, PrePassError> {
    let ids: Vec<String> = batch
        .iter()
        .filter(|(_, resolved)| *resolved)
        .map(|(r, _)| r.id.clone())
        .collect();
    let read = if ctx.resolution.scanned() {
        Ok(ids
            .iter()
            .filter_map(|id| ctx.resolution.take(id))
            .collect())
    } else if ids.is_empty() {
        Ok(Vec::new())
    } else {
        let reads = ids.len().div_ceil(crate::client::MAX_IDS_PER_READ) as u64;
        ctx.bulk_reads
            .fetch_add(reads, std::sync::atomic::Ordering::Relaxed);
        tokio::select! {
            r = ctx.client.get_users(&ids, EXPAND) => r,
            _ = stopper.stopped() => return Err(PrePassError::Stopped),
        }
    };
    match read {
        Ok(users) => Ok(Some(
            users
                .into_iter()
                .map(|u| (u.id.to_ascii_lowercase(), u))
                .collect(),
        )),
        Err(ApiError::Cancelled { .. }) => Err(PrePassError::Stopped),
        Err(e) if e.is_fatal() => Err(PrePassError::Api(e)),
        Err(e) => {
            tracing::warn!(
                "the plan could not read {} users ({e}); they are read again before their writes",
                ids.len()
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forecast_counts_and_stops_counting_writes_at_the_limit() {
        let limits = Limits {
            max_changes: None,
            limit_rows: Some(2),
        };
        let mut f = Forecast::default();
        for o in [
            Outcome::Changing(1),
            Outcome::Unchanged,
            Outcome::Changing(3),
            Outcome::Failing,
            Outcome::Changing(5),
        ] {
            f.add(o, limits);
        }
        assert_eq!(
            f,
            Forecast {
                changing: 3,
                unchanged: 1,
                failing: 1,
                write_requests: 4,
                to_write: 2,
            }
        );
    }
}
