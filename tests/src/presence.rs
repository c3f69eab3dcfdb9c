//! Waiting on a consumer's own account of itself: its presence record, published on events
//! inside it (a heartbeat, a pause seen, a clean stop).

use std::time::{Duration, Instant};

use huey_core::{ConsumerInfo, Huey};

/// How long [`consumer_until`] waits.
pub const WAIT: Duration = Duration::from_secs(10);

/// Polls the presence records until `ready` holds of the only consumer, and returns its
/// record; panics after [`WAIT`].
pub async fn consumer_until(huey: &Huey, ready: impl Fn(&ConsumerInfo) -> bool) -> ConsumerInfo {
    let deadline = Instant::now() + WAIT;
    loop {
        if let [info] = huey.consumers().await.unwrap().as_slice()
            && ready(info)
        {
            return info.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the consumer's record never matched"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
