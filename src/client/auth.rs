//! The access token: fetched with the client-credentials grant, cached, renewed a
//! little before it expires, and renewed at most once per expiry however many
//! workers notice at the same time.
//!
//! Single flight comes from a generation number and one async lock: a worker that
//! saw generation `g` fail asks for "a token newer than `g`"; the first one through
//! the lock fetches it, and everyone queued behind finds generation `g + 1` already
//! there and takes it without a request. Proactive renewal uses `try_lock`, so while
//! one worker renews the others keep using the still-valid token instead of waiting.
//! Whether a token of these credentials has ever worked in this run (`proven`) is
//! what tells a revoked token from credentials that are wrong (see `retry::decide`):
//! it is judged per run, not per token, because a token revoked mid-run can take the
//! fresh one with it before any request has come back with it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use reqwest::Url;
use serde::Deserialize;
use tokio::time::Instant;
use tracing::{info, warn};

use super::error::{ApiError, Fatal, NetFailure};
use super::pace::later;
use super::retry::{self, RetryPolicy, TokenKind, TokenVerdict, Transport};
use super::sanitize::{Secrets, sanitize_server_text};
use super::stats::{Counters, bump};
use super::wire::{self, WireError};
use crate::config::Credentials;
use crate::model::TokenError;
use crate::secret::Secret;

/// Token endpoint answers are small; anything bigger is not a token.
const MAX_TOKEN_BODY: usize = 64 * 1024;

/// The lifetime assumed when `expires_in` is missing, zero, negative or not a number:
/// short enough to be safe, long enough that a token is not requested per call.
pub const FALLBACK_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// The longest lifetime believed (Genesys allows at most 48 h).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(172_800);

/// Access tokens remembered for redaction (the current one and a few before it).
const REMEMBERED_TOKENS: usize = 4;

/// The token endpoint's 200 answer, read leniently: `expires_in` may be anything.
#[derive(Deserialize)]
struct Issued {
    access_token: Secret,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// How long to believe a token lives, from whatever `expires_in` the server sent:
/// missing, under 1 s, negative or unreadable is [`FALLBACK_TOKEN_LIFETIME`]; absurdly
/// long is [`MAX_TOKEN_LIFETIME`].
pub fn token_lifetime(expires_in: Option<&serde_json::Value>) -> Duration {
    expires_in
        .and_then(|v| v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()))
        .filter(|secs| secs.is_finite() && *secs >= 1.0)
        .and_then(|secs| {
            Duration::try_from_secs_f64(secs.min(MAX_TOKEN_LIFETIME.as_secs_f64())).ok()
        })
        .unwrap_or(FALLBACK_TOKEN_LIFETIME)
}

/// How long before expiry to renew: 10% of the lifetime, at least 5 s and at most
/// 5 min, but never more than a quarter of a (test-sized) lifetime. Genesys lifetimes
/// are 300 s to 48 h, so in production this is 30 s to 5 min.
pub fn renew_margin(lifetime: Duration) -> Duration {
    (lifetime / 10)
        .max(Duration::from_secs(5).min(lifetime / 4))
        .min(Duration::from_secs(300))
}

/// A token as handed to one request.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub value: Secret,
    pub generation: u64,
    pub kind: TokenKind,
}

#[derive(Clone, Debug)]
struct Current {
    value: Secret,
    generation: u64,
    renew_at: Instant,
    expires_at: Instant,
}

pub(crate) struct Auth {
    http: reqwest::Client,
    token_url: Url,
    credentials: Credentials,
    policy: RetryPolicy,
    max_retries: u32,
    current: Mutex<Option<Current>>,
    renewing: tokio::sync::Mutex<()>,
    /// Highest generation some request succeeded with.
    proven: AtomicU64,
    /// The credentials' own secrets (client secret, its Basic forms, a given token).
    fixed: Vec<String>,
    /// What server text is scrubbed of: `fixed` and the tokens issued recently.
    secrets: Mutex<(Vec<String>, Secrets)>,
}

/// The strings of `credentials` that must never leave the process.
fn credential_secrets(credentials: &Credentials) -> Vec<String> {
    match credentials {
        Credentials::ClientCredentials {
            client_id,
            client_secret,
        } => {
            let pair = format!("{client_id}:{}", client_secret.expose());
            let basic = base64::engine::general_purpose::STANDARD.encode(&pair);
            let basic_url = base64::engine::general_purpose::URL_SAFE.encode(&pair);
            vec![client_secret.expose().to_string(), basic, basic_url, pair]
        }
        Credentials::AccessToken(token) => vec![token.expose().to_string()],
    }
}

impl Auth {
    pub fn new(
        http: reqwest::Client,
        login: &Url,
        credentials: Credentials,
        policy: RetryPolicy,
        max_retries: u32,
    ) -> Result<Auth, Fatal> {
        let token_url = login
            .join("oauth/token")
            .map_err(|e| Fatal::Config(format!("login URL {login}: {e}")))?;
        let fixed = credential_secrets(&credentials);
        Ok(Auth {
            http,
            token_url,
            credentials,
            policy,
            max_retries,
            current: Mutex::new(None),
            renewing: tokio::sync::Mutex::new(()),
            secrets: Mutex::new((Vec::new(), Secrets::new(fixed.clone()))),
            fixed,
            proven: AtomicU64::new(0),
        })
    }

    /// Everything server text must be scrubbed of, as of now.
    pub fn secrets(&self) -> Secrets {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }

    fn remember(&self, token: &Secret) {
        let mut guard = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let (recent, secrets) = &mut *guard;
        recent.push(token.expose().to_string());
        if recent.len() > REMEMBERED_TOKENS {
            recent.remove(0);
        }
        *secrets = Secrets::new(self.fixed.iter().chain(recent.iter()).cloned());
    }

    fn snapshot(&self) -> Option<Current> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn token_of(&self, c: &Current) -> Token {
        let kind = match self.credentials {
            Credentials::AccessToken(_) => TokenKind::Fixed,
            Credentials::ClientCredentials { .. } => TokenKind::Renewable {
                // Any generation: once the credentials have worked, a fresh token that
                // is refused too was revoked, not wrong (bounded per request by
                // MAX_RENEWALS_PER_REQUEST).
                proven: self.proven.load(Ordering::Relaxed) > 0,
            },
        };
        Token {
            value: c.value.clone(),
            generation: c.generation,
            kind,
        }
    }

    /// A request with this generation got a response other than 401.
    pub fn mark_proven(&self, generation: u64) {
        self.proven.fetch_max(generation, Ordering::Relaxed);
    }

    /// The token to send now, renewing first when none is cached or it has expired.
    pub async fn token(&self, stats: &Counters) -> Result<Token, ApiError> {
        if let Credentials::AccessToken(value) = &self.credentials {
            return Ok(Token {
                value: value.clone(),
                generation: 1,
                kind: TokenKind::Fixed,
            });
        }
        let now = Instant::now();
        match self.snapshot() {
            Some(c) if now < c.renew_at => Ok(self.token_of(&c)),
            Some(c) if now < c.expires_at => {
                // Due for renewal but still valid: one worker renews, the rest carry on.
                let Ok(guard) = self.renewing.try_lock() else {
                    return Ok(self.token_of(&c));
                };
                match self.renew_locked(&guard, c.generation, stats).await {
                    Ok(t) => Ok(t),
                    Err(ApiError::Fatal(Fatal::TokenUnavailable { detail })) => {
                        warn!(%detail, "could not renew the access token early; using the current one until it expires");
                        Ok(self.token_of(&c))
                    }
                    Err(e) => Err(e),
                }
            }
            Some(c) => self.renew(c.generation, stats).await,
            None => self.renew(0, stats).await,
        }
    }

    /// A token newer than generation `seen`: fetched by the first caller, shared by all.
    pub async fn renew(&self, seen: u64, stats: &Counters) -> Result<Token, ApiError> {
        if matches!(self.credentials, Credentials::AccessToken(_)) {
            return Err(Fatal::TokenRejected {
                correlation_id: None,
            }
            .into());
        }
        let guard = self.renewing.lock().await;
        self.renew_locked(&guard, seen, stats).await
    }

    async fn renew_locked(
        &self,
        _guard: &tokio::sync::MutexGuard<'_, ()>,
        seen: u64,
        stats: &Counters,
    ) -> Result<Token, ApiError> {
        if let Some(c) = self.snapshot()
            && c.generation > seen
            && Instant::now() < c.expires_at
        {
            return Ok(self.token_of(&c));
        }
        let (value, lifetime) = self.fetch(stats).await?;
        self.remember(&value);
        let now = Instant::now();
        let generation = seen.max(self.snapshot().map_or(0, |c| c.generation)) + 1;
        let c = Current {
            value,
            generation,
            renew_at: later(now, lifetime.saturating_sub(renew_margin(lifetime))),
            expires_at: later(now, lifetime),
        };
        info!(
            generation,
            lifetime_s = lifetime.as_secs(),
            "obtained an access token"
        );
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(c.clone());
        bump(&stats.tokens_issued);
        Ok(self.token_of(&c))
    }

    /// One client-credentials grant, retried on the token endpoint's rate limit,
    /// 5xx and transport errors.
    async fn fetch(&self, stats: &Counters) -> Result<(Secret, Duration), ApiError> {
        let Credentials::ClientCredentials {
            client_id,
            client_secret,
        } = &self.credentials
        else {
            return Err(Fatal::TokenRejected {
                correlation_id: None,
            }
            .into());
        };
        let mut retry = 0u32;
        loop {
            bump(&stats.token_requests);
            let request = self
                .http
                .post(self.token_url.clone())
                .basic_auth(client_id, Some(client_secret.expose()))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .header(reqwest::header::ACCEPT, "application/json")
                .body("grant_type=client_credentials");
            let result = wire::exchange(request, MAX_TOKEN_BODY).await;
            stats.note_timeout(&result);
            let clean = |text: &str| sanitize_server_text(text, &self.secrets());
            let (backoff, detail) = match result {
                Ok(x) if (300..400).contains(&x.status) => {
                    return Err(Fatal::Redirected {
                        status: x.status,
                        location: clean(&wire::location(&x.headers)),
                    }
                    .into());
                }
                Ok(x) => {
                    let err: Option<TokenError> = serde_json::from_slice(&x.body).ok();
                    match retry::classify_token(x.status, err.as_ref()) {
                        TokenVerdict::Issued => {
                            let t: Issued = serde_json::from_slice(&x.body).map_err(|e| {
                                Fatal::TokenUnavailable {
                                    detail: clean(&format!("unreadable token response: {e}")),
                                }
                            })?;
                            return Ok((t.access_token, token_lifetime(t.expires_in.as_ref())));
                        }
                        TokenVerdict::InvalidClient => return Err(Fatal::InvalidClient.into()),
                        TokenVerdict::Refused => {
                            let e = err.unwrap_or_default();
                            return Err(Fatal::TokenRefused {
                                status: x.status,
                                error: clean(&e.error),
                                description: clean(if e.description.is_empty() {
                                    &e.error_description
                                } else {
                                    &e.description
                                }),
                            }
                            .into());
                        }
                        TokenVerdict::RateLimited => (
                            self.policy.rate_limit,
                            format!("HTTP {} rate limit exceeded", x.status),
                        ),
                        TokenVerdict::ServerError => {
                            (self.policy.server, format!("HTTP {}", x.status))
                        }
                    }
                }
                Err(WireError::Transport(kind @ (Transport::Dns | Transport::Tls), detail)) => {
                    // A wrong name or an untrusted certificate does not heal: no retry.
                    return Err(Fatal::Network {
                        kind: if kind == Transport::Dns {
                            NetFailure::Dns
                        } else {
                            NetFailure::Tls
                        },
                        host: wire::host_of(&self.token_url),
                        detail: clean(&detail),
                        attempts: retry + 1,
                    }
                    .into());
                }
                Err(WireError::Transport(_, detail)) => (
                    self.policy.server,
                    format!("{}: {}", wire::host_of(&self.token_url), clean(&detail)),
                ),
                Err(WireError::TooLarge { status, .. }) => {
                    return Err(Fatal::TokenUnavailable {
                        detail: format!("HTTP {status} with an oversized body"),
                    }
                    .into());
                }
            };
            if retry >= self.max_retries {
                return Err(Fatal::TokenUnavailable {
                    detail: format!("{detail} (after {} attempts)", retry + 1),
                }
                .into());
            }
            let wait = backoff.delay(retry, rand::random::<f64>());
            warn!(%detail, wait_ms = wait.as_millis() as u64, attempt = retry + 1, "token request failed; retrying");
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: expires_in 10^19 panicked ("overflow when adding duration to
    // instant"); 0, negative or missing made a token request per call or failed.
    #[test]
    fn token_lifetime_table() {
        use serde_json::json;
        let s = Duration::from_secs;
        let table = [
            (Some(json!(86_400)), s(86_400)),
            (Some(json!(300)), s(300)),
            (
                Some(json!(10_000_000_000_000_000_000u64)),
                MAX_TOKEN_LIFETIME,
            ),
            (Some(json!(1e300)), MAX_TOKEN_LIFETIME),
            (Some(json!(0)), FALLBACK_TOKEN_LIFETIME),
            (Some(json!(-5)), FALLBACK_TOKEN_LIFETIME),
            (Some(json!(0.5)), FALLBACK_TOKEN_LIFETIME),
            (Some(json!("3600")), s(3600)),
            (Some(json!("soon")), FALLBACK_TOKEN_LIFETIME),
            (Some(json!(null)), FALLBACK_TOKEN_LIFETIME),
            (None, FALLBACK_TOKEN_LIFETIME),
        ];
        for (raw, want) in table {
            assert_eq!(token_lifetime(raw.as_ref()), want, "{raw:?}");
            // Never a renewal per call: renewal comes well after issue.
            let l = token_lifetime(raw.as_ref());
            assert!(l.saturating_sub(renew_margin(l)) >= s(45));
        }
    }

    #[test]
    fn renewal_margin_table() {
        let s = Duration::from_secs;
        let table = [
            (s(86_400), s(300)),
            (s(3_600), s(300)),
            (s(600), s(60)),
            (s(300), s(30)),
            (s(30), s(5)),
            (s(10), Duration::from_millis(2_500)),
            (s(2), Duration::from_millis(500)),
            (Duration::ZERO, Duration::ZERO),
        ];
        for (lifetime, want) in table {
            assert_eq!(renew_margin(lifetime), want, "{lifetime:?}");
            assert!(renew_margin(lifetime) <= lifetime / 4 || lifetime >= s(50));
        }
    }
}
