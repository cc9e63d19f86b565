//! Locations: `GET /api/v2/locations` (paged; **no `name` parameter**: a `name=`
//! is ignored like any unknown parameter, so a client that filters by it gets
//! every location) and `POST /api/v2/locations/search` (`EXACT` on `name`).
//! Also the `EXACT`-name search body shared with `POST /api/v2/groups/search`.
//!
//! A user's locations are a field of the user (`locations: [{id, notes, …}]`),
//! shown with `expand=locations` and written through the user PATCH.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::org::Location;
use super::query::{self, page_range};
use super::server::{Shared, lock};
use super::wire::{ApiError, Listing};

pub fn location_json(l: &Location) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "address": { "city": l.city },
        "state": "active",
        "selfUri": format!("/api/v2/locations/{}", l.id),
    })
}

/// A search body asking for entities by exact name: `{query: [{type: "EXACT",
/// fields: ["name"], value | values}], pageSize, pageNumber}`.
#[derive(Debug, PartialEq)]
pub struct NameSearch {
    pub names: Vec<String>,
    pub size: u64,
    pub number: u64,
}

impl NameSearch {
    /// EXACT ignores case (UNVERIFIED), so clients must still compare exactly.
    pub fn admits(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

pub fn parse_name_search(body: &[u8]) -> Result<NameSearch, ApiError> {
    let body: Value = serde_json::from_slice(body).map_err(|_| ApiError::malformed_body())?;
    let (size, number) = super::routes_search::search_page(&body)?;
    let query = body
        .get("query")
        .and_then(Value::as_array)
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ApiError::bad_request("a search needs a query"))?;
    let mut names = Vec::new();
    for q in query {
        let kind = q.get("type").and_then(Value::as_str).unwrap_or("");
        let fields: Vec<&str> = q
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if kind != "EXACT" || fields != ["name"] {
            return Err(ApiError::bad_request(format!(
                "the sandbox's search supports EXACT criteria on [\"name\"] only, got '{kind}' on {fields:?}"
            )));
        }
        if let Some(v) = q.get("value").and_then(Value::as_str) {
            names.push(v.to_string());
        }
        for v in q
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(v) = v.as_str() {
                names.push(v.to_string());
            }
        }
    }
    if names.is_empty() {
        return Err(ApiError::bad_request("an EXACT criterion needs a value"));
    }
    Ok(NameSearch {
        names,
        size,
        number,
    })
}

/// One page of search results: `{total, pageCount, pageSize, pageNumber, results}`.
pub fn search_page(found: Vec<Value>, s: &NameSearch) -> Response {
    let total = found.len() as u64;
    let r = page_range(found.len(), s.size as u32, s.number as u32);
    Json(json!({
        "total": total,
        "pageCount": total.div_ceil(s.size),
        "pageSize": s.size,
        "pageNumber": s.number,
        "results": found[r].to_vec(),
    }))
    .into_response()
}

pub async fn list(State(sh): State<Arc<Shared>>, uri: Uri) -> Result<Response, ApiError> {
    let p = query::list_params(&query::pairs(&uri)).map_err(ApiError::bad_request)?;
    let store = lock(&sh.store);
    let all: Vec<Value> = store
        .org
        .locations
        .iter()
        .filter(|l| p.ids.is_empty() || p.ids.contains(&l.id))
        .map(location_json)
        .collect();
    drop(store);
    let total = all.len();
    let page = all[page_range(total, p.page_size, p.page_number)].to_vec();
    let listing = Listing::new(page, total, p.page_size, p.page_number, "/api/v2/locations");
    Ok(Json(listing).into_response())
}

pub async fn search(State(sh): State<Arc<Shared>>, body: Bytes) -> Result<Response, ApiError> {
    let s = parse_name_search(&body)?;
    let store = lock(&sh.store);
    let found: Vec<Value> = store
        .org
        .locations
        .iter()
        .filter(|l| s.admits(&l.name))
        .map(location_json)
        .collect();
    drop(store);
    Ok(search_page(found, &s))
}

/// The location id of a user's location entry: `id` as written, or
/// `locationDefinition.id` as read.
pub fn entry_location_id(entry: &Value) -> Option<&str> {
    entry
        .get("id")
        .or_else(|| entry.get("locationDefinition")?.get("id"))
        .and_then(Value::as_str)
}

/// Check a PATCH's `locations` against the org and store them as
/// `[{id, notes?, coordinates?}]`: each entry names a location by `id` (or by
/// `locationDefinition.id`, as a read shows it); an unknown id is an error naming
/// it. `null` clears the list.
pub fn normalize_user_locations(locations: &[Location], value: &Value) -> Result<Value, String> {
    let Some(list) = value.as_array() else {
        return if value.is_null() {
            Ok(json!([]))
        } else {
            Err("locations must be an array".into())
        };
    };
    let mut out = Vec::with_capacity(list.len());
    for entry in list {
        let id = entry_location_id(entry).unwrap_or_default();
        if !locations.iter().any(|l| l.id == id) {
            return Err(format!(
                "locations: '{id}' is not a location of this organization"
            ));
        }
        let mut e = serde_json::Map::new();
        e.insert("id".into(), json!(id));
        for key in ["notes", "coordinates"] {
            if let Some(v) = entry.get(key).filter(|v| !v.is_null()) {
                e.insert(key.into(), v.clone());
            }
        }
        out.push(Value::Object(e));
    }
    Ok(Value::Array(out))
}

/// A stored location entry as a read shows it (user-full.json):
/// `{coordinates, notes, locationDefinition{id, selfUri}}`.
pub fn render_user_location(entry: &Value) -> Value {
    let id = entry_location_id(entry).unwrap_or_default();
    let mut e = serde_json::Map::new();
    e.insert(
        "coordinates".into(),
        entry
            .get("coordinates")
            .cloned()
            .unwrap_or_else(|| json!({})),
    );
    if let Some(notes) = entry.get("notes") {
        e.insert("notes".into(), notes.clone());
    }
    e.insert(
        "locationDefinition".into(),
        json!({ "id": id, "selfUri": format!("/api/v2/locations/{id}") }),
    );
    Value::Object(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_searches_take_exact_criteria_on_name_only() {
        let ok = parse_name_search(
            br#"{"query":[{"type":"EXACT","fields":["name"],"value":"Remote"}]}"#,
        )
        .unwrap();
        assert_eq!(ok.names, ["Remote"]);
        assert!(ok.admits("remote") && !ok.admits("Remote Office"));
        for bad in [
            r#"{"query":[{"type":"CONTAINS","fields":["name"],"value":"R"}]}"#,
            r#"{"query":[{"type":"EXACT","fields":["city"],"value":"R"}]}"#,
            r#"{"query":[]}"#,
            r#"{"query":[{"type":"EXACT","fields":["name"]}]}"#,
            r#"{"pageSize":101,"query":[{"type":"EXACT","fields":["name"],"value":"R"}]}"#,
            "not json",
        ] {
            assert!(parse_name_search(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_locations_must_name_known_locations() {
        let locs = vec![Location {
            id: "a".into(),
            name: "A".into(),
            city: String::new(),
        }];
        let norm = |v: Value| normalize_user_locations(&locs, &v);
        // (sent, stored or the error's text)
        let table = [
            (
                json!([{"id": "a", "notes": "x", "floorplanId": "f"}]),
                Ok(json!([{"id": "a", "notes": "x"}])),
            ),
            (
                json!([{"locationDefinition": {"id": "a"}, "coordinates": {}}]),
                Ok(json!([{"id": "a", "coordinates": {}}])),
            ),
            (json!([]), Ok(json!([]))),
            (Value::Null, Ok(json!([]))),
            (json!([{"id": "b"}]), Err("'b'")),
            (json!({"id": "a"}), Err("array")),
        ];
        for (sent, want) in table {
            match (norm(sent.clone()), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{sent}"),
                (Err(e), Err(part)) => assert!(e.contains(part), "{sent}: {e}"),
                (got, want) => panic!("{sent}: {got:?} vs {want:?}"),
            }
        }
        let shown = render_user_location(&json!({"id": "a", "notes": "x"}));
        assert_eq!(shown["locationDefinition"]["id"], "a");
        assert!(shown.get("id").is_none());
    }
}
