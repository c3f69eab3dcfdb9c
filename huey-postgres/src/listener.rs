//! Wake-ups: one `LISTEN` connection per storage turns the schema's notifications into local
//! signals, so an idle dequeue or result wait sleeps until something happens instead of
//! polling.
//!
//! Payloads are `q:<namespace>` (messages became available) and `r:<namespace>` (a result
//! someone waits for was stored). When the connection drops, every waiter is woken (a
//! notification may have been missed meanwhile) and the listener reconnects with a backoff.

use std::sync::Arc;
use std::time::Duration;

use huey_core::StorageError;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{oneshot, watch};

use crate::errors::backend;

/// What the listener signals: each a counter that goes up once per wake-up.
#[derive(Debug)]
pub(crate) struct Wakes {
    pub queue: watch::Sender<u64>,
    pub results: watch::Sender<u64>,
}

impl Wakes {
    fn new() -> Wakes {
        Wakes {
            queue: watch::Sender::new(0),
            results: watch::Sender::new(0),
        }
    }

    fn bump(sender: &watch::Sender<u64>) {
        sender.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Wakes every waiter: after a reconnect, or when this process itself made work available.
    pub fn all(&self) {
        Wakes::bump(&self.queue);
        Wakes::bump(&self.results);
    }
}

/// The running listener; dropping it stops the task and frees its connection.
#[derive(Debug)]
pub(crate) struct Listener {
    pub wakes: Arc<Wakes>,
    _stop: oneshot::Sender<()>,
}

/// Starts listening on `channel` for `namespace`'s notifications. Fails if the first
/// connection cannot be made, so a wrong URL is reported at connect time.
pub(crate) async fn start(
    pool: &PgPool,
    channel: &str,
    namespace: &str,
) -> Result<Listener, StorageError> {
    let mut listener = PgListener::connect_with(pool).await.map_err(backend)?;
    listener.listen(channel).await.map_err(backend)?;
    let wakes = Arc::new(Wakes::new());
    let (stop, mut stopped) = oneshot::channel();
    let queue_payload = format!("q:{namespace}");
    let results_payload = format!("r:{namespace}");
    let task_wakes = Arc::clone(&wakes);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(50);
        loop {
            let received = tokio::select! {
                _ = &mut stopped => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(note)) => {
                    backoff = Duration::from_millis(50);
                    if note.payload() == queue_payload {
                        Wakes::bump(&task_wakes.queue);
                    } else if note.payload() == results_payload {
                        Wakes::bump(&task_wakes.results);
                    }
                }
                // The connection was lost; the next call reconnects and listens again.
                Ok(None) => task_wakes.all(),
                Err(error) => {
                    tracing::warn!(%error, "PostgreSQL notification listener lost its connection; reconnecting");
                    task_wakes.all();
                    tokio::select! {
                        _ = &mut stopped => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    });
    Ok(Listener { wakes, _stop: stop })
}
