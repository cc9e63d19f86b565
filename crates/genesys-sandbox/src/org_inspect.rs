//! The membership half of [`Sandbox`]'s in-process API: look up the seeded
//! queues, groups, roles, divisions and locations by name, and read (or set up)
//! memberships, for tests on either side to assert state after a run.

use serde_json::Value;

use crate::server::lock;
use crate::{Sandbox, SubjectGrant, org, routes_authz, routes_locations};

impl Sandbox {
    /// The id of the first queue named exactly `name` (case-sensitive; `Dup Queue`
    /// has two, see [`Sandbox::queue_ids`]).
    pub fn queue_id(&self, name: &str) -> Option<String> {
        self.queue_ids(name).into_iter().next()
    }

    /// The ids of every queue named exactly `name`, in seeded order.
    pub fn queue_ids(&self, name: &str) -> Vec<String> {
        let store = lock(&self.shared.store);
        store
            .org
            .queues
            .iter()
            .filter(|q| q.name == name)
            .map(|q| q.id.clone())
            .collect()
    }

    /// The user ids of every member of a queue (direct and through groups), in
    /// seeded user order, after applying pending join changes that are due. Empty
    /// for an unknown queue.
    pub fn queue_member_ids(&self, queue_id: &str) -> Vec<String> {
        let mut store = lock(&self.shared.store);
        store.org.settle(std::time::Instant::now());
        let Some(q) = store.org.queues.iter().position(|q| q.id == queue_id) else {
            return Vec::new();
        };
        store
            .org
            .members(q)
            .iter()
            .map(|m| store.id_string(m.user as usize))
            .collect()
    }

    /// A user's membership of a queue as `(joined, memberBy)` (`"user"` or
    /// `"group"`), or `None` when not a member (or either id is unknown). Pending
    /// join changes that are due are applied first.
    pub fn queue_member(&self, queue_id: &str, user_id: &str) -> Option<(bool, String)> {
        let mut store = lock(&self.shared.store);
        store.org.settle(std::time::Instant::now());
        let q = store.org.queues.iter().position(|q| q.id == queue_id)?;
        let u = store.lookup(user_id)? as u32;
        let m = store.org.member(q, u)?;
        Some((m.joined, m.by.wire().to_string()))
    }

    /// Set up a direct queue membership: `Some(joined)` makes the user a direct
    /// member with that joined state, `None` removes the direct membership (not
    /// one through a group). `Err` for an unknown queue or user.
    pub fn set_queue_member(
        &self,
        queue_id: &str,
        user_id: &str,
        joined: Option<bool>,
    ) -> Result<(), String> {
        let mut store = lock(&self.shared.store);
        let q = store
            .org
            .queues
            .iter()
            .position(|q| q.id == queue_id)
            .ok_or_else(|| format!("no queue {queue_id}"))?;
        let u = store
            .lookup(user_id)
            .ok_or_else(|| format!("no user {user_id}"))? as u32;
        match joined {
            Some(j) => store.org.queues[q].direct.insert(u, j),
            None => store.org.queues[q].direct.remove(&u),
        };
        Ok(())
    }

    /// Apply every accepted join change now, whatever `Quirks::join_delay` says
    /// (for tests that must not wait).
    pub fn apply_pending_joins(&self) {
        lock(&self.shared.store).org.settle_all();
    }

    /// The id of the group named exactly `name`.
    pub fn group_id(&self, name: &str) -> Option<String> {
        let store = lock(&self.shared.store);
        let g = store.org.groups.iter().find(|g| g.name == name)?;
        Some(g.id.clone())
    }

    /// The user ids of a group's members, in seeded user order (empty for an
    /// unknown group).
    pub fn group_member_ids(&self, group_id: &str) -> Vec<String> {
        let store = lock(&self.shared.store);
        let Some(g) = store.org.groups.iter().find(|g| g.id == group_id) else {
            return Vec::new();
        };
        g.members
            .iter()
            .map(|&u| store.id_string(u as usize))
            .collect()
    }

    /// A group's current `version`.
    pub fn group_version(&self, group_id: &str) -> Option<i64> {
        let store = lock(&self.shared.store);
        store
            .org
            .groups
            .iter()
            .find(|g| g.id == group_id)
            .map(|g| g.version)
    }

    /// Another admin edits the group: its `version` goes up by one, so a write
    /// with the version read before answers 409. Returns the new version.
    pub fn bump_group_version(&self, group_id: &str) -> Option<i64> {
        let mut store = lock(&self.shared.store);
        let g = store.org.groups.iter_mut().find(|g| g.id == group_id)?;
        g.version += 1;
        Some(g.version)
    }

    /// The id of the location named exactly `name`.
    pub fn location_id(&self, name: &str) -> Option<String> {
        let store = lock(&self.shared.store);
        let l = store.org.locations.iter().find(|l| l.name == name)?;
        Some(l.id.clone())
    }

    /// A user's locations as `(location id, notes)`, as stored.
    pub fn user_locations(&self, user_id: &str) -> Vec<(String, Option<String>)> {
        let store = lock(&self.shared.store);
        let Some(i) = store.lookup(user_id) else {
            return Vec::new();
        };
        let rec = store.get(i);
        rec.doc
            .get("locations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    routes_locations::entry_location_id(e)
                        .unwrap_or_default()
                        .to_string(),
                    e.get("notes").and_then(Value::as_str).map(str::to_string),
                )
            })
            .collect()
    }

    /// The id of the division named exactly `name` (`Home`, `Restricted Ops`,
    /// `Sales`).
    pub fn division_id(&self, name: &str) -> Option<String> {
        let store = lock(&self.shared.store);
        let d = store.catalogue.divisions.iter().find(|d| d.name == name)?;
        Some(d.id.clone())
    }

    /// The id of the role named exactly `name`.
    pub fn role_id(&self, name: &str) -> Option<String> {
        let store = lock(&self.shared.store);
        let r = store.org.roles.iter().find(|r| r.name == name)?;
        Some(r.id.clone())
    }

    /// Every grant a user holds: direct ones (`subject_id` = the user's id) and
    /// those inherited from groups (`subject_id` = the group's id), as role and
    /// division names (`*` for all divisions). Empty for an unknown user.
    pub fn user_grants(&self, user_id: &str) -> Vec<SubjectGrant> {
        let store = lock(&self.shared.store);
        let Some(i) = store.lookup(user_id) else {
            return Vec::new();
        };
        routes_authz::effective_grants(&store, i as u32)
            .into_iter()
            .map(|(subject_id, g)| SubjectGrant {
                role: store.org.roles[g.role].name.clone(),
                division: match g.division {
                    org::GrantDivision::One(d) => store.catalogue.divisions[d].name.clone(),
                    org::GrantDivision::All => "*".into(),
                },
                subject_id,
            })
            .collect()
    }
}
