//! Random fault decisions. The shares live in [`super::config::Faults`]; this file
//! rolls the dice (thread-local RNG: faults need not be reproducible, the data does)
//! and picks latencies, 5xx statuses and burst lengths.

use std::time::Duration;

use axum::http::StatusCode;
use rand::Rng;

pub use super::config::Faults;

/// True with probability `p` (never for 0, always for 1).
pub fn roll(p: f64) -> bool {
    if p <= 0.0 {
        false
    } else if p >= 1.0 {
        true
    } else {
        rand::rng().random_bool(p)
    }
}

/// The latency to add: uniform in latency ± jitter, never negative.
pub fn latency(f: &Faults) -> Duration {
    if f.latency_jitter.is_zero() {
        return f.latency;
    }
    let lo = f.latency.saturating_sub(f.latency_jitter);
    let hi = f.latency + f.latency_jitter;
    let nanos = rand::rng().random_range(lo.as_nanos() as u64..=hi.as_nanos() as u64);
    Duration::from_nanos(nanos)
}

/// One of the 5xx statuses a gateway answers.
pub fn pick_5xx() -> StatusCode {
    [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::BAD_GATEWAY,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::GATEWAY_TIMEOUT,
    ][rand::rng().random_range(0..4)]
}

/// A burst's Retry-After, uniform in [min, max] seconds (at least 1).
pub fn burst_secs((lo, hi): (u64, u64)) -> u64 {
    let lo = lo.max(1);
    rand::rng().random_range(lo..=hi.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_of_zero_and_one_are_exact() {
        assert!((0..100).all(|_| !roll(0.0)));
        assert!((0..100).all(|_| roll(1.0)));
    }

    #[test]
    fn latency_stays_within_its_jitter() {
        let f = Faults {
            latency: Duration::from_millis(20),
            latency_jitter: Duration::from_millis(5),
            ..Faults::default()
        };
        for _ in 0..200 {
            let l = latency(&f);
            assert!(l >= Duration::from_millis(15) && l <= Duration::from_millis(25));
        }
        let f = Faults {
            latency: Duration::from_millis(2),
            latency_jitter: Duration::from_millis(5),
            ..Faults::default()
        };
        assert!((0..200).all(|_| latency(&f) <= Duration::from_millis(7)));
    }

    #[test]
    fn burst_lengths_stay_in_range() {
        for _ in 0..100 {
            let s = burst_secs((2, 4));
            assert!((2..=4).contains(&s));
        }
        assert_eq!(burst_secs((300, 300)), 300);
    }
}
