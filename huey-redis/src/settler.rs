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

    /// The number of arguments and their bytes in all.
    fn size(&self) -> (usize, usize) {
        (self.ends.len(), self.bytes.len())
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

async fn write(conn: &mut ConnectionManager, keys: &SettleKeys, mut jobs: Vec<Job>) {
    let call = SettleCall::new(keys, &jobs, &SETTLE_MANY, "normal");
    // The command holds every argument now: free the packed copies before it is sent, so a
    // big message is not held once more meanwhile.
    for job in &mut jobs {
        job.args = Packed::default();
    }
    let mut outcome = invoke(conn, &call.cmd, &SETTLE_MANY).await;
    if outcome.as_ref().is_err_and(is_full) {
        // Redis is at maxmemory and refused the whole call before it ran: settle what frees
        // memory, so the queue can drain, and defer the rest.
        let freeing = call.retarget(&SETTLE_FREEING, "freeing");
        outcome = invoke(conn, &freeing, &SETTLE_FREEING).await;
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

/// A settle script call, as one EVALSHA command.
struct SettleCall {
    cmd: redis::Cmd,
    /// Where the settle mode ('normal' or 'freeing') is among the command's arguments.
    mode_at: usize,
}

impl SettleCall {
    /// Built here, not through `ScriptInvocation`, which keeps a copy of every argument besides
    /// the command's own (a big message's processing entry was held once more), and sized up
    /// front, so a big argument is not copied into a buffer twice its size.
    fn new(keys: &SettleKeys, jobs: &[Job], script: &Script, mode: &str) -> SettleCall {
        let (count, bytes) = jobs.iter().fold((0, 0), |(count, bytes), job| {
            let (c, b) = job.args.size();
            (count + c, bytes + b)
        });
        let mut cmd = redis::Cmd::with_capacity(count + 18, bytes + 1024);
        cmd.arg("EVALSHA")
            .arg(script.get_hash())
            .arg(7)
            .arg(&keys.results)
            .arg(&keys.processing)
            .arg(&keys.revoked)
            .arg(&keys.queue)
            .arg(&keys.schedule)
            .arg(&keys.dead)
            .arg(&keys.wake)
            .arg(&keys.notify_prefix)
            .arg(&keys.waiting_prefix)
            .arg(&keys.kv_prefix)
            .arg(keys.notify_ttl_ms)
            .arg(keys.result_ttl_ms)
            .arg(&keys.chord_prefix)
            .arg(keys.mode);
        let mode_at = cmd.args_iter().len();
        cmd.arg(mode).arg(&keys.dead_letter_limit);
        for job in jobs {
            for arg in job.args.args() {
                cmd.arg(arg);
            }
        }
        SettleCall { cmd, mode_at }
    }

    /// The same call to `script` in `mode`.
    fn retarget(&self, script: &Script, mode: &str) -> redis::Cmd {
        let mut cmd = redis::Cmd::with_capacity(self.cmd.args_iter().len(), 1024);
        for (at, arg) in self.cmd.args_iter().enumerate() {
            match (at, arg) {
                (1, _) => cmd.arg(script.get_hash()),
                (at, _) if at == self.mode_at => cmd.arg(mode),
                (_, redis::Arg::Simple(bytes)) => cmd.arg(bytes),
                // `new` adds no other kind of argument.
                _ => &mut cmd,
            };
        }
        cmd
    }
}

/// Runs an EVALSHA of `script`, loading the script first if Redis does not have it.
async fn invoke(
    conn: &mut ConnectionManager,
    cmd: &redis::Cmd,
    script: &Script,
) -> Result<Vec<i64>, redis::RedisError> {
    match cmd.query_async(conn).await {
        Err(error)
            if error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
        {
            script.load_async(conn).await?;
            cmd.query_async(conn).await
        }
        outcome => outcome,
    }
}
