//! Group commit for finished tasks: workers hand their settles (result, revoke clean-up,
//! acknowledgement) to one background task, which writes everything that queued up meanwhile
//! in a single script call. Under load one call settles many tasks; an idle queue pays no
//! extra wait, since a lone settle is written at once.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};

use crate::scripts::SETTLE_MANY;

/// Settles written per script call at most.
const MAX_BATCH: usize = 512;

/// The keys and settings a settle needs, fixed once the storage knows its namespace.
#[derive(Debug)]
pub(crate) struct SettleKeys {
    pub results: String,
    pub processing: String,
    pub revoked: String,
    pub notify_prefix: String,
    pub waiting_prefix: String,
    pub kv_prefix: String,
    pub notify_ttl_ms: u64,
    pub result_ttl_ms: u64,
}

/// One task to settle: empty strings skip a step.
pub(crate) struct Job {
    pub keys: Arc<SettleKeys>,
    pub field: String,
    pub value: Vec<u8>,
    pub entry: Vec<u8>,
    pub revoke: String,
    pub done: oneshot::Sender<Result<(), String>>,
}

/// Starts the settle task on the current runtime.
pub(crate) fn spawn(conn: ConnectionManager) -> mpsc::UnboundedSender<Job> {
    let (sender, mut jobs) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        let mut conn = conn;
        let mut batch = Vec::new();
        while let Some(job) = jobs.recv().await {
            batch.push(job);
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            while !batch.is_empty() {
                // One call per namespace (in practice there is one).
                let keys = Arc::clone(&batch[0].keys);
                let (same, rest): (Vec<Job>, Vec<Job>) =
                    batch.drain(..).partition(|j| Arc::ptr_eq(&j.keys, &keys));
                batch = rest;
                write(&mut conn, &keys, same).await;
            }
        }
    });
    sender
}

async fn write(conn: &mut ConnectionManager, keys: &SettleKeys, jobs: Vec<Job>) {
    let mut call = SETTLE_MANY.prepare_invoke();
    call.key(&keys.results)
        .key(&keys.processing)
        .key(&keys.revoked)
        .arg(&keys.notify_prefix)
        .arg(&keys.waiting_prefix)
        .arg(&keys.kv_prefix)
        .arg(keys.notify_ttl_ms)
        .arg(keys.result_ttl_ms);
    for job in &jobs {
        call.arg(&job.field)
            .arg(job.value.as_slice())
            .arg(job.entry.as_slice())
            .arg(&job.revoke);
    }
    let outcome = call
        .invoke_async::<()>(conn)
        .await
        .map_err(|e| e.to_string());
    for job in jobs {
        let _ = job.done.send(outcome.clone());
    }
}
