//! The queue's numbers at one moment, and the server-sent event stream that sends them to the
//! overview every refresh interval, so that it updates without a reload.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::Stream;
use huey_core::{Huey, HueyError};
use serde::Serialize;

use crate::state::AppState;

/// The depths and the consumers' load at one moment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snapshot {
    pub(crate) at: DateTime<Utc>,
    pub(crate) pending: usize,
    pub(crate) scheduled: usize,
    pub(crate) results: usize,
    pub(crate) dead: usize,
    pub(crate) paused: bool,
    pub(crate) consumers: usize,
    pub(crate) workers: usize,
    pub(crate) running: usize,
}

impl Snapshot {
    pub(crate) async fn read(huey: &Huey) -> Result<Snapshot, HueyError> {
        let consumers = huey.consumers().await?;
        Ok(Snapshot {
            at: Utc::now(),
            pending: huey.pending_count().await?,
            scheduled: huey.scheduled_count().await?,
            results: huey.result_count().await?,
            dead: huey.dead_letter_count().await?,
            paused: huey.is_paused().await?,
            consumers: consumers.len(),
            workers: consumers.iter().map(|c| c.workers).sum(),
            running: consumers.iter().map(|c| c.in_flight.len()).sum(),
        })
    }
}

/// `GET /events`: a `snapshot` event every refresh interval (an `error` event, with the
/// message, when the storage fails; the stream goes on and the next tick tries again).
pub(crate) async fn events(
    State(shared): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut ticker = tokio::time::interval(shared.refresh);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = futures::stream::unfold((shared, ticker), |(shared, mut ticker)| async move {
        ticker.tick().await;
        let event = match Snapshot::read(&shared.huey).await {
            // Plain numbers and a time: serializing cannot fail.
            Ok(snapshot) => Event::default()
                .event("snapshot")
                .data(serde_json::to_string(&snapshot).unwrap_or_default()),
            Err(error) => Event::default()
                .event("error")
                .data(huey_core::error_chain(&error).to_string()),
        };
        Some((Ok(event), (shared, ticker)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
