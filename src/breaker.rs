//! The permission breaker: when does a run of 403s mean the OAuth client itself
//! lacks a permission, rather than some users being out of its reach?
//!
//! Permissions are division-scoped: one client may edit users in one division and
//! be refused in another, and an HR file sorted by department can put twenty users
//! of one restricted division first. So a 403 fails its row, and the run stops only
//! on evidence across divisions: writes refused in at least two divisions and not
//! one write accepted anywhere. Pure bookkeeping, fed by the runner's collector.

use std::collections::BTreeSet;

use crate::report::{Reason, RowResult, Status};

/// Divisions with a refusal before the breaker trips (when nothing succeeded).
pub const DIVISIONS_TO_TRIP: usize = 2;

#[derive(Debug, Default)]
pub struct PermissionBreaker {
    refused: BTreeSet<String>,
    accepted: bool,
    first_message: Option<String>,
    tripped: bool,
}

impl PermissionBreaker {
    /// Look at one finished row; `Some(why)` the first time the breaker trips.
    pub fn observe(&mut self, r: &RowResult) -> Option<String> {
        // A failed row whose other parts landed (a membership added beside a refused
        // one) is evidence of permission too: without this, the order in which rows
        // finish decides whether the breaker trips.
        if r.status == Status::Updated || !r.undo.is_empty() || !r.changed.is_empty() {
            self.accepted = true;
        }
        if r.reason == Some(Reason::Forbidden) {
            let division = r.division.clone().unwrap_or_else(|| "(unknown)".into());
            self.refused.insert(division);
            if self.first_message.is_none() {
                self.first_message = Some(r.message.clone());
            }
        }
        if self.tripped || self.accepted || self.refused.len() < DIVISIONS_TO_TRIP {
            return None;
        }
        self.tripped = true;
        Some(format!(
            "every write was refused (403) in {} divisions and none was accepted, so the \
             OAuth client's role lacks the permission, not just access to some divisions: \
             {}. Grant the role the permission (directory:user:edit for profile columns, \
             routing:skill:assign for skill columns, routing:language:assign for language \
             columns) in the users' divisions and run again",
            self.refused.len(),
            self.first_message.as_deref().unwrap_or("permission denied")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: Status, reason: Option<Reason>, division: &str) -> RowResult {
        let mut r = RowResult::new(0, 2, "id", vec![], status);
        r.reason = reason;
        r.division = Some(division.into());
        r.message = "permission denied (HTTP 403 missing.division.permission)".into();
        r
    }

    fn forbidden(division: &str) -> RowResult {
        row(Status::Failed, Some(Reason::Forbidden), division)
    }

    #[test]
    fn many_refusals_in_one_division_do_not_trip() {
        let mut b = PermissionBreaker::default();
        for _ in 0..20 {
            assert_eq!(b.observe(&forbidden("restricted")), None);
        }
    }

    #[test]
    fn refusals_in_two_divisions_with_no_success_trip_once() {
        let mut b = PermissionBreaker::default();
        assert_eq!(b.observe(&forbidden("a")), None);
        let why = b.observe(&forbidden("b")).expect("trips");
        assert!(
            why.contains("2 divisions") && why.contains("directory:user:edit"),
            "{why}"
        );
        assert_eq!(b.observe(&forbidden("c")), None, "trips once");
    }

    #[test]
    fn one_accepted_write_anywhere_keeps_the_breaker_closed() {
        let mut b = PermissionBreaker::default();
        assert_eq!(b.observe(&forbidden("a")), None);
        assert_eq!(b.observe(&row(Status::Updated, None, "home")), None);
        for d in ["b", "c", "d"] {
            assert_eq!(b.observe(&forbidden(d)), None);
        }
    }

    #[test]
    fn unchanged_and_other_failures_are_not_evidence() {
        let mut b = PermissionBreaker::default();
        b.observe(&row(Status::Unchanged, None, "a"));
        b.observe(&row(Status::Failed, Some(Reason::NotFound), "b"));
        assert_eq!(b.observe(&forbidden("c")), None);
    }

    #[test]
    fn a_refused_row_whose_other_part_landed_is_evidence_of_permission() {
        // Regression: a membership added beside a refused one, finishing before the
        // fully accepted rows, used to let two refusals trip the breaker.
        let mut b = PermissionBreaker::default();
        let mut partly = forbidden("a");
        partly.changed = vec!["queues:add".into()];
        assert_eq!(b.observe(&partly), None);
        assert_eq!(b.observe(&forbidden("b")), None);
    }
}
