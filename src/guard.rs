//! How many users one run may write: `--max-changes N` (a guard for cron against a
//! broken HR export: the run stops writing at N users, exit 1) and `--limit-rows N`
//! (a canary: only the first N changing rows are applied, exit 0).
//!
//! The decisions are pure ([`may_start`], [`verdict`], [`eta`]); [`Gate`] is the one
//! counter the runner's workers share, so the limit holds with any concurrency.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::report::Reason;
use crate::summary::{Counts, ExitReason};

/// The two limits, as given on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// `--max-changes N`: never write more than N users.
    pub max_changes: Option<u64>,
    /// `--limit-rows N`: apply only the first N changing rows.
    pub limit_rows: Option<u64>,
}

impl Limits {
    pub fn any(&self) -> bool {
        self.max_changes.is_some() || self.limit_rows.is_some()
    }

    /// What a row skipped for `reason` says in the report.
    pub fn message(&self, reason: Reason) -> String {
        match (reason, self.max_changes, self.limit_rows) {
            (Reason::MaxChanges, Some(n), _) => {
                format!("not written: the run may change at most {n} users (--max-changes {n})")
            }
            (Reason::Limit, _, Some(n)) => format!(
                "not written: only the first {n} changing rows are applied (--limit-rows {n})"
            ),
            _ => format!("not written ({reason})"),
        }
    }
}

/// Why `--max-changes` / `--limit-rows` cannot run with membership columns (a usage
/// error), or `None`. The membership phase writes across rows in batches before the
/// profile writes, so a per-user write slot cannot bound it; refusing is the safe
/// answer until the phase takes the gate too.
pub fn refuse_with_memberships(limits: Limits) -> Option<String> {
    let flag = match (limits.max_changes, limits.limit_rows) {
        (_, Some(n)) => format!("--limit-rows {n}"),
        (Some(n), None) => format!("--max-changes {n}"),
        (None, None) => return None,
    };
    Some(format!(
        "{flag} cannot be used with membership columns (queues, groups, roles, division, \
         locations): their writes are batched across rows; run without it, or split the \
         membership columns into their own file; nothing was sent"
    ))
}

/// May the writes of one more user start, when `started` users' writes already have?
/// `--limit-rows` is checked first: when both are reached at once, the canary's limit
/// is what the admin asked for, not a guard that tripped.
pub fn may_start(started: u64, limits: Limits) -> Result<(), Reason> {
    if limits.limit_rows.is_some_and(|n| started >= n) {
        return Err(Reason::Limit);
    }
    if limits.max_changes.is_some_and(|n| started >= n) {
        return Err(Reason::MaxChanges);
    }
    Ok(())
}

/// What the plan computed first allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Write this many users (all the changing ones, or `--limit-rows` of them).
    Write(u64),
    /// The plan changes more users than `--max-changes` allows: write none.
    TooMany { changing: u64, max: u64 },
}

/// Given how many users the plan changes, how many the run will write.
pub fn verdict(changing: u64, limits: Limits) -> Verdict {
    let to_write = limits.limit_rows.map_or(changing, |n| changing.min(n));
    match limits.max_changes {
        Some(max) if to_write > max => Verdict::TooMany { changing, max },
        _ => Verdict::Write(to_write),
    }
}

/// The time `requests` take at `rate_per_minute` (the governor's learned pace).
pub fn eta(requests: u64, rate_per_minute: f64) -> Duration {
    if requests == 0 {
        return Duration::ZERO;
    }
    let rate = if rate_per_minute.is_finite() && rate_per_minute > 0.0 {
        rate_per_minute
    } else {
        1.0
    };
    Duration::from_secs_f64(requests as f64 * 60.0 / rate)
}

/// A duration as a person reads it: `under a second`, `45 s`, `3 min 20 s`, `2 h 5 min`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    match s {
        0 => "under a second".into(),
        1..=59 => format!("{s} s"),
        60..=3599 if s.is_multiple_of(60) => format!("{} min", s / 60),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// How a run that was not stopped ends, from its counts: `max_changes` (exit 1) when
/// the guard skipped a changing row (or the plan was over it: `too_many` says so),
/// `rows_failed` for any other failed or skipped row, `limit` (exit 0) when the only
/// rows not done are the ones `--limit-rows` held back.
pub fn end_of_run(
    counts: &Counts,
    limits: Limits,
    too_many: Option<String>,
) -> (ExitReason, Option<String>) {
    let n = |r: Reason| counts.reasons.get(r.as_str()).copied().unwrap_or(0);
    let over = n(Reason::MaxChanges);
    let held = n(Reason::Limit);
    if too_many.is_some() || over > 0 {
        let why = too_many.unwrap_or_else(|| {
            format!(
                "--max-changes {}: {over} changing rows were not written (skipped, reason \
                 max_changes); check the file, then raise --max-changes or run without it",
                limits.max_changes.unwrap_or_default()
            )
        });
        return (ExitReason::MaxChanges, Some(why));
    }
    if counts.failed + counts.skipped > held {
        return (ExitReason::RowsFailed, None);
    }
    if held > 0 {
        return (
            ExitReason::Limit,
            Some(format!(
                "--limit-rows {}: {held} more changing rows were skipped (reason limit); run \
                 the file again without --limit-rows to apply them",
                limits.limit_rows.unwrap_or_default()
            )),
        );
    }
    (ExitReason::Completed, None)
}

/// The counter of users whose writes started, shared by every worker of a run.
#[derive(Debug, Default)]
pub struct Gate {
    limits: Limits,
    started: AtomicU64,
    /// Set when the plan computed first already decided: no write at all.
    closed: OnceLock<Reason>,
}

impl Gate {
    pub fn new(limits: Limits) -> Gate {
        Gate {
            limits,
            ..Gate::default()
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Refuse every write from now on, for `reason`.
    pub fn close(&self, reason: Reason) {
        let _ = self.closed.set(reason);
    }

    /// Reserve the writes of one more user, or say why they may not start. Race-free:
    /// N workers asking at once get exactly the slots that are left.
    pub fn try_start(&self) -> Result<(), Reason> {
        if let Some(reason) = self.closed.get() {
            return Err(*reason);
        }
        let mut seen = self.started.load(Ordering::Relaxed);
        loop {
            may_start(seen, self.limits)?;
            match self.started.compare_exchange_weak(
                seen,
                seen + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => seen = now,
            }
        }
    }

    /// Users whose writes started.
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_refused_with_membership_columns() {
        assert_eq!(refuse_with_memberships(Limits::default()), None);
        let limit = Limits {
            limit_rows: Some(5),
            ..Limits::default()
        };
        assert!(
            refuse_with_memberships(limit)
                .unwrap()
                .starts_with("--limit-rows 5 ")
        );
        let max = Limits {
            max_changes: Some(9),
            ..Limits::default()
        };
        assert!(
            refuse_with_memberships(max)
                .unwrap()
                .starts_with("--max-changes 9 ")
        );
    }

    fn limits(max_changes: Option<u64>, limit_rows: Option<u64>) -> Limits {
        Limits {
            max_changes,
            limit_rows,
        }
    }

    #[test]
    fn may_start_by_counts_and_limits() {
        let table: &[(u64, Limits, Result<(), Reason>)] = &[
            (0, limits(None, None), Ok(())),
            (1_000_000, limits(None, None), Ok(())),
            (2, limits(Some(3), None), Ok(())),
            (3, limits(Some(3), None), Err(Reason::MaxChanges)),
            (0, limits(Some(0), None), Err(Reason::MaxChanges)),
            (4, limits(None, Some(5)), Ok(())),
            (5, limits(None, Some(5)), Err(Reason::Limit)),
            // Both reached: the canary's own limit is the reason.
            (5, limits(Some(5), Some(5)), Err(Reason::Limit)),
            (3, limits(Some(3), Some(10)), Err(Reason::MaxChanges)),
            (3, limits(Some(10), Some(3)), Err(Reason::Limit)),
        ];
        for (started, l, want) in table {
            assert_eq!(may_start(*started, *l), *want, "{started} {l:?}");
        }
    }

    #[test]
    fn verdict_of_the_plan() {
        let table: &[(u64, Limits, Verdict)] = &[
            (10, limits(None, None), Verdict::Write(10)),
            (10, limits(Some(10), None), Verdict::Write(10)),
            (
                11,
                limits(Some(10), None),
                Verdict::TooMany {
                    changing: 11,
                    max: 10,
                },
            ),
            // The canary writes only 5 of the 1000: within a guard of 10.
            (1000, limits(Some(10), Some(5)), Verdict::Write(5)),
            (3, limits(None, Some(5)), Verdict::Write(3)),
            (0, limits(Some(0), None), Verdict::Write(0)),
        ];
        for (changing, l, want) in table {
            assert_eq!(verdict(*changing, *l), *want, "{changing} {l:?}");
        }
    }

    #[test]
    fn eta_at_the_pace() {
        assert_eq!(eta(0, 300.0), Duration::ZERO);
        assert_eq!(eta(300, 300.0), Duration::from_secs(60));
        assert_eq!(eta(50, 600.0), Duration::from_secs(5));
        // A nonsense rate never divides by zero.
        assert_eq!(eta(2, 0.0), Duration::from_secs(120));
        assert_eq!(eta(2, f64::NAN), Duration::from_secs(120));
    }

    #[test]
    fn durations_read_like_a_person_says_them() {
        let table = [
            (0.2, "under a second"),
            (45.0, "45 s"),
            (60.0, "1 min"),
            (200.0, "3 min 20 s"),
            (7500.0, "2 h 5 min"),
        ];
        for (secs, want) in table {
            assert_eq!(human(Duration::from_secs_f64(secs)), want);
        }
    }

    #[test]
    fn the_gate_hands_out_exactly_the_slots_left_under_contention() {
        let gate = std::sync::Arc::new(Gate::new(limits(Some(25), None)));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let g = gate.clone();
                std::thread::spawn(move || (0..10).filter(|_| g.try_start().is_ok()).count())
            })
            .collect();
        let granted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(granted, 25);
        assert_eq!(gate.started(), 25);
        assert_eq!(gate.try_start(), Err(Reason::MaxChanges));
    }

    #[test]
    fn a_closed_gate_refuses_everything() {
        let gate = Gate::new(limits(Some(5), None));
        gate.close(Reason::MaxChanges);
        assert_eq!(gate.try_start(), Err(Reason::MaxChanges));
        assert_eq!(gate.started(), 0);
    }

    #[test]
    fn how_a_run_ends_from_its_counts() {
        let counts = |failed: u64, skipped: &[(Reason, u64)]| {
            let mut c = Counts {
                updated: 3,
                failed,
                ..Counts::default()
            };
            for (r, n) in skipped {
                c.skipped += n;
                c.reasons.insert(r.as_str().into(), *n);
            }
            c
        };
        let l = limits(Some(5), Some(3));
        let table: &[(Counts, Option<String>, ExitReason)] = &[
            (counts(0, &[]), None, ExitReason::Completed),
            (counts(1, &[]), None, ExitReason::RowsFailed),
            (counts(0, &[(Reason::Limit, 4)]), None, ExitReason::Limit),
            (
                counts(1, &[(Reason::Limit, 4)]),
                None,
                ExitReason::RowsFailed,
            ),
            (
                counts(0, &[(Reason::Deadline, 1)]),
                None,
                ExitReason::RowsFailed,
            ),
            (
                counts(0, &[(Reason::MaxChanges, 2)]),
                None,
                ExitReason::MaxChanges,
            ),
            (counts(0, &[]), Some("over".into()), ExitReason::MaxChanges),
        ];
        for (c, too_many, want) in table {
            let (reason, why) = end_of_run(c, l, too_many.clone());
            assert_eq!(reason, *want, "{c:?}");
            match reason {
                ExitReason::MaxChanges if too_many.is_none() => {
                    assert!(why.unwrap().contains("--max-changes 5"))
                }
                ExitReason::Limit => assert!(why.unwrap().contains("--limit-rows 3")),
                _ => {}
            }
        }
    }

    #[test]
    fn messages_name_the_flag() {
        let l = limits(Some(7), Some(3));
        assert!(l.message(Reason::MaxChanges).contains("--max-changes 7"));
        assert!(l.message(Reason::Limit).contains("--limit-rows 3"));
    }
}
