//! The I/O of each container family (queues, groups): reading member lists and a
//! user's own list, sending one batch, confirming. A new container family adds an
//! arm to each `match family` here; families that are not containers (roles per
//! user, division moves, locations in the user document) write through their own
//! module and push [`Outcome`]s the same way.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::batch::{Batch, batches, named_members};
use super::model::{Change, Ending, Failure, Member, Members, Op, Outcome, Target, Want};
use super::{Results, failure};
use crate::client::{
    ApiError, Client, ListedMember, MAX_GROUP_MEMBERS_PER_CALL, MAX_QUEUE_MEMBERS_PER_CALL,
};
use crate::input::{Family, lists};
use crate::journal::Journal;
use crate::report::Reason;
use crate::runner::{Stop, Stopper};

/// Re-sends of one batch after a 400 naming members, or a group version conflict.
const MAX_RESENDS: usize = 5;
/// Reads of a queue after a join before "not joined yet" is reported.
const JOIN_READS: usize = 5;
/// Between those reads (the join is asynchronous).
const JOIN_WAIT: Duration = Duration::from_millis(500);

/// Member lists read, and the targets whose read failed.
#[derive(Debug, Default)]
pub struct Lists {
    pub members: HashMap<String, Members>,
    pub failed: HashMap<String, Failure>,
}

/// The phase's running state.
pub struct Phase<'a> {
    client: &'a Client,
    stopper: &'a Stopper,
    results: &'a Results,
    /// Groups: every group's members, read once for replace cells.
    group_scan: Option<HashMap<String, (String, Members)>>,
}

fn to_members(list: Vec<ListedMember>) -> Members {
    list.into_iter()
        .map(|m| {
            (
                m.id,
                Member {
                    joined: m.joined,
                    by_group: m.by_group,
                },
            )
        })
        .collect()
}

/// The write calls `ops` take (queues and groups: batched per target and change).
pub fn batches_of(ops: Vec<Op>) -> u64 {
    batches(ops, max_per_call).len() as u64
}

fn max_per_call(family: Family) -> usize {
    match family {
        Family::Queues => MAX_QUEUE_MEMBERS_PER_CALL,
        Family::Groups => MAX_GROUP_MEMBERS_PER_CALL,
        // Written per user by `super::personal`, never batched here.
        Family::Roles | Family::Division | Family::Locations => 1,
    }
}

impl<'a> Phase<'a> {
    pub fn new(client: &'a Client, stopper: &'a Stopper, results: &'a Results) -> Self {
        Phase {
            client,
            stopper,
            results,
            group_scan: None,
        }
    }

    async fn list(&self, family: Family, target: &str) -> Result<Members, ApiError> {
        match family {
            Family::Queues => self.client.queue_members(target).await.map(to_members),
            Family::Groups => self.client.group_members(target).await.map(to_members),
            Family::Roles | Family::Division | Family::Locations => Ok(Members::new()),
        }
    }

    /// The users' own memberships for replace cells, as (target id, name). Queues:
    /// the user's list, joined and unjoined. Groups: every group's direct members,
    /// read once (groups have no per-user list). A failed read fails the rows'
    /// replace cells.
    pub async fn current_lists(
        &mut self,
        family: Family,
        users: &BTreeSet<&str>,
        wants: &[&Want],
    ) -> HashMap<String, Vec<(String, String)>> {
        let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
        let fail = |user: &str, e: &ApiError, results: &Results| {
            for w in wants.iter().filter(|w| w.user == user) {
                let target = Target {
                    name: format!("the user's {}", family.header()),
                    ..Target::default()
                };
                results.push(Outcome {
                    op: Op {
                        line: w.line,
                        user: w.user.clone(),
                        family,
                        target: String::new(),
                        name: format!("reading the user's {}", family.header()),
                        change: Change::Add,
                        joined: None,
                    },
                    ending: Ending::Failed(failure(e, family, &target, self.stopper)),
                    note: None,
                });
            }
        };
        match family {
            Family::Queues => {
                for user in users {
                    match self.client.user_queues(user).await {
                        Ok(list) => {
                            out.insert(
                                user.to_string(),
                                list.into_iter()
                                    .map(|q| (q.id.to_ascii_lowercase(), q.name))
                                    .collect(),
                            );
                        }
                        Err(e) => fail(user, &e, self.results),
                    }
                }
            }
            // Per-user families read their own state in `super::personal`.
            Family::Roles | Family::Division | Family::Locations => {}
            Family::Groups => {
                if self.group_scan.is_none() {
                    match self.scan_groups().await {
                        Ok(scan) => self.group_scan = Some(scan),
                        Err(e) => {
                            for user in users {
                                fail(user, &e, self.results);
                            }
                            return out;
                        }
                    }
                }
                let scan = self.group_scan.as_ref();
                for user in users {
                    let mine = scan
                        .into_iter()
                        .flatten()
                        .filter(|(_, (_, m))| m.contains_key(*user))
                        .map(|(id, (name, _))| (id.clone(), name.clone()))
                        .collect();
                    out.insert(user.to_string(), mine);
                }
            }
        }
        out
    }

    /// The names of the groups `user` is a direct member of (empty when they cannot
    /// be read: this only improves a message).
    pub async fn groups_of(&mut self, user: &str) -> Vec<String> {
        if self.group_scan.is_none() {
            match self.scan_groups().await {
                Ok(scan) => self.group_scan = Some(scan),
                Err(_) => return Vec::new(),
            }
        }
        let mut names: Vec<String> = self
            .group_scan
            .iter()
            .flatten()
            .filter(|(_, (_, m))| m.contains_key(user))
            .map(|(_, (name, _))| name.clone())
            .collect();
        names.sort();
        names
    }

    async fn scan_groups(&self) -> Result<HashMap<String, (String, Members)>, ApiError> {
        let mut scan = HashMap::new();
        for g in self.client.all_groups().await? {
            let id = g.id.to_ascii_lowercase();
            let members = self.list(Family::Groups, &id).await?;
            scan.insert(id, (g.name, members));
        }
        Ok(scan)
    }

    /// The member lists of `targets` (from the group scan when there was one).
    pub async fn read_lists(&mut self, family: Family, targets: &BTreeSet<String>) -> Lists {
        let mut lists = Lists::default();
        for t in targets {
            if family == Family::Groups
                && let Some((_, m)) = self.group_scan.as_ref().and_then(|s| s.get(t))
            {
                lists.members.insert(t.clone(), m.clone());
                continue;
            }
            match self.list(family, t).await {
                Ok(m) => {
                    lists.members.insert(t.clone(), m);
                }
                Err(e) => {
                    let target = Target {
                        id: t.clone(),
                        name: t.clone(),
                        ..Target::default()
                    };
                    let mut f = failure(&e, family, &target, self.stopper);
                    f.message = format!("reading its members failed: {}", f.message);
                    lists.failed.insert(t.clone(), f);
                }
            }
        }
        lists
    }

    /// Journal, send in batches, confirm, and record every op's outcome.
    pub async fn write(
        &mut self,
        family: Family,
        ops: Vec<Op>,
        targets: &HashMap<String, Target>,
        journal: Option<&Journal>,
    ) {
        let mut failed: HashMap<(String, String, Change), Failure> = HashMap::new();
        let mut sent: Vec<Op> = Vec::new();
        let mut written: BTreeSet<String> = BTreeSet::new();
        for batch in batches(ops, max_per_call) {
            let target = targets
                .get(&batch.target)
                .cloned()
                .unwrap_or_else(|| Target {
                    id: batch.target.clone(),
                    name: batch
                        .ops
                        .first()
                        .map(|o| o.name.clone())
                        .unwrap_or_default(),
                    ..Target::default()
                });
            if let Some(stop) = self.stopper.get() {
                self.skip(batch.ops, &stop);
                continue;
            }
            if let Some(j) = journal {
                let mut unrecorded = None;
                for op in &batch.ops {
                    let field = lists::header(family, op.undo_op());
                    let cell = lists::encode(&[op.name.as_str()]);
                    if let Err(e) = j.record(op.line, &op.user, vec![(field, Some(cell))]) {
                        unrecorded = Some(e);
                        break;
                    }
                }
                if let Some(e) = unrecorded {
                    self.stopper.stop(Stop::Fatal(format!(
                        "cannot write the journal: {e}; no further write is sent"
                    )));
                    self.skip(batch.ops, &Stop::Fatal(String::new()));
                    continue;
                }
            }
            written.insert(batch.target.clone());
            for (op, f) in self.send(&batch, &target).await {
                failed.insert((op.user.clone(), op.target.clone(), op.change), f);
            }
            sent.extend(batch.ops);
        }
        // Confirm: one read per target written, whatever the number of batches.
        let mut after: HashMap<String, Result<Members, Failure>> = HashMap::new();
        for t in &written {
            let target = targets.get(t).cloned().unwrap_or_default();
            let read = self
                .list(family, t)
                .await
                .map_err(|e| failure(&e, family, &target, self.stopper));
            after.insert(t.clone(), read);
        }
        let mut to_join: HashMap<String, Vec<Op>> = HashMap::new();
        for op in sent {
            let key = (op.user.clone(), op.target.clone(), op.change);
            let shown = after.get(&op.target).map(|r| match r {
                Ok(m) => Ok(m.get(&op.user).copied()),
                Err(f) => Err(f.clone()),
            });
            let ending = match (failed.remove(&key), shown) {
                (_, Some(Ok(Some(_)))) if op.change == Change::Add => Ending::Landed,
                (_, Some(Ok(None))) if op.change == Change::Remove => Ending::Landed,
                (Some(f), _) => Ending::Failed(f),
                (None, Some(Err(f))) => Ending::Failed(Failure {
                    message: format!(
                        "sent, but the confirmation read failed, so it is not reported as \
                         done: {}",
                        f.message
                    ),
                    ..f
                }),
                (None, _) => Ending::Failed(Failure {
                    reason: Some(Reason::NotApplied),
                    message: format!(
                        "the API accepted it, but the confirmation read of {} '{}' does not \
                         show it",
                        family.noun(),
                        op.name
                    ),
                    ..Failure::default()
                }),
            };
            if let (Ending::Failed(_), Some(j)) = (&ending, journal) {
                // Written ahead as an intent; it did not land, so the undo file must
                // not carry its inverse.
                let field = lists::header(family, op.undo_op());
                let _ = j.void(
                    op.line,
                    &op.user,
                    &field,
                    &lists::encode(&[op.name.as_str()]),
                );
            }
            let joined = after
                .get(&op.target)
                .and_then(|r| r.as_ref().ok())
                .and_then(|m| m.get(&op.user))
                .and_then(|m| m.joined);
            if family == Family::Queues
                && op.change == Change::Add
                && ending == Ending::Landed
                && op.joined.is_some()
                && joined != op.joined
            {
                to_join.entry(op.target.clone()).or_default().push(op);
                continue;
            }
            self.results.push(Outcome {
                op,
                ending,
                note: None,
            });
        }
        for (queue, ops) in to_join {
            self.join(&queue, ops).await;
        }
    }

    /// Send one batch: `(op, failure)` for the ops that failed; a 400 naming members
    /// is sent again without them.
    async fn send(&self, batch: &Batch, target: &Target) -> Vec<(Op, Failure)> {
        let mut pending: Vec<Op> = batch.ops.clone();
        let mut out = Vec::new();
        let mut resends = 0;
        while !pending.is_empty() {
            let ids: Vec<String> = pending.iter().map(|o| o.user.clone()).collect();
            let sent = match (batch.family, batch.change) {
                (Family::Queues, Change::Add) => {
                    self.client.add_queue_members(&batch.target, &ids).await
                }
                (Family::Queues, Change::Remove) => {
                    self.client.remove_queue_members(&batch.target, &ids).await
                }
                (Family::Groups, Change::Add) => {
                    // The group's current version, read again before every attempt.
                    match self.client.get_group(&batch.target).await {
                        Ok(g) => {
                            self.client
                                .add_group_members(&batch.target, &ids, g.version)
                                .await
                        }
                        Err(e) => Err(e),
                    }
                }
                (Family::Groups, Change::Remove) => {
                    self.client.remove_group_members(&batch.target, &ids).await
                }
                (Family::Roles | Family::Division | Family::Locations, _) => {
                    Err(ApiError::Rejected {
                        status: 400,
                        code: "genupdate.internal".into(),
                        message: format!(
                            "{} changes are written per user, not in member batches",
                            batch.family.header()
                        ),
                        correlation_id: None,
                        attempts: 0,
                    })
                }
            };
            let e = match sent {
                Ok(()) => break,
                Err(e) => e,
            };
            resends += 1;
            let again = resends <= MAX_RESENDS;
            match &e {
                ApiError::Conflict { .. } if again && batch.family == Family::Groups => continue,
                ApiError::Rejected {
                    status: 400,
                    message,
                    ..
                } if again => {
                    let named = named_members(message, &ids);
                    if !named.is_empty() {
                        let f = failure(&e, batch.family, target, self.stopper);
                        let (bad, good): (Vec<Op>, Vec<Op>) =
                            pending.into_iter().partition(|o| named.contains(&o.user));
                        out.extend(bad.into_iter().map(|o| (o, f.clone())));
                        pending = good;
                        continue;
                    }
                }
                _ => {}
            }
            let f = failure(&e, batch.family, target, self.stopper);
            out.extend(pending.drain(..).map(|o| (o, f.clone())));
        }
        out
    }

    /// Set the joined state of queue members just added to the one wanted (a user
    /// added to a queue is joined; `:add-unjoined` is not), then read until it shows
    /// (the PATCH is asynchronous), boundedly.
    async fn join(&self, queue: &str, ops: Vec<Op>) {
        let mut sent = Ok(());
        for want in [true, false] {
            let ids: Vec<String> = ops
                .iter()
                .filter(|o| o.joined == Some(want))
                .map(|o| o.user.clone())
                .collect();
            for chunk in ids.chunks(MAX_QUEUE_MEMBERS_PER_CALL) {
                if sent.is_ok() {
                    sent = self.client.join_queue_members(queue, chunk, want).await;
                }
            }
        }
        let mut settled: BTreeSet<String> = BTreeSet::new();
        if sent.is_ok() {
            for attempt in 0..JOIN_READS {
                if attempt > 0 {
                    tokio::time::sleep(JOIN_WAIT).await;
                }
                let Ok(list) = self.client.queue_members(queue).await else {
                    break;
                };
                settled = list
                    .into_iter()
                    .filter(|m| ops.iter().any(|o| o.user == m.id && o.joined == m.joined))
                    .map(|m| m.id)
                    .collect();
                if ops.iter().all(|o| settled.contains(&o.user)) {
                    break;
                }
            }
        }
        for op in ops {
            let state = if op.joined == Some(false) {
                "unjoined"
            } else {
                "joined"
            };
            let note = (!settled.contains(&op.user)).then(|| {
                let why = match &sent {
                    Err(e) => format!("the change was refused: {e}"),
                    Ok(()) => "the asynchronous change did not show in time".to_string(),
                };
                format!(
                    "added to queue '{}' but not {state} ({why}); set it in Genesys",
                    op.name
                )
            });
            self.results.push(Outcome {
                op,
                ending: Ending::Landed,
                note,
            });
        }
    }

    fn skip(&self, ops: Vec<Op>, stop: &Stop) {
        let reason = match stop {
            Stop::Deadline => Reason::Deadline,
            Stop::Interrupted => Reason::Interrupted,
            Stop::ErrorBudget(_) => Reason::ErrorBudget,
            Stop::Permission(_) => Reason::Permission,
            Stop::Fatal(_) | Stop::Unreachable(_) => Reason::Aborted,
        };
        for op in ops {
            self.results.push(Outcome {
                op,
                ending: Ending::Skipped(reason),
                note: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(user: usize, family: Family, target: &str, change: Change) -> Op {
        Op {
            line: user as u64 + 2,
            user: format!("u{user:03}"),
            family,
            target: target.into(),
            name: target.into(),
            change,
            joined: None,
        }
    }

    #[test]
    fn the_estimate_counts_one_call_per_batch_of_a_target_and_change() {
        assert_eq!(batches_of(Vec::new()), 0);
        // 150 adds to one queue: 100 + 50; one removal from it; 60 adds to a group: 50 + 10.
        let mut ops: Vec<Op> = (0..150)
            .map(|u| op(u, Family::Queues, "q1", Change::Add))
            .collect();
        ops.push(op(200, Family::Queues, "q1", Change::Remove));
        ops.extend((0..60).map(|u| op(u, Family::Groups, "g1", Change::Add)));
        assert_eq!(batches_of(ops), 2 + 1 + 2);
    }
}
