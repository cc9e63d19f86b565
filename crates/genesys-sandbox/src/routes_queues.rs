//! Queues and their members: `GET /api/v2/routing/queues`, the member list and
//! its writes under `/api/v2/routing/queues/{queueId}/members` (the user's side,
//! `GET`/`PATCH /api/v2/users/{userId}/queues`, is `routes_user_queues`).
//!
//! As the API pages say: member pages carry **no `total`, `pageCount` or
//! `lastUri`** (`nextUri` only while more follow; pageSize ≤ 100, default 25);
//! `POST .../members` takes `[{id}]`, at most 100, adds (or removes with
//! `?delete=true`) and answers 204 with no body; join changes (`PATCH`) are
//! asynchronous (`Quirks::join_delay`) and answer 202; `GET /users/{id}/queues`
//! shows joined queues only unless `joined=false`. Members through a group
//! (`memberBy: "group"`) cannot be removed directly (400 naming member and
//! group). A queue outside the client's divisions (`Restricted Queue`) answers 403
//! to every write.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::org::{Member, MemberError, plan_member_write, queue_name_matches};
use super::query::{self, Expand, page_range};
use super::seed::division_json;
use super::server::{Shared, lock};
use super::state::Store;
use super::wire::{ApiError, Listing};

/// Most members one queue member write (`POST` or `PATCH`) takes.
pub const MAX_QUEUE_MEMBERS: usize = 100;
/// The largest queue member page.
pub const MAX_MEMBER_PAGE: u32 = 100;
/// The permission queue member writes need (or `routing:queueMember:manage`).
pub const QUEUE_EDIT: &str = "routing:queue:edit";

fn queue_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("The queue {id} could not be found."))
}

pub fn queue_index(store: &Store, id: &str) -> Result<usize, ApiError> {
    store
        .org
        .queues
        .iter()
        .position(|q| q.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| queue_not_found(id))
}

/// 403 when the queue's division is outside the client's reach.
pub fn check_queue_writable(store: &Store, q: usize, permission: &str) -> Result<(), ApiError> {
    let d = &store.catalogue.divisions[store.org.queues[q].division];
    if store.catalogue.writable_division(&d.id) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            &store.quirks().forbidden_code,
            permission,
            &d.name,
        ))
    }
}

fn queue_json(store: &Store, q: usize) -> Value {
    let queue = &store.org.queues[q];
    let members = store.org.members(q);
    json!({
        "id": queue.id,
        "name": queue.name,
        "division": division_json(&store.catalogue.divisions[queue.division]),
        "memberCount": members.len(),
        "userMemberCount": members.iter().filter(|m| m.by.wire() == "user").count(),
        "joinedMemberCount": members.iter().filter(|m| m.joined).count(),
        "selfUri": format!("/api/v2/routing/queues/{}", queue.id),
    })
}

/// Repeated `key=` values (comma lists too).
pub fn values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(',').map(str::trim).map(str::to_string))
        .filter(|v| !v.is_empty())
        .collect()
}

/// `joined=true|false`, if given.
pub fn joined_param(pairs: &[(String, String)]) -> Result<Option<bool>, ApiError> {
    match pairs.iter().rev().find(|(k, _)| k == "joined") {
        None => Ok(None),
        Some((_, v)) => match v.as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            other => Err(ApiError::bad_request(format!(
                "joined must be true or false, got '{other}'"
            ))),
        },
    }
}

/// `GET /api/v2/routing/queues`: `name` (not exact, see
/// [`queue_name_matches`]), `id`, `divisionId`, paging up to 500.
pub async fn list(State(sh): State<Arc<Shared>>, uri: Uri) -> Result<Response, ApiError> {
    let pairs = query::pairs(&uri);
    let p = query::list_params(&pairs).map_err(ApiError::bad_request)?;
    let divisions = values(&pairs, "divisionId");
    let mut store = lock(&sh.store);
    store.org.settle(Instant::now());
    let found: Vec<Value> = (0..store.org.queues.len())
        .filter(|&q| {
            let queue = &store.org.queues[q];
            p.name
                .as_deref()
                .is_none_or(|n| queue_name_matches(n, &queue.name))
                && (p.ids.is_empty() || p.ids.iter().any(|i| i.eq_ignore_ascii_case(&queue.id)))
                && (divisions.is_empty()
                    || divisions.contains(&store.catalogue.divisions[queue.division].id))
        })
        .map(|q| queue_json(&store, q))
        .collect();
    drop(store);
    let total = found.len();
    let page = found[page_range(total, p.page_size, p.page_number)].to_vec();
    let listing = Listing::new(
        page,
        total,
        p.page_size,
        p.page_number,
        "/api/v2/routing/queues",
    );
    Ok(Json(listing).into_response())
}

/// The user fields a queue member entry carries (queue-members-page.json).
const MEMBER_USER_FIELDS: &[&str] = &[
    "id",
    "name",
    "division",
    "chat",
    "email",
    "state",
    "username",
    "version",
    "acdAutoAnswer",
    "selfUri",
];

fn member_json(store: &Store, queue_id: &str, m: &Member) -> Value {
    let user = store.render(m.user as usize, Expand::default());
    let mut u = Map::new();
    for key in MEMBER_USER_FIELDS {
        if let Some(v) = user.get(*key) {
            u.insert((*key).into(), v.clone());
        }
    }
    let id = store.id_string(m.user as usize);
    json!({
        "id": id,
        "name": user.get("name").cloned().unwrap_or(Value::Null),
        "user": u,
        "ringNumber": 1,
        "joined": m.joined,
        "memberBy": m.by.wire(),
        "selfUri": format!("/api/v2/routing/queues/{queue_id}/members/{id}"),
    })
}

/// `GET .../members`: `pageSize` (≤ 100, default 25), `pageNumber`, `memberBy`,
/// `joined`, `name` (substring). No totals: `nextUri` only while more follow.
pub async fn members(
    State(sh): State<Arc<Shared>>,
    Path(queue_id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let pairs = query::pairs(&uri);
    let p = query::list_params(&pairs).map_err(ApiError::bad_request)?;
    if p.page_size > MAX_MEMBER_PAGE {
        return Err(ApiError::bad_request(format!(
            "pageSize must be between 1 and {MAX_MEMBER_PAGE}, got {}",
            p.page_size
        )));
    }
    let joined = joined_param(&pairs)?;
    let member_by = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "memberBy")
        .map(|(_, v)| v.clone());
    if let Some(by) = member_by.as_deref()
        && by != "user"
        && by != "group"
    {
        return Err(ApiError::bad_request(format!(
            "memberBy must be user or group, got '{by}'"
        )));
    }
    let mut store = lock(&sh.store);
    store.org.settle(Instant::now());
    let q = queue_index(&store, &queue_id)?;
    let canonical = store.org.queues[q].id.clone();
    let name = p.name.as_deref().map(str::to_lowercase);
    let all: Vec<Member> = store
        .org
        .members(q)
        .into_iter()
        .filter(|m| joined.is_none_or(|j| m.joined == j))
        .filter(|m| member_by.as_deref().is_none_or(|b| m.by.wire() == b))
        .filter(|m| {
            name.as_deref().is_none_or(|n| {
                let u = store.get(m.user as usize);
                u.text("name")
                    .unwrap_or_default()
                    .to_lowercase()
                    .contains(n)
            })
        })
        .collect();
    let r = page_range(all.len(), p.page_size, p.page_number);
    let more = r.end < all.len();
    let entities: Vec<Value> = all[r]
        .iter()
        .map(|m| member_json(&store, &canonical, m))
        .collect();
    drop(store);
    let base = format!("/api/v2/routing/queues/{canonical}/members");
    let uri = |n: u32| format!("{base}?pageSize={}&pageNumber={n}", p.page_size);
    let mut page = json!({
        "entities": entities,
        "pageSize": p.page_size,
        "pageNumber": p.page_number,
        "firstUri": uri(1),
        "selfUri": uri(p.page_number),
    });
    if more {
        page["nextUri"] = json!(uri(p.page_number + 1));
    }
    if p.page_number > 1 {
        page["previousUri"] = json!(uri(p.page_number - 1));
    }
    Ok(Json(page).into_response())
}

/// The `id`s of a `[{id, …}]` body, checked against the limit.
pub fn body_items(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let items: Vec<Value> = serde_json::from_slice(body).map_err(|_| ApiError::malformed_body())?;
    if items.len() > MAX_QUEUE_MEMBERS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "members.limit.exceeded",
            format!(
                "At most {MAX_QUEUE_MEMBERS} members may be sent in one request; got {}",
                items.len()
            ),
        ));
    }
    Ok(items)
}

pub fn item_id(item: &Value) -> Result<&str, ApiError> {
    item.get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("each entry must be an object with an id"))
}

/// Resolve user ids to live users; unknown and deleted users are a 400 naming
/// every one of them (so a client can split its batch), with `details`.
pub fn resolve_members(store: &Store, ids: &[&str]) -> Result<Vec<u32>, ApiError> {
    let mut out = Vec::with_capacity(ids.len());
    let mut bad = Vec::new();
    for id in ids {
        match store.lookup(id).filter(|&i| store.state_of(i) != "deleted") {
            Some(i) => out.push(i as u32),
            None => bad.push(id.to_string()),
        }
    }
    if bad.is_empty() {
        return Ok(out);
    }
    let details = bad
        .iter()
        .map(|id| json!({ "errorCode": "member.not.found", "entityId": id }))
        .collect();
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid.member.ids",
        format!(
            "The following member ids are not users of this organization (unknown or deleted): {}",
            bad.join(", ")
        ),
    )
    .with_details(details))
}

/// `POST .../members` (`?delete=true` removes): `[{id}]`, ≤ 100, 204.
pub async fn post_members(
    State(sh): State<Arc<Shared>>,
    Path(queue_id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let delete = query::pairs(&uri)
        .iter()
        .any(|(k, v)| k == "delete" && v == "true");
    let items = body_items(&body)?;
    let ids = items.iter().map(item_id).collect::<Result<Vec<_>, _>>()?;
    let mut store = lock(&sh.store);
    store.org.settle(Instant::now());
    let q = queue_index(&store, &queue_id)?;
    check_queue_writable(&store, q, QUEUE_EDIT)?;
    let users = resolve_members(&store, &ids)?;
    let members = store.org.members(q);
    let planned = plan_member_write(&members, &users, delete)
        .map_err(|e| through_group_error(&store, q, e))?;
    let add_joined = store.quirks().queue_add_joined;
    let queue = &mut store.org.queues[q];
    for &u in &planned {
        if delete {
            queue.direct.remove(&u);
        } else {
            // A user who was a member through a group keeps their joined state.
            let joined = queue.derived_joined.get(&u).copied().unwrap_or(add_joined);
            queue.direct.insert(u, joined);
        }
    }
    drop(store);
    lock(&sh.stats).membership_writes += planned.len() as u64;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn through_group_error(store: &Store, q: usize, e: MemberError) -> ApiError {
    let MemberError::ThroughGroup(list) = e;
    let queue = &store.org.queues[q].name;
    let named: Vec<String> = list
        .iter()
        .map(|&(u, g)| {
            let group = &store.org.groups[g];
            format!(
                "{} (through group '{}' {})",
                store.id_string(u as usize),
                group.name,
                group.id
            )
        })
        .collect();
    let details = list
        .iter()
        .map(|&(u, g)| {
            json!({
                "errorCode": "member.added.by.group",
                "entityId": store.id_string(u as usize),
                "entityName": store.org.groups[g].name,
            })
        })
        .collect();
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "queue.member.added.by.group",
        format!(
            "Members of queue '{queue}' through a group cannot be removed directly; remove them from the group: {}",
            named.join(", ")
        ),
    )
    .with_details(details)
}

/// `PATCH .../members`: `[{id, joined}]`, ≤ 100, asynchronous (202); non-members
/// are disregarded.
pub async fn patch_members(
    State(sh): State<Arc<Shared>>,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let items = body_items(&body)?;
    let mut wanted = Vec::with_capacity(items.len());
    for item in &items {
        let id = item_id(item)?;
        let joined = item.get("joined").and_then(Value::as_bool).ok_or_else(|| {
            ApiError::bad_request(format!("joined (a boolean) is required for member {id}"))
        })?;
        wanted.push((id, joined));
    }
    let now = Instant::now();
    let mut store = lock(&sh.store);
    store.org.settle(now);
    let q = queue_index(&store, &queue_id)?;
    check_queue_writable(&store, q, QUEUE_EDIT)?;
    let mut accepted = 0;
    for (id, joined) in wanted {
        if let Some(u) = store.lookup(id) {
            accepted += u64::from(store.org.request_join(now, q, u as u32, joined));
        }
    }
    drop(store);
    lock(&sh.stats).membership_writes += accepted;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `DELETE .../members/{memberId}`: 204; 404 when not a member; 400 when a
/// member through a group.
pub async fn delete_member(
    State(sh): State<Arc<Shared>>,
    Path((queue_id, member_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut store = lock(&sh.store);
    store.org.settle(Instant::now());
    let q = queue_index(&store, &queue_id)?;
    check_queue_writable(&store, q, QUEUE_EDIT)?;
    let not_member = || {
        ApiError::not_found(format!(
            "The user {member_id} is not a member of the queue {queue_id}."
        ))
    };
    let u = store.lookup(&member_id).ok_or_else(not_member)? as u32;
    let members = store.org.members(q);
    if !members.iter().any(|m| m.user == u) {
        return Err(not_member());
    }
    let planned =
        plan_member_write(&members, &[u], true).map_err(|e| through_group_error(&store, q, e))?;
    for u in &planned {
        store.org.queues[q].direct.remove(u);
    }
    drop(store);
    lock(&sh.stats).membership_writes += planned.len() as u64;
    Ok(StatusCode::NO_CONTENT.into_response())
}
