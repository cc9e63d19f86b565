//! Rate-limit response headers, in the two dialects a client may meet: the IETF
//! drafts (`RateLimit-Limit`/`-Remaining`/`-Reset`/`-Policy`, and the later combined
//! `RateLimit: limit=.., remaining=.., reset=..` or `"p";r=..;t=..`) and the common
//! `X-RateLimit-*`. Genesys' own `inin-ratelimit-*` were removed in 2021 and are not read.
//!
//! Genesys sends none of them today, so these are a bonus the pace uses when a proxy
//! or another server sends them, never something it depends on. Parsing is a pure
//! function of a `HeaderMap` and the current Unix time so it is tested by tables; every
//! duration saturates at `retry::MAX_SERVER_DURATION`, whatever number the server sent.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// What the headers of one response say about the rate limit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RateHeaders {
    /// Requests allowed per `window`.
    pub limit: Option<f64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// Time until the window resets (or the quota is restored).
    pub reset: Option<Duration>,
    /// The window `limit` counts over, when a policy names it.
    pub window: Option<Duration>,
}

/// Epoch-looking `X-RateLimit-Reset` values (GitHub style) are told from delta
/// seconds by size: nobody resets a window 30 years from now.
const EPOCH_THRESHOLD: u64 = 1_000_000_000;

impl RateHeaders {
    /// The limit converted to requests per minute, only when the window is known: a
    /// bare `X-RateLimit-Limit: 100` may count per second, minute or hour, and
    /// guessing wrong would either flood the server or crawl. Without a window, only
    /// `remaining: 0` (pause until the reset) is acted on, which needs no window.
    pub fn limit_per_minute(&self) -> Option<f64> {
        let window = self.window?.as_secs_f64();
        self.limit
            .filter(|l| *l > 0.0 && window > 0.0)
            .map(|l| l * 60.0 / window)
    }

    /// True when the server says nothing more may be sent until `reset`.
    pub fn exhausted(&self) -> Option<Duration> {
        (self.remaining == Some(0)).then_some(self.reset).flatten()
    }

    fn is_empty(&self) -> bool {
        *self == RateHeaders::default()
    }
}

/// Parse the rate-limit headers of a response; `None` when there are none.
pub fn parse(headers: &HeaderMap, now_unix: u64) -> Option<RateHeaders> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let num = |name: &str| get(name).and_then(|v| v.trim().parse::<f64>().ok());
    let mut h = RateHeaders::default();

    // Draft-08+ combined field first: it is the newest and most specific.
    if let Some(v) = get("ratelimit") {
        let params = params(v);
        h.limit = params.get("limit").copied();
        h.remaining = params
            .get("remaining")
            .or(params.get("r"))
            .copied()
            .map(to_u64);
        h.reset = params.get("reset").or(params.get("t")).copied().map(secs);
    }
    if let Some(v) = get("ratelimit-policy") {
        let params = params(v);
        // "100;w=60" (draft-07) or "\"default\";q=100;w=60" (draft-09+).
        let first = v
            .split([',', ';'])
            .next()
            .and_then(|s| s.trim().parse::<f64>().ok());
        h.limit = h.limit.or(params.get("q").copied()).or(first);
        h.window = params.get("w").copied().map(secs);
    }
    h.limit = h.limit.or(num("ratelimit-limit"));
    h.remaining = h.remaining.or(num("ratelimit-remaining").map(to_u64));
    h.reset = h.reset.or(num("ratelimit-reset").map(secs));

    h.limit = h.limit.or(num("x-ratelimit-limit"));
    h.remaining = h.remaining.or(num("x-ratelimit-remaining").map(to_u64));
    if h.reset.is_none() {
        h.reset = num("x-ratelimit-reset").map(|r| {
            if r >= EPOCH_THRESHOLD as f64 {
                secs((r - now_unix as f64).max(0.0))
            } else {
                secs(r)
            }
        });
    }

    (!h.is_empty()).then_some(h)
}

/// `key=value` pairs of a structured-field header, numbers only, first one wins.
fn params(v: &str) -> std::collections::HashMap<String, f64> {
    let mut out = std::collections::HashMap::new();
    for part in v.split([',', ';']) {
        if let Some((k, val)) = part.split_once('=')
            && let Ok(n) = val.trim().trim_matches('"').parse::<f64>()
        {
            out.entry(k.trim().to_ascii_lowercase()).or_insert(n);
        }
    }
    out
}

fn to_u64(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v as u64
    } else {
        0
    }
}

fn secs(v: f64) -> Duration {
    super::retry::server_secs(v).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    fn rh(limit: Option<f64>, remaining: Option<u64>, reset: Option<u64>) -> RateHeaders {
        RateHeaders {
            limit,
            remaining,
            reset: reset.map(Duration::from_secs),
            window: None,
        }
    }

    #[test]
    fn header_dialects_table() {
        let now = 1_700_000_000;
        type Row<'a> = (Vec<(&'a str, &'a str)>, Option<RateHeaders>);
        let table: Vec<Row> = vec![
            (vec![], None),
            (vec![("content-type", "application/json")], None),
            (
                vec![
                    ("RateLimit-Limit", "100"),
                    ("RateLimit-Remaining", "0"),
                    ("RateLimit-Reset", "7"),
                ],
                Some(rh(Some(100.0), Some(0), Some(7))),
            ),
            (
                vec![("RateLimit", "limit=10, remaining=3, reset=4")],
                Some(rh(Some(10.0), Some(3), Some(4))),
            ),
            (
                vec![
                    ("RateLimit", "\"default\";r=0;t=30"),
                    ("RateLimit-Policy", "\"default\";q=100;w=2"),
                ],
                Some(RateHeaders {
                    window: Some(Duration::from_secs(2)),
                    ..rh(Some(100.0), Some(0), Some(30))
                }),
            ),
            (
                vec![
                    ("X-RateLimit-Limit", "300"),
                    ("X-RateLimit-Remaining", "12"),
                    ("X-RateLimit-Reset", "1700000042"),
                ],
                Some(rh(Some(300.0), Some(12), Some(42))),
            ),
            (
                vec![("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "5")],
                Some(rh(None, Some(0), Some(5))),
            ),
            // Genesys' inin-ratelimit-* headers were removed in 2021: no longer read.
            (
                vec![
                    ("inin-ratelimit-count", "180"),
                    ("inin-ratelimit-allowed", "180"),
                    ("inin-ratelimit-reset", "13"),
                ],
                None,
            ),
            // Hostile numbers saturate instead of panicking (regression: 1e300 panicked in
            // Instant arithmetic downstream).
            (
                vec![("RateLimit-Remaining", "0"), ("RateLimit-Reset", "1e300")],
                Some(RateHeaders {
                    reset: Some(Duration::from_secs(86_400)),
                    ..rh(None, Some(0), None)
                }),
            ),
            (vec![("X-RateLimit-Remaining", "lots")], None),
        ];
        for (pairs, want) in table {
            assert_eq!(parse(&map(&pairs), now), want, "{pairs:?}");
        }
    }

    #[test]
    fn limits_convert_to_per_minute_using_the_policy_window() {
        let h = parse(
            &map(&[("RateLimit-Policy", "100;w=2"), ("RateLimit-Limit", "100")]),
            0,
        )
        .unwrap();
        assert_eq!(h.limit_per_minute(), Some(3000.0));
        // Without a window the limit is not trusted.
        let h = parse(&map(&[("X-RateLimit-Limit", "100")]), 0).unwrap();
        assert_eq!(h.limit_per_minute(), None);
    }

    #[test]
    fn exhausted_only_when_remaining_is_zero_with_a_reset() {
        assert_eq!(
            rh(None, Some(0), Some(5)).exhausted(),
            Some(Duration::from_secs(5))
        );
        assert_eq!(rh(None, Some(1), Some(5)).exhausted(), None);
        assert_eq!(rh(None, Some(0), None).exhausted(), None);
    }
}
