//! Batching, pure: changes grouped by family, target and direction across every
//! row, cut at the API's limit per call; and which members a 400 names, so a
//! batch can be sent again without them.

use std::collections::BTreeMap;

use super::model::{Change, Op};
use crate::input::Family;

/// Changes that go out in one call: one target, one direction, up to the limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub family: Family,
    pub target: String,
    pub change: Change,
    pub ops: Vec<Op>,
}

impl Batch {
    /// The user ids of the batch, in order.
    pub fn users(&self) -> Vec<String> {
        self.ops.iter().map(|o| o.user.clone()).collect()
    }
}

/// Group `ops` by (family, target, change) and cut each group into calls of at
/// most `max(family)` users. Deterministic: targets in id order, users in the order
/// given (input order), adds before removes.
pub fn batches(ops: Vec<Op>, max: impl Fn(Family) -> usize) -> Vec<Batch> {
    let mut groups: BTreeMap<(Family, String, Change), Vec<Op>> = BTreeMap::new();
    for op in ops {
        groups
            .entry((op.family, op.target.clone(), op.change))
            .or_default()
            .push(op);
    }
    let mut out = Vec::new();
    for ((family, target, change), ops) in groups {
        let size = max(family).max(1);
        let mut ops = ops.into_iter().peekable();
        while ops.peek().is_some() {
            out.push(Batch {
                family,
                target: target.clone(),
                change,
                ops: ops.by_ref().take(size).collect(),
            });
        }
    }
    out
}

/// The users of a batch that a 400's text names (by id, in any case). Empty: the
/// 400 is about the batch as a whole.
pub fn named_members(message: &str, users: &[String]) -> Vec<String> {
    let text = message.to_ascii_lowercase();
    users
        .iter()
        .filter(|u| !u.is_empty() && text.contains(&u.to_ascii_lowercase()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(user: usize, target: &str, change: Change) -> Op {
        Op {
            line: user as u64 + 2,
            user: format!("u{user:03}"),
            family: if target.starts_with('g') {
                Family::Groups
            } else {
                Family::Queues
            },
            target: target.into(),
            name: target.to_uppercase(),
            change,
            joined: None,
        }
    }

    fn limit(f: Family) -> usize {
        match f {
            Family::Queues => 100,
            Family::Groups => 50,
            _ => 1,
        }
    }

    #[test]
    fn batches_cut_at_each_familys_limit_across_users() {
        let table: &[(usize, &str, Change, &[usize])] = &[
            (1, "q1", Change::Add, &[1]),
            (100, "q1", Change::Add, &[100]),
            (101, "q1", Change::Add, &[100, 1]),
            (1000, "q1", Change::Add, &[100; 10]),
            (50, "g1", Change::Remove, &[50]),
            (120, "g1", Change::Add, &[50, 50, 20]),
        ];
        for (n, target, change, sizes) in table {
            let ops: Vec<Op> = (0..*n).map(|u| op(u, target, *change)).collect();
            let got: Vec<usize> = batches(ops, limit).iter().map(|b| b.ops.len()).collect();
            assert_eq!(got, *sizes, "{n} users on {target}");
        }
    }

    #[test]
    fn batches_never_mix_targets_or_directions() {
        let ops = vec![
            op(1, "q1", Change::Add),
            op(2, "q2", Change::Add),
            op(3, "q1", Change::Remove),
            op(4, "q1", Change::Add),
        ];
        let got: Vec<(String, Change, Vec<String>)> = batches(ops, limit)
            .into_iter()
            .map(|b| (b.target.clone(), b.change, b.users()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("q1".into(), Change::Add, vec!["u001".into(), "u004".into()]),
                ("q1".into(), Change::Remove, vec!["u003".into()]),
                ("q2".into(), Change::Add, vec!["u002".into()]),
            ]
        );
    }

    #[test]
    fn a_400_names_the_members_to_leave_out() {
        let users = vec!["aaa-1".to_string(), "bbb-2".to_string()];
        let table: &[(&str, &[&str])] = &[
            ("member BBB-2 is not a valid user", &["bbb-2"]),
            ("members aaa-1, bbb-2 are deleted", &["aaa-1", "bbb-2"]),
            ("the request body is malformed", &[]),
        ];
        for (message, want) in table {
            assert_eq!(named_members(message, &users), *want, "{message}");
        }
    }
}
