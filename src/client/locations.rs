//! Location lookups (`/api/v2/locations`). `GET /api/v2/locations` has no name filter,
//! so names are found with the search and an `EXACT` query on `name`; the caller still
//! compares names exactly (two locations may share a name).

use serde::Deserialize;
use serde_json::json;

use super::api::encode;
use super::grants::NamedRef;
use super::{ApiError, Client, Replay, Request};

/// A location search answer (`results`; `entities` accepted too).
#[derive(Deserialize)]
struct LocationSearch {
    #[serde(default)]
    results: Vec<NamedRef>,
    #[serde(default)]
    entities: Vec<NamedRef>,
}

impl Client {
    /// Locations named `name` (`POST /api/v2/locations/search`, `EXACT` on `name`).
    pub async fn search_locations(&self, name: &str) -> Result<Vec<NamedRef>, ApiError> {
        let body = json!({
            "pageSize": 100,
            "pageNumber": 1,
            "query": [{"type": "EXACT", "fields": ["name"], "value": name}],
        });
        let page: LocationSearch = self
            .send(Request::post(
                "/api/v2/locations/search",
                body,
                Replay::Safe,
            ))
            .await?
            .json()?;
        Ok(if page.results.is_empty() {
            page.entities
        } else {
            page.results
        })
    }

    /// One location by id (`GET /api/v2/locations/{id}`), to name a location a user
    /// holds that the file does not mention.
    pub async fn get_location(&self, id: &str) -> Result<NamedRef, ApiError> {
        self.send(Request::get(format!("/api/v2/locations/{}", encode(id))))
            .await?
            .json()
    }
}
