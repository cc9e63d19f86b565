//! `GET /api/v2/organizations/me`: the org the caller's token belongs to.
//!
//! genupdate reads it before the first write to say which org it is about to change.
//! Its permission is not documented, so the sandbox can be told to refuse it
//! ([`Org::forbidden`]) and a client must treat that as "name unknown", not as a
//! failed run.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::server::Shared;
use super::wire::ApiError;

/// The name of the sandbox's demo org.
pub const DEFAULT_ORG_NAME: &str = "genupdate sandbox";

/// What `GET /api/v2/organizations/me` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    /// The Organization's `name`.
    pub name: String,
    /// Answer 403 (as for a role without the permission this route needs).
    pub forbidden: bool,
}

impl Default for Org {
    fn default() -> Self {
        Org {
            name: DEFAULT_ORG_NAME.to_string(),
            forbidden: false,
        }
    }
}

/// The org's id: fixed per seed, so the same seed is the same org.
fn org_id(seed: u64) -> String {
    format!("0a1b2c3d-0000-4000-8000-{seed:012x}")
}

pub async fn me(State(sh): State<Arc<Shared>>) -> Response {
    let org = &sh.cfg.org;
    if org.forbidden {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "missing.any.permissions",
            "Unable to perform the requested action. You are missing the following \
             permission(s): directory:organization:view",
        )
        .into_response();
    }
    let id = org_id(sh.cfg.seed);
    let slug: String = org
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    Json(json!({
        "id": id,
        "name": org.name,
        "defaultLanguage": "en-us",
        "defaultCountryCode": "US",
        "thirdPartyOrgName": slug,
        "domain": slug,
        "version": 1,
        "state": "active",
        "defaultSiteId": "",
        "productPlatform": "PureCloud",
        "selfUri": format!("/api/v2/organizations/{id}"),
    }))
    .into_response()
}
