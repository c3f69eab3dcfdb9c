//! Group commit for finished tasks: workers hand their settlements to one background task,
//! which applies everything that queued up meanwhile in a single script call. Under load one
//! call settles many tasks; an idle queue pays no extra wait, since a lone settlement is
//! written at once.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};

use redis::Script;

use crate::errors::{describe, is_full};
use crate::scripts::{SETTLE_FREEING, SETTLE_MANY};

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
    /// How many dead letters to keep, as the scripts' argument ('' = all).
    pub dead_letter_limit: String,
}

/// A settlement's script arguments, packed into one buffer: two allocations per settlement
/// instead of one per argument.
#[derive(Debug, Default)]
pub(crate) struct Packed {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Packed {
    pub fn with_capacity(bytes: usize, args: usize) -> Packed {
        Packed {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(args),
        }
    }

    /// Adds one argument.
    pub fn push(&mut self, arg: &[u8]) {
        self.bytes.extend_from_slice(arg);
        self.end();
    }

    /// Adds one argument written in parts.
    pub fn push_parts(&mut self, parts: &[&[u8]]) {
        for part in parts {
            self.bytes.extend_from_slice(part);
        }
        self.end();
    }

    /// Adds a number, as its decimal text.
    pub fn push_number(&mut self, n: impl std::fmt::Display) {
        use std::io::Write;
        let _ = write!(self.bytes, "{n}");
        self.end();
    }

    fn end(&mut self) {
        self.ends.push(self.bytes.len());
    }

    fn args(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }
}

/// One settlement, already laid out as the script's per-settlement arguments.
pub(crate) struct Job {
    pub keys: Arc<SettleKeys>,
    pub args: Packed,
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
    let mut outcome = invoke(conn, keys, &jobs, &SETTLE_MANY, "normal").await;
    if outcome.as_ref().is_err_and(is_full) {
        // Redis is at maxmemory and refused the whole call before it ran: settle what frees
        // memory, so the queue can drain, and defer the rest.
        outcome = invoke(conn, keys, &jobs, &SETTLE_FREEING, "freeing").await;
    }
    let outcome = outcome.map_err(|e| describe(&e));
    match outcome {
        Ok(statuses) if statuses.len() == jobs.len() => {
            for (job, status) in jobs.into_iter().zip(statuses) {
                let _ = job.done.send(match status {
                    1 => Ok(true),
                    0 => Ok(false),
                    _ => Err(FULL.to_owned()),
                });
            }
        }
        Ok(statuses) => {
            let error = format!(
                "the settle script answered for {} of {} settlements",
                statuses.len(),
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

/// Why a deferred settlement waits.
const FULL: &str = "Redis is full (maxmemory reached, noeviction) and this settlement would \
                    grow it; it waits until memory is freed";

async fn invoke(
    conn: &mut ConnectionManager,
    keys: &SettleKeys,
    jobs: &[Job],
    script: &Script,
    mode: &str,
) -> Result<Vec<i64>, redis::RedisError> {
    let mut call = script.prepare_invoke();
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
        .arg(keys.mode)
        .arg(mode)
        .arg(&keys.dead_letter_limit);
    for job in jobs {
        for arg in job.args.args() {
            call.arg(arg);
        }
    }
    call.invoke_async::<Vec<i64>>(conn).await
}
