//! The scheduler: every interval it moves due messages from the schedule to the queue, and on
//! each new UTC minute it enqueues the periodic tasks whose crontab matches. Each periodic tick
//! is claimed in storage first, so several consumers sharing a storage enqueue it once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{Stop, stopped};
use crate::runtime::Huey;
use crate::runtime::registry::{Registry, TaskDescriptor};
use crate::task::message::{MESSAGE_VERSION, Message, NoArgs};
use crate::task::signal::Signal;
use crate::task::{Task, TimeZone, chrono_duration, new_task_id};

/// How long a periodic tick's claim is kept; far longer than any clock skew between consumers.
const TICK_CLAIM_TTL: Duration = Duration::from_secs(2 * 60 * 60);

pub(super) async fn run(
    huey: Huey,
    registry: &'static Registry,
    interval: Duration,
    periodic_tick: Option<Duration>,
    zone: TimeZone,
    mut stop: watch::Receiver<Stop>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_tick = None;
    loop {
        tokio::select! {
            biased;
            _ = stopped(&mut stop, Stop::Graceful) => return,
            _ = ticker.tick() => {}
        }
        let now = Utc::now();
        promote_due(&huey, now).await;
        let Some(tick_length) = periodic_tick else {
            continue;
        };
        let tick = tick_number(now, tick_length);
        if last_tick != Some(tick) {
            last_tick = Some(tick);
            if let Err(error) = enqueue_periodic(&huey, registry, now, tick_length, &zone).await {
                tracing::error!(error = %crate::error_chain(&error), "could not enqueue periodic tasks");
            }
        }
    }
}

async fn promote_due(huey: &Huey, now: DateTime<Utc>) {
    match huey.storage().promote_due(now).await {
        Ok(moved) => {
            for bytes in moved {
                if let Ok(message) = huey.decode_message(&bytes) {
                    huey.emit(Signal::Enqueued, &Task::from_message(message), None);
                }
            }
        }
        Err(error) => {
            tracing::error!(error = %crate::error_chain(&error), "could not read the schedule")
        }
    }
}

/// Which tick `at` falls in, counting ticks of `length` from the epoch.
fn tick_number(at: DateTime<Utc>, length: Duration) -> i64 {
    let length_ms = i64::try_from(length.as_millis()).unwrap_or(i64::MAX).max(1);
    at.timestamp_millis().div_euclid(length_ms)
}

/// Enqueues every periodic task due in the tick of `at` that no other consumer has claimed
/// yet; returns the ids enqueued.
pub(crate) async fn enqueue_periodic(
    huey: &Huey,
    registry: &Registry,
    at: DateTime<Utc>,
    tick_length: Duration,
    zone: &TimeZone,
) -> Result<Vec<String>, crate::HueyError> {
    let tick = tick_number(at, tick_length);
    let mut enqueued = Vec::new();
    for descriptor in registry.read_periodic_in(at, zone) {
        let claim = format!(
            "periodic:{}:{}:{tick}",
            descriptor.name,
            tick_length.as_millis()
        );
        let claimed = huey
            .storage()
            .put_if_empty(&claim, b"1".to_vec(), Some(TICK_CLAIM_TTL))
            .await?;
        if !claimed {
            continue;
        }
        let message = periodic_message(descriptor, at);
        enqueued.push(message.id.clone());
        huey.enqueue_raw(message).await?;
    }
    Ok(enqueued)
}

fn periodic_message(descriptor: &TaskDescriptor, at: DateTime<Utc>) -> Message {
    let options = descriptor.options;
    Message {
        v: MESSAGE_VERSION,
        id: new_task_id(),
        name: descriptor.name.to_owned(),
        args: serde_json::value::to_raw_value(&NoArgs)
            .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()),
        eta: None,
        enqueued_at: Some(Utc::now()),
        trace: None,
        retries: options.retries,
        retry_delay: options.retry_delay.as_secs_f64(),
        retry_backoff: options.retry_backoff,
        priority: options.priority,
        expires_at: options.expires.map(|d| at + chrono_duration(d)),
        timeout: options.timeout.map(|t| t.as_secs_f64()),
        periodic: true,
        takes_parent: false,
        on_complete: None,
        on_error: None,
        chord: None,
    }
}

impl Huey {
    /// Enqueues the periodic tasks that are due in the minute of `at`, as the consumer's
    /// scheduler does each minute; returns their ids. Each tick is claimed in storage, so a tick
    /// already enqueued (by this or another consumer) is not enqueued again.
    pub async fn enqueue_periodic(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>, crate::HueyError> {
        enqueue_periodic(
            self,
            Registry::global()?,
            at,
            std::time::Duration::from_secs(60),
            &TimeZone::UTC,
        )
        .await
    }
}
