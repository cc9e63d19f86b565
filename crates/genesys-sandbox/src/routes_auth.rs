//! `POST /oauth/token`: the login host's client-credentials grant.
//!
//! Client authentication is checked first (Basic auth, or `client_id` and
//! `client_secret` form fields), then the grant type, then the endpoint's own rate
//! limit, which Genesys answers with 400 `invalid_request` "rate limit exceeded",
//! not 429.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::server::{Shared, lock};
use super::wire::token_error;

/// The client id and secret from `Authorization: Basic ...`.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, encoded) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

pub async fn token(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    lock(&sh.stats).token_requests += 1;
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };

    let creds =
        basic_auth(&headers).or_else(|| Some((field("client_id")?, field("client_secret")?)));
    let Some((id, secret)) = creds else {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required",
        );
    };
    if id != sh.cfg.client_id || secret != sh.cfg.client_secret.expose() {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client not found or bad client credentials",
        );
    }
    match field("grant_type").as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant type '{other}' is not supported for this client"),
            );
        }
        None => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type is required",
            );
        }
    }
    let now = Instant::now();
    let mut gate = lock(&sh.gate);
    if gate.admit_token_request(&id, now).is_err() {
        drop(gate);
        lock(&sh.stats).token_rate_limited += 1;
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "rate limit exceeded for token requests of this client",
        );
    }
    let token = gate.issue(&id, now);
    drop(gate);
    lock(&sh.stats).tokens_issued += 1;
    axum::Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": sh.cfg.token_ttl.as_secs(),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_auth_is_decoded() {
        let mut h = HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode("id:se:cret");
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("Basic {enc}")).unwrap(),
        );
        assert_eq!(basic_auth(&h), Some(("id".into(), "se:cret".into())));
        h.insert("authorization", HeaderValue::from_static("Basic !!!"));
        assert_eq!(basic_auth(&h), None);
    }
}
