//! The queue and its claims: claiming with a size limit, settling through the group commit,
//! and the consumer's lease (heartbeat, recovery of expired leases, retiring).

use std::sync::atomic::Ordering;
use std::time::Duration;

use huey_core::async_trait;
use huey_core::storage::{
    Delivery, Dequeue, QueueStorage, Settled, Settlement, StorageResult, Upkeep, over_limit_reason,
};
use sqlx::Row;
use tokio::sync::oneshot;

use crate::db::{ms, now_ms, sql_limit};
use crate::errors::Failure;
use crate::rows;
use crate::settle::Applied;
use crate::settler::{self, Job};
use crate::storage::SqliteStorage;

/// How long the record of a consumer presumed dead is kept, so that one that was only frozen
/// learns of it at its next heartbeat.
const LOST_KEPT_MS: i64 = 24 * 3600 * 1000;

/// How long a fired chord's record is kept: a late re-run of a member comes soon after its
/// chord fired (a crash, a requeue).
const FIRED_KEPT_MS: i64 = 24 * 3600 * 1000;

fn receipt(delivery: &Delivery) -> i64 {
    i64::try_from(delivery.receipt).unwrap_or(i64::MAX)
}

impl SqliteStorage {
    /// Whether a message is ready in this namespace: a read, so an idle poll never takes the
    /// write lock.
    async fn ready(&self) -> StorageResult<bool> {
        read!(&self.db, |conn| {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM huey_queue WHERE namespace = ? AND owner IS NULL)",
            )
            .bind(self.ns())
            .fetch_one(&mut *conn)
            .await?
        })
    }

    /// Claims up to `max` ready messages in one transaction, setting aside those over `limit`.
    /// Returns the claims in queue order and how many were set aside.
    async fn claim(
        &self,
        max: usize,
        limit: Option<usize>,
    ) -> StorageResult<(Vec<Delivery>, usize)> {
        let ns = self.ns();
        let owner = self.scope.owner.as_str();
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let registered = self.registered.load(Ordering::SeqCst);
        let (mut claimed, refused) = write_tx!(&self.db, |tx| {
            if !registered {
                // A claim registers its owner, so that a heartbeat that finds the row gone
                // knows this consumer was presumed dead.
                sqlx::query(
                    "INSERT INTO huey_consumers (namespace, id, beat_ms) VALUES (?, ?, ?)
                     ON CONFLICT (namespace, id) DO NOTHING",
                )
                .bind(ns)
                .bind(owner)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            }
            // One statement claims the next `max` messages that are within the limit, and
            // says whether any revocation flag exists. `length()` reads a message's size from
            // its row header, not its bytes.
            let rows = sqlx::query(
                "UPDATE huey_queue SET owner = ?1 WHERE id IN (
                     SELECT id FROM huey_queue WHERE namespace = ?2 AND owner IS NULL
                     ORDER BY priority DESC, id LIMIT ?3)
                 AND length(data) <= ?4
                 RETURNING id, priority, data, deliveries,
                     EXISTS (SELECT 1 FROM huey_revocations WHERE namespace = ?2)",
            )
            .bind(owner)
            .bind(ns)
            .bind(max)
            .bind(limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX)))
            .fetch_all(&mut *tx)
            .await?;
            let mut claimed = Vec::with_capacity(rows.len());
            for row in rows {
                let id: i64 = row.try_get(0)?;
                let returns: i64 = row.try_get(3)?;
                claimed.push(Delivery {
                    receipt: u64::try_from(id)
                        .map_err(|_| Failure::Shape(format!("queue row id {id} is negative")))?,
                    priority: row.try_get(1)?,
                    data: row.try_get(2)?,
                    revocations: row.try_get(4)?,
                    deliveries: u32::try_from(returns.saturating_add(1)).unwrap_or(u32::MAX),
                });
            }
            let mut refused = 0usize;
            let room = max - i64::try_from(claimed.len()).unwrap_or(max);
            if let Some(limit) = limit
                && room > 0
            {
                // Fewer than `max` claimed: messages of those next `max` were over the limit
                // (or the queue is short). They are at the head now, and move to the dead
                // letters, their bytes never leaving SQLite.
                let over: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT id, length(data) FROM huey_queue
                     WHERE namespace = ? AND owner IS NULL AND length(data) > ?
                     ORDER BY priority DESC, id LIMIT ?",
                )
                .bind(ns)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .bind(room)
                .fetch_all(&mut *tx)
                .await?;
                for (id, len) in over {
                    let size = usize::try_from(len).unwrap_or(usize::MAX);
                    let reason = over_limit_reason(size, limit);
                    if rows::dead_letter(&mut tx, &self.scope, id, None, &reason).await? {
                        refused += 1;
                    }
                }
            }
            (claimed, refused)
        })?;
        self.registered.store(true, Ordering::SeqCst);
        // RETURNING gives rows in no set order.
        claimed.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.receipt.cmp(&b.receipt)));
        Ok((claimed, refused))
    }

    /// Applies a settlement through the settle task (group commit), or alone if that task is
    /// gone (its runtime shut down).
    async fn apply(&self, receipt: Option<i64>, settlement: &Settlement) -> StorageResult<Applied> {
        let (done, answer) = oneshot::channel();
        let job = Job {
            receipt,
            settlement: settlement.clone(),
            done,
        };
        if self.settler.send(job).is_ok()
            && let Ok(outcome) = answer.await
        {
            return outcome;
        }
        settler::alone(&self.db, &self.scope, receipt, settlement).await
    }
}

#[async_trait]
impl QueueStorage for SqliteStorage {
    async fn enqueue(&self, data: Vec<u8>, priority: i32) -> StorageResult<()> {
        write_tx!(&self.db, |tx| rows::enqueue(
            &mut tx,
            self.ns(),
            &data,
            priority
        )
        .await?)?;
        self.db.shared.queue.notify_waiters();
        Ok(())
    }

    async fn enqueue_many(&self, items: Vec<(Vec<u8>, i32)>) -> StorageResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        write_tx!(&self.db, |tx| {
            for (data, priority) in &items {
                rows::enqueue(&mut tx, self.ns(), data, *priority).await?;
            }
        })?;
        self.db.shared.queue.notify_waiters();
        Ok(())
    }

    async fn dequeue(&self, request: Dequeue) -> StorageResult<Vec<Delivery>> {
        let deadline = tokio::time::Instant::now() + request.wait;
        // The first look claims at once (a fetcher usually asks because there is work), and so
        // does a look after a wake-up of this process: an outbox's commit hook wakes before its
        // commit is visible to a read, but a claim waits for that commit's write lock. A look
        // after a poll's nap reads first, so an idle poll never takes the write lock.
        let mut claim_now = true;
        loop {
            // Registered before looking, so a write of this process between the look and the
            // wait still wakes it; another process's write is seen at the next poll.
            let notified = self.db.shared.queue.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if std::mem::take(&mut claim_now) || self.ready().await? {
                let (claimed, refused) = self
                    .claim(request.max.max(1), request.max_message_size)
                    .await?;
                if !claimed.is_empty() {
                    return Ok(claimed);
                }
                if refused > 0 {
                    continue;
                }
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let nap = (deadline - now).min(self.options.poll);
            claim_now = tokio::time::timeout(nap, notified).await.is_ok();
        }
    }

    async fn settle(
        &self,
        claim: Option<&Delivery>,
        settlement: &Settlement,
    ) -> StorageResult<Settled> {
        let applied = self.apply(claim.map(receipt), settlement).await?;
        Ok(if applied.held {
            Settled::Applied
        } else {
            Settled::NotHeld
        })
    }

    async fn queue_size(&self) -> StorageResult<usize> {
        let n = read!(&self.db, |conn| {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM huey_queue WHERE namespace = ? AND owner IS NULL",
            )
            .bind(self.ns())
            .fetch_one(&mut *conn)
            .await?
        })?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn enqueued_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        read!(&self.db, |conn| {
            sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT data FROM huey_queue WHERE namespace = ? AND owner IS NULL
                 ORDER BY priority DESC, id LIMIT ?",
            )
            .bind(self.ns())
            .bind(sql_limit(limit))
            .fetch_all(&mut *conn)
            .await?
        })
    }

    async fn flush_queue(&self) -> StorageResult<()> {
        write_tx!(&self.db, |tx| {
            sqlx::query("DELETE FROM huey_queue WHERE namespace = ? AND owner IS NULL")
                .bind(self.ns())
                .execute(&mut *tx)
                .await?;
        })
    }

    fn maintenance_interval(&self) -> Option<Duration> {
        Some(self.options.heartbeat_interval())
    }

    fn claim_lease(&self) -> Option<Duration> {
        Some(self.options.lease)
    }

    async fn maintain(&self) -> StorageResult<Upkeep> {
        let ns = self.ns();
        let owner = self.scope.owner.as_str();
        let was_registered = self.registered.load(Ordering::SeqCst);
        let (lost, recovered) = write_tx!(&self.db, |tx| {
            let now = now_ms();
            let mine: Option<i64> = sqlx::query_scalar(
                "SELECT lost FROM huey_consumers WHERE namespace = ? AND id = ?",
            )
            .bind(ns)
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
            // Marked lost by another consumer's recovery, or (long after) forgotten.
            let lost = match mine {
                Some(flag) => flag != 0,
                None => was_registered,
            };
            sqlx::query(
                "INSERT INTO huey_consumers (namespace, id, beat_ms, lost) VALUES (?, ?, ?, 0)
                 ON CONFLICT (namespace, id) DO UPDATE SET beat_ms = excluded.beat_ms, lost = 0",
            )
            .bind(ns)
            .bind(owner)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            // Consumers silent for longer than the lease are presumed dead, and every claim
            // not owned by a live consumer goes back to the queue, counted as a delivery.
            sqlx::query(
                "UPDATE huey_consumers SET lost = 1, beat_ms = ?
                 WHERE namespace = ? AND lost = 0 AND beat_ms < ?",
            )
            .bind(now)
            .bind(ns)
            .bind(now - ms(self.options.lease))
            .execute(&mut *tx)
            .await?;
            let recovered = sqlx::query(
                "UPDATE huey_queue SET owner = NULL, deliveries = deliveries + 1
                 WHERE namespace = ?1 AND owner IS NOT NULL AND owner NOT IN (
                     SELECT id FROM huey_consumers WHERE namespace = ?1 AND lost = 0)",
            )
            .bind(ns)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // Housekeeping: what has lapsed.
            sqlx::query(
                "DELETE FROM huey_consumers WHERE namespace = ? AND lost = 1 AND beat_ms < ?",
            )
            .bind(ns)
            .bind(now - LOST_KEPT_MS)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM huey_chords WHERE namespace = ? AND fired_ms < ?")
                .bind(ns)
                .bind(now - FIRED_KEPT_MS)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "DELETE FROM huey_kv WHERE namespace = ? AND expires_ms IS NOT NULL AND expires_ms <= ?",
            )
            .bind(ns)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM huey_waiters WHERE namespace = ? AND until_ms <= ?")
                .bind(ns)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            (lost, recovered)
        })?;
        self.registered.store(true, Ordering::SeqCst);
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "put the claims of consumers whose lease lapsed back on the queue"
            );
            self.db.shared.queue.notify_waiters();
        }
        Ok(if lost { Upkeep::Lost } else { Upkeep::Kept })
    }

    async fn retire(&self) -> StorageResult<()> {
        let returned = write_tx!(&self.db, |tx| {
            // Given back uncounted: these claims were not started, or were interrupted by this
            // consumer's own stop.
            let returned = sqlx::query("UPDATE huey_queue SET owner = NULL WHERE owner = ?")
                .bind(&self.scope.owner)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM huey_consumers WHERE namespace = ? AND id = ?")
                .bind(self.ns())
                .bind(&self.scope.owner)
                .execute(&mut *tx)
                .await?;
            returned
        })?;
        self.registered.store(false, Ordering::SeqCst);
        if returned > 0 {
            tracing::info!(returned, "returned unfinished claims to the queue");
            self.db.shared.queue.notify_waiters();
        }
        Ok(())
    }
}
