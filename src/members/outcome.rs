//! Merging a row's membership outcomes into its profile result, pure.
//!
//! A row is one line of the report whatever it changed: `updated` only when every
//! part the row asked for landed (or needed nothing) and at least one write landed;
//! `failed` when any part failed, with a message naming each part that failed and
//! each that landed (the undo file holds the landed ones); `planned` in a dry run
//! when anything would change.

use super::model::{Ending, Outcome};
use crate::report::{Reason, RowResult, Status};

/// `queues: +Support, -Billing; groups: +Night Shift` for these outcomes.
pub fn describe<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> String {
    let mut parts: Vec<(String, Vec<String>)> = Vec::new();
    for o in outcomes {
        let family = o.op.family.header().to_string();
        match parts.iter_mut().find(|(f, _)| *f == family) {
            Some((_, list)) => list.push(o.op.show()),
            None => parts.push((family, vec![o.op.show()])),
        }
    }
    parts
        .into_iter()
        .map(|(f, list)| format!("{f}: {}", list.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Fold a row's membership outcomes into its result.
pub fn merge(r: &mut RowResult, outcomes: &[Outcome]) {
    if outcomes.is_empty() {
        return;
    }
    // In a stable order whatever order the batches ran in.
    let mut sorted: Vec<Outcome> = outcomes.to_vec();
    sorted.sort_by(|a, b| {
        (a.op.family, a.op.change, &a.op.name).cmp(&(b.op.family, b.op.change, &b.op.name))
    });
    let outcomes = &sorted[..];
    let planned: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.ending == Ending::Planned)
        .collect();
    let landed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.ending == Ending::Landed)
        .collect();
    let failed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o.ending, Ending::Failed(_)))
        .collect();
    let skipped: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o.ending, Ending::Skipped(_)))
        .collect();
    for o in planned.iter().chain(&landed) {
        r.changes.push(crate::outcome::FieldChange::membership(
            o.op.family,
            o.op.show(),
        ));
        let column = o.op.family.header().to_string();
        if !r.changed.contains(&column) {
            r.changed.push(column);
        }
    }
    // After the changes: what the cell leaves alone.
    for o in outcomes.iter().filter(|o| o.ending == Ending::Kept) {
        r.changes.push(crate::outcome::FieldChange::kept(
            o.op.family,
            format!("{} (inherited through a group: kept)", o.op.name),
        ));
    }
    let mut message: Vec<String> = Vec::new();
    if !planned.is_empty() {
        if r.status == Status::Unchanged {
            r.status = Status::Planned;
        }
        message.push(format!(
            "would change {}",
            describe(planned.iter().copied())
        ));
    }
    if !landed.is_empty() {
        if r.status == Status::Unchanged {
            r.status = Status::Updated;
        }
        message.push(format!("changed {}", describe(landed.iter().copied())));
    }
    for o in &failed {
        let Ending::Failed(f) = &o.ending else {
            continue;
        };
        message.push(format!("failed {}: {}", describe([*o]), f.message));
        if r.status != Status::Failed {
            r.status = Status::Failed;
            r.reason = f.reason.or(Some(Reason::Rejected));
            r.http_status = f.http_status;
            r.code = f.code.clone();
            r.correlation_id = f.correlation_id.clone();
            // The refusal is about the queue's or group's division (when known).
            if f.reason == Some(Reason::Forbidden) && f.division.is_some() {
                r.division = f.division.clone();
            }
        }
    }
    if !skipped.is_empty() {
        message.push(format!(
            "not sent (the run stopped) {}",
            describe(skipped.iter().copied())
        ));
        if matches!(r.status, Status::Unchanged | Status::Updated) {
            r.status = Status::Failed;
            r.reason = skipped.iter().find_map(|o| match o.ending {
                Ending::Skipped(reason) => Some(reason),
                _ => None,
            });
        }
    }
    for o in outcomes {
        if let Some(note) = &o.note {
            message.push(note.clone());
        }
    }
    let profile = if r.message.is_empty() {
        String::new()
    } else {
        format!("profile: {}", r.message)
    };
    let mut all = vec![];
    let nothing_else = profile.ends_with("already up to date") && !message.is_empty();
    if !profile.is_empty() && !nothing_else {
        all.push(profile);
    }
    all.extend(message);
    r.message = all.join("; ");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Family;
    use crate::members::model::{Change, Failure, Op};

    fn outcome(name: &str, change: Change, ending: Ending) -> Outcome {
        Outcome {
            op: Op {
                line: 2,
                user: "u".into(),
                family: if name.starts_with('G') {
                    Family::Groups
                } else {
                    Family::Queues
                },
                target: name.to_lowercase(),
                name: name.into(),
                change,
                joined: None,
            },
            ending,
            note: None,
        }
    }

    fn failed(reason: Reason) -> Ending {
        Ending::Failed(Failure {
            reason: Some(reason),
            message: "permission denied (HTTP 403)".into(),
            http_status: Some(403),
            division: Some("d-restricted".into()),
            ..Failure::default()
        })
    }

    fn row(status: Status, message: &str) -> RowResult {
        let mut r = RowResult::new(0, 2, "u", vec![], status);
        r.message = message.into();
        r
    }

    #[test]
    fn statuses_merge_as_the_report_promises() {
        let table: Vec<(Status, Vec<Outcome>, Status, Option<Reason>)> = vec![
            (
                Status::Unchanged,
                vec![outcome("Support", Change::Add, Ending::Landed)],
                Status::Updated,
                None,
            ),
            (
                Status::Updated,
                vec![outcome("Support", Change::Remove, Ending::Landed)],
                Status::Updated,
                None,
            ),
            (
                Status::Unchanged,
                vec![outcome("Support", Change::Add, Ending::Planned)],
                Status::Planned,
                None,
            ),
            (
                Status::Updated,
                vec![
                    outcome("Support", Change::Add, Ending::Landed),
                    outcome("Restricted", Change::Add, failed(Reason::Forbidden)),
                ],
                Status::Failed,
                Some(Reason::Forbidden),
            ),
            (
                Status::Unchanged,
                vec![outcome(
                    "GNight",
                    Change::Add,
                    Ending::Skipped(Reason::Deadline),
                )],
                Status::Failed,
                Some(Reason::Deadline),
            ),
        ];
        for (before, outcomes, after, reason) in table {
            let mut r = row(before, "title");
            merge(&mut r, &outcomes);
            assert_eq!(r.status, after, "{before:?} + {outcomes:?}");
            assert_eq!(r.reason, reason, "{before:?} + {outcomes:?}");
        }
    }

    #[test]
    fn a_partly_failed_row_names_what_landed_and_what_failed() {
        let mut r = row(Status::Updated, "changed title");
        r.changed = vec!["title".into()];
        merge(
            &mut r,
            &[
                outcome("Support", Change::Add, Ending::Landed),
                outcome("GNight Shift", Change::Remove, Ending::Landed),
                outcome("Restricted Queue", Change::Add, failed(Reason::Forbidden)),
            ],
        );
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.http_status, Some(403));
        assert_eq!(r.division.as_deref(), Some("d-restricted"));
        assert_eq!(r.changed, ["title", "queues", "groups"]);
        assert!(
            r.message.contains("profile: changed title"),
            "{}",
            r.message
        );
        assert!(
            r.message
                .contains("changed queues: +Support; groups: -GNight Shift"),
            "{}",
            r.message
        );
        assert!(
            r.message
                .contains("failed queues: +Restricted Queue: permission denied"),
            "{}",
            r.message
        );
    }
}
