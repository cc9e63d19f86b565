//! The send loop: [`Client::send`] waits for a turn (the shared pace), gets a token,
//! sends, and does what `retry::decide` says about the outcome. How many requests are
//! in flight is the caller's business: in a run, the runner is the one owner of
//! concurrency (`--concurrency` rows in flight, each sending one request at a time).
//!
//! It stays thin on purpose: decisions are in `retry` and `pace`. What it owns is the
//! bookkeeping around them: the per-request counters `decide` reads (retries, the 429
//! waiting taken so far, renewals), turning server text into sanitised error details,
//! the run of consecutive timeouts, and cancellation: the whole request (slot, pace,
//! token, HTTP exchange, every sleep) runs inside one `select!` against the client's
//! cancellation token, so cancelling drops it wherever it waits.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;
use tracing::{info, warn};

use super::pace::later;
use super::retry::{self, Ctx, Failure, Seen, Step};
use super::sanitize::{Secrets, sanitize_server_text};
use super::stats::bump;
use super::wire::{self, Exchange, WireError};
use super::{ApiError, Client, Fatal, Inner, NetFailure, Request, Response, headers};
use crate::model::ErrorBody;

/// Longest code or correlation id kept from a server (they are short identifiers).
const MAX_SERVER_ID: usize = 120;

/// What the last response or failure said, for error values and log events. Every
/// string in it is sanitised server text.
#[derive(Default)]
pub(super) struct Last {
    status: Option<u16>,
    code: Option<String>,
    message: String,
    correlation_id: Option<String>,
    limit_key: Option<String>,
}

impl Client {
    /// Send one request, retrying as the policy says. See [`ApiError`] for the endings.
    /// Returns [`ApiError::Cancelled`] promptly once the client's cancellation token
    /// fires, wherever the request was waiting.
    pub async fn send(&self, req: Request) -> Result<Response, ApiError> {
        let attempts = AtomicU32::new(0);
        let cancel = self.inner.cfg.cancel.clone();
        if cancel.is_cancelled() {
            return Err(cancelled(&req, 0));
        }
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(cancelled(&req, attempts.load(Ordering::Relaxed))),
            r = self.inner.send_loop(&req, &attempts) => r,
        }
    }

    /// Consecutive requests (API and token) that got no answer within the request
    /// timeout; any response resets it. The runner trips its "API unreachable" breaker
    /// on it.
    pub fn consecutive_timeouts(&self) -> u64 {
        self.inner
            .stats
            .consecutive_timeouts
            .load(Ordering::Relaxed)
    }
}

pub(super) fn cancelled(req: &Request, attempts: u32) -> ApiError {
    ApiError::Cancelled {
        method_path: format!("{} {}", req.method, req.log_path()),
        attempts,
        may_have_landed: attempts > 0 && is_write(req),
    }
}

fn is_write(req: &Request) -> bool {
    !matches!(
        req.method,
        reqwest::Method::GET | reqwest::Method::HEAD | reqwest::Method::OPTIONS
    )
}

impl Inner {
    async fn send_loop(&self, req: &Request, sent: &AtomicU32) -> Result<Response, ApiError> {
        let (mut attempts, mut retries, mut renewals, mut pauses) = (0u32, 0u32, 0u32, 0u32);
        let mut rate_limited_wait = Duration::ZERO;
        let mut gate: Option<OwnedMutexGuard<()>> = None;
        loop {
            let sent_at = self.pace.turn().await;
            let token = self.auth.token(&self.stats).await?;
            attempts += 1;
            sent.store(attempts, Ordering::Relaxed);
            bump(&self.stats.requests);
            let result = wire::exchange(self.build(req, &token.value), self.cfg.max_body).await;
            let arrived = Instant::now();
            drop(gate.take());
            self.stats.note_timeout(&result);
            let (seen, last, exchange) = self.observe(result, arrived);
            if !matches!(
                seen,
                Seen::Transport(_) | Seen::Response(retry::Verdict::Unauthorized)
            ) {
                self.auth.mark_proven(token.generation);
            }
            let ctx = Ctx {
                retries,
                max_retries: self.cfg.max_retries,
                max_retry_after: self.cfg.max_retry_after,
                rate_limited_wait,
                max_rate_limited_wait: self.cfg.retry.max_rate_limited_wait,
                replay: req.replay,
                token: token.kind,
                renewals,
            };
            match retry::decide(&seen, &ctx) {
                Step::Success => {
                    let budget = &self.budget;
                    budget
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .on_success();
                    self.pace.with(|g| g.on_success(arrived, sent_at));
                    let x = exchange.ok_or_else(|| Fatal::Config("no response".into()))?;
                    return Ok(Response {
                        status: x.status,
                        body: x.body,
                        correlation_id: last.correlation_id,
                        attempts,
                    });
                }
                Step::Pause { retry_after } => {
                    pauses += 1;
                    bump(&self.stats.retries);
                    bump(&self.stats.pauses);
                    let floor = retry::pause_floor(
                        retry_after,
                        self.cfg.retry.rate_limit,
                        pauses - 1,
                        rand::random::<f64>(),
                    );
                    rate_limited_wait = rate_limited_wait.saturating_add(floor);
                    let wait = retry::retry_after_wait(floor, rand::random::<f64>());
                    let until = later(arrived, wait);
                    // Only a limit whose unit is known sets the pace; a daily or
                    // concurrency limit is logged (limit_key) but not paced to.
                    let limit = exchange
                        .as_ref()
                        .and_then(|x| serde_json::from_slice::<ErrorBody>(&x.body).ok())
                        .and_then(|b| b.limit)
                        .and_then(|l| retry::limit_per_minute(&l.key, l.value));
                    let cut = self.pace.with(|g| {
                        g.pause_until(until, arrived);
                        g.on_429(arrived, sent_at, retry_after, limit)
                    });
                    info!(
                        method = %req.method, path = %req.log_path(), status = 429,
                        code = last.code.as_deref().unwrap_or(""),
                        correlation_id = last.correlation_id.as_deref().unwrap_or(""),
                        limit_key = last.limit_key.as_deref().unwrap_or(""),
                        wait_ms = wait.as_millis() as u64,
                        rate_per_minute = self.pace.rate(), rate_changed = cut,
                        attempt = attempts,
                        "rate limited; every request waits for Retry-After"
                    );
                }
                Step::Backoff { cost } => {
                    retries += 1;
                    bump(&self.stats.retries);
                    let affordable = self
                        .budget
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .try_withdraw(cost);
                    let wait = if affordable {
                        self.cfg
                            .retry
                            .server
                            .delay(retries - 1, rand::random::<f64>())
                    } else {
                        bump(&self.stats.budget_waits);
                        gate = Some(self.budget_gate.clone().lock_owned().await);
                        self.cfg.retry.budget_wait
                    };
                    warn!(
                        method = %req.method, path = %req.log_path(),
                        status = last.status.unwrap_or(0),
                        code = last.code.as_deref().unwrap_or(""),
                        correlation_id = last.correlation_id.as_deref().unwrap_or(""),
                        detail = %last.message,
                        wait_ms = wait.as_millis() as u64,
                        retry_budget_spent = !affordable,
                        attempt = attempts,
                        "request failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                Step::Renew => {
                    renewals += 1;
                    bump(&self.stats.renewals_after_401);
                    info!(method = %req.method, path = %req.log_path(), generation = token.generation,
                        "401: renewing the access token and replaying");
                    self.auth.renew(token.generation, &self.stats).await?;
                }
                Step::Fail(failure) => return Err(self.fail(failure, last, attempts, req)),
            }
        }
    }

    fn build(&self, req: &Request, token: &crate::secret::Secret) -> reqwest::RequestBuilder {
        let sep = if req.path.starts_with('/') { "" } else { "/" };
        let url = format!("{}{sep}{}", self.api_base, req.path);
        let mut rb = self
            .http
            .request(req.method.clone(), url)
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = &req.body {
            rb = rb.json(body);
        }
        rb
    }
    /// Count and read one outcome: verdict, details for errors and logs, and the
    /// rate-limit headers (fed to the pace).
    fn observe(
        &self,
        result: Result<Exchange, WireError>,
        arrived: Instant,
    ) -> (Seen, Last, Option<Exchange>) {
        match result {
            Ok(x) => {
                self.stats.status(x.status);
                let secrets = self.auth.secrets();
                let mut last = Last {
                    status: Some(x.status),
                    correlation_id: x
                        .headers
                        .get("inin-correlation-id")
                        .and_then(|v| v.to_str().ok())
                        .map(|c| server_id(c, &secrets)),
                    ..Last::default()
                };
                let unix = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                if let Some(h) = headers::parse(&x.headers, unix) {
                    let max = self.cfg.max_retry_after;
                    self.pace.with(|g| g.on_headers(arrived, &h, max));
                }
                let retry_after = x
                    .headers
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry::parse_retry_after(v, unix as i64));
                let body = (!(200..300).contains(&x.status))
                    .then(|| serde_json::from_slice::<ErrorBody>(&x.body).ok())
                    .flatten();
                if x.status == 429 {
                    bump(&self.stats.too_many_requests);
                }
                if (300..400).contains(&x.status) {
                    // Redirects are never followed (the client is built with
                    // Policy::none()): a 303 would turn a PATCH into a GET, a 307 would
                    // send the body and the token to another host.
                    let to = sanitize_server_text(&wire::location(&x.headers), &secrets);
                    last.code = Some("redirect.not.followed".into());
                    last.message = format!(
                        "the API answered HTTP {} redirecting to {to}; redirects are not \
                         followed: check the API URL (GENESYSCLOUD_REGION)",
                        x.status
                    );
                } else if let Some(b) = &body {
                    last.code = Some(server_id(&b.code, &secrets)).filter(|c| !c.is_empty());
                    last.message = sanitize_server_text(&b.message, &secrets);
                    last.correlation_id = last
                        .correlation_id
                        .or_else(|| b.context_id.as_deref().map(|c| server_id(c, &secrets)));
                    last.limit_key = b
                        .limit
                        .as_ref()
                        .map(|l| server_id(&format!("{}/{}", l.namespace, l.key), &secrets));
                } else if !(200..300).contains(&x.status) {
                    let text = String::from_utf8_lossy(&x.body);
                    let snippet: String = text.chars().take(200).collect();
                    last.message = sanitize_server_text(&snippet, &secrets);
                }
                let verdict = retry::classify(x.status, body.as_ref(), retry_after);
                (Seen::Response(verdict), last, Some(x))
            }
            Err(WireError::Transport(kind, detail)) => {
                bump(&self.stats.transport_errors);
                let last = Last {
                    message: sanitize_server_text(&detail, &self.auth.secrets()),
                    ..Last::default()
                };
                (Seen::Transport(kind), last, None)
            }
            Err(WireError::TooLarge { status, limit }) => {
                self.stats.status(status);
                let last = Last {
                    status: Some(status),
                    code: Some("response.too.large".into()),
                    message: format!("the response body exceeds {limit} bytes"),
                    ..Last::default()
                };
                (Seen::Response(retry::Verdict::Rejected), last, None)
            }
        }
    }

    fn fail(&self, failure: Failure, last: Last, attempts: u32, req: &Request) -> ApiError {
        let status = last.status.unwrap_or(0);
        let detail = |last: &Last| match last.status {
            Some(s) => format!(
                "HTTP {s} {}: {}",
                last.code.as_deref().unwrap_or(""),
                last.message
            ),
            None => last.message.clone(),
        };
        match failure {
            Failure::Conflict => ApiError::Conflict {
                status,
                message: last.message,
                correlation_id: last.correlation_id,
                attempts,
            },
            Failure::Uncertain => {
                bump(&self.stats.uncertain);
                ApiError::Uncertain {
                    detail: format!("{} {}: {}", req.method, req.log_path(), last.message),
                    attempts,
                }
            }
            Failure::Rejected => ApiError::Rejected {
                status,
                code: last.code.unwrap_or_default(),
                message: last.message,
                correlation_id: last.correlation_id,
                attempts,
            },
            Failure::Exhausted => ApiError::Exhausted {
                detail: detail(&last),
                status: last.status,
                code: last.code,
                correlation_id: last.correlation_id,
                attempts,
            },
            Failure::Deferred(retry_after) => {
                bump(&self.stats.deferred);
                ApiError::Deferred {
                    retry_after,
                    correlation_id: last.correlation_id,
                    attempts,
                }
            }
            Failure::Forbidden(permission) => ApiError::Forbidden {
                code: last.code.unwrap_or_default(),
                message: last.message,
                permission,
                correlation_id: last.correlation_id,
                attempts,
            },
            Failure::TokenRejected => Fatal::TokenRejected {
                correlation_id: last.correlation_id,
            }
            .into(),
            Failure::Unreachable => Fatal::Unreachable {
                host: self.api_host.clone(),
                detail: format!("{} (after {attempts} attempts)", last.message),
            }
            .into(),
            Failure::Network(kind) => Fatal::Network {
                kind: if kind == retry::Transport::Dns {
                    NetFailure::Dns
                } else {
                    NetFailure::Tls
                },
                host: self.api_host.clone(),
                detail: last.message,
                attempts,
            }
            .into(),
            Failure::Timeout => {
                let may_have_landed = is_write(req);
                if may_have_landed {
                    bump(&self.stats.uncertain);
                }
                ApiError::Timeout {
                    method_path: format!("{} {}", req.method, req.log_path()),
                    attempts,
                    timeout: self.cfg.request_timeout,
                    may_have_landed,
                }
            }
        }
    }
}

/// A server-given identifier (code, correlation id), sanitised and kept short.
fn server_id(text: &str, secrets: &Secrets) -> String {
    let clean = sanitize_server_text(text, secrets);
    if clean.chars().count() > MAX_SERVER_ID {
        clean.chars().take(MAX_SERVER_ID).chain(['…']).collect()
    } else {
        clean
    }
}
