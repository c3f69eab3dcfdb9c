//! Group commit for finished tasks: workers hand their settlements to one background task,
//! which applies everything that queued up meanwhile in a single script call. Under load one
//! call settles many tasks; an idle queue pays no extra wait, since a lone settlement is
//! written at once.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};

use crate::scripts::SETTLE_MANY;

/// Settlements applied per script call at most.
const MAX_BATCH: usize = 512;

/// The keys and settings a settlement needs, fixed once the storage knows its namespace.
#[derive(Debug)]
pub(crate) struct SettleKeys {
    pub results: String,
    pub processing: String,
    pub revoked: String,
    pub queue: String,
    pub schedule: String,
    pub dead: String,
    pub wake: String,
    pub notify_prefix: String,
    pub waiting_prefix: String,
    pub kv_prefix: String,
    pub chord_prefix: String,
    pub mode: &'static str,
    pub notify_ttl_ms: u64,
    pub result_ttl_ms: u64,
}

/// One settlement, already laid out as the script's per-settlement arguments.
pub(crate) struct Job {
    pub keys: Arc<SettleKeys>,
    pub args: Vec<Vec<u8>>,
    /// Whether it applied (its claim was still held).
    pub done: oneshot::Sender<Result<bool, String>>,
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
        .key(&keys.queue)
        .key(&keys.schedule)
        .key(&keys.dead)
        .key(&keys.wake)
        .arg(&keys.notify_prefix)
        .arg(&keys.waiting_prefix)
        .arg(&keys.kv_prefix)
        .arg(keys.notify_ttl_ms)
        .arg(keys.result_ttl_ms)
        .arg(&keys.chord_prefix)
        .arg(keys.mode);
    for job in &jobs {
        for arg in &job.args {
            call.arg(arg.as_slice());
        }
    }
    let outcome = call
        .invoke_async::<Vec<i64>>(conn)
        .await
        .map_err(|e| e.to_string());
    match outcome {
        Ok(applied) if applied.len() == jobs.len() => {
            for (job, applied) in jobs.into_iter().zip(applied) {
                let _ = job.done.send(Ok(applied == 1));
            }
        }
        Ok(applied) => {
            let error = format!(
                "the settle script answered for {} of {} settlements",
                applied.len(),
                jobs.len()
            );
            for job in jobs {
                let _ = job.done.send(Err(error.clone()));
            }
        }
        Err(error) => {
            for job in jobs {
                let _ = job.done.send(Err(error.clone()));
            }
        }
    }
}
