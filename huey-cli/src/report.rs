//! `Report`: the error a consumer binary's `main` returns, shown in words when it exits.

use std::fmt;

/// An error that a consumer binary's `main` returns: its `Debug` form, which is what Rust
/// prints when `main` returns `Err`, is the error's message with each cause once (`no task
/// is registered: ...`), not the struct dump `Error: Registry(Empty)`; and the process exits
/// with status 1. Anything that is a `std::error::Error` converts into it with `?`.
///
/// ```no_run
/// use huey_core::Huey;
/// use huey_redis::RedisStorage;
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), huey_cli::Report> {
///     let storage = RedisStorage::from_env("my-app").await?; // a StorageError converts too
///     huey_cli::run_cli(Huey::new("my-app", storage)).await?;
///     Ok(())
/// }
/// ```
pub struct Report(Box<dyn std::error::Error + Send + Sync + 'static>);

impl Report {
    /// The error reported.
    pub fn error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.0.as_ref()
    }
}

/// Not an `Error` itself (as with `anyhow::Error`), so that every error converts with `?`.
impl<E: std::error::Error + Send + Sync + 'static> From<E> for Report {
    fn from(error: E) -> Report {
        Report(Box::new(error))
    }
}

impl From<Report> for Box<dyn std::error::Error + Send + Sync + 'static> {
    fn from(report: Report) -> Self {
        report.0
    }
}

impl From<Report> for Box<dyn std::error::Error + 'static> {
    fn from(report: Report) -> Self {
        report.0
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&huey_core::error_chain(self.0.as_ref()), f)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&huey_core::error_chain(self.0.as_ref()), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use huey_core::{HueyError, RegistryError};

    #[test]
    fn debug_is_the_message_with_its_causes() {
        let report = Report::from(HueyError::from(RegistryError::Empty));
        let shown = format!("{report:?}");
        assert!(shown.starts_with("no task is registered"), "{shown}");
        assert!(shown.contains("link_tasks!"), "{shown}");
        let storage = huey_core::StorageError::Backend("connection refused".into());
        assert_eq!(
            format!("{:?}", Report::from(storage)),
            "storage error: connection refused"
        );
    }
}
