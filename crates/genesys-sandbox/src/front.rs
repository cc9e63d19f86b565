//! The front layer every request passes: arrival time, latency, bearer check, rate
//! limits and faults, then the handler, then the correlation id, error rendering,
//! optional rate-limit headers and the counters.
//!
//! Order matters and mirrors what a client can observe: a request "arrives" when the
//! client sent it (before the added latency), so `during_retry_after` judges the
//! client, not the sandbox's own delay; limits are decided after the latency; a 429
//! is not counted in any window; faults hit only admitted requests.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::faults::{self, burst_secs, roll};
use super::gate::{RateInfo, USER_NAMESPACE};
use super::server::{Kill, Shared, lock};
use super::stats::route_template;
use super::wire::ApiError;

/// Keeps the in-flight count honest even when a request future is dropped.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(sh: &'a Shared) -> Self {
        let now = sh.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        sh.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight(sh)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

pub async fn front(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/sandbox/") {
        return next.run(req).await;
    }
    let arrival = Instant::now();
    let _in_flight = InFlight::enter(&sh);
    let context_id = uuid::Uuid::new_v4().to_string();
    let method = req.method().clone();
    let template = route_template(&path);
    let is_api = path.starts_with("/api/v2/");
    let token = bearer(req.headers());
    let faults = sh.faults();

    let early = is_api && lock(&sh.gate).during_retry_after(token.as_deref(), arrival);
    {
        let mut st = lock(&sh.stats);
        st.requests += 1;
        if early {
            st.during_retry_after += 1;
        }
    }
    let delay = faults::latency(&faults);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let kill = req.extensions().get::<Kill>().cloned();
    let mut rate: Option<RateInfo> = None;
    let response = if is_api {
        match admit(&sh, &faults, token.as_deref(), &path) {
            Err(e) => e.into_response(),
            Ok(info) => {
                rate = info;
                if roll(faults.error_5xx) {
                    lock(&sh.stats).injected_5xx += 1;
                    ApiError::server_error(faults::pick_5xx()).into_response()
                } else if roll(faults.drop_before) {
                    {
                        let mut st = lock(&sh.stats);
                        st.dropped_before += 1;
                        st.count_route(method.as_str(), &template, "dropped");
                    }
                    return drop_connection(kill).await;
                } else {
                    let response = next.run(req).await;
                    // POSTs write too (queue, group and grant members, division
                    // moves), except the searches.
                    let write = matches!(method, Method::PATCH | Method::PUT | Method::DELETE)
                        || (method == Method::POST && !path.ends_with("/search"));
                    if write && response.status().is_success() && roll(faults.drop_after_write) {
                        {
                            let mut st = lock(&sh.stats);
                            st.dropped_after += 1;
                            st.count_route(method.as_str(), &template, "dropped");
                        }
                        return drop_connection(kill).await;
                    }
                    response
                }
            }
        }
    } else {
        next.run(req).await
    };
    finish(&sh, response, &context_id, rate, &method, &template)
}

async fn drop_connection(kill: Option<Kill>) -> Response {
    match kill {
        Some(k) => k.now().await,
        // Served outside the accept loop (never in practice): the closest we can do.
        None => ApiError::server_error(axum::http::StatusCode::BAD_GATEWAY).into_response(),
    }
}

/// Authentication, revocation, bursts and rate limits, in that order.
fn admit(
    sh: &Shared,
    faults: &faults::Faults,
    token: Option<&str>,
    path: &str,
) -> Result<Option<RateInfo>, ApiError> {
    let now = Instant::now();
    let mut gate = lock(&sh.gate);
    gate.authenticate(token, now)?;
    let token = token.unwrap_or_default();
    if roll(faults.revoke_token) {
        gate.revoke(token);
        lock(&sh.stats).revoked += 1;
        return Err(ApiError::bad_credentials());
    }
    if roll(faults.burst_429) {
        let e = gate.start_burst(token, now, burst_secs(faults.burst_retry_after));
        lock(&sh.stats).burst_429s += 1;
        return Err(e);
    }
    let user_endpoint = path == "/api/v2/users" || path.starts_with("/api/v2/users/");
    gate.admit(token, now, user_endpoint).map_err(|(e, burst)| {
        if burst {
            lock(&sh.stats).burst_429s += 1;
        }
        e
    })
}

/// Render errors with the correlation id, add headers, count the outcome.
fn finish(
    sh: &Shared,
    mut response: Response,
    context_id: &str,
    rate: Option<RateInfo>,
    method: &Method,
    template: &str,
) -> Response {
    let mut rate = rate;
    if let Some(err) = response.extensions_mut().remove::<ApiError>() {
        let mut r = (err.status, axum::Json(err.body(context_id))).into_response();
        if let Some(secs) = err.retry_after {
            r.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
            let limit = match &err.limit {
                Some(l) if l.namespace == USER_NAMESPACE => sh.cfg.user_rate_limit,
                _ => sh.cfg.rate_limit,
            };
            rate = Some(RateInfo {
                limit,
                remaining: 0,
                reset_secs: secs,
            });
        }
        response = r;
    }
    let status = response.status();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(context_id) {
        headers.insert("inin-correlation-id", v);
    }
    if sh.cfg.rate_limit_headers
        && let Some(r) = rate
    {
        for (name, value) in [
            ("ratelimit-limit", r.limit as u64),
            ("ratelimit-remaining", r.remaining as u64),
            ("ratelimit-reset", r.reset_secs),
            ("x-ratelimit-limit", r.limit as u64),
            ("x-ratelimit-remaining", r.remaining as u64),
            ("x-ratelimit-reset", r.reset_secs),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
    }
    let mut st = lock(&sh.stats);
    st.count_route(method.as_str(), template, status.as_str());
    match status.as_u16() {
        429 => st.too_many_requests += 1,
        401 if template != "/oauth/token" => st.unauthorized += 1,
        _ => {}
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer(&h).as_deref(), Some("abc"));
        h.insert("authorization", HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer(&h).as_deref(), Some("abc"));
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert("authorization", HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }
}
