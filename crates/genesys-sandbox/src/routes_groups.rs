//! Groups: `GET /api/v2/groups` (paged; **no `name` parameter**, a `name=` is
//! ignored), `POST /api/v2/groups/search` (`EXACT` on `name`), one group (with
//! its `version`), its direct members (`/individuals`) and its members page
//! (`/members`), and the member writes: `POST .../members {memberIds, version}`
//! and `DELETE .../members?ids=a,b`, at most 50 ids each, answering 202 `{}`.
//!
//! Every member change bumps the group's `version`; a POST whose `version` is
//! not the current one answers 409 (`general.conflict`, message "version
//! mismatch"; UNVERIFIED). A group outside the client's divisions
//! (`Restricted Group`) answers 403 naming `directory:group:edit`. Unknown or
//! deleted users in a write are a 400 naming them, nothing applied.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::query::{self, Expand, page_range};
use super::routes_locations::{parse_name_search, search_page};
use super::routes_queues::resolve_members;
use super::server::{Shared, lock};
use super::state::Store;
use super::wire::{ApiError, Listing};

/// Most member ids one group member write takes.
pub const MAX_GROUP_MEMBERS: usize = 50;
pub const GROUP_EDIT: &str = "directory:group:edit";

fn group_index(store: &Store, id: &str) -> Result<usize, ApiError> {
    store
        .org
        .groups
        .iter()
        .position(|g| g.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ApiError::not_found(format!("The group {id} could not be found.")))
}

fn check_group_writable(store: &Store, g: usize) -> Result<(), ApiError> {
    let d = &store.catalogue.divisions[store.org.groups[g].division];
    if store.catalogue.writable_division(&d.id) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            &store.quirks().forbidden_code,
            GROUP_EDIT,
            &d.name,
        ))
    }
}

fn group_json(store: &Store, g: usize) -> Value {
    let group = &store.org.groups[g];
    json!({
        "id": group.id,
        "name": group.name,
        "state": "active",
        "type": "official",
        "version": group.version,
        "memberCount": group.members.len(),
        "rulesVisible": true,
        "visibility": "public",
        "selfUri": format!("/api/v2/groups/{}", group.id),
    })
}

pub async fn list(State(sh): State<Arc<Shared>>, uri: Uri) -> Result<Response, ApiError> {
    let p = query::list_params(&query::pairs(&uri)).map_err(ApiError::bad_request)?;
    let store = lock(&sh.store);
    let all: Vec<Value> = (0..store.org.groups.len())
        .filter(|&g| p.ids.is_empty() || p.ids.contains(&store.org.groups[g].id))
        .map(|g| group_json(&store, g))
        .collect();
    drop(store);
    let total = all.len();
    let page = all[page_range(total, p.page_size, p.page_number)].to_vec();
    Ok(Json(Listing::new(
        page,
        total,
        p.page_size,
        p.page_number,
        "/api/v2/groups",
    ))
    .into_response())
}

pub async fn search(State(sh): State<Arc<Shared>>, body: Bytes) -> Result<Response, ApiError> {
    let s = parse_name_search(&body)?;
    let store = lock(&sh.store);
    let found: Vec<Value> = (0..store.org.groups.len())
        .filter(|&g| s.admits(&store.org.groups[g].name))
        .map(|g| group_json(&store, g))
        .collect();
    drop(store);
    Ok(search_page(found, &s))
}

pub async fn get_one(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = lock(&sh.store);
    let g = group_index(&store, &id)?;
    Ok(Json(group_json(&store, g)).into_response())
}

/// The users of group `g` as a users listing page.
fn users_page(sh: &Shared, id: &str, uri: &Uri, segment: &str) -> Result<Response, ApiError> {
    let p = query::list_params(&query::pairs(uri)).map_err(ApiError::bad_request)?;
    let store = lock(&sh.store);
    let g = group_index(&store, id)?;
    let members: Vec<u32> = store.org.groups[g].members.iter().copied().collect();
    let total = members.len();
    let users: Vec<Value> = members[page_range(total, p.page_size, p.page_number)]
        .iter()
        .map(|&u| store.render(u as usize, Expand::default()))
        .collect();
    let base = format!("/api/v2/groups/{}/{segment}", store.org.groups[g].id);
    drop(store);
    Ok(Json(Listing::new(
        users,
        total,
        p.page_size,
        p.page_number,
        &base,
    ))
    .into_response())
}

/// `GET .../individuals`: the direct members.
pub async fn individuals(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    users_page(&sh, &id, &uri, "individuals")
}

/// `GET .../members`: the members, paged (the sandbox has no owners or dynamic
/// members, so the same users as `/individuals`).
pub async fn members(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    users_page(&sh, &id, &uri, "members")
}

fn too_many(n: usize) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "members.limit.exceeded",
        format!("A maximum of {MAX_GROUP_MEMBERS} members are allowed per request; got {n}"),
    )
}

/// `POST .../members {memberIds, version}`: add, 202 `{}`.
pub async fn add_members(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Value = serde_json::from_slice(&body).map_err(|_| ApiError::malformed_body())?;
    let ids: Vec<&str> = body
        .get("memberIds")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("memberIds (an array of user ids) is required"))?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| ApiError::bad_request("memberIds must be strings"))
        })
        .collect::<Result<_, _>>()?;
    if ids.len() > MAX_GROUP_MEMBERS {
        return Err(too_many(ids.len()));
    }
    let version = match body.get("version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            ApiError::bad_request(format!("version must be an integer, got {v}"))
        })?),
    };
    let mut store = lock(&sh.store);
    let g = group_index(&store, &id)?;
    check_group_writable(&store, g)?;
    let current = store.org.groups[g].version;
    if let Some(v) = version
        && v != current
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "general.conflict",
            format!(
                "Version mismatch: the version supplied ({v}) is not the current version of the group ({current})."
            ),
        ));
    }
    let users = resolve_members(&store, &ids)?;
    let group = &mut store.org.groups[g];
    let added = users.iter().filter(|&&u| group.members.insert(u)).count();
    if added > 0 {
        group.version += 1;
    }
    drop(store);
    lock(&sh.stats).membership_writes += added as u64;
    Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response())
}

/// `DELETE .../members?ids=a,b`: remove, 202 `{}`.
pub async fn remove_members(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let pairs = query::pairs(&uri);
    let ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad_request(
            "ids (comma-separated user ids) is required",
        ));
    }
    if ids.len() > MAX_GROUP_MEMBERS {
        return Err(too_many(ids.len()));
    }
    let mut store = lock(&sh.store);
    let g = group_index(&store, &id)?;
    check_group_writable(&store, g)?;
    let users = resolve_members(&store, &ids)?;
    let group = &mut store.org.groups[g];
    let removed = users.iter().filter(|u| group.members.remove(u)).count();
    if removed > 0 {
        group.version += 1;
    }
    drop(store);
    lock(&sh.stats).membership_writes += removed as u64;
    Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response())
}
