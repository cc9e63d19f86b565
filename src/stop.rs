//! Stopping a run: why it stops ([`Stop`]), the one [`Stopper`] every phase watches
//! (the first stop wins), and SIGINT/SIGTERM turned into a stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::report::Reason;
use crate::summary::ExitReason;

/// Why the intake of new rows stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    Interrupted,
    Deadline,
    ErrorBudget(String),
    Fatal(String),
    /// Writes refused in several divisions and none succeeded.
    Permission(String),
    /// Requests time out one after another.
    Unreachable(String),
}

impl Stop {
    pub(crate) fn reason(&self) -> Reason {
        match self {
            Stop::Interrupted => Reason::Interrupted,
            Stop::Deadline => Reason::Deadline,
            Stop::ErrorBudget(_) => Reason::ErrorBudget,
            Stop::Fatal(_) => Reason::Aborted,
            Stop::Permission(_) => Reason::Permission,
            Stop::Unreachable(_) => Reason::Aborted,
        }
    }

    pub fn exit_reason(&self) -> ExitReason {
        match self {
            Stop::Interrupted => ExitReason::Interrupted,
            Stop::Deadline => ExitReason::Deadline,
            Stop::ErrorBudget(_) => ExitReason::ErrorBudget,
            Stop::Fatal(_) => ExitReason::Aborted,
            Stop::Permission(_) => ExitReason::Permission,
            Stop::Unreachable(_) => ExitReason::Unreachable,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Stop::Interrupted => {
                "interrupted by a signal; in-flight rows finished, the rest are skipped".into()
            }
            Stop::Deadline => "the deadline passed; rows not attempted are marked skipped".into(),
            Stop::ErrorBudget(why) => format!("error budget spent: {why}"),
            Stop::Fatal(why) | Stop::Permission(why) | Stop::Unreachable(why) => why.clone(),
        }
    }
}

/// The first stop wins; everyone can watch it.
#[derive(Clone)]
pub struct Stopper(Arc<watch::Sender<Option<Stop>>>);

impl Default for Stopper {
    fn default() -> Self {
        Self::new()
    }
}

impl Stopper {
    pub fn new() -> Self {
        Stopper(Arc::new(watch::channel(None).0))
    }

    pub fn stop(&self, why: Stop) {
        self.0.send_if_modified(|s| {
            if s.is_none() {
                tracing::warn!("stopping: {}", why.describe());
                *s = Some(why);
                true
            } else {
                false
            }
        });
    }

    pub fn get(&self) -> Option<Stop> {
        self.0.borrow().clone()
    }

    pub async fn stopped(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|s| s.is_some()).await;
    }

    /// Cancel every wait of the client (token, reads, writes, Retry-After pauses)
    /// `grace` after the run stops for a deadline or a signal: those stops are about
    /// time, and no wait may outlive them by more. Rows in flight on a healthy API
    /// finish within the grace (no row is left half-done); a hung request or a long
    /// Retry-After pause is cut, its row fails `interrupted` or `deadline`, and the
    /// journal already holds the before-values of a write cut off this way. Other
    /// stops let in-flight rows finish.
    pub fn cancel_on_time_stops(
        &self,
        token: tokio_util::sync::CancellationToken,
        grace: Duration,
    ) {
        let me = self.clone();
        tokio::spawn(async move {
            me.stopped().await;
            if matches!(me.get(), Some(Stop::Deadline | Stop::Interrupted)) {
                tokio::time::sleep(grace).await;
                token.cancel();
            }
        });
    }

    /// Stop at `deadline`, whatever phase the run is in.
    pub fn stop_at(&self, deadline: Instant) {
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(deadline.into()).await;
            me.stop(Stop::Deadline);
        });
    }
}

/// Turn SIGINT/SIGTERM into a stop for the rest of the process's life: the first
/// asks for a clean stop, the second exits at once with 130. The handlers are in
/// place when this returns.
#[cfg(unix)]
pub fn watch_signals(stopper: Stopper) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::warn!("cannot listen for signals; Ctrl-C will end the run at once");
        return;
    };
    tokio::spawn(async move {
        tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        eprintln!(
            "genupdate: stopping: finishing in-flight rows and writing the report \
             (send the signal again to exit at once)"
        );
        stopper.stop(Stop::Interrupted);
        tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        eprintln!("genupdate: second signal: exiting at once; the report may be incomplete");
        std::process::exit(130);
    });
}

#[cfg(not(unix))]
pub fn watch_signals(stopper: Stopper) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stopper.stop(Stop::Interrupted);
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}
