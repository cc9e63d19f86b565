//! Sliding-window rate limits, as pure values driven by an explicit clock.
//!
//! Genesys counts requests per token over a rolling window and answers 429 with an
//! integer `Retry-After` once the window is full. A [`SlidingWindow`] keeps the
//! arrival times of the requests it admitted; a rejected request is not recorded (it
//! does not count), so a client that waits out `Retry-After` always finds room.
//! Time is passed in, never read, so every decision here is unit-tested.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One rolling window: at most `limit` admitted requests in any `window`.
#[derive(Clone, Debug)]
pub struct SlidingWindow {
    limit: u32,
    window: Duration,
    admitted: VecDeque<Instant>,
}

impl SlidingWindow {
    /// `limit` must be at least 1 (a limit of 0 means "no window" and is not built).
    pub fn new(limit: u32, window: Duration) -> Self {
        assert!(limit > 0, "a sliding window needs a limit of at least 1");
        SlidingWindow {
            limit,
            window,
            admitted: VecDeque::with_capacity(limit.min(1024) as usize),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&t) = self.admitted.front() {
            if now.saturating_duration_since(t) >= self.window {
                self.admitted.pop_front();
            } else {
                break;
            }
        }
    }

    /// How long until a request arriving at `now` would be admitted; zero when there
    /// is room now. Does not record anything.
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.expire(now);
        if (self.admitted.len() as u64) < u64::from(self.limit) {
            return Duration::ZERO;
        }
        // The window is full: room appears when the oldest entry that must leave
        // (so that limit-1 remain) is older than the window.
        let must_leave = self.admitted.len() - self.limit as usize;
        let oldest = self.admitted[must_leave];
        (oldest + self.window).saturating_duration_since(now)
    }

    /// Record an admitted request.
    pub fn record(&mut self, now: Instant) {
        self.admitted.push_back(now);
    }

    /// Requests still allowed in the current window at `now`.
    pub fn remaining(&mut self, now: Instant) -> u32 {
        self.expire(now);
        self.limit.saturating_sub(self.admitted.len() as u32)
    }

    /// Seconds until the window is completely empty again (for `RateLimit-Reset`).
    pub fn reset_secs(&mut self, now: Instant) -> u64 {
        self.expire(now);
        match self.admitted.back() {
            Some(&last) => ceil_secs((last + self.window).saturating_duration_since(now)),
            None => 0,
        }
    }
}

/// The integer `Retry-After` for a wait: whole seconds rounded up, at least 1, so a
/// client that honours it exactly never arrives before the window has room.
pub fn retry_after_secs(wait: Duration) -> u64 {
    ceil_secs(wait).max(1)
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A limit of `limit` requests per `window`, expressed per minute as the limits
/// endpoint and the 429 body report it (keys end in `.per.minute`).
pub fn per_minute(limit: u32, window: Duration) -> f64 {
    per_window_unit(limit, window, 60.0)
}

/// A limit of `limit` requests per `window` expressed per `unit_secs` (1 for a
/// `.per.second` key, 60 per minute, 86400 per day).
pub fn per_window_unit(limit: u32, window: Duration, unit_secs: f64) -> f64 {
    let secs = window.as_secs_f64();
    if secs <= 0.0 {
        return f64::from(limit);
    }
    let v = f64::from(limit) * unit_secs / secs;
    // Keep whole numbers whole despite float noise (100 per 2 s is exactly 3000).
    if (v - v.round()).abs() < 1e-9 {
        v.round()
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn admits_up_to_the_limit_then_waits_for_the_oldest_to_expire() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(3, ms(1000));
        for i in 0..3 {
            let now = t0 + ms(i * 100);
            assert_eq!(w.wait(now), Duration::ZERO);
            w.record(now);
        }
        // Full at 300 ms: the first entry (t0) leaves at 1000 ms.
        assert_eq!(w.wait(t0 + ms(300)), ms(700));
        assert_eq!(w.remaining(t0 + ms(300)), 0);
        // At exactly 1000 ms the first entry has left.
        assert_eq!(w.wait(t0 + ms(1000)), Duration::ZERO);
        assert_eq!(w.remaining(t0 + ms(1000)), 1);
    }

    #[test]
    fn rejected_requests_do_not_count() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(1, ms(1000));
        w.record(t0);
        // Many rejected attempts do not push the horizon further out.
        for i in 1..10 {
            assert_eq!(w.wait(t0 + ms(i * 50)), ms(1000 - i * 50));
        }
        assert_eq!(w.wait(t0 + ms(1000)), Duration::ZERO);
    }

    #[test]
    fn the_window_slides_rather_than_resetting() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(2, ms(1000));
        w.record(t0);
        w.record(t0 + ms(900));
        // At 1000 ms only the first has left: one slot, then full until 1900 ms.
        assert_eq!(w.wait(t0 + ms(1000)), Duration::ZERO);
        w.record(t0 + ms(1000));
        assert_eq!(w.wait(t0 + ms(1000)), ms(900));
    }

    #[test]
    fn reset_is_when_the_window_is_empty_again() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(5, ms(2000));
        assert_eq!(w.reset_secs(t0), 0);
        w.record(t0);
        w.record(t0 + ms(500));
        assert_eq!(w.reset_secs(t0 + ms(500)), 2);
        assert_eq!(w.reset_secs(t0 + ms(1600)), 1);
    }

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one_second() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(ms(1)), 1);
        assert_eq!(retry_after_secs(ms(1000)), 1);
        assert_eq!(retry_after_secs(ms(1001)), 2);
        assert_eq!(retry_after_secs(ms(59_999)), 60);
    }

    #[test]
    fn limits_are_reported_per_minute_whatever_the_window() {
        assert_eq!(per_minute(300, Duration::from_secs(60)), 300.0);
        assert_eq!(per_minute(100, Duration::from_secs(2)), 3000.0);
        assert_eq!(per_minute(60, Duration::from_secs(2)), 1800.0);
        assert_eq!(per_minute(10, Duration::from_secs(1)), 600.0);
        assert_eq!(per_minute(7, Duration::from_secs(120)), 3.5);
    }
}
