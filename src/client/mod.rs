//! The resilient Genesys Cloud API client: every request genupdate sends goes through
//! [`Client::send`], which gets a token, waits for a slot (concurrency) and a turn
//! (the shared pace), sends, and does what `retry::decide` says about the outcome.
//!
//! The loop here is deliberately thin. The decisions live in pure modules that are
//! table-tested: [`retry`] (what a response means, backoff, the retry budget),
//! [`pace`] (when a request may go: rate governor and run-wide Retry-After pause),
//! [`headers`] (rate-limit headers) and `auth` (token renewal margin, single flight).
//! `api` has one typed method per endpoint on top of `send`, with no retries inside.

mod api;
mod auth;
mod error;
pub mod headers;
pub mod pace;
mod request;
pub mod retry;
mod stats;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedMutexGuard, Semaphore};
use tokio::time::Instant;
use tracing::{info, warn};

pub use api::encode;
pub use auth::renew_margin;
pub use error::{ApiError, Fatal};
pub use pace::GovernorConfig;
pub use request::{Replay, Request, Response};
pub use retry::{Backoff, RetryPolicy};
pub use stats::ClientStats;

use crate::config::{Credentials, Endpoints};
use crate::model::ErrorBody;
use pace::{Governor, Pace};
use retry::{Ctx, Failure, RetryBudget, Seen, Step};
use stats::{Counters, bump};
use wire::{Exchange, WireError};

/// The rate to assume when neither `--rate` nor the org's limits are available.
pub const DEFAULT_RATE_PER_MINUTE: f64 = 300.0;
/// The per-token limit in the `platform.api` namespace.
pub const TOKEN_RATE_KEY: &str = "client.credentials.token.rate.per.minute";
/// The per-resource limit on the user endpoints, in the `directory` namespace.
pub const USER_RATE_KEY: &str = "user.rate.per.minute";
/// Largest response body accepted (a page of 100 expanded users is well under 1 MiB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Everything the client needs; [`ClientConfig::new`] fills in the documented defaults.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub endpoints: Endpoints,
    pub credentials: Credentials,
    /// Most requests in flight at once.
    pub concurrency: usize,
    /// `--rate`: run at this many requests per minute. `None`: read the org's limits.
    pub rate_per_minute: Option<f64>,
    pub max_retries: u32,
    /// A longer Retry-After makes the request [`ApiError::Deferred`].
    pub max_retry_after: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    pub governor: GovernorConfig,
    pub max_body: usize,
}

impl ClientConfig {
    pub fn new(endpoints: Endpoints, credentials: Credentials) -> Self {
        ClientConfig {
            endpoints,
            credentials,
            concurrency: 8,
            rate_per_minute: None,
            max_retries: 8,
            max_retry_after: Duration::from_secs(180),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            governor: GovernorConfig::default(),
            max_body: MAX_BODY,
        }
    }
}

/// A cheap-to-clone handle on one shared client.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    api_base: String,
    cfg: ClientConfig,
    auth: auth::Auth,
    pace: Pace,
    slots: Semaphore,
    budget: std::sync::Mutex<RetryBudget>,
    /// Held by the one retry allowed at a time while the budget is spent.
    budget_gate: Arc<tokio::sync::Mutex<()>>,
    stats: Counters,
}

/// What the last response or failure said, for error values and log events.
#[derive(Default)]
struct Last {
    status: Option<u16>,
    code: Option<String>,
    message: String,
    correlation_id: Option<String>,
    limit_key: Option<String>,
}

impl Client {
    /// Build the client, get the first token, and learn the rate to run at.
    pub async fn connect(cfg: ClientConfig) -> Result<Client, ApiError> {
        if cfg.concurrency == 0 || cfg.rate_per_minute.is_some_and(|r| r.is_nan() || r <= 0.0) {
            return Err(Fatal::Config("concurrency and rate must be positive".into()).into());
        }
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(cfg.concurrency)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .user_agent(concat!("genupdate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Fatal::Config(format!("HTTP client: {e}")))?;
        let auth = auth::Auth::new(
            http.clone(),
            &cfg.endpoints.login,
            cfg.credentials.clone(),
            cfg.retry,
            cfg.max_retries,
        )?;
        let now = Instant::now();
        let governor = match cfg.rate_per_minute {
            Some(rate) => Governor::new(rate, now, cfg.governor),
            None => Governor::from_limit(DEFAULT_RATE_PER_MINUTE, now, cfg.governor),
        };
        let client = Client {
            inner: Arc::new(Inner {
                api_base: cfg.endpoints.api.as_str().trim_end_matches('/').to_string(),
                http,
                auth,
                pace: Pace::new(governor),
                slots: Semaphore::new(cfg.concurrency),
                budget: std::sync::Mutex::new(RetryBudget::new(
                    cfg.retry.budget_capacity,
                    cfg.retry.budget_refund,
                )),
                budget_gate: Arc::new(tokio::sync::Mutex::new(())),
                stats: Counters::default(),
                cfg,
            }),
        };
        client.inner.auth.token(&client.inner.stats).await?;
        if client.inner.cfg.rate_per_minute.is_none() {
            let limit = client.read_limits().await?;
            client
                .inner
                .pace
                .with(|g| g.set_limit(limit, Instant::now()));
        }
        info!(
            rate_per_minute = client.rate_per_minute(),
            concurrency = client.inner.cfg.concurrency,
            "API client ready"
        );
        Ok(client)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ClientStats {
        self.inner.stats.snapshot(self.rate_per_minute())
    }

    /// The governor's current rate, in requests per minute.
    pub fn rate_per_minute(&self) -> f64 {
        self.inner.pace.rate()
    }

    /// Send one request, retrying as the policy says. See [`ApiError`] for the endings.
    pub async fn send(&self, req: Request) -> Result<Response, ApiError> {
        let inner = &*self.inner;
        let (mut attempts, mut retries, mut renewals) = (0u32, 0u32, 0u32);
        let mut gate: Option<OwnedMutexGuard<()>> = None;
        loop {
            let permit = inner
                .slots
                .acquire()
                .await
                .map_err(|_| Fatal::Config("the client was shut down".into()))?;
            let sent_at = inner.pace.turn().await;
            let token = inner.auth.token(&inner.stats).await?;
            attempts += 1;
            bump(&inner.stats.requests);
            let result = wire::exchange(inner.build(&req, &token.value), inner.cfg.max_body).await;
            let arrived = Instant::now();
            drop(permit);
            drop(gate.take());
            let (seen, last, exchange) = inner.observe(result, arrived);
            if !matches!(
                seen,
                Seen::Transport(_) | Seen::Response(retry::Verdict::Unauthorized)
            ) {
                inner.auth.mark_proven(token.generation);
            }
            let ctx = Ctx {
                retries,
                max_retries: inner.cfg.max_retries,
                max_retry_after: inner.cfg.max_retry_after,
                replay: req.replay,
                token: token.kind,
                renewals,
            };
            match retry::decide(&seen, &ctx) {
                Step::Success => {
                    let budget = &inner.budget;
                    budget
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .on_success();
                    let x = exchange.ok_or_else(|| Fatal::Config("no response".into()))?;
                    return Ok(Response {
                        status: x.status,
                        body: x.body,
                        correlation_id: last.correlation_id,
                        attempts,
                    });
                }
                Step::Pause { retry_after } => {
                    retries += 1;
                    bump(&inner.stats.retries);
                    bump(&inner.stats.pauses);
                    let floor = retry_after.unwrap_or_else(|| {
                        inner
                            .cfg
                            .retry
                            .rate_limit
                            .delay(retries - 1, rand::random::<f64>())
                    });
                    let until = arrived + retry::retry_after_wait(floor, rand::random::<f64>());
                    // Only a limit whose unit is known sets the pace; a daily or
                    // concurrency limit is logged (limit_key) but not paced to.
                    let limit = exchange
                        .as_ref()
                        .and_then(|x| serde_json::from_slice::<ErrorBody>(&x.body).ok())
                        .and_then(|b| b.limit)
                        .and_then(|l| retry::limit_per_minute(&l.key, l.value));
                    let cut = inner.pace.with(|g| {
                        g.pause_until(until, arrived);
                        g.on_429(arrived, sent_at, retry_after, limit)
                    });
                    info!(
                        method = %req.method, path = %req.log_path(), status = 429,
                        code = last.code.as_deref().unwrap_or(""),
                        correlation_id = last.correlation_id.as_deref().unwrap_or(""),
                        limit_key = last.limit_key.as_deref().unwrap_or(""),
                        wait_ms = (until - arrived).as_millis() as u64,
                        rate_per_minute = inner.pace.rate(), rate_changed = cut,
                        attempt = attempts,
                        "rate limited; every request waits for Retry-After"
                    );
                }
                Step::Backoff { cost } => {
                    retries += 1;
                    bump(&inner.stats.retries);
                    let affordable = inner
                        .budget
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .try_withdraw(cost);
                    let wait = if affordable {
                        inner
                            .cfg
                            .retry
                            .server
                            .delay(retries - 1, rand::random::<f64>())
                    } else {
                        bump(&inner.stats.budget_waits);
                        gate = Some(inner.budget_gate.clone().lock_owned().await);
                        inner.cfg.retry.budget_wait
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
                    bump(&inner.stats.renewals_after_401);
                    info!(method = %req.method, path = %req.log_path(), generation = token.generation,
                        "401: renewing the access token and replaying");
                    inner.auth.renew(token.generation, &inner.stats).await?;
                }
                Step::Fail(failure) => return Err(inner.fail(failure, last, attempts, &req)),
            }
        }
    }
}

impl Inner {
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
                let mut last = Last {
                    status: Some(x.status),
                    correlation_id: x
                        .headers
                        .get("inin-correlation-id")
                        .and_then(|v| v.to_str().ok())
                        .map(String::from),
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
                if let Some(b) = &body {
                    last.code = Some(b.code.clone()).filter(|c| !c.is_empty());
                    last.message = b.message.clone();
                    last.correlation_id = last.correlation_id.or_else(|| b.context_id.clone());
                    last.limit_key = b
                        .limit
                        .as_ref()
                        .map(|l| format!("{}/{}", l.namespace, l.key));
                } else if !(200..300).contains(&x.status) {
                    let text = String::from_utf8_lossy(&x.body);
                    last.message = text.chars().take(200).collect();
                }
                let verdict = retry::classify(x.status, body.as_ref(), retry_after);
                (Seen::Response(verdict), last, Some(x))
            }
            Err(WireError::Transport(kind, detail)) => {
                bump(&self.stats.transport_errors);
                let last = Last {
                    message: detail,
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
                detail: format!("{} after {attempts} attempts", last.message),
            }
            .into(),
        }
    }
}
