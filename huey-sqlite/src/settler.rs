//! Group commit for finished tasks: workers hand their settlements to one background task,
//! which applies everything that queued up meanwhile in a single transaction. Under load one
//! commit settles many tasks; an idle queue pays no extra wait, since a lone settlement is
//! written at once.

use std::sync::Arc;

use huey_core::storage::{Settlement, StorageResult};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Db, Scope};
use crate::settle::{self, Applied};

/// Settlements applied per transaction at most: enough to amortise the commit, few enough
/// that the write lock is never held long.
const MAX_BATCH: usize = 512;

/// One settlement waiting for its transaction.
pub(crate) struct Job {
    /// The claim's receipt (its queue row), or `None` for a settlement without a claim.
    pub receipt: Option<i64>,
    pub settlement: Settlement,
    pub done: oneshot::Sender<StorageResult<Applied>>,
}

/// Starts the settle task on the current runtime. It ends when every sender is gone.
pub(crate) fn spawn(db: Arc<Db>, scope: Arc<Scope>) -> mpsc::UnboundedSender<Job> {
    let (sender, mut jobs) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(job) = jobs.recv().await {
            batch.push(job);
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            write(&db, &scope, std::mem::take(&mut batch)).await;
        }
    });
    sender
}

/// Applies `jobs` in one transaction and answers each; if that transaction fails, each job is
/// tried alone, so one bad settlement cannot fail the others.
async fn write(db: &Db, scope: &Scope, jobs: Vec<Job>) {
    let pending: Vec<_> = jobs.iter().map(|j| (j.receipt, &j.settlement)).collect();
    let together = write_tx!(db, |tx| settle::apply_batch(&mut tx, scope, &pending)
        .await?);
    drop(pending);
    match together {
        Ok(outcomes) => {
            wake(db, &outcomes);
            for (job, applied) in jobs.into_iter().zip(outcomes) {
                let _ = job.done.send(Ok(applied));
            }
        }
        Err(_) if jobs.len() > 1 => {
            for job in jobs {
                let outcome = alone(db, scope, job.receipt, &job.settlement).await;
                let _ = job.done.send(outcome);
            }
        }
        Err(error) => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.done.send(Err(error));
            }
        }
    }
}

/// Applies one settlement in a transaction of its own, and wakes whoever it concerns.
pub(crate) async fn alone(
    db: &Db,
    scope: &Scope,
    receipt: Option<i64>,
    settlement: &Settlement,
) -> StorageResult<Applied> {
    let outcomes = write_tx!(db, |tx| {
        settle::apply_batch(&mut tx, scope, &[(receipt, settlement)]).await?
    })?;
    wake(db, &outcomes);
    Ok(outcomes.first().copied().unwrap_or_default())
}

/// Wakes this process's waiters for what the committed settlements did.
fn wake(db: &Db, outcomes: &[Applied]) {
    if outcomes.iter().any(|a| a.queued) {
        db.shared.queue.notify_waiters();
    }
    if outcomes.iter().any(|a| a.stored) {
        db.shared.data.notify_waiters();
    }
}
