//! The per-user families: `roles`, `division` and `locations`. Their state is the
//! user's own (grants on the user's authorization subject, the user's division, the
//! `locations` array of the user document), so they are read, diffed and written
//! per user rather than in member batches, and push [`Outcome`]s like the container
//! families do, so the report, undo and dry-run plan treat them the same way.
//!
//! Requests: roles cost one subject read per user with a roles cell, and for a user
//! whose grants change one `bulkadd`, one `DELETE` per removed grant and one
//! confirming subject read. Division and locations read the users in bulk (100 per
//! request, with `expand=locations`); a move is one call per user and the moved
//! users are read again in bulk to confirm; a locations change is one user PATCH
//! (its answer, or a read when it lacks the list, confirms it).

use std::collections::HashMap;

use super::model::{Change, Ending, Failure, Op, Outcome, Target, Want};
use super::{Results, failure};
use crate::client::{ApiError, Client};
use crate::input::{Family, lists};
use crate::journal::Journal;
use crate::model::User;
use crate::report::Reason;
use crate::runner::Stopper;

mod division_io;
mod locations_io;
mod roles_io;

use division_io::division_moves;
use locations_io::locations_lists;
use roles_io::roles;

/// Re-reads after a version conflict on a locations PATCH.
const MAX_CONFLICTS: u32 = 3;

/// What the per-user families need from the phase.
pub struct Ctx<'a> {
    pub client: &'a Client,
    pub journal: Option<&'a Journal>,
    pub dry_run: bool,
    pub stopper: &'a Stopper,
    pub results: &'a Results,
}

/// Whether `family` is written here.
pub fn is_personal(family: Family) -> bool {
    matches!(family, Family::Roles | Family::Division | Family::Locations)
}

/// Read, diff, write and confirm one per-user family.
pub async fn run(
    ctx: &Ctx<'_>,
    family: Family,
    wants: &[&Want],
    targets: &HashMap<String, Target>,
) {
    match family {
        Family::Roles => roles(ctx, wants, targets).await,
        Family::Division => division_moves(ctx, wants, targets).await,
        Family::Locations => locations_lists(ctx, wants, targets).await,
        Family::Queues | Family::Groups => {}
    }
}

fn op(w: &Want, family: Family, target: &str, name: &str, change: Change) -> Op {
    Op {
        line: w.line,
        user: w.user.clone(),
        family,
        target: target.to_string(),
        name: name.to_string(),
        change,
        joined: None,
    }
}

impl Ctx<'_> {
    /// Dry run: `n` more write requests the real run would send.
    fn plan_writes(&self, n: u64) {
        self.results.plan_writes(n);
    }

    fn push(&self, op: Op, ending: Ending) {
        self.results.push(Outcome {
            op,
            ending,
            note: None,
        });
    }

    /// A want that failed before any write (its read failed).
    fn fail_want(&self, w: &Want, family: Family, what: &str, f: Failure) {
        let o = op(
            w,
            family,
            "",
            &format!("reading the user's {what}"),
            Change::Add,
        );
        self.push(o, Ending::Failed(f));
    }

    fn api_failure(
        &self,
        e: &ApiError,
        family: Family,
        name: &str,
        division: Option<String>,
    ) -> Failure {
        let t = Target {
            name: name.to_string(),
            division,
            ..Target::default()
        };
        failure(e, family, &t, self.stopper)
    }

    /// Journal the inverse of `op` ahead of its write; `false`: not recorded, do not send.
    fn record(&self, op: &Op, field: String, cell: String) -> bool {
        let Some(j) = self.journal else { return true };
        match j.record(op.line, &op.user, vec![(field, Some(cell))]) {
            Ok(()) => true,
            Err(e) => {
                self.stopper.stop(crate::runner::Stop::Fatal(format!(
                    "cannot write the journal: {e}; no further write is sent"
                )));
                false
            }
        }
    }

    fn void(&self, op: &Op, field: &str, cell: &str) {
        if let Some(j) = self.journal {
            let _ = j.void(op.line, &op.user, field, cell);
        }
    }

    fn stopped(&self, op: Op) -> bool {
        match self.stopper.get() {
            Some(stop) => {
                let reason = match stop {
                    crate::runner::Stop::Deadline => Reason::Deadline,
                    crate::runner::Stop::Interrupted => Reason::Interrupted,
                    crate::runner::Stop::ErrorBudget(_) => Reason::ErrorBudget,
                    crate::runner::Stop::Permission(_) => Reason::Permission,
                    _ => Reason::Aborted,
                };
                self.push(op, Ending::Skipped(reason));
                true
            }
            None => false,
        }
    }
}

fn not_applied(message: String) -> Failure {
    Failure {
        reason: Some(Reason::NotApplied),
        message,
        ..Failure::default()
    }
}

/// The list cell that undoes one op of a list family.
fn inverse(family: Family, o: &Op) -> (String, String) {
    (
        lists::header(family, o.undo_op()),
        lists::encode(&[o.name.as_str()]),
    )
}

// ---- users read in bulk (division, locations) ----

/// The users the wants name, read in bulk (`expand` as given); a user the read
/// does not return is missing.
async fn read_users(
    ctx: &Ctx<'_>,
    wants: &[&Want],
    expand: &[&str],
) -> Result<HashMap<String, User>, ApiError> {
    let mut ids: Vec<String> = wants.iter().map(|w| w.user.clone()).collect();
    ids.sort();
    ids.dedup();
    let users = ctx.client.get_users(&ids, expand).await?;
    Ok(users
        .into_iter()
        .filter(|u| !u.is_deleted())
        .map(|u| (u.id.to_ascii_lowercase(), u))
        .collect())
}

fn missing_user(user: &str) -> Failure {
    Failure {
        reason: Some(Reason::NotFound),
        message: format!("no user with id {user} in this org (or the user is deleted)"),
        http_status: Some(404),
        ..Failure::default()
    }
}
