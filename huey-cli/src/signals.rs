//! The signals that stop the consumer, read as requests. On unix: SIGINT and SIGTERM (one is
//! graceful, the other immediate, as `-g` says) and SIGHUP (restart). Elsewhere only Ctrl-C
//! exists: it is the graceful signal, and a second one stops at once.

use huey_core::HueyError;

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Ctrl-C alone asks neither for an immediate stop nor for a restart.
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) enum Request {
    Graceful,
    Immediate,
    /// Stop gracefully, then exec this binary afresh (SIGHUP).
    Restart,
}

#[cfg(unix)]
pub(crate) struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
    graceful_term: bool,
}

#[cfg(unix)]
impl Signals {
    /// Starts listening; `graceful_term` makes SIGTERM the graceful signal and SIGINT the
    /// immediate one.
    pub(crate) fn new(graceful_term: bool) -> Result<Signals, HueyError> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind| {
            signal(kind)
                .map_err(|e| HueyError::Configuration(format!("cannot listen for signals: {e}")))
        };
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
            graceful_term,
        })
    }

    pub(crate) async fn next(&mut self) -> Request {
        let int = tokio::select! {
            _ = self.interrupt.recv() => true,
            _ = self.terminate.recv() => false,
            _ = self.hangup.recv() => return Request::Restart,
        };
        if int != self.graceful_term {
            Request::Graceful
        } else {
            Request::Immediate
        }
    }
}

#[cfg(not(unix))]
pub(crate) struct Signals;

#[cfg(not(unix))]
impl Signals {
    /// Refuses `-g term`, which needs SIGTERM, rather than ignoring it.
    pub(crate) fn new(graceful_term: bool) -> Result<Signals, HueyError> {
        if graceful_term {
            return Err(HueyError::Configuration(
                "-g term needs unix signals; here only Ctrl-C stops the consumer".into(),
            ));
        }
        Ok(Signals)
    }

    /// Every Ctrl-C asks for a graceful stop; one during a graceful stop escalates it.
    pub(crate) async fn next(&mut self) -> Request {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C; stop the consumer by other means");
            std::future::pending::<()>().await;
        }
        Request::Graceful
    }
}
