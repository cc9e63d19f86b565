//! The user's side of queue membership: `GET /api/v2/users/{userId}/queues`
//! (**`joined` defaults to true**: unjoined queues are left out unless
//! `joined=false`) and `PATCH /api/v2/users/{userId}/queues` (asynchronous, 202;
//! queues the user is not a member of are disregarded).

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::query::{self, page_range};
use super::routes_queues::{body_items, check_queue_writable, item_id, joined_param, values};
use super::routes_users::user_not_found;
use super::seed::division_json;
use super::server::{Shared, lock};
use super::state::Store;
use super::wire::{ApiError, Listing};

fn live_user(store: &Store, id: &str) -> Result<u32, ApiError> {
    store
        .lookup(id)
        .filter(|&i| store.state_of(i) != "deleted")
        .map(|i| i as u32)
        .ok_or_else(|| user_not_found(id))
}

/// `GET /api/v2/users/{userId}/queues`: **`joined` defaults to true**, so queues
/// the user has not joined are left out unless `joined=false` (which shows only
/// those). `divisionId` filters; paged with totals.
pub async fn user_queues(
    State(sh): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let pairs = query::pairs(&uri);
    let p = query::list_params(&pairs).map_err(ApiError::bad_request)?;
    let joined = joined_param(&pairs)?.unwrap_or(true);
    let divisions = values(&pairs, "divisionId");
    let mut store = lock(&sh.store);
    store.org.settle(Instant::now());
    let u = live_user(&store, &user_id)?;
    let found: Vec<Value> = store
        .org
        .queues_of(u)
        .into_iter()
        .filter(|(_, m)| m.joined == joined)
        .filter(|(q, _)| {
            let d = &store.catalogue.divisions[store.org.queues[*q].division];
            divisions.is_empty() || divisions.contains(&d.id)
        })
        .map(|(q, m)| {
            let queue = &store.org.queues[q];
            json!({
                "id": queue.id,
                "name": queue.name,
                "division": division_json(&store.catalogue.divisions[queue.division]),
                "joined": m.joined,
                "memberBy": m.by.wire(),
                "selfUri": format!("/api/v2/routing/queues/{}", queue.id),
            })
        })
        .collect();
    drop(store);
    let total = found.len();
    let page = found[page_range(total, p.page_size, p.page_number)].to_vec();
    let base = format!("/api/v2/users/{user_id}/queues");
    Ok(Json(Listing::new(page, total, p.page_size, p.page_number, &base)).into_response())
}

/// `PATCH /api/v2/users/{userId}/queues`: `[{id: queueId, joined}]`,
/// asynchronous (202); queues the user is not a member of are disregarded.
pub async fn patch_user_queues(
    State(sh): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let items = body_items(&body)?;
    let now = Instant::now();
    let mut store = lock(&sh.store);
    store.org.settle(now);
    let u = live_user(&store, &user_id)?;
    let mut wanted = Vec::with_capacity(items.len());
    for item in &items {
        let id = item_id(item)?;
        let joined = item.get("joined").and_then(Value::as_bool).ok_or_else(|| {
            ApiError::bad_request(format!("joined (a boolean) is required for queue {id}"))
        })?;
        let Some(q) = store.org.queues.iter().position(|q| q.id == id) else {
            continue;
        };
        if store.org.member(q, u).is_some() {
            check_queue_writable(&store, q, "routing:queue:join")?;
            wanted.push((q, joined));
        }
    }
    let mut accepted = 0;
    for (q, joined) in wanted {
        accepted += u64::from(store.org.request_join(now, q, u, joined));
    }
    drop(store);
    lock(&sh.stats).membership_writes += accepted;
    Ok(StatusCode::ACCEPTED.into_response())
}
