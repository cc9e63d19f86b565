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

    /// Locations by id (`GET /api/v2/locations?id=..`, 100 a request), to name the
    /// locations users hold that the file does not mention.
    pub async fn get_locations(&self, ids: &[String]) -> Result<Vec<NamedRef>, ApiError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let mut path = String::from("/api/v2/locations?");
            for id in chunk {
                path.push_str("id=");
                path.push_str(&encode(id));
                path.push('&');
            }
            out.extend(self.list_all::<NamedRef>(&path[..path.len() - 1]).await?);
        }
        Ok(out)
    }

    /// Every location of the org (`GET /api/v2/locations`, paged): the export names
    /// users' locations with it.
    pub async fn all_locations(&self) -> Result<Vec<NamedRef>, ApiError> {
        self.list_all("/api/v2/locations?").await
    }
}
