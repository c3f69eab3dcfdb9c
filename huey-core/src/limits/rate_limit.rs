//! Fixed-window rate limits.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{HueyError, RateLimitExceeded};
use crate::storage::Storage;

/// A fixed-window rate limit in the storage, shared by everyone on the queue (Huey's
/// `RateLimit`): at most `limit` acquisitions per window of `per`. Build one with
/// [`Huey::rate_limit`](crate::Huey::rate_limit).
///
/// Windows are aligned to the Unix epoch: the window number is `unix time / per`. A new window
/// resets the count. An acquisition over the limit fails with [`HueyError::RateLimited`] and
/// still counts, as in Huey. The window check and the count are separate storage calls, so two
/// processes crossing a window boundary at the same instant may each reset the count: the
/// limit is a close bound, not an exact one.
///
/// ```
/// use huey_core::{Huey, HueyError};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), HueyError> {
/// let huey = Huey::memory("docs");
/// let api = huey.rate_limit("api", 2, Duration::from_secs(3600));
/// api.acquire().await?;
/// api.run(async { /* call the API */ }).await?;
/// match api.acquire().await {
///     Err(HueyError::RateLimited(e)) => assert!(e.delay <= Duration::from_secs(3600)),
///     other => panic!("expected a rejection, got {other:?}"),
/// }
/// assert_eq!(api.current_usage().await?, 3);
/// api.reset().await?;
/// assert_eq!(api.current_usage().await?, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimit {
    storage: Arc<dyn Storage>,
    limit: u32,
    per: Duration,
    retry: bool,
    key: String,
    window_key: String,
}

impl RateLimit {
    /// Rate limit `name` of the queue named `huey_name` on `storage`.
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        huey_name: &str,
        name: &str,
        limit: u32,
        per: Duration,
    ) -> RateLimit {
        let key = format!("{huey_name}.rl.{name}");
        RateLimit {
            storage,
            limit,
            per,
            retry: true,
            window_key: format!("{key}.w"),
            key,
        }
    }

    /// Whether a task rejected by this limit is retried when the window ends (default true).
    /// With `false`, a task without retries of its own fails for good.
    ///
    /// ```
    /// let limit = huey_core::Huey::memory("docs")
    ///     .rate_limit("mail", 10, std::time::Duration::from_secs(1))
    ///     .retry(false);
    /// assert_eq!(limit.key(), "docs.rl.mail");
    /// ```
    #[must_use]
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    /// The counter key, `<huey name>.rl.<name>`; the window number is stored under this key
    /// plus `.w`.
    ///
    /// ```
    /// let limit = huey_core::Huey::memory("app").rate_limit("api", 10, std::time::Duration::from_secs(1));
    /// assert_eq!(limit.key(), "app.rl.api");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Counts one use; fails with [`HueyError::RateLimited`] when the window's count goes over
    /// the limit (the rejected use counts too). A limit of 0 or a window shorter than 1 ms is
    /// a [`HueyError::Configuration`] error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let limit = huey_core::Huey::memory("docs").rate_limit("once", 1, std::time::Duration::from_secs(60));
    /// limit.acquire().await?;
    /// assert!(limit.acquire().await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<(), HueyError> {
        let (window, delay) = self.window()?;
        if self.stored_window().await? != Some(window) {
            // A new window: forget the old count.
            self.storage.delete_counter(&self.key).await?;
            let window = serde_json::to_vec(&window)?;
            self.storage.put_data(&self.window_key, window).await?;
        }
        let count = self.storage.incr(&self.key, 1).await?;
        if count > i64::from(self.limit) {
            return Err(RateLimitExceeded {
                key: self.key.clone(),
                delay,
                retry: self.retry,
            }
            .into());
        }
        Ok(())
    }

    /// Uses counted in the current window, rejected ones included (0 in a new window).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let limit = huey_core::Huey::memory("docs").rate_limit("x", 5, std::time::Duration::from_secs(60));
    /// limit.acquire().await?;
    /// assert_eq!(limit.current_usage().await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn current_usage(&self) -> Result<u64, HueyError> {
        let (window, _) = self.window()?;
        if self.stored_window().await? != Some(window) {
            return Ok(0);
        }
        // Adding 0 reads the counter: the storage contract has no separate read.
        let count = self.storage.incr(&self.key, 0).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Forgets the current window and its count.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let limit = huey_core::Huey::memory("docs").rate_limit("x", 1, std::time::Duration::from_secs(60));
    /// limit.acquire().await?;
    /// limit.reset().await?;
    /// limit.acquire().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn reset(&self) -> Result<(), HueyError> {
        self.storage.delete_counter(&self.key).await?;
        self.storage.delete_data(&self.window_key).await?;
        Ok(())
    }

    /// Counts one use, then runs `future`; fails with [`HueyError::RateLimited`], without
    /// running it, when over the limit.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::HueyError> {
    /// let limit = huey_core::Huey::memory("docs").rate_limit("x", 1, std::time::Duration::from_secs(60));
    /// assert_eq!(limit.run(async { 7 }).await?, 7);
    /// assert!(limit.run(async { 8 }).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<F: Future>(&self, future: F) -> Result<F::Output, HueyError> {
        self.acquire().await?;
        Ok(future.await)
    }

    /// The current window number and the time until it ends.
    /// The window number stored with the count. Bookkeeping is plain JSON; a value that does
    /// not read as a number (written by an older, compressing build) counts as no window, so
    /// the count starts over rather than failing.
    async fn stored_window(&self) -> Result<Option<u64>, HueyError> {
        let stored = self.storage.peek_data(&self.window_key).await?;
        Ok(stored.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    fn window(&self) -> Result<(u64, Duration), HueyError> {
        if self.limit == 0 {
            return Err(HueyError::Configuration(format!(
                "rate limit {} has a limit of 0: nothing could ever run",
                self.key
            )));
        }
        // Milliseconds, so a window may be shorter than a second; for whole seconds this is
        // Huey's `int(time.time()) // per`.
        let per_ms = u64::try_from(self.per.as_millis()).unwrap_or(u64::MAX);
        if per_ms == 0 {
            return Err(HueyError::Configuration(format!(
                "rate limit {} needs a window of at least 1ms, got {:?}",
                self.key, self.per
            )));
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let window = now_ms / per_ms;
        let ends_ms = (window + 1).saturating_mul(per_ms);
        Ok((window, Duration::from_millis(ends_ms - now_ms)))
    }
}
