//! `POST /api/v2/users/search`: the user search, for lookups by email, username or
//! employee id.
//!
//! Only what genupdate's key lookups need, as the admin page documents it: a
//! `query` of `EXACT` criteria (`fields` and `value` or `values`), all of which must
//! hold; `pageSize` at most 100 (400 above, like a real page that is too large),
//! `pageNumber`, `expand`. Emails and usernames are compared in any case (addresses
//! are case-insensitive), everything else exactly. Deleted users are left out
//! unless a criterion on `state` asks for them (as the Terraform provider does).
//! The answer is `{total, pageCount, pageSize, pageNumber, types, results}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::query::{Expand, page_range};
use super::server::{Shared, lock};
use super::state::Store;
use super::wire::ApiError;

/// The search's largest page.
pub const MAX_SEARCH_PAGE: u64 = 100;

/// One `EXACT` criterion: any of `fields` equals any of `values`.
struct Criterion {
    fields: Vec<String>,
    values: Vec<String>,
}

/// A search body's `pageSize` (25 when absent, 1 to [`MAX_SEARCH_PAGE`]) and
/// `pageNumber` (from 1). Shared by every search endpoint the sandbox serves.
pub fn search_page(body: &Value) -> Result<(u64, u64), ApiError> {
    let size = body.get("pageSize").and_then(Value::as_u64).unwrap_or(25);
    if size == 0 || size > MAX_SEARCH_PAGE {
        return Err(ApiError::bad_request(format!(
            "pageSize must be between 1 and {MAX_SEARCH_PAGE}, got {size}"
        )));
    }
    let number = body
        .get("pageNumber")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .max(1);
    Ok((size, number))
}

fn parse(body: &Value) -> Result<(u64, u64, Expand, Vec<Criterion>), ApiError> {
    let (size, number) = search_page(body)?;
    let mut expand = Expand::default();
    for e in body
        .get("expand")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(e) = e.as_str() {
            expand.ask(e);
        }
    }
    let mut criteria = Vec::new();
    let query = body
        .get("query")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("a search needs a query"))?;
    for q in query {
        let kind = q.get("type").and_then(Value::as_str).unwrap_or("");
        if kind != "EXACT" {
            return Err(ApiError::bad_request(format!(
                "the sandbox's search supports EXACT criteria only, got '{kind}'"
            )));
        }
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        };
        let fields = strings(q.get("fields"));
        let mut values = strings(q.get("values"));
        if let Some(v) = q.get("value").and_then(Value::as_str) {
            values.push(v.to_string());
        }
        if fields.is_empty() || values.is_empty() {
            return Err(ApiError::bad_request(
                "an EXACT criterion needs fields and values",
            ));
        }
        criteria.push(Criterion { fields, values });
    }
    Ok((size, number, expand, criteria))
}

/// The text of `field` in user document `doc`.
fn field<'a>(doc: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    match name.split_once('.') {
        Some((outer, inner)) => doc.get(outer)?.get(inner)?.as_str(),
        None => doc.get(name)?.as_str(),
    }
}

fn holds(doc: &serde_json::Map<String, Value>, c: &Criterion) -> bool {
    c.fields.iter().any(|f| {
        let Some(have) = field(doc, f) else {
            return false;
        };
        let any_case = matches!(f.as_str(), "email" | "username");
        c.values.iter().any(|v| {
            if any_case {
                v.eq_ignore_ascii_case(have)
            } else {
                v == have
            }
        })
    })
}

fn matching(store: &Store, criteria: &[Criterion]) -> Vec<usize> {
    let asks_state = criteria
        .iter()
        .any(|c| c.fields.iter().any(|f| f == "state"));
    (0..store.len())
        .filter(|&i| asks_state || store.state_of(i) != "deleted")
        .filter(|&i| {
            let rec = store.get(i);
            criteria.iter().all(|c| holds(&rec.doc, c))
        })
        .collect()
}

pub async fn search(State(sh): State<Arc<Shared>>, body: Bytes) -> Result<Response, ApiError> {
    let body: Value = serde_json::from_slice(&body).map_err(|_| ApiError::malformed_body())?;
    let (size, number, expand, criteria) = parse(&body)?;
    let store = lock(&sh.store);
    let found = matching(&store, &criteria);
    let r = page_range(found.len(), size as u32, number as u32);
    let results: Vec<Value> = found[r].iter().map(|&i| store.render(i, expand)).collect();
    drop(store);
    let total = found.len() as u64;
    Ok(Json(json!({
        "total": total,
        "pageCount": total.div_ceil(size),
        "pageSize": size,
        "pageNumber": number,
        "types": ["users"],
        "results": results,
    }))
    .into_response())
}
