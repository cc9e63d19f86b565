//! `roles`: one subject read per user, one `bulkadd` for the adds, one `DELETE` per
//! removed grant, and one confirming subject read.

use std::collections::{BTreeMap, HashMap};

use super::{Ctx, inverse, not_applied};
use crate::input::Family;
use crate::members::lookup::grant_key;
use crate::members::model::{Change, Ending, Failure, Member, Members, Op, Target, Want, diff};
use crate::members::writes;
use crate::report::Reason;

pub(super) async fn roles(ctx: &Ctx<'_>, wants: &[&Want], targets: &HashMap<String, Target>) {
    let mut by_user: BTreeMap<&str, Vec<&Want>> = BTreeMap::new();
    for w in wants {
        by_user.entry(w.user.as_str()).or_default().push(w);
    }
    for (user, wants) in by_user {
        let held = match writes::read_grants(ctx.client, user).await {
            Ok(h) => h,
            Err(e) => {
                for w in wants {
                    let f = ctx.api_failure(&e, Family::Roles, "the user's grants", None);
                    ctx.fail_want(w, Family::Roles, "role grants", f);
                }
                continue;
            }
        };
        // The grants as one-target "lists": direct grants are the user's own,
        // inherited ones (another subject) count as held through a group.
        let mut lists: HashMap<String, Members> = HashMap::new();
        let mut current: Vec<(String, String)> = Vec::new();
        let mut ids: HashMap<String, (String, String)> = HashMap::new();
        for h in &held {
            let key = grant_key(&h.grant.id.role_id, &h.grant.id.division_id);
            let direct = h.subject_id.eq_ignore_ascii_case(user);
            let m = lists.entry(key.clone()).or_default();
            let by_group = m.get(user).is_none_or(|m| m.by_group) && !direct;
            m.insert(
                user.to_string(),
                Member {
                    joined: None,
                    by_group,
                },
            );
            if direct && !current.iter().any(|(k, _)| *k == key) {
                current.push((key.clone(), h.grant.item()));
            }
            ids.insert(
                key,
                (h.grant.id.role_id.clone(), h.grant.id.division_id.clone()),
            );
        }
        let mut ops = Vec::new();
        for w in &wants {
            for d in diff(w, targets, &lists, &current) {
                match d {
                    super::super::model::Decision::Write(o) => ops.push(o),
                    super::super::model::Decision::Refuse(o, _) => {
                        let message = format!(
                            "the user holds {} only through a group (an inherited grant), \
                             which genupdate never removes: remove it from the group's roles \
                             in Genesys, or leave it out",
                            o.name
                        );
                        ctx.push(
                            o,
                            Ending::Failed(Failure {
                                reason: Some(Reason::Rejected),
                                message,
                                ..Failure::default()
                            }),
                        );
                    }
                }
            }
        }
        if ops.is_empty() {
            continue;
        }
        if ctx.dry_run {
            let line_of = wants.first().map(|w| (*w, user));
            // One bulkadd for the adds, one DELETE per removed grant.
            let adds = ops.iter().filter(|o| o.change == Change::Add).count() as u64;
            ctx.plan_writes(u64::from(adds > 0) + (ops.len() as u64 - adds));
            for o in ops {
                ctx.push(o, Ending::Planned);
            }
            // The plan shows the grants held through a group beside the changes: they
            // stay whatever the cell says.
            if let Some((w, user)) = line_of {
                for (key, item) in inherited(&held, user) {
                    ctx.push(
                        super::op(w, Family::Roles, &key, &item, Change::Add),
                        Ending::Kept,
                    );
                }
            }
            continue;
        }
        write_user_roles(ctx, user, ops, &ids).await;
    }
}

/// The grants `user` holds only through a group, as (key, `Role@Division`), in a
/// stable order.
fn inherited(held: &[crate::members::roles::HeldGrant], user: &str) -> Vec<(String, String)> {
    let key = |h: &crate::members::roles::HeldGrant| {
        grant_key(&h.grant.id.role_id, &h.grant.id.division_id)
    };
    let direct: Vec<String> = held
        .iter()
        .filter(|h| h.subject_id.eq_ignore_ascii_case(user))
        .map(key)
        .collect();
    let mut out: Vec<(String, String)> = held
        .iter()
        .filter(|h| !h.subject_id.eq_ignore_ascii_case(user) && !direct.contains(&key(h)))
        .map(|h| (key(h), h.grant.item()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Split a grant key back into ids (the held grant's own ids when known).
fn grant_ids(key: &str, ids: &HashMap<String, (String, String)>) -> (String, String) {
    if let Some(pair) = ids.get(key) {
        return pair.clone();
    }
    let (role, division) = key.rsplit_once('@').unwrap_or((key, ""));
    (role.to_string(), division.to_string())
}

async fn write_user_roles(
    ctx: &Ctx<'_>,
    user: &str,
    ops: Vec<Op>,
    ids: &HashMap<String, (String, String)>,
) {
    let (adds, removes): (Vec<Op>, Vec<Op>) =
        ops.into_iter().partition(|o| o.change == Change::Add);
    let mut failed: HashMap<String, Failure> = HashMap::new();
    let mut sent: Vec<Op> = Vec::new();
    let recorded = |o: &Op| {
        let (field, cell) = inverse(Family::Roles, o);
        ctx.record(o, field, cell)
    };
    let adds: Vec<Op> = adds
        .into_iter()
        .filter(|o| !ctx.stopped(o.clone()) && recorded(o))
        .collect();
    if !adds.is_empty() {
        let pairs: Vec<(String, String)> = adds.iter().map(|o| grant_ids(&o.target, ids)).collect();
        if let Err(e) = ctx.client.add_grants(user, &pairs).await {
            let f = ctx.api_failure(&e, Family::Roles, "grants to add", None);
            for o in &adds {
                failed.insert(
                    o.target.clone(),
                    Failure {
                        message: format!("{} {}", o.name, f.message),
                        ..f.clone()
                    },
                );
            }
        }
        sent.extend(adds);
    }
    for o in removes {
        if ctx.stopped(o.clone()) || !recorded(&o) {
            continue;
        }
        let (role, division) = grant_ids(&o.target, ids);
        if let Err(e) = ctx.client.delete_grant(user, &division, &role).await {
            let f = ctx.api_failure(&e, Family::Roles, &o.name, Some(division.clone()));
            failed.insert(o.target.clone(), f);
        }
        sent.push(o);
    }
    if sent.is_empty() {
        return;
    }
    // Confirm: one read of the user's grants after all its writes.
    let after = writes::read_grants(ctx.client, user).await;
    for o in sent {
        let ending = match &after {
            Ok(after) => {
                let direct = after.iter().any(|h| {
                    h.subject_id.eq_ignore_ascii_case(user)
                        && grant_key(&h.grant.id.role_id, &h.grant.id.division_id) == o.target
                });
                match (o.change, direct, failed.remove(&o.target)) {
                    (Change::Add, true, _) | (Change::Remove, false, _) => Ending::Landed,
                    (_, _, Some(f)) => Ending::Failed(f),
                    (Change::Add, false, None) => Ending::Failed(not_applied(format!(
                        "the API accepted the grant {}, but the user's grants read again do not show it",
                        o.name
                    ))),
                    (Change::Remove, true, None) => Ending::Failed(not_applied(format!(
                        "the API accepted the removal of {}, but the user's grants read again still show it",
                        o.name
                    ))),
                }
            }
            Err(e) => Ending::Failed(failed.remove(&o.target).unwrap_or_else(|| {
                let f = ctx.api_failure(e, Family::Roles, "the user's grants", None);
                Failure {
                    message: format!(
                        "sent, but the confirmation read failed, so it is not reported as done: {}",
                        f.message
                    ),
                    ..f
                }
            })),
        };
        if matches!(ending, Ending::Failed(_)) {
            let (field, cell) = inverse(Family::Roles, &o);
            ctx.void(&o, &field, &cell);
        }
        ctx.push(o, ending);
    }
}
