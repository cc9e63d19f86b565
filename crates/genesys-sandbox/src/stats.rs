//! The counters tests and benchmarks read: `Sandbox::stats()` in process, or
//! `GET /sandbox/stats` over HTTP. Routes are counted by template
//! (`PATCH /api/v2/users/{id} 200`) so that the map stays small whatever the ids.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A snapshot of the sandbox's counters since start (or the last reset).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SandboxStats {
    /// Every request to the token endpoint and the API (not `/sandbox/...`).
    pub requests: u64,
    /// `"METHOD /route/{template} STATUS"` (STATUS is `dropped` for a closed
    /// connection) to count.
    pub by_route: BTreeMap<String, u64>,
    /// 429s sent, bursts included.
    pub too_many_requests: u64,
    /// Of those, 429s sent by the burst fault.
    pub burst_429s: u64,
    /// API requests that arrived (before the latency) while a Retry-After issued to the
    /// same OAuth client was still in force.
    pub during_retry_after: u64,
    /// Writes applied per user id: user PATCHes, bulk acdAutoAnswer, skill and
    /// language writes. The concurrent writer is not counted here.
    pub writes_per_user: BTreeMap<String, u64>,
    /// Most requests in progress at once.
    pub peak_in_flight: u64,
    pub tokens_issued: u64,
    /// Requests to `/oauth/token`, whatever their outcome.
    pub token_requests: u64,
    /// Token requests answered 400 invalid_request "rate limit exceeded".
    pub token_rate_limited: u64,
    /// API requests answered 401.
    pub unauthorized: u64,
    /// Stale-version PATCHes (409, or 400 with the same message).
    pub version_conflicts: u64,
    pub dropped_before: u64,
    pub dropped_after: u64,
    pub injected_5xx: u64,
    /// Users changed by the concurrent writer.
    pub concurrent_writes: u64,
    /// Tokens revoked by the revocation fault.
    pub revoked: u64,
    /// Membership changes applied: each queue member added or removed, each join
    /// change accepted, each group member added or removed, each grant added or
    /// removed, each user moved to another division. A write that changes nothing
    /// adds nothing, so a converged second run shows 0.
    #[serde(default)]
    pub membership_writes: u64,
}

impl SandboxStats {
    pub fn count_route(&mut self, method: &str, template: &str, outcome: &str) {
        *self
            .by_route
            .entry(format!("{method} {template} {outcome}"))
            .or_default() += 1;
    }

    pub fn count_write(&mut self, user_id: &str) {
        *self.writes_per_user.entry(user_id.to_string()).or_default() += 1;
    }

    /// Sum of `by_route` entries whose key starts with `prefix`
    /// (e.g. `"PATCH /api/v2/users/{id} "`).
    pub fn route_count(&self, prefix: &str) -> u64 {
        self.by_route
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }

    /// Sum of all writes applied.
    pub fn total_writes(&self) -> u64 {
        self.writes_per_user.values().sum()
    }
}

/// The route template of a path, for counting (ids replaced by placeholders).
pub fn route_template(path: &str) -> String {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let t = match segs.as_slice() {
        ["oauth", "token"] => "/oauth/token",
        ["api", "v2", "users"] => "/api/v2/users",
        ["api", "v2", "users", "bulk"] => "/api/v2/users/bulk",
        ["api", "v2", "users", _] => "/api/v2/users/{id}",
        ["api", "v2", "users", _, "routingskills"] => "/api/v2/users/{id}/routingskills",
        ["api", "v2", "users", _, "routingskills", "bulk"] => {
            "/api/v2/users/{id}/routingskills/bulk"
        }
        ["api", "v2", "users", _, "routingskills", _] => {
            "/api/v2/users/{id}/routingskills/{skillId}"
        }
        ["api", "v2", "users", _, "routinglanguages"] => "/api/v2/users/{id}/routinglanguages",
        ["api", "v2", "users", _, "routinglanguages", "bulk"] => {
            "/api/v2/users/{id}/routinglanguages/bulk"
        }
        ["api", "v2", "users", _, "routinglanguages", _] => {
            "/api/v2/users/{id}/routinglanguages/{languageId}"
        }
        ["api", "v2", "routing", "skills"] => "/api/v2/routing/skills",
        ["api", "v2", "routing", "languages"] => "/api/v2/routing/languages",
        ["api", "v2", "organizations", "me"] => "/api/v2/organizations/me",
        ["api", "v2", "users", _, "queues"] => "/api/v2/users/{id}/queues",
        ["api", "v2", "routing", "queues"] => "/api/v2/routing/queues",
        ["api", "v2", "routing", "queues", _, "members"] => {
            "/api/v2/routing/queues/{queueId}/members"
        }
        ["api", "v2", "routing", "queues", _, "members", _] => {
            "/api/v2/routing/queues/{queueId}/members/{memberId}"
        }
        ["api", "v2", "groups"] => "/api/v2/groups",
        ["api", "v2", "groups", "search"] => "/api/v2/groups/search",
        ["api", "v2", "groups", _] => "/api/v2/groups/{groupId}",
        ["api", "v2", "groups", _, "members"] => "/api/v2/groups/{groupId}/members",
        ["api", "v2", "groups", _, "individuals"] => "/api/v2/groups/{groupId}/individuals",
        ["api", "v2", "locations"] => "/api/v2/locations",
        ["api", "v2", "locations", "search"] => "/api/v2/locations/search",
        ["api", "v2", "authorization", "roles"] => "/api/v2/authorization/roles",
        ["api", "v2", "authorization", "divisions"] => "/api/v2/authorization/divisions",
        ["api", "v2", "authorization", "divisions", "home"] => {
            "/api/v2/authorization/divisions/home"
        }
        ["api", "v2", "authorization", "divisions", _, "objects", _] => {
            "/api/v2/authorization/divisions/{divisionId}/objects/{objectType}"
        }
        ["api", "v2", "authorization", "subjects", _] => {
            "/api/v2/authorization/subjects/{subjectId}"
        }
        ["api", "v2", "authorization", "subjects", _, "bulkadd"] => {
            "/api/v2/authorization/subjects/{subjectId}/bulkadd"
        }
        ["api", "v2", "authorization", "subjects", _, "bulkremove"] => {
            "/api/v2/authorization/subjects/{subjectId}/bulkremove"
        }
        ["api", "v2", "authorization", "subjects", _, "bulkreplace"] => {
            "/api/v2/authorization/subjects/{subjectId}/bulkreplace"
        }
        [
            "api",
            "v2",
            "authorization",
            "subjects",
            _,
            "divisions",
            _,
            "roles",
            _,
        ] => "/api/v2/authorization/subjects/{subjectId}/divisions/{divisionId}/roles/{roleId}",
        ["api", "v2", "organizations", "limits", "namespaces", _] => {
            "/api/v2/organizations/limits/namespaces/{namespace}"
        }
        _ => "(other)",
    };
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_placeholders() {
        assert_eq!(route_template("/api/v2/users/abc"), "/api/v2/users/{id}");
        assert_eq!(route_template("/api/v2/users/bulk"), "/api/v2/users/bulk");
        assert_eq!(route_template("/api/v2/users"), "/api/v2/users");
        assert_eq!(
            route_template("/api/v2/users/abc/routingskills/def"),
            "/api/v2/users/{id}/routingskills/{skillId}"
        );
        assert_eq!(
            route_template("/api/v2/users/abc/routinglanguages/bulk"),
            "/api/v2/users/{id}/routinglanguages/bulk"
        );
        assert_eq!(
            route_template("/api/v2/organizations/limits/namespaces/platform.api"),
            "/api/v2/organizations/limits/namespaces/{namespace}"
        );
        for (path, want) in [
            ("/api/v2/users/u/queues", "/api/v2/users/{id}/queues"),
            (
                "/api/v2/routing/queues/q/members",
                "/api/v2/routing/queues/{queueId}/members",
            ),
            ("/api/v2/groups/search", "/api/v2/groups/search"),
            ("/api/v2/groups/g", "/api/v2/groups/{groupId}"),
            (
                "/api/v2/authorization/subjects/s/divisions/d/roles/r",
                "/api/v2/authorization/subjects/{subjectId}/divisions/{divisionId}/roles/{roleId}",
            ),
            (
                "/api/v2/authorization/divisions/d/objects/USER",
                "/api/v2/authorization/divisions/{divisionId}/objects/{objectType}",
            ),
        ] {
            assert_eq!(route_template(path), want);
        }
        assert_eq!(route_template("/api/v2/whatever/x"), "(other)");
    }

    #[test]
    fn route_counts_sum_by_prefix() {
        let mut s = SandboxStats::default();
        s.count_route("PATCH", "/api/v2/users/{id}", "200");
        s.count_route("PATCH", "/api/v2/users/{id}", "409");
        s.count_route("GET", "/api/v2/users/{id}", "200");
        assert_eq!(s.route_count("PATCH /api/v2/users/{id} "), 2);
        assert_eq!(s.route_count("PATCH /api/v2/users/{id} 200"), 1);
    }
}
