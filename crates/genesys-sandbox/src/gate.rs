//! Who may call and how often: issued tokens (expiry, revocation), the sliding
//! windows per token, the token endpoint's own window per OAuth client, and the
//! Retry-After promises made to each client.
//!
//! Retry-After promises are kept per OAuth client, not per token: a client that gets
//! a 429 and then renews its token has still been told to wait. The windows
//! themselves are per token, as Genesys' `client.credentials.token.rate.per.minute`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use rand::Rng;

use crate::config::SandboxConfig;
use crate::faults::roll;
use crate::limits::{SlidingWindow, per_minute, per_window_unit, retry_after_secs};
use crate::quirks::LimitUnit;
use crate::wire::{ApiError, Limit};

/// Reported per minute by the limits endpoint when rate limiting is off.
pub const UNLIMITED_PER_MINUTE: f64 = 1_000_000.0;

pub const TOKEN_KEY: &str = "client.credentials.token.rate.per.minute";
pub const TOKEN_NAMESPACE: &str = "platform.api";
pub const USER_KEY: &str = "user.rate.per.minute";
pub const USER_KEY_PER_SECOND: &str = "user.rate.per.second";
/// A key of a unit no client knows, for `Quirks::unknown_limit_key`.
pub const USER_KEY_PER_DAY: &str = "org.app.user.rate.per.day";
pub const USER_NAMESPACE: &str = "directory";

struct TokenInfo {
    client: Arc<str>,
    expires_at: Instant,
    revoked: bool,
    main: Option<SlidingWindow>,
    user: Option<SlidingWindow>,
}

#[derive(Default)]
struct ClientInfo {
    /// No request should arrive before this (the latest Retry-After promised).
    retry_until: Option<Instant>,
    /// A 429 burst lasts until this.
    burst_until: Option<Instant>,
    token_window: Option<SlidingWindow>,
}

/// The state of the window that binds a request, for the optional rate-limit headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

pub struct Gate {
    rate_limit: u32,
    user_rate_limit: u32,
    token_rate_limit: u32,
    window: Duration,
    ttl: Duration,
    /// `omit_limit_in_429`: never send `limit`.
    omit_limit: bool,
    /// `Quirks::omit_limit_share`.
    omit_limit_share: f64,
    user_unit: LimitUnit,
    unknown_key: bool,
    tokens: HashMap<String, TokenInfo>,
    issued: Vec<String>,
    clients: HashMap<Arc<str>, ClientInfo>,
}

impl Gate {
    pub fn new(cfg: &SandboxConfig) -> Gate {
        Gate {
            rate_limit: cfg.rate_limit,
            user_rate_limit: cfg.user_rate_limit,
            token_rate_limit: cfg.token_rate_limit,
            window: cfg.rate_window,
            ttl: cfg.token_ttl,
            omit_limit: cfg.omit_limit_in_429,
            omit_limit_share: cfg.quirks.omit_limit_share,
            user_unit: cfg.quirks.user_limit_unit,
            unknown_key: cfg.quirks.unknown_limit_key,
            tokens: HashMap::new(),
            issued: Vec::new(),
            clients: HashMap::new(),
        }
    }

    /// The token limit as the limits endpoint reports it.
    pub fn token_limit(&self) -> Limit {
        Limit {
            key: TOKEN_KEY.into(),
            namespace: TOKEN_NAMESPACE.into(),
            value: if self.rate_limit == 0 {
                UNLIMITED_PER_MINUTE
            } else {
                per_minute(self.rate_limit, self.window)
            },
        }
    }

    /// The user-endpoint limit, if one is configured, under the key of its unit.
    pub fn user_limit(&self) -> Option<Limit> {
        let (key, unit) = if self.unknown_key {
            (USER_KEY_PER_DAY, 86_400.0)
        } else if self.user_unit == LimitUnit::PerSecond {
            (USER_KEY_PER_SECOND, 1.0)
        } else {
            (USER_KEY, 60.0)
        };
        (self.user_rate_limit > 0).then(|| Limit {
            key: key.into(),
            namespace: USER_NAMESPACE.into(),
            value: per_window_unit(self.user_rate_limit, self.window, unit),
        })
    }

    /// Admit a token request for `client` against the token endpoint's window;
    /// `Err` when it is throttled.
    pub fn admit_token_request(&mut self, client: &str, now: Instant) -> Result<(), Duration> {
        if self.token_rate_limit == 0 {
            return Ok(());
        }
        let (limit, window) = (self.token_rate_limit, self.window);
        let info = self.clients.entry(Arc::from(client)).or_default();
        let w = info
            .token_window
            .get_or_insert_with(|| SlidingWindow::new(limit, window));
        let wait = w.wait(now);
        if wait > Duration::ZERO {
            return Err(wait);
        }
        w.record(now);
        Ok(())
    }

    /// Issue a fresh opaque token for `client`.
    pub fn issue(&mut self, client: &str, now: Instant) -> String {
        let bytes: [u8; 48] = rand::rng().random();
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let client: Arc<str> = Arc::from(client);
        self.clients.entry(client.clone()).or_default();
        self.tokens.insert(
            token.clone(),
            TokenInfo {
                client,
                expires_at: now + self.ttl,
                revoked: false,
                main: (self.rate_limit > 0)
                    .then(|| SlidingWindow::new(self.rate_limit, self.window)),
                user: (self.user_rate_limit > 0)
                    .then(|| SlidingWindow::new(self.user_rate_limit, self.window)),
            },
        );
        self.issued.push(token.clone());
        token
    }

    pub fn issued(&self) -> Vec<String> {
        self.issued.clone()
    }

    /// Whether a request presenting `token` arrives while its client was told to wait.
    pub fn during_retry_after(&self, token: Option<&str>, arrival: Instant) -> bool {
        let Some(info) = token.and_then(|t| self.tokens.get(t)) else {
            return false;
        };
        self.clients
            .get(&info.client)
            .and_then(|c| c.retry_until)
            .is_some_and(|until| arrival < until)
    }

    /// 401 unless `token` was issued here, has not expired and was not revoked.
    pub fn authenticate(&self, token: Option<&str>, now: Instant) -> Result<(), ApiError> {
        let Some(token) = token else {
            return Err(ApiError::authentication_required());
        };
        match self.tokens.get(token) {
            Some(t) if !t.revoked && now < t.expires_at => Ok(()),
            _ => Err(ApiError::bad_credentials()),
        }
    }

    pub fn revoke(&mut self, token: &str) {
        if let Some(t) = self.tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    /// Start a 429 burst of `secs` for the client of `token`, and answer this request.
    pub fn start_burst(&mut self, token: &str, now: Instant, secs: u64) -> ApiError {
        let until = now + Duration::from_secs(secs);
        if let Some(client) = self.client_of(token) {
            let info = self.clients.entry(client).or_default();
            info.burst_until = Some(info.burst_until.map_or(until, |u| u.max(until)));
        }
        self.promise(token, now, secs);
        ApiError::too_many_requests(secs, None)
    }

    fn client_of(&self, token: &str) -> Option<Arc<str>> {
        self.tokens.get(token).map(|t| t.client.clone())
    }

    /// Remember that the client of `token` was told to wait `secs` from `now`.
    fn promise(&mut self, token: &str, now: Instant, secs: u64) {
        let until = now + Duration::from_secs(secs);
        if let Some(client) = self.client_of(token) {
            let info = self.clients.entry(client).or_default();
            info.retry_until = Some(info.retry_until.map_or(until, |u| u.max(until)));
        }
    }

    /// Decide whether an authenticated request on `token` may proceed now. On `Ok`
    /// it is counted in its windows; a 429 (`Err`, with `true` when it belongs to a
    /// burst) is not counted anywhere.
    pub fn admit(
        &mut self,
        token: &str,
        now: Instant,
        user_endpoint: bool,
    ) -> Result<Option<RateInfo>, (ApiError, bool)> {
        let Some(client) = self.client_of(token) else {
            return Ok(None);
        };
        if let Some(until) = self.clients.get(&client).and_then(|c| c.burst_until)
            && now < until
        {
            let secs = retry_after_secs(until - now);
            self.promise(token, now, secs);
            return Err((ApiError::too_many_requests(secs, None), true));
        }
        let token_limit = self.token_limit();
        let user_limit = self.user_limit();
        let omit = self.omit_limit || roll(self.omit_limit_share);
        let Some(t) = self.tokens.get_mut(token) else {
            return Ok(None);
        };
        let main_wait = t.main.as_mut().map_or(Duration::ZERO, |w| w.wait(now));
        let user_wait = match (&mut t.user, user_endpoint) {
            (Some(w), true) => w.wait(now),
            _ => Duration::ZERO,
        };
        if main_wait > Duration::ZERO || user_wait > Duration::ZERO {
            let (wait, limit) = if user_wait > main_wait {
                (user_wait, user_limit)
            } else {
                (main_wait, Some(token_limit))
            };
            let secs = retry_after_secs(wait);
            self.promise(token, now, secs);
            let limit = if omit { None } else { limit };
            return Err((ApiError::too_many_requests(secs, limit), false));
        }
        let mut info: Option<RateInfo> = None;
        let mut consider = |w: &mut SlidingWindow| {
            w.record(now);
            let r = RateInfo {
                limit: w.limit(),
                remaining: w.remaining(now),
                reset_secs: w.reset_secs(now),
            };
            if info.is_none_or(|i| r.remaining < i.remaining) {
                info = Some(r);
            }
        };
        if let Some(w) = t.main.as_mut() {
            consider(w);
        }
        if user_endpoint && let Some(w) = t.user.as_mut() {
            consider(w);
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(limit: u32, user: u32) -> Gate {
        Gate::new(&SandboxConfig {
            quirks: crate::Quirks::none(),
            rate_limit: limit,
            user_rate_limit: user,
            rate_window: Duration::from_secs(2),
            ..SandboxConfig::default()
        })
    }

    #[test]
    fn tokens_expire_and_can_be_revoked() {
        let mut g = Gate::new(&SandboxConfig {
            token_ttl: Duration::from_secs(10),
            ..SandboxConfig::default()
        });
        let t0 = Instant::now();
        let tok = g.issue("c", t0);
        assert!(g.authenticate(Some(&tok), t0).is_ok());
        assert_eq!(
            g.authenticate(Some(&tok), t0 + Duration::from_secs(10)),
            Err(ApiError::bad_credentials())
        );
        assert_eq!(
            g.authenticate(None, t0),
            Err(ApiError::authentication_required())
        );
        g.revoke(&tok);
        assert!(g.authenticate(Some(&tok), t0).is_err());
        assert_eq!(g.issued(), vec![tok]);
    }

    #[test]
    fn a_429_promises_a_wait_to_the_whole_client() {
        let mut g = gate(2, 0);
        let t0 = Instant::now();
        let a = g.issue("c", t0);
        assert!(g.admit(&a, t0, false).is_ok());
        assert!(g.admit(&a, t0, false).is_ok());
        let (err, burst) = g
            .admit(&a, t0 + Duration::from_millis(500), false)
            .unwrap_err();
        assert!(!burst);
        assert_eq!(err.retry_after, Some(2)); // 1.5 s rounded up
        assert_eq!(err.limit.as_ref().unwrap().value, 60.0); // 2 per 2 s
        // A renewed token of the same client is still inside the promise...
        let b = g.issue("c", t0 + Duration::from_millis(600));
        assert!(g.during_retry_after(Some(&b), t0 + Duration::from_millis(2000)));
        assert!(!g.during_retry_after(Some(&b), t0 + Duration::from_millis(2500)));
        // ...but its own window is fresh.
        assert!(g.admit(&b, t0 + Duration::from_millis(600), false).is_ok());
    }

    #[test]
    fn the_tighter_user_window_binds_only_user_endpoints() {
        let mut g = gate(10, 1);
        let t0 = Instant::now();
        let a = g.issue("c", t0);
        assert!(g.admit(&a, t0, true).is_ok());
        let (err, _) = g.admit(&a, t0, true).unwrap_err();
        assert_eq!(err.limit.unwrap().key, USER_KEY);
        assert!(g.admit(&a, t0, false).is_ok());
    }

    #[test]
    fn the_user_limit_is_true_in_the_unit_its_key_names() {
        let mk = |unit, unknown| {
            let mut q = crate::Quirks::none();
            q.user_limit_unit = unit;
            q.unknown_limit_key = unknown;
            Gate::new(&SandboxConfig {
                user_rate_limit: 10,
                rate_window: Duration::from_secs(2),
                quirks: q,
                ..SandboxConfig::default()
            })
            .user_limit()
            .unwrap()
        };
        let l = mk(LimitUnit::PerSecond, false);
        assert_eq!((l.key.as_str(), l.value), (USER_KEY_PER_SECOND, 5.0));
        let l = mk(LimitUnit::PerMinute, false);
        assert_eq!((l.key.as_str(), l.value), (USER_KEY, 300.0));
        let l = mk(LimitUnit::PerMinute, true);
        assert_eq!((l.key.as_str(), l.value), (USER_KEY_PER_DAY, 432_000.0));
    }

    #[test]
    fn bursts_answer_429_until_they_end() {
        let mut g = gate(0, 0);
        let t0 = Instant::now();
        let a = g.issue("c", t0);
        let err = g.start_burst(&a, t0, 3);
        assert_eq!(err.retry_after, Some(3));
        let (err, burst) = g
            .admit(&a, t0 + Duration::from_millis(1500), false)
            .unwrap_err();
        assert!(burst);
        assert_eq!(err.retry_after, Some(2));
        assert!(g.admit(&a, t0 + Duration::from_secs(3), false).is_ok());
    }

    #[test]
    fn the_token_endpoint_has_its_own_window() {
        let mut g = Gate::new(&SandboxConfig {
            token_rate_limit: 1,
            rate_window: Duration::from_secs(1),
            ..SandboxConfig::default()
        });
        let t0 = Instant::now();
        assert!(g.admit_token_request("c", t0).is_ok());
        assert!(g.admit_token_request("c", t0).is_err());
        assert!(
            g.admit_token_request("c", t0 + Duration::from_secs(1))
                .is_ok()
        );
    }
}
