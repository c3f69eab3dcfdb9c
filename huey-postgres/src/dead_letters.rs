//! Dead letters and revocation flags: rows kept apart from the queue and from values.

use chrono::{DateTime, Utc};
use huey_core::async_trait;
use huey_core::storage::{
    DeadLetter, DeadLetterSelection, DeadLetterStorage, RevocationStorage, RevocationTarget,
    StorageResult,
};

use crate::errors::backend;
use crate::storage::PostgresStorage;

type DeadRow = (String, Vec<u8>, i32, String, DateTime<Utc>);

fn letter((id, data, priority, reason, at): DeadRow) -> DeadLetter {
    DeadLetter {
        id,
        data,
        priority,
        reason,
        at,
    }
}

/// The ids of a selection, `None` for all.
fn ids(which: DeadLetterSelection<'_>) -> Option<Vec<String>> {
    match which {
        DeadLetterSelection::Ids(ids) => Some(ids.to_vec()),
        _ => None,
    }
}

fn target(t: RevocationTarget<'_>) -> String {
    match t {
        RevocationTarget::Instance(id) => format!("i:{id}"),
        RevocationTarget::Type(name) => format!("t:{name}"),
        // A target a later huey-core adds: kept under its debug form, apart from the others.
        other => format!("?:{other:?}"),
    }
}

#[async_trait]
impl DeadLetterStorage for PostgresStorage {
    async fn dead_letters(&self, limit: Option<usize>) -> StorageResult<Vec<DeadLetter>> {
        let sql = format!(
            "SELECT id, data, priority, reason, at FROM {} WHERE namespace = $1
             ORDER BY seq LIMIT $2",
            self.tables.dead
        );
        let rows: Vec<DeadRow> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(letter).collect())
    }

    fn dead_letter_limit(&self) -> Option<usize> {
        self.options.dead_letter_limit
    }

    async fn dead_letter_count(&self) -> StorageResult<usize> {
        self.count_rows(&self.tables.dead, "TRUE").await
    }

    async fn requeue_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> StorageResult<Vec<DeadLetter>> {
        let t = &self.tables;
        // One statement: each entry leaves the list exactly when it lands on the queue, and
        // the row locks let one caller only move it.
        let sql = format!(
            "WITH moved AS (
                DELETE FROM {dead} WHERE namespace = $1 AND ($2::text[] IS NULL OR id = ANY ($2))
                RETURNING seq, id, data, priority, reason, at
            ), queued AS (
                INSERT INTO {queue} (namespace, priority, data)
                SELECT $1, priority, data FROM moved ORDER BY seq
                RETURNING 1
            )
            SELECT id, data, priority, reason, at FROM moved
            WHERE (SELECT count(*) FROM queued) >= 0
            ORDER BY seq",
            dead = t.dead,
            queue = t.queue,
        );
        let rows: Vec<DeadRow> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(ids(which))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        if !rows.is_empty() {
            self.notify_queue().await?;
        }
        Ok(rows.into_iter().map(letter).collect())
    }

    async fn delete_dead_letters(&self, which: DeadLetterSelection<'_>) -> StorageResult<usize> {
        let sql = format!(
            "DELETE FROM {} WHERE namespace = $1 AND ($2::text[] IS NULL OR id = ANY ($2))",
            self.tables.dead
        );
        let done = sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(ids(which))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }
}

#[async_trait]
impl RevocationStorage for PostgresStorage {
    async fn put_revocation(
        &self,
        which: RevocationTarget<'_>,
        flag: Vec<u8>,
    ) -> StorageResult<()> {
        let sql = format!(
            "INSERT INTO {} (namespace, target, flag) VALUES ($1, $2, $3)
             ON CONFLICT (namespace, target) DO UPDATE SET flag = EXCLUDED.flag",
            self.tables.revocations
        );
        sqlx::query(&sql)
            .bind(&self.namespace)
            .bind(target(which))
            .bind(flag)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn revocation(&self, which: RevocationTarget<'_>) -> StorageResult<Option<Vec<u8>>> {
        let sql = format!(
            "SELECT flag FROM {} WHERE namespace = $1 AND target = $2",
            self.tables.revocations
        );
        let row: Option<(Vec<u8>,)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(target(which))
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(|(f,)| f))
    }

    async fn revocations(&self, id: &str, name: &str) -> StorageResult<[Option<Vec<u8>>; 2]> {
        let sql = format!(
            "SELECT target, flag FROM {} WHERE namespace = $1 AND target IN ($2, $3)",
            self.tables.revocations
        );
        let instance = target(RevocationTarget::Instance(id));
        let of_type = target(RevocationTarget::Type(name));
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(&sql)
            .bind(&self.namespace)
            .bind(&instance)
            .bind(&of_type)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let mut flags = [None, None];
        for (t, flag) in rows {
            if t == instance {
                flags[0] = Some(flag);
            } else {
                flags[1] = Some(flag);
            }
        }
        Ok(flags)
    }

    async fn delete_revocation(&self, which: RevocationTarget<'_>) -> StorageResult<bool> {
        self.delete_row(&self.tables.revocations, "target", &target(which))
            .await
    }
}
