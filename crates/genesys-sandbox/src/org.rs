//! The org's memberships: queues (direct members, member groups, joined state),
//! groups (members and `version`), roles and their grants (per user and per group),
//! and locations. Users are referred to by their store index (`u32`); ids and
//! names are rendered by the routes.
//!
//! Decisions are pure functions over these types (unit-tested below); the routes
//! check users and permissions, then call them. The seeded state is built by
//! [`crate::seed_org`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// A queue: its direct members (user index → joined), the groups whose members are
/// members too, and the joined state of those group-derived members.
#[derive(Clone, Debug, Default)]
pub struct Queue {
    pub id: String,
    pub name: String,
    /// Index into the catalogue's divisions.
    pub division: usize,
    pub direct: BTreeMap<u32, bool>,
    /// Member groups (indices into [`Org::groups`]).
    pub groups: Vec<usize>,
    /// Joined state of group-derived members; absent = not joined.
    pub derived_joined: HashMap<u32, bool>,
}

/// How a queue member is a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    User,
    /// Through this group (index into [`Org::groups`]).
    Group(usize),
}

impl By {
    /// `memberBy` on the wire.
    pub fn wire(self) -> &'static str {
        match self {
            By::User => "user",
            By::Group(_) => "group",
        }
    }
}

/// One member of a queue as listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub user: u32,
    pub joined: bool,
    pub by: By,
}

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub division: usize,
    pub version: i64,
    pub members: BTreeSet<u32>,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[derive(Clone, Debug)]
pub struct Location {
    pub id: String,
    pub name: String,
    pub city: String,
}

/// The division of a grant: one division (catalogue index) or `*` (all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantDivision {
    One(usize),
    All,
}

/// One role grant held directly by a subject.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    pub role: usize,
    pub division: GrantDivision,
    /// `grantMadeAt`, already formatted.
    pub made_at: String,
}

/// A queue join change accepted by a PATCH, applied when `due`.
#[derive(Clone, Debug)]
struct PendingJoin {
    due: Instant,
    queue: usize,
    user: u32,
    joined: bool,
}

/// Everything about memberships.
#[derive(Debug, Default)]
pub struct Org {
    pub queues: Vec<Queue>,
    pub groups: Vec<Group>,
    pub roles: Vec<Role>,
    pub locations: Vec<Location>,
    /// Direct grants of users that differ from the default (the `Employee` role in
    /// the home division, made at [`SEEDED_AT`]).
    pub user_grants: HashMap<u32, Vec<Grant>>,
    /// Direct grants of each group (same indices as `groups`).
    pub group_grants: Vec<Vec<Grant>>,
    pending: Vec<PendingJoin>,
    /// `version` of each subject (user or group id) whose grants changed; 1
    /// otherwise.
    pub subject_versions: HashMap<String, i64>,
    /// How long an accepted join PATCH takes to show (`Quirks::join_delay`).
    pub join_delay: Duration,
}

/// `grantMadeAt` of every seeded grant.
pub const SEEDED_AT: &str = "2024-01-15T09:00:00.000Z";
/// The role every user holds in the home division at start.
pub const EMPLOYEE_ROLE: usize = 0;

impl Org {
    /// The members of queue `q`: direct ones, then those of its groups that are
    /// not direct members, in user order.
    pub fn members(&self, q: usize) -> Vec<Member> {
        let queue = &self.queues[q];
        let mut out: BTreeMap<u32, Member> = queue
            .direct
            .iter()
            .map(|(&user, &joined)| {
                (
                    user,
                    Member {
                        user,
                        joined,
                        by: By::User,
                    },
                )
            })
            .collect();
        for &g in &queue.groups {
            for &user in &self.groups[g].members {
                out.entry(user).or_insert(Member {
                    user,
                    joined: queue.derived_joined.get(&user).copied().unwrap_or(false),
                    by: By::Group(g),
                });
            }
        }
        out.into_values().collect()
    }

    pub fn member(&self, q: usize, user: u32) -> Option<Member> {
        self.members(q).into_iter().find(|m| m.user == user)
    }

    /// Apply every pending join change that is due at `now`.
    pub fn settle(&mut self, now: Instant) {
        if self.pending.is_empty() {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|p| p.due <= now);
        self.pending = later;
        for p in due {
            self.set_joined(p.queue, p.user, p.joined);
        }
    }

    /// Apply every pending join change now.
    pub fn settle_all(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for p in pending {
            self.set_joined(p.queue, p.user, p.joined);
        }
    }

    /// Queue a join change (applied at once when there is no delay). Non-members
    /// are disregarded, as the API says; returns whether `user` is a member.
    pub fn request_join(&mut self, now: Instant, q: usize, user: u32, joined: bool) -> bool {
        if self.member(q, user).is_none() {
            return false;
        }
        if self.join_delay.is_zero() {
            self.set_joined(q, user, joined);
        } else {
            self.pending.push(PendingJoin {
                due: now + self.join_delay,
                queue: q,
                user,
                joined,
            });
        }
        true
    }

    fn set_joined(&mut self, q: usize, user: u32, joined: bool) {
        match self.member(q, user) {
            Some(Member { by: By::User, .. }) => {
                self.queues[q].direct.insert(user, joined);
            }
            Some(Member {
                by: By::Group(_), ..
            }) => {
                self.queues[q].derived_joined.insert(user, joined);
            }
            None => {}
        }
    }

    /// The direct grants of user `u`.
    pub fn grants_of_user(&self, u: u32) -> Vec<Grant> {
        self.user_grants
            .get(&u)
            .cloned()
            .unwrap_or_else(|| default_grants(crate::seed::HOME))
    }

    /// The groups user `u` is a member of.
    pub fn groups_of(&self, u: u32) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|&g| self.groups[g].members.contains(&u))
            .collect()
    }

    /// The queues user `u` is a member of, with how.
    pub fn queues_of(&self, u: u32) -> Vec<(usize, Member)> {
        (0..self.queues.len())
            .filter_map(|q| self.member(q, u).map(|m| (q, m)))
            .collect()
    }
}

/// `Employee` in the home division: what every user holds at start.
pub fn default_grants(home: usize) -> Vec<Grant> {
    vec![Grant {
        role: EMPLOYEE_ROLE,
        division: GrantDivision::One(home),
        made_at: SEEDED_AT.into(),
    }]
}

/// Why a queue member write is refused (the route renders it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberError {
    /// Removing members who are members only through a group: (user, group).
    ThroughGroup(Vec<(u32, usize)>),
}

/// Decide a queue member write: the users to add (not yet direct members) or to
/// remove (direct members). Removing a member who is one only through a group is
/// refused whole; removing a non-member is nothing to do.
pub fn plan_member_write(
    members: &[Member],
    users: &[u32],
    delete: bool,
) -> Result<Vec<u32>, MemberError> {
    let find = |u: u32| members.iter().find(|m| m.user == u);
    let mut out: Vec<u32> = Vec::new();
    let mut through_group = Vec::new();
    for &u in users {
        if out.contains(&u) {
            continue;
        }
        match (delete, find(u)) {
            (false, Some(Member { by: By::User, .. })) => {}
            (false, _) => out.push(u),
            (true, Some(Member { by: By::User, .. })) => out.push(u),
            (
                true,
                Some(Member {
                    by: By::Group(g), ..
                }),
            ) => through_group.push((u, *g)),
            (true, None) => {}
        }
    }
    if through_group.is_empty() {
        Ok(out)
    } else {
        Err(MemberError::ThroughGroup(through_group))
    }
}

/// Name filters of the listings that have one. Queues: `*` at the start or end
/// is a wildcard; without a leading `*` the name is a prefix (so `Support` finds
/// `Support` and `Support Team`). Roles and divisions: a substring. Both ignore
/// case; neither is an exact match, so clients must compare names themselves.
pub fn queue_name_matches(filter: &str, name: &str) -> bool {
    let f = filter.to_lowercase();
    let n = name.to_lowercase();
    let leading = f.starts_with('*');
    let core = f.trim_matches('*');
    if leading {
        n.contains(core)
    } else {
        n.starts_with(core)
    }
}

/// See [`queue_name_matches`].
pub fn substring_matches(filter: &str, name: &str) -> bool {
    name.to_lowercase()
        .contains(filter.trim_matches('*').to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Org {
        let mut o = Org::default();
        o.groups.push(Group {
            id: "g".into(),
            name: "G".into(),
            members: [5, 6].into_iter().collect(),
            ..Group::default()
        });
        o.queues.push(Queue {
            id: "q".into(),
            name: "Q".into(),
            direct: [(1, true), (6, false)].into_iter().collect(),
            groups: vec![0],
            ..Queue::default()
        });
        o
    }

    #[test]
    fn members_are_direct_first_then_through_groups() {
        let o = org();
        let m = o.members(0);
        assert_eq!(
            m,
            vec![
                Member {
                    user: 1,
                    joined: true,
                    by: By::User
                },
                Member {
                    user: 5,
                    joined: false,
                    by: By::Group(0)
                },
                Member {
                    user: 6,
                    joined: false,
                    by: By::User
                },
            ]
        );
    }

    #[test]
    fn member_writes_are_planned() {
        let o = org();
        let m = o.members(0);
        // (users, delete) -> planned users or the group-derived refusal
        type Row<'a> = (&'a [u32], bool, Result<Vec<u32>, MemberError>);
        let table: &[Row] = &[
            (&[1, 2, 2], false, Ok(vec![2])),
            (&[5], false, Ok(vec![5])),
            (&[1, 9], true, Ok(vec![1])),
            (&[6], true, Ok(vec![6])),
            (&[1, 5], true, Err(MemberError::ThroughGroup(vec![(5, 0)]))),
        ];
        for (users, delete, want) in table {
            assert_eq!(
                &plan_member_write(&m, users, *delete),
                want,
                "{users:?} {delete}"
            );
        }
    }

    #[test]
    fn joins_wait_for_their_delay_and_ignore_non_members() {
        let mut o = org();
        o.join_delay = Duration::from_secs(10);
        let t0 = Instant::now();
        assert!(o.request_join(t0, 0, 5, true));
        assert!(!o.request_join(t0, 0, 42, true));
        o.settle(t0 + Duration::from_secs(1));
        assert!(!o.member(0, 5).unwrap().joined);
        o.settle(t0 + Duration::from_secs(10));
        assert!(o.member(0, 5).unwrap().joined);
        assert!(o.request_join(t0, 0, 1, false));
        o.settle_all();
        assert!(!o.member(0, 1).unwrap().joined);
    }

    #[test]
    fn name_filters_are_not_exact() {
        let table = [
            ("Support", "Support", true),
            ("Support", "Support Team", true),
            ("support*", "Support Team", true),
            ("*Team", "Support Team", true),
            ("Team", "Support Team", false),
            ("Sales", "Support", false),
        ];
        for (f, n, want) in table {
            assert_eq!(queue_name_matches(f, n), want, "{f} {n}");
        }
        assert!(substring_matches("admin", "Admin Lite"));
        assert!(substring_matches("Ops", "Restricted Ops"));
        assert!(!substring_matches("Adm1n", "Admin"));
    }
}
