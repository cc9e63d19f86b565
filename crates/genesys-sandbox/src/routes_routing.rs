//! Routing skills and languages (the org's catalogue and each user's), and the
//! limits endpoint.
//!
//! Skill and language writes do not bump the user's `version`, as in Genesys: they
//! are separate resources, so a profile PATCH never conflicts with them. The
//! per-user reads always answer fully (unlike a list read's best-effort expand);
//! a deleted user is 404 here, and writes to a restricted user answer 403.

/// The permission a skill or language write needs.
const ASSIGN: &str = "routing:skill:assign";

/// The index of a user that is not deleted, or a 404.
fn live_user(store: &Store, id: &str) -> Result<usize, ApiError> {
    store
        .lookup(id)
        .filter(|&i| store.state_of(i) != "deleted")
        .ok_or_else(|| user_not_found(id))
}

/// As [`live_user`], and 403 when the user is in the restricted division.
fn writable_user(store: &Store, id: &str) -> Result<usize, ApiError> {
    let i = live_user(store, id)?;
    if store.is_restricted(i) {
        return Err(forbidden(store, i, ASSIGN));
    }
    Ok(i)
}

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::query::{self, page_range};
use super::routes_users::{MAX_BULK_WRITE, forbidden, user_not_found};
use super::server::{Shared, lock};
use super::state::Kind;
use super::state::Store;
use super::wire::{ApiError, Listing, limit_json};

fn catalogue(sh: &Shared, kind: Kind, uri: &Uri) -> Result<Response, ApiError> {
    let pairs = query::pairs(uri);
    let p = query::list_params(&pairs).map_err(ApiError::bad_request)?;
    let prefix = p.name.as_deref().map(str::to_lowercase);
    let store = lock(&sh.store);
    let found: Vec<_> = store
        .entities(kind)
        .iter()
        .filter(|e| {
            prefix
                .as_deref()
                .is_none_or(|pre| e.name.to_lowercase().starts_with(pre))
        })
        .filter(|e| p.ids.is_empty() || p.ids.contains(&e.id))
        .map(|e| {
            json!({
                "id": e.id,
                "name": e.name,
                "state": "active",
                "selfUri": format!("/api/v2/routing/{}/{}", kind.routing_segment(), e.id),
            })
        })
        .collect();
    drop(store);
    let total = found.len();
    let page = found[page_range(total, p.page_size, p.page_number)].to_vec();
    let base = match kind {
        Kind::Skill => "/api/v2/routing/skills",
        Kind::Language => "/api/v2/routing/languages",
    };
    Ok(Json(Listing::new(page, total, p.page_size, p.page_number, base)).into_response())
}

pub async fn skills(State(sh): State<Arc<Shared>>, uri: Uri) -> Result<Response, ApiError> {
    catalogue(&sh, Kind::Skill, &uri)
}

pub async fn languages(State(sh): State<Arc<Shared>>, uri: Uri) -> Result<Response, ApiError> {
    catalogue(&sh, Kind::Language, &uri)
}

fn user_entries(sh: &Shared, kind: Kind, id: &str, uri: &Uri) -> Result<Response, ApiError> {
    let p = query::list_params(&query::pairs(uri)).map_err(ApiError::bad_request)?;
    let store = lock(&sh.store);
    let i = live_user(&store, id)?;
    let rec = store.get(i);
    let rendered = store.render_entries(&rec.id(), kind, rec.entries(kind));
    drop(rec);
    drop(store);
    let all = match rendered {
        Value::Array(list) => list,
        _ => Vec::new(),
    };
    let total = all.len();
    let page = all[page_range(total, p.page_size, p.page_number)].to_vec();
    let base = format!("/api/v2/users/{id}/{}", kind.user_segment());
    Ok(Json(Listing::new(page, total, p.page_size, p.page_number, &base)).into_response())
}

pub async fn user_skills(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    user_entries(&sh, Kind::Skill, &id, &uri)
}

pub async fn user_languages(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    user_entries(&sh, Kind::Language, &id, &uri)
}

/// Parse `[{id, proficiency}]` against the catalogue: unknown ids and proficiencies
/// outside 0..=5 are a 400.
fn parse_entries(sh: &Shared, kind: Kind, body: &[u8]) -> Result<Vec<(u16, f64)>, ApiError> {
    let items: Vec<Value> = serde_json::from_slice(body).map_err(|_| ApiError::malformed_body())?;
    if items.len() > MAX_BULK_WRITE {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_BULK_WRITE} entries may be sent at once; got {}",
            items.len()
        )));
    }
    let what = match kind {
        Kind::Skill => "skill",
        Kind::Language => "language",
    };
    let store = lock(&sh.store);
    let mut out: Vec<(u16, f64)> = Vec::with_capacity(items.len());
    for item in items {
        let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        let k = store
            .entity_index(kind, id)
            .ok_or_else(|| ApiError::bad_request(format!("The {what} '{id}' does not exist.")))?;
        let proficiency = item
            .get("proficiency")
            .and_then(Value::as_f64)
            .ok_or_else(|| {
                ApiError::bad_request(format!("proficiency is required for {what} {id}"))
            })?;
        if !(0.0..=5.0).contains(&proficiency) {
            return Err(ApiError::bad_request(format!(
                "proficiency must be between 0 and 5, got {proficiency} for {what} {id}"
            )));
        }
        match out.iter_mut().find(|(e, _)| *e == k) {
            Some(entry) => entry.1 = proficiency,
            None => out.push((k, proficiency)),
        }
    }
    Ok(out)
}

/// Apply a bulk write (`replace`: PUT semantics) and answer with the user's entries.
fn write_entries(
    sh: &Shared,
    kind: Kind,
    id: &str,
    body: &[u8],
    replace: bool,
) -> Result<Response, ApiError> {
    let store = lock(&sh.store);
    let i = writable_user(&store, id)?;
    drop(store);
    let wanted = parse_entries(sh, kind, body)?;
    let mut store = lock(&sh.store);
    let (user_id, entries) = store.update(i, |rec| {
        let user_id = rec.id();
        let list = rec.entries_mut(kind);
        if replace {
            list.clear();
        }
        for &(k, p) in &wanted {
            match list.iter_mut().find(|(e, _)| *e == k) {
                Some(entry) => entry.1 = p,
                None => list.push((k, p)),
            }
        }
        list.sort_by_key(|(e, _)| *e);
        (user_id, list.clone())
    });
    let all = match store.render_entries(&user_id, kind, &entries) {
        Value::Array(list) => list,
        _ => Vec::new(),
    };
    drop(store);
    lock(&sh.stats).count_write(&user_id);
    let n = all.len();
    let base = format!("/api/v2/users/{user_id}/{}", kind.user_segment());
    Ok(Json(Listing::new(all, n, n.max(1) as u32, 1, &base)).into_response())
}

pub async fn patch_user_skills(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    write_entries(&sh, Kind::Skill, &id, &body, false)
}

pub async fn put_user_skills(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    write_entries(&sh, Kind::Skill, &id, &body, true)
}

pub async fn patch_user_languages(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    write_entries(&sh, Kind::Language, &id, &body, false)
}

/// Remove one entry; 204 whether or not the user had it (only a removal counts as
/// a write).
fn delete_entry(sh: &Shared, kind: Kind, id: &str, entry_id: &str) -> Result<Response, ApiError> {
    let mut store = lock(&sh.store);
    let i = writable_user(&store, id)?;
    let removed = match store.entity_index(kind, entry_id) {
        Some(k) if store.get(i).entries(kind).iter().any(|(e, _)| *e == k) => {
            Some(store.update(i, |rec| {
                rec.entries_mut(kind).retain(|(e, _)| *e != k);
                rec.id()
            }))
        }
        _ => None,
    };
    drop(store);
    if let Some(user_id) = removed {
        lock(&sh.stats).count_write(&user_id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn delete_user_skill(
    State(sh): State<Arc<Shared>>,
    Path((id, skill_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    delete_entry(&sh, Kind::Skill, &id, &skill_id)
}

pub async fn delete_user_language(
    State(sh): State<Arc<Shared>>,
    Path((id, language_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    delete_entry(&sh, Kind::Language, &id, &language_id)
}

/// `GET /api/v2/organizations/limits/namespaces/{namespace}`: values per minute.
pub async fn limits(State(sh): State<Arc<Shared>>, Path(namespace): Path<String>) -> Response {
    let gate = lock(&sh.gate);
    let entities: Vec<Value> = match namespace.as_str() {
        "platform.api" => vec![limit_json(&gate.token_limit())],
        "directory" if sh.cfg.report_user_limit => {
            gate.user_limit().iter().map(limit_json).collect()
        }
        _ => Vec::new(),
    };
    Json(json!({ "entities": entities })).into_response()
}
