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

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value as Json, json};

use super::lookup::grant_key;
use super::model::{Change, Ending, Failure, Member, Members, Op, Outcome, Target, Want, diff};
use super::{Results, division, failure, locations, writes};
use crate::client::{ApiError, Client};
use crate::input::{Family, ListOp, lists};
use crate::journal::Journal;
use crate::model::User;
use crate::report::Reason;
use crate::runner::Stopper;

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

// ---- roles ----

async fn roles(ctx: &Ctx<'_>, wants: &[&Want], targets: &HashMap<String, Target>) {
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
                    super::model::Decision::Write(o) => ops.push(o),
                    super::model::Decision::Refuse(o, _) => {
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
            for o in ops {
                ctx.push(o, Ending::Planned);
            }
            continue;
        }
        write_user_roles(ctx, user, ops, &ids).await;
    }
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

// ---- division ----

async fn division_moves(ctx: &Ctx<'_>, wants: &[&Want], targets: &HashMap<String, Target>) {
    let users = match read_users(ctx, wants, &[]).await {
        Ok(u) => u,
        Err(e) => {
            for w in wants {
                let f = ctx.api_failure(&e, Family::Division, "the users", None);
                ctx.fail_want(w, Family::Division, "division", f);
            }
            return;
        }
    };
    let mut moves: Vec<(Op, division::Move)> = Vec::new();
    for w in wants {
        let Some(t) = w.names.first().and_then(|n| targets.get(n)) else {
            continue;
        };
        let Some(u) = users.get(&w.user) else {
            ctx.fail_want(w, Family::Division, "division", missing_user(&w.user));
            continue;
        };
        let current = u.division_id().map(|id| {
            let id = id.to_ascii_lowercase();
            (id.clone(), u.division_name().unwrap_or(&id).to_string())
        });
        match division::plan(current, &(t.id.clone(), t.name.clone())) {
            Ok(None) => {}
            Ok(Some(mv)) => {
                // Plans and reports show the move itself: `division: Home -> Sales`.
                let o = op(
                    w,
                    Family::Division,
                    &t.id,
                    &format!("{} -> {}", mv.from.1, mv.to.1),
                    Change::Add,
                );
                moves.push((o, mv));
            }
            Err(part) => ctx.fail_want(
                w,
                Family::Division,
                "division",
                Failure {
                    reason: Some(Reason::IncompleteRead),
                    message: format!(
                        "the user read did not carry the user's {part}; re-run the row"
                    ),
                    ..Failure::default()
                },
            ),
        }
    }
    if ctx.dry_run {
        for (o, _) in moves {
            ctx.push(o, Ending::Planned);
        }
        return;
    }
    let mut sent: Vec<(Op, division::Move, Option<Failure>)> = Vec::new();
    for (o, mv) in moves {
        if ctx.stopped(o.clone()) || !ctx.record(&o, "division".into(), mv.undo_cell()) {
            continue;
        }
        // One user per call: the maximum ids per move is undocumented.
        let r = ctx
            .client
            .move_users(&mv.to.0, std::slice::from_ref(&o.user))
            .await;
        let f = r.err().map(|e| {
            let e = writes::with_move_hint(e, &mv);
            ctx.api_failure(&e, Family::Division, &mv.to.1, Some(mv.to.0.clone()))
        });
        sent.push((o, mv, f));
    }
    if sent.is_empty() {
        return;
    }
    // Confirm: the moved users read again in bulk.
    let ids: Vec<String> = sent.iter().map(|(o, _, _)| o.user.clone()).collect();
    let after: Result<HashMap<String, User>, ApiError> =
        ctx.client.get_users(&ids, &[]).await.map(|l| {
            l.into_iter()
                .map(|u| (u.id.to_ascii_lowercase(), u))
                .collect()
        });
    for (o, mv, f) in sent {
        let ending = match (&after, f) {
            (Ok(a), f) => {
                let now = a
                    .get(&o.user)
                    .and_then(|u| u.division_id())
                    .map(str::to_ascii_lowercase);
                match (division::confirmed(now.as_deref(), &mv), f) {
                    (true, _) => Ending::Landed,
                    (false, Some(f)) => Ending::Failed(f),
                    (false, None) => Ending::Failed(not_applied(format!(
                        "the API accepted the move to {:?}, but the user read again is in another division",
                        mv.to.1
                    ))),
                }
            }
            (Err(_), Some(f)) => Ending::Failed(f),
            (Err(e), None) => {
                let f = ctx.api_failure(e, Family::Division, &mv.to.1, None);
                Ending::Failed(Failure {
                    message: format!("sent, but the confirmation read failed: {}", f.message),
                    ..f
                })
            }
        };
        if matches!(ending, Ending::Failed(_)) {
            ctx.void(&o, "division", &mv.undo_cell());
        }
        ctx.push(o, ending);
    }
}

// ---- locations ----

async fn locations_lists(ctx: &Ctx<'_>, wants: &[&Want], targets: &HashMap<String, Target>) {
    let mut users = match read_users(ctx, wants, &["locations"]).await {
        Ok(u) => u,
        Err(e) => {
            for w in wants {
                let f = ctx.api_failure(&e, Family::Locations, "the users", None);
                ctx.fail_want(w, Family::Locations, "locations", f);
            }
            return;
        }
    };
    let names_by_id: HashMap<String, String> = targets
        .values()
        .map(|t| (t.id.clone(), t.name.clone()))
        .collect();
    let mut by_user: BTreeMap<String, Vec<&Want>> = BTreeMap::new();
    for w in wants {
        by_user.entry(w.user.clone()).or_default().push(w);
    }
    for (user, wants) in by_user {
        let Some(u) = users.get_mut(&user) else {
            for w in &wants {
                ctx.fail_want(w, Family::Locations, "locations", missing_user(&user));
            }
            continue;
        };
        let mut u = u.clone();
        locations_for_user(ctx, &mut u, &wants, targets, &names_by_id).await;
    }
}

/// The row's wants as one [`locations::Want`].
fn locations_want(wants: &[&Want], targets: &HashMap<String, Target>) -> locations::Want {
    let named = |w: &Want| -> Vec<(String, String)> {
        w.names
            .iter()
            .filter_map(|n| targets.get(n))
            .map(|t| (t.id.clone(), t.name.clone()))
            .collect()
    };
    if let Some(r) = wants.iter().find(|w| w.op == ListOp::Replace) {
        return locations::Want::Replace(named(r));
    }
    let mut add = Vec::new();
    let mut remove = Vec::new();
    for w in wants {
        match w.op {
            ListOp::Add | ListOp::AddUnjoined => add.extend(named(w)),
            ListOp::Remove => remove.extend(named(w)),
            ListOp::Replace => {}
        }
    }
    locations::Want::Edit { add, remove }
}

async fn locations_for_user(
    ctx: &Ctx<'_>,
    user: &mut User,
    wants: &[&Want],
    targets: &HashMap<String, Target>,
    names_by_id: &HashMap<String, String>,
) {
    let Some(first) = wants.first() else { return };
    let want = locations_want(wants, targets);
    let mut names = names_by_id.clone();
    let mut conflicts = 0;
    loop {
        match writes::complete_locations(ctx.client, user).await {
            Ok((true, _)) => {}
            Ok((false, _)) => {
                let f = Failure {
                    reason: Some(Reason::IncompleteRead),
                    message: "the API did not return the user's locations (expand is best \
                              effort), even when read on its own; re-run the row"
                        .into(),
                    ..Failure::default()
                };
                return ctx.fail_want(first, Family::Locations, "locations", f);
            }
            Err(e) => {
                let f = ctx.api_failure(&e, Family::Locations, "the user's locations", None);
                return ctx.fail_want(first, Family::Locations, "locations", f);
            }
        }
        let current: Vec<Json> = writes::user_locations(user).cloned().unwrap_or_default();
        let unnamed = writes::unnamed(&current, &|id| names.contains_key(&id.to_ascii_lowercase()));
        if let Ok(found) = writes::name_locations(ctx.client, unnamed).await {
            names.extend(
                found
                    .into_iter()
                    .map(|(id, n)| (id.to_ascii_lowercase(), n)),
            );
        }
        let name_of = |id: &str| names.get(&id.to_ascii_lowercase()).cloned();
        // Compared by lower-cased id, as the names were resolved.
        let lowered: Vec<Json> = current.iter().map(lower_id).collect();
        let Some(plan) = locations::plan(&lowered, &want, &name_of) else {
            return;
        };
        let body_list = restore_ids(&plan.body, &current);
        let mut ops: Vec<Op> = plan
            .removed
            .iter()
            .map(|n| {
                op(
                    first,
                    Family::Locations,
                    &id_named(n, &names),
                    n,
                    Change::Remove,
                )
            })
            .collect();
        ops.extend(plan.added.iter().map(|n| {
            op(
                first,
                Family::Locations,
                &id_named(n, &names),
                n,
                Change::Add,
            )
        }));
        if ctx.dry_run {
            for o in ops {
                ctx.push(o, Ending::Planned);
            }
            return;
        }
        if ops.iter().any(|o| ctx.stopped(o.clone())) {
            return;
        }
        for o in &ops {
            let (field, cell) = inverse(Family::Locations, o);
            if !ctx.record(o, field, cell) {
                return;
            }
        }
        let body = json!({"locations": body_list, "version": user.version});
        let answer = ctx.client.patch_user(&user.id, &body).await;
        let after: Result<Vec<Json>, Failure> = match answer {
            Ok(a) => match writes::user_locations(&a) {
                Some(list) => Ok(list.clone()),
                None => match ctx.client.get_user(&user.id, &["locations"]).await {
                    Ok(r) => Ok(writes::user_locations(&r).cloned().unwrap_or_default()),
                    Err(e) => {
                        Err(ctx.api_failure(&e, Family::Locations, "the user's locations", None))
                    }
                },
            },
            Err(ApiError::Conflict { .. }) if conflicts < MAX_CONFLICTS => {
                conflicts += 1;
                for o in &ops {
                    let (field, cell) = inverse(Family::Locations, o);
                    ctx.void(o, &field, &cell);
                }
                match ctx.client.get_user(&user.id, &["locations"]).await {
                    Ok(fresh) => {
                        *user = fresh;
                        continue;
                    }
                    Err(e) => Err(ctx.api_failure(&e, Family::Locations, "the user", None)),
                }
            }
            Err(e) => Err(ctx.api_failure(&e, Family::Locations, "the user's locations", None)),
        };
        let after: Result<Vec<Json>, Failure> = after.map(|l| l.iter().map(lower_id).collect());
        for o in ops {
            let ending = match &after {
                Ok(list) => {
                    let has = list
                        .iter()
                        .any(|e| locations::entry_id(e) == Some(o.target.as_str()));
                    match (o.change, has) {
                        (Change::Add, true) | (Change::Remove, false) => Ending::Landed,
                        _ => Ending::Failed(not_applied(format!(
                            "the API accepted the user's new locations, but the user read \
                             again does not show {}{}",
                            o.show(),
                            ""
                        ))),
                    }
                }
                Err(f) => Ending::Failed(f.clone()),
            };
            if matches!(ending, Ending::Failed(_)) {
                let (field, cell) = inverse(Family::Locations, &o);
                ctx.void(&o, &field, &cell);
            }
            ctx.push(o, ending);
        }
        return;
    }
}

/// An entry with its location id lower-cased (for comparing with resolved ids).
fn lower_id(e: &Json) -> Json {
    let mut e = e.clone();
    if let Some(id) = locations::entry_id(&e).map(str::to_ascii_lowercase)
        && let Some(m) = e.as_object_mut()
    {
        if let Some(d) = m
            .get_mut("locationDefinition")
            .and_then(Json::as_object_mut)
        {
            d.insert("id".into(), Json::from(id.clone()));
        }
        if m.contains_key("id") {
            m.insert("id".into(), Json::from(id));
        }
    }
    e
}

/// The body with each kept entry's id as the server wrote it.
fn restore_ids(body: &[Json], current: &[Json]) -> Vec<Json> {
    body.iter()
        .map(|e| {
            let id = locations::entry_id(e).unwrap_or_default();
            match current
                .iter()
                .find(|c| locations::entry_id(c).is_some_and(|c| c.eq_ignore_ascii_case(id)))
            {
                Some(orig) => {
                    let mut e = orig.clone();
                    if let (Some(oid), Some(m)) = (
                        locations::entry_id(orig).map(str::to_string),
                        e.as_object_mut(),
                    ) {
                        m.insert("id".into(), Json::from(oid));
                    }
                    e
                }
                None => e.clone(),
            }
        })
        .collect()
}

/// The id of the location named `name` (the name itself when unknown).
fn id_named(name: &str, names: &HashMap<String, String>) -> String {
    names
        .iter()
        .find(|(_, n)| n.as_str() == name)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| name.to_ascii_lowercase())
}
