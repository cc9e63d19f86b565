//! `locations`: the users read in bulk with `expand=locations`, one version-guarded
//! user PATCH per change, confirmed by its answer (or a read when it lacks the list).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value as Json, json};

use super::{Ctx, MAX_CONFLICTS, inverse, missing_user, not_applied, op, read_users};
use crate::client::ApiError;
use crate::input::{Family, ListOp};
use crate::members::model::{Change, Ending, Failure, Op, Target, Want};
use crate::members::{locations, writes};
use crate::model::User;
use crate::report::Reason;

pub(super) async fn locations_lists(
    ctx: &Ctx<'_>,
    wants: &[&Want],
    targets: &HashMap<String, Target>,
) {
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
            // One user PATCH.
            ctx.plan_writes(u64::from(!ops.is_empty()));
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
