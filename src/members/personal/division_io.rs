//! `division`: the users read in bulk, one move call per user, the moved users read
//! again in bulk to confirm.

use std::collections::HashMap;

use super::{Ctx, missing_user, not_applied, op, read_users};
use crate::client::ApiError;
use crate::input::Family;
use crate::members::model::{Change, Ending, Failure, Op, Target, Want};
use crate::members::{division, writes};
use crate::model::User;
use crate::report::Reason;

pub(super) async fn division_moves(
    ctx: &Ctx<'_>,
    wants: &[&Want],
    targets: &HashMap<String, Target>,
) {
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
        // One move call per user.
        ctx.plan_writes(moves.len() as u64);
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
