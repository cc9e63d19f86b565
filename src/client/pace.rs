//! The one place that decides when a request may be sent, shared by every worker.
//!
//! [`Governor`] is a pure state machine over explicit instants: a GCRA spacer (a
//! token bucket of depth 1, so requests leave at an even pace and never in bursts,
//! which is what a sliding-window limit needs), a run-wide pause that a 429's
//! Retry-After sets, and the rate itself, which starts just under the known limit,
//! drops when 429s show a tighter one and probes back up with care. Nothing in it
//! sleeps or reads a clock, so its reactions are unit-tested with made-up instants.
//!
//! The rate follows AIMD. Multiplicative decrease: a 429 naming a tighter limit sets
//! the rate under it at once; a 429 naming none cuts by `cut` (0.8), but only once per
//! congestion event: 429s for requests sent before the last cut (a burst), within
//! `cut_hold` of it, or before any request sent at the new rate has succeeded (a run of
//! 429s on the retries after a Retry-After pause) do not cut again. Additive increase:
//! once requests sent at the current rate succeed and no 429 has come for the quiet
//! period (`probe_quiet`, at least twice the last Retry-After), each turn adds
//! `probe_step` (2.5%) of the target, up to just under the rate that drew the last cut
//! (`probe_near`, until that failure is `forget_failure` old) and never above the
//! ceiling: the known limit × `headroom`.
//!
//! [`Pace`] is the thin async shell: reserve a slot, sleep to it, and confirm on
//! waking that no pause or rate cut happened meanwhile (an `epoch` counter changes on
//! both); a stale slot is given back and a new one reserved. That re-check is what
//! keeps a worker who was already waiting from sending into a Retry-After.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::headers::RateHeaders;

/// The governor's tunable numbers; `Default` holds the documented choices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GovernorConfig {
    /// Share of a known limit to run at: leaves room for clock jitter between our
    /// spacing and the server's window, which is what would otherwise cause 429s.
    pub headroom: f64,
    /// Multiplicative cut on a 429 that names no tighter limit.
    pub cut: f64,
    /// The cut when the previous cut was not enough (another 429 at the new rate
    /// before any quiet period): the limit is well below, so settle in fewer steps.
    pub repeat_cut: f64,
    /// The cut when the 429 follows probing up: the limit is just below.
    pub probe_cut: f64,
    /// The cut when the 429 names a limit we already keep to: timing jitter between
    /// our spacing and the server's window, or someone else sharing the limit.
    pub kept_limit_cut: f64,
    /// At most one cut per this much time (a burst of 429s counts once).
    pub cut_hold: Duration,
    /// Quiet time without any 429 before each probe step up (at least twice the
    /// last Retry-After, which approximates the server's window).
    pub probe_quiet: Duration,
    /// Each probe step adds this share of the probe target.
    pub probe_step: f64,
    /// After a cut, probing stops at this share of the rate that drew the 429.
    pub probe_near: f64,
    /// After this long at that soft ceiling without a 429, probing may resume
    /// towards the known limit (the tighter limit may have been someone else's burst).
    pub forget_failure: Duration,
    /// Never slower than this (requests per minute).
    pub min_rate: f64,
}

impl Default for GovernorConfig {
    fn default() -> Self {
        GovernorConfig {
            headroom: 0.98,
            cut: 0.8,
            repeat_cut: 0.7,
            probe_cut: 0.9,
            kept_limit_cut: 0.95,
            cut_hold: Duration::from_secs(1),
            probe_quiet: Duration::from_secs(5),
            probe_step: 0.025,
            probe_near: 0.97,
            forget_failure: Duration::from_secs(120),
            min_rate: 1.0,
        }
    }
}

/// The pure pacing state. All rates are requests per minute.
#[derive(Clone, Debug)]
pub struct Governor {
    cfg: GovernorConfig,
    rate: f64,
    /// Never probe above this: the tightest limit known, times headroom.
    ceiling: f64,
    /// The rate that last drew a 429 naming no (tighter) limit.
    failed_at: Option<f64>,
    /// GCRA theoretical arrival time: the earliest next slot.
    tat: Instant,
    last_sent: Option<Instant>,
    paused_until: Option<Instant>,
    /// Changes on every pause and cut: slots reserved before are void.
    epoch: u64,
    last_cut: Option<Instant>,
    /// Last cut or probe step.
    last_change: Instant,
    /// The rate went up by probing since the last cut.
    probed: bool,
    last_429: Option<Instant>,
    last_retry_after: Duration,
    /// A request sent after the last cut succeeded: the next 429 is new evidence.
    succeeded_since_cut: bool,
    /// A request succeeded since the last rate change: probing may step up.
    succeeded_since_change: bool,
}

/// `t + d`, saturating far in the future instead of panicking on overflow.
pub fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(super::retry::MAX_SERVER_DURATION))
        .unwrap_or(t)
}

impl Governor {
    /// Start at `rate` requests per minute, which is also the ceiling.
    pub fn new(rate: f64, now: Instant, cfg: GovernorConfig) -> Self {
        let rate = rate.max(cfg.min_rate);
        Governor {
            cfg,
            rate,
            ceiling: rate,
            failed_at: None,
            tat: now,
            last_sent: None,
            paused_until: None,
            epoch: 0,
            last_cut: None,
            probed: false,
            last_change: now,
            last_429: None,
            last_retry_after: Duration::ZERO,
            succeeded_since_cut: false,
            succeeded_since_change: false,
        }
    }

    /// Start just under a known limit (the org's, or the 300/min default).
    pub fn from_limit(limit: f64, now: Instant, cfg: GovernorConfig) -> Self {
        Governor::new(limit * cfg.headroom, now, cfg)
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn paused_until(&self, now: Instant) -> Option<Instant> {
        self.paused_until.filter(|p| *p > now)
    }

    fn interval(&self) -> Duration {
        // rate >= min_rate > 0 and finite, so this is at most a minute; the fallback
        // only guards against a misconfigured min_rate.
        Duration::try_from_secs_f64(60.0 / self.rate).unwrap_or(Duration::from_secs(60))
    }

    /// Reserve the next slot: returns when to send and the epoch the slot belongs to.
    pub fn reserve(&mut self, now: Instant) -> (Instant, u64) {
        self.maybe_probe(now);
        let mut slot = self.tat.max(now);
        if let Some(p) = self.paused_until {
            slot = slot.max(p);
        }
        self.tat = later(slot, self.interval());
        (slot, self.epoch)
    }

    /// Re-base on a newly learned limit (per minute), keeping the timing state.
    pub fn set_limit(&mut self, limit: f64, now: Instant) {
        let rate = (limit * self.cfg.headroom).max(self.cfg.min_rate);
        self.ceiling = rate;
        self.failed_at = None;
        self.set_rate(rate, now);
    }

    /// On waking at a reserved slot: may the request go now? Records the send if so.
    pub fn confirm(&mut self, epoch: u64, now: Instant) -> bool {
        if epoch != self.epoch || self.paused_until(now).is_some() {
            return false;
        }
        self.last_sent = Some(now);
        true
    }

    /// Void every reserved slot: the next one is after the pause and a full interval
    /// after the last request actually sent.
    fn new_epoch(&mut self, now: Instant) {
        self.epoch += 1;
        let mut tat = now;
        if let Some(sent) = self.last_sent {
            tat = tat.max(later(sent, self.interval()));
        }
        if let Some(p) = self.paused_until {
            tat = tat.max(p);
        }
        self.tat = tat;
    }

    /// No request may be sent before `until`. Pauses only ever extend.
    pub fn pause_until(&mut self, until: Instant, now: Instant) {
        if self.paused_until.is_none_or(|p| until > p) {
            self.paused_until = Some(until);
            self.new_epoch(now);
        }
    }

    /// A 429 arrived at `now` for a request sent at `sent_at`. `limit` is the body's
    /// `limit.value` (per minute) when there was one. Returns true when the rate changed.
    pub fn on_429(
        &mut self,
        now: Instant,
        sent_at: Instant,
        retry_after: Option<Duration>,
        limit: Option<f64>,
    ) -> bool {
        self.last_429 = Some(now);
        if let Some(ra) = retry_after {
            self.last_retry_after = ra.min(super::retry::MAX_SERVER_DURATION);
        }
        if let Some(limit) = limit.filter(|l| *l > 0.0) {
            let target = (limit * self.cfg.headroom).max(self.cfg.min_rate);
            if target < self.rate {
                self.ceiling = self.ceiling.min(target);
                self.failed_at = None;
                self.set_rate(target, now);
                self.last_cut = Some(now);
                self.probed = false;
                return true;
            }
            // The named limit is one we already keep to: someone else shares it, or
            // our spacing does not fit its window. A small cut (below).
            self.ceiling = self.ceiling.min(target);
        }
        let kept = limit.is_some_and(|l| l > 0.0);
        // Requests sent before the last cut describe the old rate, not this one.
        let stale = self.last_cut.is_some_and(|c| sent_at < c);
        let held = self
            .last_cut
            .is_some_and(|c| now < later(c, self.cfg.cut_hold.max(self.last_retry_after)));
        // No request sent at the new rate has succeeded yet: this 429 belongs to the
        // same congestion event (e.g. the retry right after a Retry-After pause).
        let same_event = self.last_cut.is_some() && !self.succeeded_since_cut;
        if stale || held || same_event {
            return false;
        }
        let quiet = self.quiet();
        let factor = if kept {
            self.cfg.kept_limit_cut
        } else if self.probed {
            self.cfg.probe_cut
        } else if self
            .last_cut
            .is_some_and(|c| now < later(c, quiet.saturating_add(self.last_retry_after)))
        {
            self.cfg.repeat_cut
        } else {
            self.cfg.cut
        };
        self.failed_at = Some(self.rate);
        self.set_rate(self.rate * factor, now);
        self.last_cut = Some(now);
        self.probed = false;
        true
    }

    /// A request sent at `sent_at` succeeded at `now`: the evidence additive increase
    /// waits for, and what makes the next 429 a new congestion event.
    pub fn on_success(&mut self, now: Instant, sent_at: Instant) {
        if self.last_cut.is_none_or(|c| sent_at >= c) {
            self.succeeded_since_cut = true;
        }
        // Any success since the last change counts: probing is paced by time anyway.
        let _ = now;
        self.succeeded_since_change = true;
    }

    fn quiet(&self) -> Duration {
        self.cfg
            .probe_quiet
            .max(self.last_retry_after.saturating_mul(2))
    }

    /// Rate-limit headers: a lower limit lowers the ceiling (and the rate); remaining 0
    /// pauses everyone until the reset, at most `max_pause`.
    pub fn on_headers(&mut self, now: Instant, h: &RateHeaders, max_pause: Duration) {
        if let Some(limit) = h.limit_per_minute() {
            let target = (limit * self.cfg.headroom).max(self.cfg.min_rate);
            if target < self.ceiling {
                self.ceiling = target;
                if target < self.rate {
                    self.set_rate(target, now);
                }
            }
        }
        if let Some(reset) = h.exhausted().filter(|r| !r.is_zero()) {
            self.pause_until(later(now, reset.min(max_pause)), now);
        }
    }

    fn set_rate(&mut self, rate: f64, now: Instant) {
        self.rate = rate.max(self.cfg.min_rate);
        self.last_change = now;
        self.succeeded_since_cut = false;
        self.succeeded_since_change = false;
        self.new_epoch(now);
    }

    /// Additive increase after a quiet period, never above the ceiling, and after a
    /// cut never above just under the rate that drew it, until that is long forgotten.
    fn maybe_probe(&mut self, now: Instant) {
        let quiet = self.quiet();
        let since_429 = self.last_429.map_or(Duration::MAX, |t| now - t);
        if now - self.last_change < quiet || since_429 < quiet || !self.succeeded_since_change {
            return;
        }
        let target = match self.failed_at {
            Some(f) => (f * self.cfg.probe_near).min(self.ceiling),
            None => self.ceiling,
        };
        if self.rate >= target {
            if self.failed_at.is_some() && since_429 >= self.cfg.forget_failure {
                self.failed_at = None;
            }
            return;
        }
        self.rate = (self.rate + target * self.cfg.probe_step).min(target);
        self.last_change = now;
        self.succeeded_since_change = false;
        self.probed = true;
    }
}

/// The shared, async face of the governor.
#[derive(Debug)]
pub struct Pace {
    gov: Mutex<Governor>,
}

impl Pace {
    pub fn new(gov: Governor) -> Self {
        Pace {
            gov: Mutex::new(gov),
        }
    }

    /// Run `f` on the governor. A poisoned lock still holds a consistent governor
    /// (no method panics half-way), so it is used as is.
    pub fn with<R>(&self, f: impl FnOnce(&mut Governor) -> R) -> R {
        let mut g = self.gov.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Wait for this request's turn; returns the instant it may be sent.
    pub async fn turn(&self) -> Instant {
        loop {
            let (slot, epoch) = self.with(|g| g.reserve(Instant::now()));
            tokio::time::sleep_until(slot).await;
            let now = Instant::now();
            if self.with(|g| g.confirm(epoch, now)) {
                return now;
            }
        }
    }

    pub fn rate(&self) -> f64 {
        self.with(|g| g.rate())
    }
}

#[cfg(test)]
#[path = "pace_tests.rs"]
mod tests;
