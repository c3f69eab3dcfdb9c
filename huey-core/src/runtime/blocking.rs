//! Running library futures from sync code, without asking the caller for a runtime.

use std::future::Future;
use std::sync::OnceLock;

use crate::error::HueyError;

fn runtime() -> Result<&'static tokio::runtime::Runtime, HueyError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("huey-blocking")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| HueyError::Blocking(format!("cannot start the blocking runtime: {e}")))
}

/// Drives `fut` to completion on the library's own small runtime.
///
/// Called from inside a runtime (async code, or a sync task on the blocking pool), it runs the
/// future on a helper thread instead, because a runtime cannot be entered from within another.
pub(crate) fn block_on<F>(fut: F) -> Result<F::Output, HueyError>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(rt.block_on(fut));
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| rt.block_on(fut))
            .join()
            .map_err(|_| HueyError::Blocking("the blocking call panicked".into()))
    })
}
