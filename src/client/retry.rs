//! What a response or a transport failure means, and how long to wait before trying
//! again: pure functions over status, parsed body and counters, with no I/O and no clock.
//!
//! The send loop in `mod.rs` only executes what [`decide`] says, so the whole retry
//! policy (which statuses are retried, when a write becomes `Uncertain`, when a 401
//! is fatal, when the retry budget is charged) is one table that the unit tests below
//! walk row by row. Randomness enters as a `unit` draw in `[0, 1)` for the same reason.

use std::time::Duration;

use crate::model::{ErrorBody, TokenError};

use super::Replay;

/// The message Genesys puts in a 400 (and in 409s) when `version` is stale.
pub const VERSION_MISMATCH: &str = "does not match the current version";

/// What an HTTP response means, before counters are taken into account.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Success,
    /// 429: everyone waits at least `retry_after`.
    RateLimited {
        retry_after: Option<Duration>,
    },
    /// 408, 500, 502, 503, 504: worth another try after a backoff.
    ServerError,
    /// 409, or 400 saying the version does not match: the caller re-reads.
    Conflict,
    /// 401: the token expired or was revoked.
    Unauthorized,
    /// 403: not allowed for this user (permissions are division-scoped): the row fails.
    Forbidden {
        permission: Option<String>,
    },
    /// Any other status: this request will never succeed as sent.
    Rejected,
}

/// Classify one response. `body` is the parsed Genesys error body when there was one.
pub fn classify(status: u16, body: Option<&ErrorBody>, retry_after: Option<Duration>) -> Verdict {
    match status {
        200..=299 => Verdict::Success,
        429 => Verdict::RateLimited { retry_after },
        408 | 500 | 502 | 503 | 504 => Verdict::ServerError,
        409 => Verdict::Conflict,
        400 if body.is_some_and(says_version_mismatch) => Verdict::Conflict,
        401 => Verdict::Unauthorized,
        403 => Verdict::Forbidden {
            permission: body.and_then(missing_permission),
        },
        _ => Verdict::Rejected,
    }
}

/// A 429's `limit` as requests per minute, when its key names a unit genupdate can
/// pace to (`...per.minute`, `...per.second`); `None` for daily, hourly or
/// concurrency limits and for keys of unknown unit.
pub fn limit_per_minute(key: &str, value: f64) -> Option<f64> {
    if !(value.is_finite() && value > 0.0) {
        return None;
    }
    let key = key.to_ascii_lowercase();
    if key.ends_with(".per.minute") {
        Some(value)
    } else if key.ends_with(".per.second") {
        Some(value * 60.0)
    } else {
        None
    }
}

fn says_version_mismatch(body: &ErrorBody) -> bool {
    let hit = |s: &str| s.to_ascii_lowercase().contains(VERSION_MISMATCH);
    hit(&body.message) || body.message_with_params.as_deref().is_some_and(hit)
}

/// The permission a 403 names, e.g. `directory:user:edit`. Genesys writes it into
/// `messageParams` and into `message` ("Missing permission: directory:user:edit", or
/// "...missing the following permission(s): [a:b:c, d:e:f]"); several are joined by ", ".
pub fn missing_permission(body: &ErrorBody) -> Option<String> {
    let mut found: Vec<String> = Vec::new();
    let mut scan = |text: &str| {
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || "_:*-".contains(c))) {
            let parts: Vec<&str> = word.split(':').collect();
            if parts.len() == 3
                && parts.iter().all(|p| !p.is_empty())
                && !found.iter().any(|f| f == word)
            {
                found.push(word.to_string());
            }
        }
    };
    if let Some(params) = &body.message_params {
        for value in params.values() {
            match value {
                serde_json::Value::String(s) => scan(s),
                other => scan(&other.to_string()),
            }
        }
    }
    scan(&body.message);
    (!found.is_empty()).then(|| found.join(", "))
}

/// A request that failed without an HTTP response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// The host name does not resolve: never sent, and it does not heal in a
    /// minute (a wrong region, a typo, no DNS): not retried.
    Dns,
    /// The TLS handshake failed (a certificate that cannot be verified, or a server
    /// that does not speak TLS): never sent, and not retried.
    Tls,
    /// The connection could not be opened (refused, unreachable): the request was
    /// never sent; retried within `--max-retries`.
    Connect,
    /// No complete response in time: the request may have been applied.
    Timeout,
    /// The connection was reset or closed before a complete response.
    Closed,
}

/// What kind of transport failure a `reqwest` error is, from its flags and its
/// description with every cause (`detail`). DNS and TLS failures are told apart
/// from other connection failures by the texts hyper-util and rustls give them,
/// which are stable and the same on every platform apart from the resolver's own
/// words, listed here for Linux, macOS and Windows.
pub fn classify_transport(connect: bool, timeout: bool, detail: &str) -> Transport {
    let text = detail.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if connect && !timeout {
        if has(&[
            "dns error",
            "failed to lookup address",
            "name or service not known",
            "nodename nor servname",
            "no such host is known",
            "temporary failure in name resolution",
        ]) {
            return Transport::Dns;
        }
        if has(&[
            "invalid peer certificate",
            "certificate",
            "received corrupt message",
            "tls handshake",
            "peer is incompatible",
            "received fatal alert",
            "handshakefailure",
        ]) {
            return Transport::Tls;
        }
        return Transport::Connect;
    }
    if timeout {
        Transport::Timeout
    } else {
        Transport::Closed
    }
}

/// How a token was obtained, which decides what a 401 means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Issued to our client credentials. `proven`: some request of this run succeeded
    /// with a token of these credentials (this one or an earlier one).
    Renewable { proven: bool },
    /// `GENESYSCLOUD_ACCESS_TOKEN`: we cannot get another one.
    Fixed,
}

/// Per-request counters the decision depends on.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// Retries already made for this request after 5xx, 408 and transport errors
    /// (429 retries and 401 replays are not counted here).
    pub retries: u32,
    pub max_retries: u32,
    pub max_retry_after: Duration,
    /// Sum of the 429 waits this request has already taken.
    pub rate_limited_wait: Duration,
    /// [`RetryPolicy::max_rate_limited_wait`].
    pub max_rate_limited_wait: Duration,
    pub replay: Replay,
    pub token: TokenKind,
    /// Token renewals this request has caused or waited for.
    pub renewals: u32,
}

/// Most 401 replays one request may make before giving up on the token.
pub const MAX_RENEWALS_PER_REQUEST: u32 = 3;

/// What the send loop does next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Success,
    /// 429: pause every worker (the shared pace) for `retry_after`, then send again.
    Pause {
        retry_after: Option<Duration>,
    },
    /// Back off (exponential, full jitter) and send again; `cost` is charged to the
    /// retry budget.
    Backoff {
        cost: u32,
    },
    /// Renew the token once (shared by all workers) and replay at once.
    Renew,
    Fail(Failure),
}

/// Why a request ends without success; `mod.rs` turns this into an `ApiError`.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    Conflict,
    Uncertain,
    Rejected,
    Exhausted,
    Deferred(Duration),
    Forbidden(Option<String>),
    TokenRejected,
    Unreachable,
    /// No answer within the request timeout (after retries, for a replayable request).
    Timeout,
    /// A DNS or TLS failure ([`Transport::Dns`], [`Transport::Tls`]): nothing was
    /// sent, and retrying would only repeat it.
    Network(Transport),
}

/// Retry-budget costs, as in the AWS SDKs' standard mode: timeouts cost more because
/// they hold a slot longest and often mean an overloaded server.
pub const RETRY_COST: u32 = 5;
pub const TIMEOUT_COST: u32 = 10;

/// An HTTP response or a transport failure, seen by [`decide`].
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    Response(Verdict),
    Transport(Transport),
}

/// The whole retry policy in one function.
///
/// 429s are bounded by time, not by `--max-retries`: a request is sent again after
/// each 429 as long as the Retry-After waits it has taken plus the one just asked for
/// stay within [`RetryPolicy::max_rate_limited_wait`] (default [`MAX_429_WAIT`], 5 min);
/// the 429 that would go past it ends the request as `Exhausted` (status 429). A single
/// Retry-After longer than `--max-retry-after` ends it at once as `Deferred`. 5xx, 408
/// and transport errors are bounded by `--max-retries`; a timed-out version-guarded
/// write is never resent (`Timeout`, which may have landed).
pub fn decide(seen: &Seen, ctx: &Ctx) -> Step {
    let spent = ctx.retries >= ctx.max_retries;
    match seen {
        Seen::Response(Verdict::Success) => Step::Success,
        Seen::Response(Verdict::RateLimited { retry_after }) => match retry_after {
            Some(ra) if *ra > ctx.max_retry_after => Step::Fail(Failure::Deferred(*ra)),
            _ if ctx
                .rate_limited_wait
                .saturating_add(retry_after.unwrap_or_default())
                > ctx.max_rate_limited_wait =>
            {
                Step::Fail(Failure::Exhausted)
            }
            _ => Step::Pause {
                retry_after: *retry_after,
            },
        },
        Seen::Response(Verdict::ServerError) if spent => Step::Fail(Failure::Exhausted),
        Seen::Response(Verdict::ServerError) => Step::Backoff { cost: RETRY_COST },
        Seen::Response(Verdict::Conflict) => Step::Fail(Failure::Conflict),
        Seen::Response(Verdict::Unauthorized) => match ctx.token {
            TokenKind::Fixed => Step::Fail(Failure::TokenRejected),
            // No token of these credentials has worked in this run, and the fresh one
            // is refused too: the credentials are wrong (or belong to another org).
            TokenKind::Renewable { proven: false } if ctx.renewals >= 1 => {
                Step::Fail(Failure::TokenRejected)
            }
            _ if ctx.renewals >= MAX_RENEWALS_PER_REQUEST => Step::Fail(Failure::TokenRejected),
            TokenKind::Renewable { .. } => Step::Renew,
        },
        Seen::Response(Verdict::Forbidden { permission }) => {
            Step::Fail(Failure::Forbidden(permission.clone()))
        }
        Seen::Response(Verdict::Rejected) => Step::Fail(Failure::Rejected),
        // Never sent, and a wrong name or an untrusted certificate does not heal in
        // the minutes retries take: fail fast, naming the host.
        Seen::Transport(t @ (Transport::Dns | Transport::Tls)) => Step::Fail(Failure::Network(*t)),
        // Never sent: always safe to retry; when retries run out the host is unreachable.
        Seen::Transport(Transport::Connect) if spent => Step::Fail(Failure::Unreachable),
        Seen::Transport(Transport::Connect) => Step::Backoff { cost: RETRY_COST },
        // A hung API is an outage, not a conflict: its own ending, even for a guarded
        // write (which is not resent: it may have landed).
        Seen::Transport(Transport::Timeout) if ctx.replay == Replay::Guarded || spent => {
            Step::Fail(Failure::Timeout)
        }
        Seen::Transport(_) if ctx.replay == Replay::Guarded => Step::Fail(Failure::Uncertain),
        Seen::Transport(_) if spent => Step::Fail(Failure::Exhausted),
        Seen::Transport(Transport::Timeout) => Step::Backoff { cost: TIMEOUT_COST },
        Seen::Transport(Transport::Closed) => Step::Backoff { cost: RETRY_COST },
    }
}

/// What the token endpoint's answer means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenVerdict {
    Issued,
    /// 400 `invalid_request` "rate limit exceeded" (Genesys), or a 429: retry with backoff.
    RateLimited,
    /// 5xx or 408: retry with backoff.
    ServerError,
    /// 401 (or any status) with `invalid_client`: wrong id, secret or region.
    InvalidClient,
    /// Anything else (e.g. `unauthorized_client`: the grant is not enabled).
    Refused,
}

pub fn classify_token(status: u16, err: Option<&TokenError>) -> TokenVerdict {
    let error = err.map(|e| e.error.as_str()).unwrap_or("");
    let description = err
        .map(|e| {
            if e.description.is_empty() {
                e.error_description.as_str()
            } else {
                e.description.as_str()
            }
        })
        .unwrap_or("");
    match status {
        200..=299 => TokenVerdict::Issued,
        _ if error == "invalid_client" => TokenVerdict::InvalidClient,
        400 if error == "invalid_request"
            && description
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("rate limit exceeded") =>
        {
            TokenVerdict::RateLimited
        }
        429 => TokenVerdict::RateLimited,
        401 => TokenVerdict::InvalidClient,
        408 | 500 | 502 | 503 | 504 => TokenVerdict::ServerError,
        _ => TokenVerdict::Refused,
    }
}

/// Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS
/// Architecture Blog): the wait is uniform in `[0, min(cap, base * 2^retry)]`, which
/// spreads a crowd of retries evenly instead of in synchronised waves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The upper bound of the wait before retry number `retry` (0-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(30));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry number `retry`, for a random draw `unit` in `[0, 1)`.
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        self.ceiling(retry).mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// The wait after a 429: `retry_after` is a floor and is never shortened; the jitter
/// only adds, and only a little (up to 10% of it, at most 250 ms), so that the workers
/// released together do not all land in the same millisecond.
pub fn retry_after_wait(retry_after: Duration, unit: f64) -> Duration {
    let retry_after = retry_after.min(MAX_SERVER_DURATION);
    let spread = (retry_after / 10).min(Duration::from_millis(250));
    retry_after.saturating_add(spread.mul_f64(unit.clamp(0.0, 1.0)))
}

/// The least a 429 makes everyone wait before the retry: the Retry-After when it is
/// positive, else the 429 backoff (`policy.delay(n, unit)`), and never less than the
/// backoff's first step (`policy.base`): a Retry-After of 0, or an HTTP date in the
/// past, must not turn into a hot loop against a server that is refusing us.
pub fn pause_floor(retry_after: Option<Duration>, policy: Backoff, n: u32, unit: f64) -> Duration {
    retry_after
        .filter(|ra| !ra.is_zero())
        .unwrap_or_else(|| policy.delay(n, unit))
        .max(policy.base)
        .min(MAX_SERVER_DURATION)
}

/// Any duration a server gives (Retry-After, rate-limit resets, token lifetimes) is
/// clamped to this. Anything longer is "too long" for every decision genupdate makes,
/// and a clamp keeps instant arithmetic from overflowing.
pub const MAX_SERVER_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// The default cap on the Retry-After waiting one request may take across its 429s.
pub const MAX_429_WAIT: Duration = Duration::from_secs(5 * 60);

/// Seconds (whole or fractional, any size) as a duration, saturating at
/// [`MAX_SERVER_DURATION`]; `None` for negative, NaN or infinite values.
pub fn server_secs(secs: f64) -> Option<Duration> {
    if !(secs.is_finite() && secs >= 0.0) {
        return None;
    }
    let cap = MAX_SERVER_DURATION.as_secs_f64();
    Duration::try_from_secs_f64(secs.min(cap)).ok()
}

/// Parse a `Retry-After` value: delta seconds (Genesys sends integers; decimals and
/// absurd sizes are accepted and saturate at [`MAX_SERVER_DURATION`]) or an HTTP date,
/// relative to `now` (Unix seconds); a date in the past is zero.
pub fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return server_secs(secs);
    }
    let when = chrono::DateTime::parse_from_rfc2822(value)
        .ok()?
        .timestamp();
    let delta = when.saturating_sub(now_unix).max(0);
    Some(Duration::from_secs(u64::try_from(delta).unwrap_or(0)).min(MAX_SERVER_DURATION))
}

/// A run-wide retry budget (token bucket), as in the AWS SDKs' standard retry mode and
/// gRPC's retry throttling: each retry withdraws `cost`, each success deposits
/// `refund`, so a healthy run keeps it full and an outage drains it after roughly
/// `capacity / cost` retries. First attempts never need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryBudget {
    tokens: u32,
    capacity: u32,
    refund: u32,
}

impl RetryBudget {
    pub fn new(capacity: u32, refund: u32) -> Self {
        RetryBudget {
            tokens: capacity,
            capacity,
            refund,
        }
    }

    /// Take `cost` if the budget holds it.
    pub fn try_withdraw(&mut self, cost: u32) -> bool {
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }

    pub fn on_success(&mut self) {
        self.tokens = self.tokens.saturating_add(self.refund).min(self.capacity);
    }

    pub fn available(&self) -> u32 {
        self.tokens
    }
}

/// The tunable numbers of the retry policy. `Default` holds the documented choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// 408/5xx and transport errors.
    pub server: Backoff,
    /// 429 without a usable Retry-After, and the token endpoint's "rate limit exceeded".
    pub rate_limit: Backoff,
    pub budget_capacity: u32,
    pub budget_refund: u32,
    /// With the budget spent, retries go one at a time, each after this wait.
    pub budget_wait: Duration,
    /// Most Retry-After waiting one request takes across its 429s (see [`decide`]).
    pub max_rate_limited_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            server: Backoff {
                base: Duration::from_millis(500),
                cap: Duration::from_secs(20),
            },
            rate_limit: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(60),
            },
            budget_capacity: 500,
            budget_refund: 1,
            budget_wait: Duration::from_secs(20),
            max_rate_limited_wait: MAX_429_WAIT,
        }
    }
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
