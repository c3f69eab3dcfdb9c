//! The queue and its claims: enqueue (with its notification), claims with `FOR UPDATE SKIP
//! LOCKED` and a lease, the heartbeat that renews leases and recovers expired ones, and
//! settlement through the settle task.

use std::time::{Duration, Instant};

use huey_core::StorageError;
use huey_core::async_trait;
use huey_core::storage::{
    Delivery, Dequeue, Disposition, QueueStorage, Settled, Settlement, StorageResult, Upkeep,
    over_limit_reason,
};
use sqlx::{PgExecutor, Row};

use crate::errors::backend;
use crate::schema::{Tables, outcome_commit};
use crate::settler::Job;
use crate::storage::{PostgresStorage, millis};

/// Rows deleted per statement by the heartbeat's clean-up of expired values.
const SWEEP_BATCH: i64 = 1000;

/// Row changes since the last ANALYZE of the queue table past which the heartbeat analyzes it
/// (when they are also half the table or more).
const ANALYZE_AFTER: i64 = 10_000;

/// What the heartbeat reads of the queue table: changes since the last ANALYZE, its estimated
/// rows, its dead rows, and whether a vacuum ran in the last ten seconds.
type TableStats = (Option<i64>, Option<f32>, Option<i64>, Option<bool>);

/// Dead rows in the queue or claims table past which the heartbeat vacuums it (when no vacuum ran for
/// ten seconds). Claims step over the dead rows at the head of the ready index, however many
/// live ones wait behind them, so the count matters, not the ratio (measured on a drain of a
/// million: the last 100,000 at 65% of the first's rate with 100,000 and a minute, 77% with
/// these).
const VACUUM_AFTER: i64 = 20_000;

/// What one claim statement took.
struct ClaimBatch {
    /// The claims to hand out, with their row ids.
    claimed: Vec<(i64, Delivery)>,
    /// Claims over the size limit, with their size and the limit, to dead-letter.
    oversized: Vec<(Delivery, usize, usize)>,
    /// Rows taken from the queue, both kinds.
    taken: usize,
    /// The last row taken in claim order (lowest priority, then highest id).
    last: Option<(i32, i64)>,
}

/// Inserts messages into `namespace`'s queue and notifies its consumers, in one statement: on
/// the caller's transaction the notification is delivered when it commits, and not at all if
/// it rolls back.
pub(crate) async fn insert<'e>(
    executor: impl PgExecutor<'e>,
    tables: &Tables,
    namespace: &str,
    items: &[(Vec<u8>, i32)],
) -> Result<(), sqlx::Error> {
    if items.is_empty() {
        return Ok(());
    }
    let (data, priority): (Vec<&[u8]>, Vec<i32>) =
        items.iter().map(|(d, p)| (d.as_slice(), *p)).unzip();
    let sql = format!(
        "WITH inserted AS (
            INSERT INTO {queue} (namespace, priority, data)
            SELECT $1, m.priority, m.data
            FROM unnest($2::bytea[], $3::int[]) WITH ORDINALITY AS m(data, priority, n)
            ORDER BY m.n
            RETURNING 1
        )
        SELECT pg_notify('{channel}', 'q:' || $1) WHERE EXISTS (SELECT 1 FROM inserted)",
        queue = tables.queue,
        channel = tables.channel,
    );
    sqlx::query(&sql)
        .bind(namespace)
        .bind(data)
        .bind(priority)
        .execute(executor)
        .await
        .map(drop)
}

impl PostgresStorage {
    /// Claims up to `max` messages; those over `limit` bytes go to the dead letters unread.
    /// Returns the claims and how many were set aside.
    async fn claim(
        &self,
        max: usize,
        limit: Option<usize>,
    ) -> StorageResult<(Vec<Delivery>, usize)> {
        let mut claimed = Vec::new();
        let mut oversized = Vec::new();
        loop {
            let wakes = *self.listener.wakes.queue.borrow();
            let start = self.cursor().start(wakes);
            let wanted = max - claimed.len() - oversized.len();
            let batch = self.claim_batch(start.after, wanted, limit).await?;
            let full = batch.taken == wanted;
            self.cursor().claimed(start, full, batch.last);
            claimed.extend(batch.claimed);
            oversized.extend(batch.oversized);
            // A read after the cursor that came up short has reached the end of its
            // priority: read the rest from the start of the index.
            if full || start.after.is_none() {
                break;
            }
        }
        // Highest priority first, FIFO within: the order the rows were picked in.
        claimed.sort_by(|(a_id, a): &(i64, Delivery), (b_id, b)| {
            b.priority.cmp(&a.priority).then(a_id.cmp(b_id))
        });
        let refused = oversized.len();
        for (delivery, len, limit) in oversized {
            self.dead_letter(&delivery, &over_limit_reason(len, limit))
                .await?;
        }
        if refused > 0 {
            tracing::warn!(
                count = refused,
                limit,
                "moved messages over the size limit to the dead-letter list unread"
            );
        }
        Ok((claimed.into_iter().map(|(_, d)| d).collect(), refused))
    }

    /// One claim statement: up to `max` rows, read from the start of the ready index or
    /// after the row `after` (within its priority).
    async fn claim_batch(
        &self,
        after: Option<(i32, i64)>,
        max: usize,
        limit: Option<usize>,
    ) -> StorageResult<ClaimBatch> {
        let owner = self.consumer_id();
        let t = &self.tables;
        // The picked rows move to the claims table in the statement that picks them, so a
        // claim costs a delete and an insert, and no index of the queue table changes. The
        // ids go through an array so that every plan deletes by primary key: a join let the
        // generic plan hash the whole table, and custom plans cost a planning per claim.
        // A message over the size limit is claimed like any other but its bytes are not sent;
        // it is then dead-lettered through a settlement (rare, so the claim stays one
        // statement with no dead-letter insert to set up).
        let sql = format!(
            "WITH picked AS MATERIALIZED (
                SELECT id FROM {queue}
                WHERE namespace = $1{after}
                ORDER BY priority DESC, id
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            ), taken AS (
                DELETE FROM {queue} q WHERE q.id = ANY (ARRAY(SELECT id FROM picked))
                RETURNING q.id, q.priority, q.data, q.deliveries, q.enqueued_at
            ), claimed AS (
                INSERT INTO {claims} (claim, id, namespace, owner, priority, data, deliveries,
                    enqueued_at)
                SELECT nextval('{seq}'), id, $1, $3, priority, data, deliveries, enqueued_at
                FROM taken
                ORDER BY priority DESC, id
                RETURNING id, claim, priority, deliveries, octet_length(data)::bigint AS len,
                    CASE WHEN $4::bigint IS NULL OR octet_length(data) <= $4 THEN data END
                        AS data
            ), commit_mode AS (
                SELECT set_config('synchronous_commit', {commit}, true)
            )
            SELECT id, claim, priority, data, deliveries, len,
                EXISTS (SELECT 1 FROM {revocations} WHERE namespace = $1) AS revocations
            FROM claimed
            WHERE (SELECT count(*) FROM commit_mode) > 0",
            queue = t.queue,
            claims = t.claims,
            seq = t.claim_seq,
            revocations = t.revocations,
            after = if after.is_some() {
                " AND priority = $5 AND id > $6"
            } else {
                ""
            },
            commit = outcome_commit(self.options.synchronous_outcomes),
        );
        let limit_bytes = limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut query = sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(i64::try_from(max).unwrap_or(i64::MAX))
            .bind(&owner)
            .bind(limit_bytes);
        if let Some((priority, id)) = after {
            query = query.bind(priority).bind(id);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(backend)?;
        let taken = rows.len();
        let mut claimed = Vec::with_capacity(taken);
        let mut oversized = Vec::new();
        // The last row in claim order (lowest priority, then highest id), oversized or not.
        let mut last: Option<(i32, i64)> = None;
        for row in rows {
            let id: i64 = row.try_get("id").map_err(backend)?;
            let claim: i64 = row.try_get("claim").map_err(backend)?;
            let deliveries: i32 = row.try_get("deliveries").map_err(backend)?;
            let data: Option<Vec<u8>> = row.try_get("data").map_err(backend)?;
            let delivery = Delivery {
                data: data.unwrap_or_default(),
                priority: row.try_get("priority").map_err(backend)?,
                receipt: u64::try_from(claim).unwrap_or(0),
                revocations: row.try_get("revocations").map_err(backend)?,
                deliveries: u32::try_from(deliveries).unwrap_or(0).saturating_add(1),
            };
            let key = (delivery.priority, id);
            if last.is_none_or(|(p, i)| key.0 < p || (key.0 == p && key.1 > i)) {
                last = Some(key);
            }
            match limit {
                Some(limit) if delivery.data.is_empty() => {
                    let len: i64 = row.try_get("len").map_err(backend)?;
                    let len = usize::try_from(len).unwrap_or(usize::MAX);
                    if len > limit {
                        oversized.push((delivery, len, limit));
                        continue;
                    }
                    claimed.push((id, delivery));
                }
                _ => claimed.push((id, delivery)),
            }
        }
        Ok(ClaimBatch {
            claimed,
            oversized,
            taken,
            last,
        })
    }

    /// Drops the oldest dead letters beyond the retention limit.
    pub(crate) async fn trim_dead_letters(&self) -> StorageResult<()> {
        let Some(limit) = self.options.dead_letter_limit else {
            return Ok(());
        };
        let sql = format!(
            "DELETE FROM {dead} WHERE namespace = $1 AND seq <= (
                SELECT seq FROM {dead} WHERE namespace = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)",
            dead = self.tables.dead
        );
        sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Notifies this queue's consumers (in every process) that messages are available.
    pub(crate) async fn notify_queue(&self) -> StorageResult<()> {
        self.cursor().reset();
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.tables.channel)
            .bind(format!("q:{}", self.namespace))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Gives the claims of consumers that stopped beating (and of claimers that never
    /// registered, a lease after the claim) back to the queue, counted as deliveries.
    /// Returns how many came back.
    async fn recover(&self) -> StorageResult<i64> {
        let t = &self.tables;
        // The consumers deleted here are still visible to the rest of the statement, hence
        // the two tests for a claim's owner.
        let sql = format!(
            "WITH gone AS (
                DELETE FROM {consumers} WHERE namespace = $1 AND lease_until < now() RETURNING id
            ), orphans AS (
                DELETE FROM {claims} c
                WHERE c.namespace = $1 AND (c.owner IN (SELECT id FROM gone)
                    OR (c.claimed_at < now() - $2 * interval '1 millisecond'
                        AND NOT EXISTS (SELECT 1 FROM {consumers} k
                                        WHERE k.namespace = $1 AND k.id = c.owner)))
                RETURNING c.id, c.priority, c.data, c.deliveries, c.enqueued_at
            ), back AS (
                INSERT INTO {queue} (id, namespace, priority, data, deliveries, enqueued_at)
                SELECT id, $1, priority, data, deliveries + 1, enqueued_at FROM orphans
                RETURNING 1
            )
            SELECT count(*) FROM back",
            consumers = t.consumers,
            claims = t.claims,
            queue = t.queue,
        );
        let (moved,): (i64,) = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(millis(self.options.lease))
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        if moved > 0 {
            tracing::warn!(
                moved,
                "put the claims of stopped consumers back on the queue"
            );
            self.notify_queue().await?;
        }
        Ok(moved)
    }

    /// Looks after the queue table's statistics, and the dead rows of the queue and claims
    /// tables, from the heartbeat.
    ///
    /// It analyzes the queue table when it changed a lot since its statistics were taken (a
    /// burst of enqueues, a drained backlog), instead of waiting for autovacuum: with stale
    /// statistics the planner believes a namespace's rows are few, and claims sort the whole
    /// backlog instead of reading the first rows of the ready index (measured: a million
    /// queued tasks claimed at a sixth of the rate until an ANALYZE). And it vacuums either
    /// table in the background when dead rows pile up (see
    /// [`PostgresOptions::vacuum`](crate::PostgresOptions::vacuum)): autovacuum looks at a
    /// database once a minute by default, in which time a busy queue's claims table grows by a
    /// million dead rows (measured: 60 MB, which the heartbeat's recovery then scanned in 47 ms).
    /// One consumer at a time does each.
    async fn tend_tables(&self) -> StorageResult<()> {
        let t = &self.tables;
        let mut to_vacuum = Vec::new();
        for table in [&t.queue, &t.claims] {
            let (changed, rows, dead, vacuumed): TableStats = sqlx::query_as(
                "SELECT s.n_mod_since_analyze, c.reltuples, s.n_dead_tup,
                        greatest(s.last_vacuum, s.last_autovacuum) > now() - interval '10 seconds'
                     FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
                     WHERE c.oid = $1::regclass",
            )
            .bind(table)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
            if self.options.vacuum && dead.unwrap_or(0) >= VACUUM_AFTER && vacuumed != Some(true) {
                to_vacuum.push(table.clone());
            }
            if table == &t.queue {
                self.analyze_if_stale(changed.unwrap_or(0), rows.unwrap_or(0.0))
                    .await?;
            }
        }
        if !to_vacuum.is_empty() {
            self.vacuum_in_background(to_vacuum);
        }
        Ok(())
    }

    /// Analyzes the queue table when `changed` rows since its last ANALYZE are many, and half
    /// its estimated `rows` or more.
    async fn analyze_if_stale(&self, changed: i64, rows: f32) -> StorageResult<()> {
        let queue = &self.tables.queue;
        let rows = f64::from(rows.max(0.0));
        if changed < ANALYZE_AFTER || (changed as f64) < rows / 2.0 {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (ours,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock(hashtext($1))")
            .bind(format!("huey-postgres analyze {queue}"))
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if ours {
            if let Err(error) = sqlx::query(&format!("ANALYZE {queue}"))
                .execute(&mut *tx)
                .await
            {
                // Not the table's owner, say: autovacuum will analyze it in its own time.
                tracing::debug!(%error, "could not analyze the queue table");
                return Ok(());
            }
            tracing::debug!(changed, rows, "analyzed the queue table");
        }
        tx.commit().await.map_err(backend)
    }

    /// Starts a `VACUUM` of `tables` on a connection of its own, unless one of this storage's
    /// runs already; a session advisory lock per table keeps other consumers' off meanwhile.
    /// In the background: a vacuum of a big table takes longer than a heartbeat may.
    fn vacuum_in_background(&self, tables: Vec<String>) {
        use std::sync::atomic::Ordering;
        if self.vacuuming.swap(true, Ordering::SeqCst) {
            return;
        }
        let (pool, flag) = (self.pool.clone(), std::sync::Arc::clone(&self.vacuuming));
        tokio::spawn(async move {
            let vacuumed = async {
                let mut conn = pool.acquire().await?;
                for table in &tables {
                    let lock = format!("huey-postgres vacuum {table}");
                    let (ours,): (bool,) =
                        sqlx::query_as("SELECT pg_try_advisory_lock(hashtext($1))")
                            .bind(&lock)
                            .fetch_one(&mut *conn)
                            .await?;
                    if !ours {
                        continue;
                    }
                    let started = std::time::Instant::now();
                    let outcome = sqlx::query(&format!("VACUUM {table}"))
                        .execute(&mut *conn)
                        .await;
                    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
                        .bind(&lock)
                        .execute(&mut *conn)
                        .await?;
                    outcome?;
                    tracing::debug!(table, took = ?started.elapsed(), "vacuumed");
                }
                Ok::<(), sqlx::Error>(())
            };
            if let Err(error) = vacuumed.await {
                tracing::debug!(%error, "could not vacuum the queue's tables");
            }
            flag.store(false, Ordering::SeqCst);
        });
    }

    /// Deletes expired values, slots and waits, a batch of each per heartbeat: a busy queue
    /// never spends long on it, and a backlog shrinks by a batch a beat.
    async fn sweep(&self) -> StorageResult<()> {
        let t = &self.tables;
        for (table, column) in [
            (&t.kv, "expires_at"),
            (&t.semaphores, "expires_at"),
            (&t.waiting, "until"),
        ] {
            let sql = format!(
                "DELETE FROM {table} WHERE ctid = ANY (ARRAY(
                    SELECT ctid FROM {table} WHERE {column} < now() LIMIT $1))"
            );
            sqlx::query(&sql)
                .bind(SWEEP_BATCH)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        }
        Ok(())
    }
}

#[async_trait]
impl QueueStorage for PostgresStorage {
    async fn enqueue(&self, data: Vec<u8>, priority: i32) -> StorageResult<()> {
        self.enqueue_many(vec![(data, priority)]).await
    }

    async fn enqueue_many(&self, items: Vec<(Vec<u8>, i32)>) -> StorageResult<()> {
        insert(&self.pool, &self.tables, &self.namespace, &items)
            .await
            .map_err(backend)?;
        self.cursor().reset();
        Ok(())
    }

    async fn dequeue(&self, request: Dequeue) -> StorageResult<Vec<Delivery>> {
        let (max, limit) = (request.max.max(1), request.max_message_size);
        let deadline = Instant::now() + request.wait;
        let mut woken = self.listener.wakes.queue.subscribe();
        loop {
            // Marked before the claim: a notification from here on wakes the wait below.
            woken.mark_unchanged();
            let (claimed, refused) = self.claim(max, limit).await?;
            // After setting messages aside, return at once: more may be waiting behind them.
            if !claimed.is_empty() || refused > 0 {
                return Ok(claimed);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(claimed);
            }
            let nap = (deadline - now).min(self.options.fallback_poll);
            // A timeout is the fallback poll; a closed channel cannot happen while the
            // storage (which owns the sender) lives.
            let _ = tokio::time::timeout(nap, woken.changed()).await;
        }
    }

    async fn settle(
        &self,
        claim: Option<&Delivery>,
        settlement: &Settlement,
    ) -> StorageResult<Settled> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let job = Job {
            claim: claim.map_or(0, |d| i64::try_from(d.receipt).unwrap_or(-1)),
            owner: self.consumer_id(),
            settlement: settlement.clone(),
            done,
        };
        let outcome = match self.settler.send(job) {
            Ok(()) => outcome.await.ok(),
            Err(_) => None,
        };
        let outcome = match outcome {
            Some(Ok(outcome)) => outcome,
            Some(Err(error)) => return Err(error.into_storage()),
            // The settle task is gone: the runtime that connected this storage has ended.
            None => return Err(StorageError::Backend("the settle task has stopped".into())),
        };
        if outcome.dead {
            self.trim_dead_letters().await?;
        }
        let queued = !matches!(settlement.disposition, Disposition::Ack)
            || settlement.messages.iter().any(|m| m.eta.is_none());
        if outcome.applied && queued {
            self.cursor().reset();
        }
        Ok(if outcome.applied {
            Settled::Applied
        } else {
            Settled::NotHeld
        })
    }

    async fn queue_size(&self) -> StorageResult<usize> {
        self.count_rows(&self.tables.queue, "TRUE").await
    }

    async fn enqueued_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        self.row_data(&self.tables.queue, "priority DESC, id", limit)
            .await
    }

    async fn flush_queue(&self) -> StorageResult<()> {
        self.delete_rows(&self.tables.queue).await
    }

    fn maintenance_interval(&self) -> Option<Duration> {
        Some(self.options.heartbeat)
    }

    fn claim_lease(&self) -> Option<Duration> {
        Some(self.options.lease)
    }

    async fn maintain(&self) -> StorageResult<Upkeep> {
        let t = &self.tables;
        let (owner, registered) = {
            let identity = self.identity();
            (identity.id.clone(), identity.registered)
        };
        // A claim lives while its owner's registration does: one row to renew, however
        // many claims it holds.
        let beat = format!(
            "UPDATE {consumers} SET lease_until = now() + $3 * interval '1 millisecond'
             WHERE namespace = $1 AND id = $2",
            consumers = t.consumers,
        );
        let lease = millis(self.options.lease);
        let found = sqlx::query(&beat)
            .bind(&self.namespace)
            .bind(&owner)
            .bind(lease)
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected()
            > 0;
        let mut upkeep = Upkeep::Kept;
        if !found {
            // Never registered, or registered and then reaped: in the second case every
            // claim it held was given to others, and it starts afresh under a new id.
            let owner = if registered {
                upkeep = Upkeep::Lost;
                tracing::warn!("this consumer was presumed dead and its claims given to others");
                self.renew_identity()
            } else {
                owner
            };
            let register = format!(
                "INSERT INTO {consumers} (namespace, id, lease_until)
                 VALUES ($1, $2, now() + $3 * interval '1 millisecond')
                 ON CONFLICT (namespace, id) DO UPDATE SET lease_until = EXCLUDED.lease_until",
                consumers = t.consumers,
            );
            sqlx::query(&register)
                .bind(&self.namespace)
                .bind(&owner)
                .bind(lease)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
            let mut identity = self.identity();
            if identity.id == owner {
                identity.registered = true;
            }
        }
        self.recover().await?;
        self.sweep().await?;
        self.tend_tables().await?;
        Ok(upkeep)
    }

    async fn retire(&self) -> StorageResult<()> {
        let t = &self.tables;
        let owner = self.consumer_id();
        let sql = format!(
            "WITH gone AS (
                DELETE FROM {consumers} WHERE namespace = $1 AND id = $2
            ), mine AS (
                DELETE FROM {claims} WHERE namespace = $1 AND owner = $2
                RETURNING id, priority, data, deliveries, enqueued_at
            ), back AS (
                INSERT INTO {queue} (id, namespace, priority, data, deliveries, enqueued_at)
                SELECT id, $1, priority, data, deliveries, enqueued_at FROM mine
                RETURNING 1
            )
            SELECT count(*) FROM back",
            consumers = t.consumers,
            claims = t.claims,
            queue = t.queue,
        );
        let (moved,): (i64,) = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(&owner)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        self.identity().registered = false;
        if moved > 0 {
            tracing::info!(moved, "returned unfinished claims to the queue");
            self.notify_queue().await?;
        }
        Ok(())
    }
}
