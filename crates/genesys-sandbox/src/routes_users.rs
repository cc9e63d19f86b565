//! User endpoints: the paged listing and bulk read (`GET /api/v2/users`), one user
//! (`GET` and `PATCH /api/v2/users/{id}`), and `PATCH /api/v2/users/bulk`
//! (acdAutoAnswer only).
//!
//! Like Genesys, the listing and the bulk read filter by `state` (default `active`)
//! and page their result (`pageSize` default 25): a bulk read of 100 ids must ask
//! for `pageSize=100` and `state=any` to see every user. Expanded parts of list
//! reads are best effort (`Quirks::expand_miss_share`); the single GET always
//! answers fully. The single GET takes `state=active|deleted` (default active,
//! which also finds inactive users): a deleted user is 404 unless asked for with
//! `state=deleted`, and is shown as `user-deleted.json` shows one. Writes to users
//! of the restricted division answer 403; a PATCH without `state` on a deleted
//! user answers 404, one with `state` restores it.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::faults::roll;
use super::query::{self, Expand, page_range};
use super::server::{Shared, lock};
use super::state::Store;
use super::update;
use super::wire::{ApiError, Listing};

/// Most ids one bulk read may name.
pub const MAX_BULK_IDS: usize = 100;
/// Most entries of `PATCH /api/v2/users/bulk` (and the skill and language bulks).
pub const MAX_BULK_WRITE: usize = 50;

pub fn user_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("The user {id} could not be found."))
}

/// The 403 of a write to a user of a division the caller may not edit.
pub fn forbidden(store: &Store, i: usize, permission: &str) -> ApiError {
    ApiError::forbidden(
        &store.quirks().forbidden_code,
        permission,
        &store.division_name(i),
    )
}

/// A user as a read shows it: minimal when deleted.
fn shown(store: &Store, i: usize, expand: Expand) -> Value {
    if store.state_of(i) == "deleted" {
        store.render_deleted(i)
    } else {
        store.render(i, expand)
    }
}

/// Best-effort expand: drop what was asked for, key and all.
fn miss_expand(user: &mut Value, expand: Expand) {
    if let Value::Object(m) = user {
        for (asked, key) in [
            (expand.skills, "skills"),
            (expand.languages, "languages"),
            (expand.employer_info, "employerInfo"),
            (expand.locations, "locations"),
            (expand.groups, "groups"),
        ] {
            if asked {
                m.remove(key);
            }
        }
    }
}

/// The concurrent writer: after a read, another integration changes some of the
/// users just served. Returns how many it changed.
fn concurrent_writer(sh: &Shared, store: &mut Store, served: &[usize]) -> u64 {
    let p = lock(&sh.faults).concurrent_writer;
    if p <= 0.0 {
        return 0;
    }
    let mut n = 0;
    for &i in served {
        if roll(p) {
            store.concurrent_write(i);
            n += 1;
        }
    }
    n
}

fn count_concurrent(sh: &Shared, n: u64) {
    if n > 0 {
        lock(&sh.stats).concurrent_writes += n;
    }
}

pub async fn list(State(sh): State<Arc<Shared>>, uri: Uri) -> Result<Response, ApiError> {
    let p = query::list_params(&query::pairs(&uri)).map_err(ApiError::bad_request)?;
    if p.ids.len() > MAX_BULK_IDS {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_BULK_IDS} ids may be requested at once; got {}",
            p.ids.len()
        )));
    }
    let mut store = lock(&sh.store);
    let (served, total) = if p.ids.is_empty() {
        let total = store.matching(p.state).count();
        let r = page_range(total, p.page_size, p.page_number);
        let served: Vec<usize> = store
            .matching(p.state)
            .skip(r.start)
            .take(r.len())
            .collect();
        (served, total)
    } else {
        let found: Vec<usize> = p
            .ids
            .iter()
            .filter_map(|id| store.lookup(id))
            .filter(|&i| p.state.admits(store.state_of(i)))
            .collect();
        let r = page_range(found.len(), p.page_size, p.page_number);
        (found[r].to_vec(), found.len())
    };
    let miss = store.quirks().expand_miss_share;
    let asked = p.expand != Expand::default();
    let users: Vec<Value> = served
        .iter()
        .map(|&i| {
            let mut u = shown(&store, i, p.expand);
            if asked && roll(miss) {
                miss_expand(&mut u, p.expand);
            }
            u
        })
        .collect();
    let changed = concurrent_writer(&sh, &mut store, &served);
    drop(store);
    count_concurrent(&sh, changed);
    let listing = Listing::new(users, total, p.page_size, p.page_number, "/api/v2/users");
    Ok(Json(listing).into_response())
}

pub async fn get_one(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let pairs = query::pairs(&uri);
    let want_deleted = match pairs.iter().rev().find(|(k, _)| k == "state") {
        None => false,
        Some((_, v)) if v == "active" => false,
        Some((_, v)) if v == "deleted" => true,
        Some((_, v)) => {
            return Err(ApiError::bad_request(format!(
                "state must be one of active, deleted; got '{v}'"
            )));
        }
    };
    let without_state: Vec<(String, String)> =
        pairs.into_iter().filter(|(k, _)| k != "state").collect();
    let p = query::list_params(&without_state).map_err(ApiError::bad_request)?;
    let mut store = lock(&sh.store);
    let i = store.lookup(&id).ok_or_else(|| user_not_found(&id))?;
    if (store.state_of(i) == "deleted") != want_deleted {
        return Err(user_not_found(&id));
    }
    let user = shown(&store, i, p.expand);
    let changed = concurrent_writer(&sh, &mut store, &[i]);
    drop(store);
    count_concurrent(&sh, changed);
    Ok(Json(user).into_response())
}

pub async fn patch_one(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let up = update::parse(&body).map_err(ApiError::bad_request)?;
    let mut store = lock(&sh.store);
    let i = store.lookup(&id).ok_or_else(|| user_not_found(&id))?;
    if store.state_of(i) == "deleted" && !up.sets_state() {
        return Err(user_not_found(&id));
    }
    if store.is_restricted(i) {
        return Err(forbidden(&store, i, "directory:user:edit"));
    }
    let current = store.get(i).version();
    if up.version != current {
        drop(store);
        lock(&sh.stats).version_conflicts += 1;
        let message = format!(
            "The version supplied ({}) does not match the current version of the user ({current}).",
            up.version
        );
        return Err(if roll(lock(&sh.faults).conflict_400_share) {
            ApiError::bad_request(message)
        } else {
            ApiError::new(StatusCode::CONFLICT, "general.conflict", message)
        });
    }
    let locations = match up.field("locations") {
        Some(v) if !up.sets_state() => Some(
            crate::routes_locations::normalize_user_locations(&store.org.locations, v)
                .map_err(ApiError::bad_request)?,
        ),
        _ => None,
    };
    let manager_exists = up.manager_id().is_some_and(|m| store.lookup(m).is_some());
    let quirks = store.quirks().clone();
    let rules = update::Rules {
        manager_exists,
        ignore_fields: &quirks.ignore_fields,
        keep_omitted_email: quirks.keep_omitted_email,
        contact_rules: quirks.contact_rules,
    };
    store
        .update(i, |rec| {
            update::apply(&mut rec.doc, &up, &rules)?;
            if let Some(list) = locations {
                rec.doc.insert("locations".into(), list);
            }
            rec.bump_version();
            Ok::<_, String>(())
        })
        .map_err(ApiError::bad_request)?;
    // The full User without the expand-only parts (employerInfo, skills, languages).
    let user = store.render(i, Expand::default());
    let user_id = store.id_string(i);
    drop(store);
    lock(&sh.stats).count_write(&user_id);
    Ok(Json(user).into_response())
}

/// `PATCH /api/v2/users/bulk`: `[{id, acdAutoAnswer}]`, at most 50, all or nothing.
pub async fn patch_bulk(State(sh): State<Arc<Shared>>, body: Bytes) -> Result<Response, ApiError> {
    let items: Vec<Value> =
        serde_json::from_slice(&body).map_err(|_| ApiError::malformed_body())?;
    if items.len() > MAX_BULK_WRITE {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_BULK_WRITE} users may be updated at once; got {}",
            items.len()
        )));
    }
    let mut wanted = Vec::with_capacity(items.len());
    for item in &items {
        let Value::Object(map) = item else {
            return Err(ApiError::bad_request(
                "each entry must be an object {id, acdAutoAnswer}",
            ));
        };
        if let Some(k) = map
            .keys()
            .find(|k| !["id", "acdAutoAnswer"].contains(&k.as_str()))
        {
            return Err(ApiError::bad_request(format!(
                "Unrecognized field \"{k}\": only id and acdAutoAnswer can be updated in bulk"
            )));
        }
        let id = map.get("id").and_then(Value::as_str).unwrap_or_default();
        let Some(answer) = map.get("acdAutoAnswer").and_then(Value::as_bool) else {
            return Err(ApiError::bad_request(format!(
                "acdAutoAnswer (a boolean) is required for user {id}"
            )));
        };
        wanted.push((id.to_string(), answer));
    }
    let mut store = lock(&sh.store);
    let mut indices = Vec::with_capacity(wanted.len());
    for (id, _) in &wanted {
        let i = store
            .lookup(id)
            .filter(|&i| store.state_of(i) != "deleted")
            .ok_or_else(|| ApiError::bad_request(format!("The user {id} could not be found.")))?;
        if store.is_restricted(i) {
            return Err(forbidden(&store, i, "directory:user:edit"));
        }
        indices.push(i);
    }
    for (&i, (_, answer)) in indices.iter().zip(&wanted) {
        store.update(i, |rec| {
            rec.doc.insert("acdAutoAnswer".into(), Value::Bool(*answer));
            rec.bump_version();
        });
    }
    let users: Vec<Value> = indices
        .iter()
        .map(|&i| store.render(i, Expand::default()))
        .collect();
    let written: Vec<String> = indices.iter().map(|&i| store.id_string(i)).collect();
    drop(store);
    {
        let mut st = lock(&sh.stats);
        for id in &written {
            st.count_write(id);
        }
    }
    let n = users.len();
    let size = n.max(1) as u32;
    Ok(Json(Listing::new(users, n, size, 1, "/api/v2/users/bulk")).into_response())
}
