//! The pure half of memberships: what a row wants, what the member lists say, and
//! the operations that close the gap. No I/O: the phase ([`super::run`]) reads,
//! calls these, and writes.

use std::collections::HashMap;

use crate::input::{Family, ListOp};
use crate::report::Reason;

/// A named thing a user can be a member of (a queue, a group), as resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub name: String,
    /// Its division id: permissions follow it (for the permission breaker).
    pub division: Option<String>,
    /// Queues: the groups whose members are members of it, when the API said.
    pub via_groups: Vec<String>,
}

/// What one list cell of one row asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    pub line: u64,
    /// The user id, lower-cased.
    pub user: String,
    pub family: Family,
    pub op: ListOp,
    /// The names as the cell gives them (empty for the clear marker).
    pub names: Vec<String>,
}

/// Add or remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    Add,
    Remove,
}

impl Change {
    /// `+` or `-`, as plan lines and reports show it.
    pub fn sign(self) -> char {
        match self {
            Change::Add => '+',
            Change::Remove => '-',
        }
    }
}

/// One membership change for one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    pub line: u64,
    pub user: String,
    pub family: Family,
    pub target: String,
    pub name: String,
    pub change: Change,
    /// Queues: for an add, the joined state wanted after it (`Some(true)`: a user
    /// added to a queue is joined; `Some(false)` for `:add-unjoined`); for a remove,
    /// the state the member had, so the undo puts it back. `None` elsewhere.
    pub joined: Option<bool>,
}

impl Op {
    /// The list column whose cell undoes this change: `:remove` for an add, `:add`
    /// for a remove (`:add-unjoined` for a queue member who had not joined).
    pub fn undo_op(&self) -> ListOp {
        match (self.change, self.joined) {
            (Change::Add, _) => ListOp::Remove,
            (Change::Remove, Some(false)) => ListOp::AddUnjoined,
            (Change::Remove, _) => ListOp::Add,
        }
    }

    /// `+Support` / `-Night Shift` (a step that is not a change, such as a read of
    /// the user's current list, has no target and shows its name alone).
    pub fn show(&self) -> String {
        // A division move is named as the move itself (`Home -> Sales`).
        if self.target.is_empty() || self.family == Family::Division {
            return self.name.clone();
        }
        // In the list syntax (`\;` inside a name), so a message stays unambiguous.
        format!(
            "{}{}",
            self.change.sign(),
            crate::input::lists::encode(&[self.name.as_str()])
        )
    }
}

/// One member as a member list shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Member {
    /// Queues: joined (`None`: the listing did not say).
    pub joined: Option<bool>,
    /// A membership through a group: not the user's own, cannot be removed directly.
    pub by_group: bool,
}

/// A target's members, by lower-cased user id.
pub type Members = HashMap<String, Member>;

/// What the diff decided for one change a row asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send it.
    Write(Op),
    /// Refused without a write, and why (a group-derived membership to remove).
    Refuse(Op, String),
}

/// The changes `want` needs. `targets` holds the family's resolved names;
/// `lists` the member lists read of the targets involved; `current` (replace only)
/// the user's own memberships as `(target id, name)`.
///
/// Add: a member already (in any way) needs nothing. Remove: a non-member needs
/// nothing; a member through a group is refused, naming the group. Replace: the
/// difference both ways, where memberships through a group are not the user's own:
/// never removed, never counted as a difference.
pub fn diff(
    want: &Want,
    targets: &HashMap<String, Target>,
    lists: &HashMap<String, Members>,
    current: &[(String, String)],
) -> Vec<Decision> {
    let member = |target: &str| lists.get(target).and_then(|m| m.get(&want.user)).copied();
    let queues = want.family == Family::Queues;
    let op = |t: &Target, change| {
        let joined = match change {
            Change::Add => queues.then_some(want.op != ListOp::AddUnjoined),
            Change::Remove => member(&t.id).and_then(|m| m.joined),
        };
        Op {
            line: want.line,
            user: want.user.clone(),
            family: want.family,
            target: t.id.clone(),
            name: t.name.clone(),
            change,
            joined,
        }
    };
    let mut out = Vec::new();
    let named: Vec<&Target> = want.names.iter().filter_map(|n| targets.get(n)).collect();
    match want.op {
        ListOp::Add | ListOp::AddUnjoined => {
            for t in named {
                if member(&t.id).is_none() {
                    out.push(Decision::Write(op(t, Change::Add)));
                }
            }
        }
        ListOp::Remove => {
            for t in named {
                match member(&t.id) {
                    None => {}
                    Some(m) if m.by_group => {
                        out.push(Decision::Refuse(op(t, Change::Remove), by_group(t)))
                    }
                    Some(_) => out.push(Decision::Write(op(t, Change::Remove))),
                }
            }
        }
        ListOp::Replace => {
            for t in &named {
                if member(&t.id).is_none() {
                    out.push(Decision::Write(op(t, Change::Add)));
                }
            }
            for (id, name) in current {
                if named.iter().any(|t| &t.id == id) {
                    continue;
                }
                match member(id) {
                    Some(m) if !m.by_group => {
                        let t = targets
                            .get(name)
                            .filter(|t| &t.id == id)
                            .cloned()
                            .unwrap_or_else(|| Target {
                                id: id.clone(),
                                name: name.clone(),
                                ..Target::default()
                            });
                        out.push(Decision::Write(op(&t, Change::Remove)));
                    }
                    // Through a group, or gone since the user's list was read.
                    _ => {}
                }
            }
        }
    }
    out
}

/// Why a membership through a group cannot be removed, naming the group when known.
pub fn by_group(t: &Target) -> String {
    by_group_of(t, &[])
}

/// [`by_group`], with the user's own groups when the queue does not say which group
/// it holds (the group must be one of them).
pub fn by_group_of(t: &Target, users_groups: &[String]) -> String {
    let groups = match (t.via_groups.as_slice(), users_groups) {
        ([], []) => "a group".to_string(),
        ([], [one]) => format!("the group '{one}'"),
        ([], many) => format!("one of the user's groups ('{}')", many.join("', '")),
        (via, _) => format!("the group '{}'", via.join("', '")),
    };
    format!(
        "the user is a member of '{}' through {groups} (memberBy group), which genupdate \
         cannot remove directly: remove the user from {groups} instead (groups:remove), \
         or leave the name out",
        t.name
    )
}

/// How one change ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// Dry run: it would be sent.
    Planned,
    /// The confirmation read shows it.
    Landed,
    /// It did not land (or was refused before any write).
    Failed(Failure),
    /// The run stopped before it was sent.
    Skipped(Reason),
    /// Dry run: held and left alone, shown in the plan only (a role grant the user
    /// inherits through a group: never removed, never a difference).
    Kept,
}

/// Why a change failed, in the report's terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Failure {
    pub reason: Option<Reason>,
    pub message: String,
    pub http_status: Option<u16>,
    pub code: Option<String>,
    pub correlation_id: Option<String>,
    /// The target's division (a 403 counts towards the permission breaker there).
    pub division: Option<String>,
}

/// One change and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub op: Op,
    pub ending: Ending,
    /// Something worth saying that does not change the ending (not joined yet).
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, name: &str) -> Target {
        Target {
            id: id.into(),
            name: name.into(),
            ..Target::default()
        }
    }

    fn world() -> (HashMap<String, Target>, HashMap<String, Members>) {
        let targets: HashMap<String, Target> = [
            ("Support", target("q1", "Support")),
            ("Billing", target("q2", "Billing")),
            ("Sales", target("q3", "Sales")),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
        let mut lists: HashMap<String, Members> = HashMap::new();
        let own = Member {
            joined: Some(true),
            by_group: false,
        };
        let group = Member {
            joined: Some(true),
            by_group: true,
        };
        lists.insert("q1".into(), [("u".to_string(), own)].into_iter().collect());
        lists.insert(
            "q2".into(),
            [("u".to_string(), group)].into_iter().collect(),
        );
        lists.insert("q3".into(), Members::new());
        (targets, lists)
    }

    fn want(op: ListOp, names: &[&str]) -> Want {
        Want {
            line: 2,
            user: "u".into(),
            family: Family::Queues,
            op,
            names: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn shown(d: &[Decision]) -> Vec<String> {
        d.iter()
            .map(|d| match d {
                Decision::Write(op) => op.show(),
                Decision::Refuse(op, _) => format!("refuse {}", op.show()),
            })
            .collect()
    }

    #[test]
    fn each_operation_writes_only_the_difference() {
        let (targets, lists) = world();
        let current = vec![
            ("q1".to_string(), "Support".to_string()),
            ("q2".to_string(), "Billing".to_string()),
        ];
        let table: &[(ListOp, &[&str], &[&str])] = &[
            (ListOp::Add, &["Support"], &[]),
            (ListOp::Add, &["Sales", "Support"], &["+Sales"]),
            (ListOp::Add, &["Billing"], &[]),
            (ListOp::Remove, &["Sales"], &[]),
            (ListOp::Remove, &["Support"], &["-Support"]),
            (ListOp::Remove, &["Billing"], &["refuse -Billing"]),
            // Replace: the group-derived Billing is not the user's own to remove.
            (ListOp::Replace, &["Support"], &[]),
            (ListOp::Replace, &["Sales"], &["+Sales", "-Support"]),
            (ListOp::Replace, &[], &["-Support"]),
            (ListOp::Replace, &["Support", "Billing"], &[]),
        ];
        for (op, names, expected) in table {
            let got = diff(&want(*op, names), &targets, &lists, &current);
            assert_eq!(shown(&got), *expected, "{op:?} {names:?}");
        }
    }

    #[test]
    fn the_undo_of_a_removal_keeps_the_joined_state() {
        let (targets, mut lists) = world();
        lists.get_mut("q1").unwrap().get_mut("u").unwrap().joined = Some(false);
        let remove = diff(&want(ListOp::Remove, &["Support"]), &targets, &lists, &[]);
        let add = diff(
            &want(ListOp::AddUnjoined, &["Sales"]),
            &targets,
            &lists,
            &[],
        );
        let ops: Vec<(ListOp, Option<bool>)> = remove
            .iter()
            .chain(&add)
            .map(|d| match d {
                Decision::Write(op) | Decision::Refuse(op, _) => (op.undo_op(), op.joined),
            })
            .collect();
        assert_eq!(
            ops,
            [
                (ListOp::AddUnjoined, Some(false)),
                (ListOp::Remove, Some(false))
            ]
        );
    }

    #[test]
    fn a_refused_group_removal_names_the_group_when_known() {
        let mut t = target("q2", "Billing");
        assert!(by_group(&t).contains("through a group"));
        t.via_groups = vec!["Billing Group".into()];
        assert!(by_group(&t).contains("the group 'Billing Group'"));
        let t = target("q2", "Billing");
        let mine = ["Billing Group".to_string(), "Night Shift".to_string()];
        assert!(by_group_of(&t, &mine[..1]).contains("the group 'Billing Group'"));
        assert!(by_group_of(&t, &mine).contains("('Billing Group', 'Night Shift')"));
    }
}
