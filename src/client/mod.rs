//! The resilient Genesys Cloud API client: every request genupdate sends goes through
//! [`Client::send`], which gets a token, waits for a slot (concurrency) and a turn
//! (the shared pace), sends, and does what `retry::decide` says about the outcome.
//!
//! The loop here is deliberately thin. The decisions live in pure modules that are
//! table-tested: [`retry`] (what a response means, backoff, the retry budget),
//! [`pace`] (when a request may go: rate governor and run-wide Retry-After pause),
//! [`headers`] (rate-limit headers) and `auth` (token renewal margin, single flight).
//! `send` is the loop itself, `sanitize` makes server text safe to show, and `api` has
//! one typed method per endpoint on top of `send`, with no retries inside.
//!
//! Hostile servers are expected: redirects are never followed, every server-given
//! duration saturates (`retry::MAX_SERVER_DURATION`), server text is escaped and
//! scrubbed of secrets, and every wait can be cancelled (`ClientConfig::cancel`).

mod api;
mod auth;
mod error;
mod grants;
pub mod headers;
mod locations;
mod members;
pub mod pace;
mod request;
pub mod retry;
mod sanitize;
mod send;
mod stats;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use api::{MAX_IDS_PER_READ, UserPage, encode};
pub use auth::{FALLBACK_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME, renew_margin, token_lifetime};
pub use error::{ApiError, Fatal, NetFailure};
pub use grants::{AuthzGrant, AuthzSubject, GRANT_404_RETRIES, NamedRef, grant_404_pause};
pub use members::{
    ListedMember, MAX_GROUP_MEMBERS_PER_CALL, MAX_QUEUE_MEMBERS_PER_CALL, NamedEntity, UserQueue,
};
pub use pace::GovernorConfig;
pub use request::{Replay, Request, Response};
pub use retry::{Backoff, MAX_429_WAIT, RetryPolicy};
pub use sanitize::{MAX_SERVER_TEXT, Secrets, sanitize_server_text};
pub use stats::ClientStats;

use crate::config::{Credentials, Endpoints};
use pace::{Governor, Pace};
use retry::RetryBudget;
use stats::Counters;

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
    /// Requests the caller keeps in flight at once: sizes the connection pool. The
    /// client does not limit concurrency itself; in a run the runner does.
    pub concurrency: usize,
    /// `--rate`: run at this many requests per minute. `None`: read the org's limits.
    pub rate_per_minute: Option<f64>,
    /// Retries after 5xx, 408 and transport errors. 429s are not counted here: they
    /// are bounded by `retry.max_rate_limited_wait` (see `retry::decide`).
    pub max_retries: u32,
    /// A longer Retry-After makes the request [`ApiError::Deferred`].
    pub max_retry_after: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    pub governor: GovernorConfig,
    pub max_body: usize,
    /// Cancelling it makes every wait of the client (pace, Retry-After pause, backoff,
    /// token request, the HTTP exchange) end at once: `connect` and `send` return
    /// [`ApiError::Cancelled`]. For run deadlines and SIGTERM.
    pub cancel: CancellationToken,
    /// Root certificates trusted in addition to the built-in (webpki) roots and the
    /// operating system's store: `--ca-file` (see [`crate::trust`]).
    pub extra_roots: Vec<reqwest::Certificate>,
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
            cancel: CancellationToken::new(),
            extra_roots: Vec::new(),
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
    /// The API's host (and port), named in network errors.
    api_host: String,
    cfg: ClientConfig,
    auth: auth::Auth,
    pace: Pace,
    budget: std::sync::Mutex<RetryBudget>,
    /// Held by the one retry allowed at a time while the budget is spent.
    budget_gate: Arc<tokio::sync::Mutex<()>>,
    stats: Counters,
}

impl Client {
    /// Build the client, get the first token, and learn the rate to run at. Returns
    /// [`ApiError::Cancelled`] if `cfg.cancel` fires first.
    pub async fn connect(cfg: ClientConfig) -> Result<Client, ApiError> {
        let client = Client::new(cfg)?;
        client.start().await?;
        Ok(client)
    }

    /// Build the client without sending anything; [`Client::start`] then connects.
    /// Split from [`Client::connect`] so a caller can read the counters of a
    /// connection that failed (a DNS failure is attempted once: `token_requests` 1).
    pub fn new(cfg: ClientConfig) -> Result<Client, ApiError> {
        if cfg.concurrency == 0 || cfg.rate_per_minute.is_some_and(|r| r.is_nan() || r <= 0.0) {
            return Err(Fatal::Config("concurrency and rate must be positive".into()).into());
        }
        let http = http_client(&cfg)?;
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
        Ok(Client {
            inner: Arc::new(Inner {
                api_base: cfg.endpoints.api.as_str().trim_end_matches('/').to_string(),
                api_host: wire::host_of(&cfg.endpoints.api),
                http,
                auth,
                pace: Pace::new(governor),
                budget: std::sync::Mutex::new(RetryBudget::new(
                    cfg.retry.budget_capacity,
                    cfg.retry.budget_refund,
                )),
                budget_gate: Arc::new(tokio::sync::Mutex::new(())),
                stats: Counters::default(),
                cfg,
            }),
        })
    }

    /// Get the first token and learn the rate to run at. Returns
    /// [`ApiError::Cancelled`] if the config's `cancel` fires first.
    pub async fn start(&self) -> Result<(), ApiError> {
        let cancel = self.inner.cfg.cancel.clone();
        let setup = Request::post("/oauth/token", serde_json::Value::Null, Replay::Safe);
        if cancel.is_cancelled() {
            return Err(send::cancelled(&setup, 0));
        }
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(send::cancelled(&setup, 0)),
            r = self.start_inner() => r,
        }
    }

    async fn start_inner(&self) -> Result<(), ApiError> {
        self.inner.auth.token(&self.inner.stats).await?;
        if self.inner.cfg.rate_per_minute.is_none() {
            let limit = self.read_limits().await?;
            self.inner.pace.with(|g| g.set_limit(limit, Instant::now()));
        }
        info!(
            rate_per_minute = self.rate_per_minute(),
            concurrency = self.inner.cfg.concurrency,
            "API client ready"
        );
        Ok(())
    }

    /// The token that cancels every wait of this client (the one in its config).
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.inner.cfg.cancel
    }

    /// The API host as the user would recognise it: `api.mypurecloud.ie`, or
    /// `127.0.0.1:8080` with the port when the URL names one.
    pub fn api_host(&self) -> String {
        let api = &self.inner.cfg.endpoints.api;
        let host = api.host_str().unwrap_or("(no host)");
        match api.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ClientStats {
        self.inner.stats.snapshot(self.rate_per_minute())
    }

    /// The governor's current rate, in requests per minute.
    pub fn rate_per_minute(&self) -> f64 {
        self.inner.pace.rate()
    }
}

/// The HTTP client: redirects never followed, and three sources of trusted roots:
/// the built-in webpki roots, the operating system's store (where a company's
/// TLS-inspecting proxy root usually is), and `--ca-file`. A store that cannot be
/// read is not fatal: genupdate warns and goes on with the other two. Proxies come
/// from `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY` (reqwest's default,
/// which this builder keeps).
fn http_client(cfg: &ClientConfig) -> Result<reqwest::Client, ApiError> {
    let build = |native_roots: bool| {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(cfg.concurrency)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            // Never follow a redirect: a 303 turns a PATCH into a GET and a 307 sends
            // the body, the bearer token or the client secret to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("genupdate/", env!("CARGO_PKG_VERSION")))
            .tls_built_in_webpki_certs(true)
            .tls_built_in_native_certs(native_roots);
        for cert in &cfg.extra_roots {
            builder = builder.add_root_certificate(cert.clone());
        }
        builder.build()
    };
    match build(true) {
        Ok(http) => Ok(http),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "the operating system's certificate store could not be used; trusting the \
                 built-in roots (and --ca-file) only"
            );
            build(false).map_err(|e| Fatal::Config(format!("HTTP client: {e}")).into())
        }
    }
}
