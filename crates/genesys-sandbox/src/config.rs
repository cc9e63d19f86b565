//! What a sandbox is started with: the `genupdate sandbox` flags ([`SandboxArgs`],
//! raw clap input) and the resolved [`SandboxConfig`] that tests and `apply
//! --sandbox` build directly. `SandboxConfig::default()` equals the CLI defaults.

use std::time::Duration;

use crate::quirks::{LimitUnit, Quirks};
use crate::routes_org::Org;
use crate::secret::Secret;

pub const DEFAULT_CLIENT_ID: &str = "sandbox-client";
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";
pub const DEFAULT_SEED: u64 = 1;
pub const DEFAULT_USERS: usize = 1000;

/// Failures and slowness injected on `/api/v2` requests. Shares are probabilities
/// per request (0.0 to 1.0). `Default` is all off.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    /// Share of requests answered 500/502/503/504 (not applied).
    pub error_5xx: f64,
    /// Share of connections closed, with no response, before the request is applied.
    pub drop_before: f64,
    /// Share of applied writes (PATCH/PUT/DELETE, and POSTs other than searches,
    /// answered 2xx) whose connection is closed before the response is sent.
    pub drop_after_write: f64,
    /// Share of requests that revoke the token they present (answered 401).
    pub revoke_token: f64,
    /// Probability, per user returned by a users GET, that the sandbox itself then
    /// changes that user (version bumped, a marker appended to `certifications`).
    pub concurrent_writer: f64,
    /// Share of requests that start a 429 burst: that request and every request of
    /// the same client until the burst's Retry-After has passed are answered 429.
    pub burst_429: f64,
    /// Retry-After of a burst, uniform in [min, max] seconds.
    pub burst_retry_after: (u64, u64),
    /// Added to every request on arrival, before anything else is decided.
    pub latency: Duration,
    /// The added latency is uniform in latency ± jitter.
    pub latency_jitter: Duration,
    /// Share of stale-version PATCHes answered 400 instead of 409 (same message).
    pub conflict_400_share: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            error_5xx: 0.0,
            drop_before: 0.0,
            drop_after_write: 0.0,
            revoke_token: 0.0,
            concurrent_writer: 0.0,
            burst_429: 0.0,
            burst_retry_after: (300, 300),
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            conflict_400_share: 0.0,
        }
    }
}

/// A resolved sandbox configuration. All fields are public: build one with struct
/// update syntax from [`SandboxConfig::default`], [`SandboxConfig::unlimited`] or
/// [`SandboxConfig::demo`].
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// 127.0.0.1 port; 0 picks a free one.
    pub port: u16,
    /// Number of seeded users.
    pub users: usize,
    /// Seed of every generated id, name and value.
    pub seed: u64,
    pub client_id: String,
    pub client_secret: Secret,
    /// Lifetime of issued tokens (`expires_in` is its whole seconds).
    pub token_ttl: Duration,
    /// Requests per token per `rate_window`; 0 turns rate limiting off.
    pub rate_limit: u32,
    pub rate_window: Duration,
    /// Tighter limit on `/api/v2/users...` per token per `rate_window`
    /// (namespace `directory`, key `user.rate.per.minute`); 0 = none.
    pub user_rate_limit: u32,
    /// Whether the limits endpoint reports `user.rate.per.minute`.
    pub report_user_limit: bool,
    /// Token requests per client per `rate_window`; 0 = unlimited.
    pub token_rate_limit: u32,
    /// Leave the `limit` object out of every 429 body (see also
    /// `Quirks::omit_limit_share`).
    pub omit_limit_in_429: bool,
    /// Send IETF `RateLimit-*` and `X-RateLimit-*` headers (Genesys sends none).
    pub rate_limit_headers: bool,
    pub faults: Faults,
    /// The real-org behaviour modelled; [`Quirks::realistic`] unless a test turns
    /// it off with [`Quirks::none`].
    pub quirks: Quirks,
    /// What `GET /api/v2/organizations/me` answers: the org's name, or 403.
    pub org: Org,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            port: 0,
            users: DEFAULT_USERS,
            seed: DEFAULT_SEED,
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: Secret::new(DEFAULT_CLIENT_SECRET),
            token_ttl: Duration::from_secs(86_400),
            rate_limit: 300,
            rate_window: Duration::from_secs(60),
            user_rate_limit: 0,
            report_user_limit: false,
            token_rate_limit: 0,
            omit_limit_in_429: false,
            rate_limit_headers: false,
            faults: Faults::default(),
            quirks: Quirks::realistic(),
            org: Org::default(),
        }
    }
}

impl SandboxConfig {
    /// Rate limits off, no latency, no faults (quirks stay realistic): for
    /// benchmarks and most tests.
    pub fn unlimited() -> Self {
        SandboxConfig {
            rate_limit: 0,
            ..SandboxConfig::default()
        }
    }

    /// For `genupdate apply --sandbox`: the default seed and users (so the ids in
    /// examples/users.csv exist), 10 requests per 1 s window (reported as 600 per
    /// minute), 30 ± 20 ms latency and a few faults, so pacing and retries show while
    /// a dozen rows still finish in a few seconds. Quirks are realistic: the org
    /// holds a restricted user ([`crate::RESTRICTED_USER_INDEX`]), a deleted one
    /// ([`crate::DELETED_USER_INDEX`]) and every contact shape.
    pub fn demo() -> Self {
        SandboxConfig {
            rate_limit: 10,
            rate_window: Duration::from_secs(1),
            faults: Faults {
                error_5xx: 0.04,
                drop_before: 0.02,
                drop_after_write: 0.03,
                concurrent_writer: 0.05,
                burst_429: 0.01,
                burst_retry_after: (1, 2),
                latency: Duration::from_millis(30),
                latency_jitter: Duration::from_millis(20),
                conflict_400_share: 0.25,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        }
    }
}

/// Parse `--burst-retry-after`: `300` or `1-10` (seconds).
pub fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("expected SECONDS or MIN-MAX seconds (e.g. 300 or 1-10), got '{s}'");
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (s.trim(), s.trim()),
    };
    let lo: u64 = lo.parse().map_err(|_| bad())?;
    let hi: u64 = hi.parse().map_err(|_| bad())?;
    if lo == 0 || lo > hi {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// A share between 0 and 1.
pub fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a share between 0.0 and 1.0, got '{s}'")),
    }
}

/// Flags of `genupdate sandbox`.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Port to listen on (127.0.0.1); 0 picks a free one, printed at start.
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Number of seeded users.
    #[arg(long, default_value_t = DEFAULT_USERS)]
    pub users: usize,

    /// Seed of every generated id, name and value: the same seed gives the same org.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,

    /// The OAuth client id the token endpoint accepts.
    #[arg(long, default_value = DEFAULT_CLIENT_ID)]
    pub client_id: String,

    /// The OAuth client secret the token endpoint accepts [default: sandbox-secret].
    #[arg(long, hide_default_value = true)]
    pub client_secret: Option<String>,

    /// Token lifetime in seconds (`expires_in`).
    #[arg(long, default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl: u64,

    /// Requests per token per --rate-window; 0 turns rate limiting off.
    #[arg(long, default_value_t = 300)]
    pub rate_limit: u32,

    /// Length of the sliding rate-limit window, in seconds. Limits are reported per
    /// minute (limit × 60 / window) by the limits endpoint and in 429 bodies.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_window: u64,

    /// A tighter limit on /api/v2/users... per token per --rate-window
    /// (namespace `directory`, key `user.rate.per.minute`); 0 = none.
    #[arg(long, default_value_t = 0)]
    pub user_rate_limit: u32,

    /// Report the user limit in GET /api/v2/organizations/limits/namespaces/directory
    /// (without it, clients only learn it from 429s).
    #[arg(long)]
    pub report_user_limit: bool,

    /// Token requests per client per --rate-window; beyond it the token endpoint
    /// answers 400 invalid_request "rate limit exceeded". 0 = unlimited.
    #[arg(long, default_value_t = 0)]
    pub token_rate_limit: u32,

    /// Leave the `limit` object out of 429 bodies (real Genesys sometimes does).
    #[arg(long)]
    pub omit_limit_in_429: bool,

    /// Send RateLimit-Limit/-Remaining/-Reset and X-RateLimit-* headers.
    /// Off by default because Genesys sends none.
    #[arg(long)]
    pub rate_limit_headers: bool,

    /// Share of stale-version PATCHes answered 400 instead of 409.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share, value_name = "SHARE")]
    pub conflict_400_share: f64,

    /// Share of API requests answered 500/502/503/504 (not applied).
    #[arg(long, default_value_t = 0.0, value_parser = parse_share, value_name = "SHARE")]
    pub fail_5xx: f64,

    /// Share of API connections closed with no response before the request is applied.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share, value_name = "SHARE")]
    pub drop_before: f64,

    /// Share of applied writes whose connection is closed before the response.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share, value_name = "SHARE")]
    pub drop_after_write: f64,

    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,

    /// Latency jitter: the added latency is uniform in latency ± jitter.
    #[arg(long, default_value_t = 0)]
    pub latency_jitter_ms: u64,

    /// Share of API requests that revoke the token they present (answered 401).
    #[arg(long, default_value_t = 0.0, value_parser = parse_share, value_name = "SHARE")]
    pub revoke_token: f64,

    /// Probability, per user read, that the sandbox then changes that user itself
    /// (version bumped, a marker appended to `certifications`).
    #[arg(long, default_value_t = 0.0, value_parser = parse_share, value_name = "SHARE")]
    pub concurrent_writer: f64,

    /// Share of API requests that start a 429 burst lasting --burst-retry-after.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share, value_name = "SHARE")]
    pub burst_429: f64,

    /// Retry-After of a 429 burst in seconds: `300`, or `MIN-MAX` for a uniform pick.
    #[arg(long, default_value = "300", value_parser = parse_range, value_name = "SECS")]
    pub burst_retry_after: (u64, u64),

    /// Turn off every real-org quirk (restricted division, deleted users, contact
    /// shapes, best-effort expand, optional 429 limit, ignored username, delayed
    /// queue joins, one user per division move). The quirk flags below still apply
    /// on top.
    #[arg(long)]
    pub no_quirks: bool,

    /// Share of users in the restricted division (writes answer 403) [default: 0.05].
    #[arg(long, value_parser = parse_share, value_name = "SHARE")]
    pub restricted_share: Option<f64>,

    /// Share of users whose state is deleted [default: 0.02].
    #[arg(long, value_parser = parse_share, value_name = "SHARE")]
    pub deleted_share: Option<f64>,

    /// Share of users in a list read returned without the parts they asked to
    /// expand [default: 0.1].
    #[arg(long, value_parser = parse_share, value_name = "SHARE")]
    pub expand_miss_share: Option<f64>,

    /// Share of limit 429s sent without the `limit` object [default: 0.5].
    #[arg(long, value_parser = parse_share, value_name = "SHARE")]
    pub omit_limit_share: Option<f64>,

    /// Report the user limit per second (`user.rate.per.second`) instead of per minute.
    #[arg(long)]
    pub user_limit_per_second: bool,

    /// Report the user limit under an unknown key, `org.app.user.rate.per.day`.
    #[arg(long)]
    pub unknown_limit_key: bool,

    /// Keep EMAIL entries a PATCH's `addresses` leaves out (an undocumented quirk).
    #[arg(long)]
    pub keep_omitted_email: bool,

    /// A top-level UpdateUser field the PATCH accepts but does not apply; repeat
    /// for several [default: username].
    #[arg(long, value_name = "FIELD")]
    pub ignore_field: Vec<String>,

    /// Milliseconds before an accepted queue join change (PATCH .../members or
    /// /users/{id}/queues, "processed asynchronously") shows [default: 300].
    #[arg(long, value_name = "MS")]
    pub join_delay_ms: Option<u64>,

    /// Most user ids one division move takes (undocumented; Terraform sends 1)
    /// [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub division_move_max: Option<u64>,

    /// Users added to a queue start unjoined (whether they start joined is
    /// undocumented; by default they do).
    #[arg(long)]
    pub queue_add_unjoined: bool,
}

impl SandboxArgs {
    /// Resolve the flags; the secret stays wrapped.
    pub fn to_config(&self) -> SandboxConfig {
        SandboxConfig {
            port: self.port,
            users: self.users,
            seed: self.seed,
            client_id: self.client_id.clone(),
            client_secret: Secret::new(
                self.client_secret
                    .clone()
                    .unwrap_or_else(|| DEFAULT_CLIENT_SECRET.to_string()),
            ),
            token_ttl: Duration::from_secs(self.token_ttl),
            rate_limit: self.rate_limit,
            rate_window: Duration::from_secs(self.rate_window),
            user_rate_limit: self.user_rate_limit,
            report_user_limit: self.report_user_limit,
            token_rate_limit: self.token_rate_limit,
            omit_limit_in_429: self.omit_limit_in_429,
            rate_limit_headers: self.rate_limit_headers,
            faults: Faults {
                error_5xx: self.fail_5xx,
                drop_before: self.drop_before,
                drop_after_write: self.drop_after_write,
                revoke_token: self.revoke_token,
                concurrent_writer: self.concurrent_writer,
                burst_429: self.burst_429,
                burst_retry_after: self.burst_retry_after,
                latency: Duration::from_millis(self.latency_ms),
                latency_jitter: Duration::from_millis(self.latency_jitter_ms),
                conflict_400_share: self.conflict_400_share,
            },
            quirks: self.quirks(),
            org: Org::default(),
        }
    }

    fn quirks(&self) -> Quirks {
        let mut q = if self.no_quirks {
            Quirks::none()
        } else {
            Quirks::realistic()
        };
        let set = |target: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *target = v;
            }
        };
        set(&mut q.restricted_share, self.restricted_share);
        set(&mut q.deleted_share, self.deleted_share);
        set(&mut q.expand_miss_share, self.expand_miss_share);
        set(&mut q.omit_limit_share, self.omit_limit_share);
        if self.user_limit_per_second {
            q.user_limit_unit = LimitUnit::PerSecond;
        }
        q.unknown_limit_key |= self.unknown_limit_key;
        q.keep_omitted_email |= self.keep_omitted_email;
        if !self.ignore_field.is_empty() {
            q.ignore_fields = self.ignore_field.clone();
        }
        if let Some(ms) = self.join_delay_ms {
            q.join_delay = Duration::from_millis(ms);
        }
        if let Some(n) = self.division_move_max {
            q.division_move_max = usize::try_from(n).unwrap_or(usize::MAX);
        }
        q.queue_add_joined &= !self.queue_add_unjoined;
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn cli_defaults_equal_the_config_defaults() {
        let args = Wrap::parse_from(["x"]).args;
        let cfg = args.to_config();
        let def = SandboxConfig::default();
        assert_eq!(cfg.users, def.users);
        assert_eq!(cfg.seed, def.seed);
        assert_eq!(cfg.client_secret.expose(), def.client_secret.expose());
        assert_eq!(cfg.token_ttl, def.token_ttl);
        assert_eq!(
            (cfg.rate_limit, cfg.rate_window),
            (300, Duration::from_secs(60))
        );
        assert_eq!(cfg.faults, Faults::default());
        assert_eq!(cfg.quirks, Quirks::realistic());
        let none = Wrap::parse_from(["x", "--no-quirks"]).args.to_config();
        assert_eq!(none.quirks, Quirks::none());
    }

    #[test]
    fn burst_retry_after_takes_a_number_or_a_range() {
        assert_eq!(parse_range("300"), Ok((300, 300)));
        assert_eq!(parse_range("1-10"), Ok((1, 10)));
        assert!(parse_range("10-1").is_err());
        assert!(parse_range("0").is_err());
        assert!(parse_range("x").is_err());
    }

    #[test]
    fn shares_must_be_between_zero_and_one() {
        assert_eq!(parse_share("0.05"), Ok(0.05));
        assert!(parse_share("1.5").is_err());
        assert!(parse_share("-0.1").is_err());
    }
}
