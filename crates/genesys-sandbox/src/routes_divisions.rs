//! Divisions: `GET /api/v2/authorization/divisions` (`name` is a substring
//! match, not exact), `GET .../divisions/home`, and the division move
//! `POST /api/v2/authorization/divisions/{divisionId}/objects/USER` with a JSON
//! array of user ids, answering 204 with no body.
//!
//! The most ids one move takes is undocumented: `Quirks::division_move_max`
//! (realistic 1, as Terraform sends; more is a 400 `objects.limit.exceeded`).
//! Moving a user into or out of a division outside the client's reach
//! (`Restricted Ops`) answers 403 naming `directory:user:edit`. A move changes the
//! user's `division` and bumps the user's `version` (it is a change of the user;
//! UNVERIFIED). Unknown or deleted users are a 400 naming them, nothing moved.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::org::{GrantDivision, substring_matches};
use super::query::{self, page_range};
use super::routes_authz::division_entity;
use super::routes_queues::resolve_members;
use super::seed::{HOME, division_json};
use super::server::{Shared, lock};
use super::wire::{ApiError, Listing};

pub const USER_EDIT: &str = "directory:user:edit";

pub async fn list(State(sh): State<Arc<Shared>>, uri: Uri) -> Result<Response, ApiError> {
    let p = query::list_params(&query::pairs(&uri)).map_err(ApiError::bad_request)?;
    let store = lock(&sh.store);
    let found: Vec<Value> = (0..store.catalogue.divisions.len())
        .filter(|&d| {
            let div = &store.catalogue.divisions[d];
            p.name
                .as_deref()
                .is_none_or(|n| substring_matches(n, &div.name))
                && (p.ids.is_empty() || p.ids.contains(&div.id))
        })
        .map(|d| division_entity(&store, GrantDivision::One(d)))
        .collect();
    drop(store);
    let total = found.len();
    let page = found[page_range(total, p.page_size, p.page_number)].to_vec();
    let base = "/api/v2/authorization/divisions";
    Ok(Json(Listing::new(page, total, p.page_size, p.page_number, base)).into_response())
}

pub async fn home(State(sh): State<Arc<Shared>>) -> Response {
    let store = lock(&sh.store);
    Json(division_entity(&store, GrantDivision::One(HOME))).into_response()
}

/// `POST .../divisions/{divisionId}/objects/{objectType}`: users only.
pub async fn move_objects(
    State(sh): State<Arc<Shared>>,
    Path((division_id, object_type)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if object_type != "USER" {
        return Err(ApiError::bad_request(format!(
            "the sandbox moves objects of type USER only, got '{object_type}'"
        )));
    }
    let ids: Vec<String> = serde_json::from_slice(&body).map_err(|_| ApiError::malformed_body())?;
    let mut store = lock(&sh.store);
    let max = store.quirks().division_move_max;
    if ids.is_empty() || ids.len() > max {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "objects.limit.exceeded",
            format!(
                "A division move takes between 1 and {max} object ids; got {}",
                ids.len()
            ),
        ));
    }
    let d = store
        .catalogue
        .division_index(&division_id)
        .ok_or_else(|| {
            ApiError::not_found(format!("The division {division_id} could not be found."))
        })?;
    let target = store.catalogue.divisions[d].clone();
    let code = store.quirks().forbidden_code.clone();
    if !store.catalogue.writable_division(&target.id) {
        return Err(ApiError::forbidden(&code, USER_EDIT, &target.name));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let users = resolve_members(&store, &refs)?;
    if let Some(&u) = users.iter().find(|&&u| store.is_restricted(u as usize)) {
        return Err(ApiError::forbidden(
            &code,
            USER_EDIT,
            &store.division_name(u as usize),
        ));
    }
    let mut moved = Vec::new();
    for u in users {
        let i = u as usize;
        if store.get(i).division_id() == Some(target.id.as_str()) {
            continue;
        }
        store.update(i, |rec| {
            rec.doc.insert("division".into(), division_json(&target));
            rec.bump_version();
        });
        moved.push(store.id_string(i));
    }
    drop(store);
    let mut st = lock(&sh.stats);
    st.membership_writes += moved.len() as u64;
    for id in &moved {
        st.count_write(id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
