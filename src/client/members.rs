//! Endpoints of the membership families: name lookups, member lists and batched
//! member writes for queues and groups (genesys-api-admin.md sections B and F).
//!
//! As everywhere in the client, no retries here and no decisions: each method is
//! one documented call (or one paged listing), and the limits it loops over are the
//! API's (100 queue members per call, 50 group members per call, 100 per page).

use serde::Deserialize;
use serde_json::json;

use super::{ApiError, Client, Replay, Request, encode};

/// Most members per queue member POST or PATCH.
pub const MAX_QUEUE_MEMBERS_PER_CALL: usize = 100;
/// Most members per group member POST or DELETE.
pub const MAX_GROUP_MEMBERS_PER_CALL: usize = 50;
/// The largest page the member listings serve.
const MEMBER_PAGE: usize = 100;
/// Safety stop for listings that never end.
const MAX_PAGES: u32 = 10_000;

/// An entity of a name lookup (a queue or a group).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedEntity {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub division: Option<DivisionRef>,
    /// Groups that make their members queue members (queues only; not every API
    /// version returns it).
    #[serde(default)]
    pub member_groups: Vec<DivisionRef>,
    /// The group's version (groups only).
    #[serde(default)]
    pub version: Option<u64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DivisionRef {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// One member of a queue or group as its listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedMember {
    /// The user id, lower-cased.
    pub id: String,
    /// Queues: whether the member has joined (`None`: not said, or a group).
    pub joined: Option<bool>,
    /// Queues: `memberBy` "group" (a membership through a group).
    pub by_group: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMember {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    user: Option<RawUserRef>,
    #[serde(default)]
    joined: Option<bool>,
    #[serde(default)]
    member_by: Option<String>,
}

#[derive(Deserialize)]
struct RawUserRef {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberPage {
    #[serde(default)]
    entities: Vec<serde_json::Value>,
    #[serde(default)]
    page_count: u32,
}

#[derive(Deserialize)]
struct SearchResults {
    #[serde(default)]
    results: Vec<NamedEntity>,
}

/// A queue a user is a member of (`GET /api/v2/users/{id}/queues`).
#[derive(Clone, Debug, Deserialize)]
pub struct UserQueue {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub joined: Option<bool>,
}

impl Client {
    /// Queues whose name matches `name` the API's way (not exact: wildcards, case):
    /// `GET /api/v2/routing/queues?name=`. The caller compares exactly.
    pub async fn find_queues(&self, name: &str) -> Result<Vec<NamedEntity>, ApiError> {
        self.list_all(&format!("/api/v2/routing/queues?name={}", encode(name)))
            .await
    }

    /// Groups named exactly `name` (`POST /api/v2/groups/search`, `EXACT` on name:
    /// groups have no name filter). The caller still compares exactly.
    pub async fn find_groups(&self, name: &str) -> Result<Vec<NamedEntity>, ApiError> {
        let body = json!({
            "pageSize": 100,
            "pageNumber": 1,
            "query": [{"type": "EXACT", "fields": ["name"], "value": name}],
        });
        let req = Request::post("/api/v2/groups/search", body, Replay::Safe);
        let found: SearchResults = self.send(req).await?.json()?;
        Ok(found.results)
    }

    /// A group, for its current `version` (`GET /api/v2/groups/{id}`).
    pub async fn get_group(&self, id: &str) -> Result<NamedEntity, ApiError> {
        self.send(Request::get(format!("/api/v2/groups/{}", encode(id))))
            .await?
            .json()
    }

    /// Every member of a queue (`GET …/queues/{id}/members`, 100 a page). The
    /// listing has no `total`: pages are read until one comes back empty.
    pub async fn queue_members(&self, queue: &str) -> Result<Vec<ListedMember>, ApiError> {
        let base = format!("/api/v2/routing/queues/{}/members", encode(queue));
        self.members_until_empty(&base).await
    }

    /// The direct members of a group (`GET /api/v2/groups/{id}/individuals`).
    pub async fn group_members(&self, group: &str) -> Result<Vec<ListedMember>, ApiError> {
        let base = format!("/api/v2/groups/{}/individuals", encode(group));
        self.members_until_empty(&base).await
    }

    async fn members_until_empty(&self, base: &str) -> Result<Vec<ListedMember>, ApiError> {
        let mut all: Vec<ListedMember> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for number in 1..=MAX_PAGES {
            let path = format!("{base}?pageSize={MEMBER_PAGE}&pageNumber={number}");
            let page: MemberPage = self.send(Request::get(path)).await?.json()?;
            let count = page.entities.len();
            let mut new = 0;
            for entity in page.entities {
                let Ok(raw) = serde_json::from_value::<RawMember>(entity) else {
                    continue;
                };
                let Some(id) = raw.user.map(|u| u.id).or(raw.id) else {
                    continue;
                };
                let id = id.to_ascii_lowercase();
                if seen.insert(id.clone()) {
                    new += 1;
                    all.push(ListedMember {
                        id,
                        joined: raw.joined,
                        by_group: raw
                            .member_by
                            .is_some_and(|m| m.eq_ignore_ascii_case("group")),
                    });
                }
            }
            // Empty ends it (the queue listing has no total); so does a page of
            // nothing new (an endpoint that ignores paging) or the last page a
            // listing that does count says it has.
            if count == 0 || new == 0 || (page.page_count > 0 && number >= page.page_count) {
                break;
            }
        }
        Ok(all)
    }

    /// Every queue the user is a member of, joined or not: `GET …/users/{id}/queues`
    /// defaults to `joined=true` and hides the rest, so it is read both ways.
    pub async fn user_queues(&self, user: &str) -> Result<Vec<UserQueue>, ApiError> {
        let mut all = Vec::new();
        for joined in [true, false] {
            let base = format!("/api/v2/users/{}/queues?joined={joined}", encode(user));
            let mut page: Vec<UserQueue> = self.list_all(&base).await?;
            for q in &mut page {
                q.joined.get_or_insert(joined);
            }
            all.extend(page);
        }
        Ok(all)
    }

    /// Every queue of the org (`GET /api/v2/routing/queues`, paged).
    pub async fn all_queues(&self) -> Result<Vec<NamedEntity>, ApiError> {
        self.list_all("/api/v2/routing/queues?").await
    }

    /// Every group of the org (`GET /api/v2/groups`, paged).
    pub async fn all_groups(&self) -> Result<Vec<NamedEntity>, ApiError> {
        self.list_all("/api/v2/groups?").await
    }

    /// Add up to 100 users to a queue (`POST …/queues/{id}/members`, empty answer).
    pub async fn add_queue_members(&self, queue: &str, ids: &[String]) -> Result<(), ApiError> {
        let path = format!("/api/v2/routing/queues/{}/members", encode(queue));
        let body: Vec<_> = ids.iter().map(|id| json!({"id": id})).collect();
        self.send(Request::post(path, json!(body), Replay::Safe))
            .await
            .map(|_| ())
    }

    /// Remove up to 100 users from a queue (`POST …/members?delete=true`).
    pub async fn remove_queue_members(&self, queue: &str, ids: &[String]) -> Result<(), ApiError> {
        let path = format!(
            "/api/v2/routing/queues/{}/members?delete=true",
            encode(queue)
        );
        let body: Vec<_> = ids.iter().map(|id| json!({"id": id})).collect();
        self.send(Request::post(path, json!(body), Replay::Safe))
            .await
            .map(|_| ())
    }

    /// Join (or unjoin) up to 100 members of a queue (`PATCH …/members`, asynchronous).
    pub async fn join_queue_members(
        &self,
        queue: &str,
        ids: &[String],
        joined: bool,
    ) -> Result<(), ApiError> {
        let path = format!("/api/v2/routing/queues/{}/members", encode(queue));
        let body: Vec<_> = ids
            .iter()
            .map(|id| json!({"id": id, "joined": joined}))
            .collect();
        self.send(Request::patch(path, json!(body), Replay::Safe))
            .await
            .map(|_| ())
    }

    /// Add up to 50 users to a group with its current version (`POST …/members`).
    /// A stale version is a [`ApiError::Conflict`]: read the group again first.
    pub async fn add_group_members(
        &self,
        group: &str,
        ids: &[String],
        version: Option<u64>,
    ) -> Result<(), ApiError> {
        let path = format!("/api/v2/groups/{}/members", encode(group));
        let mut body = json!({"memberIds": ids});
        if let Some(v) = version {
            body["version"] = json!(v);
        }
        self.send(Request::post(path, body, Replay::Guarded))
            .await
            .map(|_| ())
    }

    /// Remove up to 50 users from a group (`DELETE …/members?ids=a,b`).
    pub async fn remove_group_members(&self, group: &str, ids: &[String]) -> Result<(), ApiError> {
        let list: Vec<String> = ids.iter().map(|id| encode(id)).collect();
        let path = format!(
            "/api/v2/groups/{}/members?ids={}",
            encode(group),
            list.join(",")
        );
        self.send(Request::delete(path)).await.map(|_| ())
    }
}
