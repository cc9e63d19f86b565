//! Run-wide counters of the client, updated lock-free from every worker and read as
//! a [`ClientStats`] snapshot for the summary, the JSON output and the benchmarks.
//! They count what happened on the wire, so request economy can be checked from them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::retry::Transport;
use super::wire::WireError;

/// A snapshot of the client's counters.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ClientStats {
    /// HTTP requests sent to the API (token requests not included).
    pub requests: u64,
    pub responses_by_status: BTreeMap<u16, u64>,
    pub too_many_requests: u64,
    /// Requests sent again after a 429, a 5xx/408 or a transport error.
    pub retries: u64,
    pub transport_errors: u64,
    /// HTTP requests to the token endpoint.
    pub token_requests: u64,
    /// Tokens obtained.
    pub tokens_issued: u64,
    /// Renewals caused by a 401 (expired or revoked token).
    pub renewals_after_401: u64,
    /// 429s whose Retry-After exceeded --max-retry-after.
    pub deferred: u64,
    /// Run-wide pauses started (429 Retry-After, or rate-limit headers at zero).
    pub pauses: u64,
    /// Retries that waited because the retry budget was spent.
    pub budget_waits: u64,
    /// Writes that may have landed without an answer: guarded writes returned as
    /// Uncertain, and writes that timed out (`ApiError::Timeout { may_have_landed }`).
    pub uncertain: u64,
    /// The governor's current rate (requests per minute).
    pub rate_per_minute: f64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub too_many_requests: AtomicU64,
    pub retries: AtomicU64,
    pub transport_errors: AtomicU64,
    pub token_requests: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub renewals_after_401: AtomicU64,
    pub deferred: AtomicU64,
    pub pauses: AtomicU64,
    pub budget_waits: AtomicU64,
    pub uncertain: AtomicU64,
    /// Requests (API and token) in a row that got no answer in time; any response
    /// resets it.
    pub consecutive_timeouts: AtomicU64,
    by_status: Mutex<BTreeMap<u16, u64>>,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// Count a timeout, or reset the run of timeouts when a response came.
    pub(crate) fn note_timeout<T>(&self, result: &Result<T, WireError>) {
        match result {
            Err(WireError::Transport(Transport::Timeout, _)) => bump(&self.consecutive_timeouts),
            Err(WireError::Transport(..)) => {}
            Ok(_) | Err(WireError::TooLarge { .. }) => {
                self.consecutive_timeouts.store(0, Ordering::Relaxed)
            }
        }
    }

    pub fn status(&self, status: u16) {
        let mut map = self.by_status.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(status).or_default() += 1;
    }

    pub fn snapshot(&self, rate_per_minute: f64) -> ClientStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ClientStats {
            requests: get(&self.requests),
            responses_by_status: self
                .by_status
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            too_many_requests: get(&self.too_many_requests),
            retries: get(&self.retries),
            transport_errors: get(&self.transport_errors),
            token_requests: get(&self.token_requests),
            tokens_issued: get(&self.tokens_issued),
            renewals_after_401: get(&self.renewals_after_401),
            deferred: get(&self.deferred),
            pauses: get(&self.pauses),
            budget_waits: get(&self.budget_waits),
            uncertain: get(&self.uncertain),
            rate_per_minute,
        }
    }
}
