//! Dead letters: messages that cannot run, kept with the reason, oldest first, the newest
//! `dead_letter_limit` of each namespace.

use chrono::DateTime;
use huey_core::async_trait;
use huey_core::storage::{DeadLetter, DeadLetterSelection, DeadLetterStorage, StorageResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::db::sql_limit;
use crate::errors::Failure;
use crate::storage::SqliteStorage;

const COLUMNS: &str = "seq, id, data, priority, reason, at_ms";

/// A dead letter and its place in the list.
fn letter(row: &SqliteRow) -> Result<(i64, DeadLetter), Failure> {
    let at_ms: i64 = row.try_get(5)?;
    let at = DateTime::from_timestamp_millis(at_ms)
        .ok_or_else(|| Failure::Shape(format!("dead letter time {at_ms} is out of range")))?;
    let letter = DeadLetter {
        id: row.try_get(1)?,
        data: row.try_get(2)?,
        priority: row.try_get(3)?,
        reason: row.try_get(4)?,
        at,
    };
    Ok((row.try_get(0)?, letter))
}

/// The selected dead letters of `ns`, oldest first.
async fn selected(
    conn: &mut SqliteConnection,
    ns: &str,
    which: DeadLetterSelection<'_>,
) -> Result<Vec<(i64, DeadLetter)>, Failure> {
    let mut out = Vec::new();
    match which {
        DeadLetterSelection::All => {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM huey_dead WHERE namespace = ? ORDER BY seq"
            ))
            .bind(ns)
            .fetch_all(&mut *conn)
            .await?;
            for row in &rows {
                out.push(letter(row)?);
            }
        }
        DeadLetterSelection::Ids(ids) => {
            for id in ids {
                let row = sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM huey_dead WHERE namespace = ? AND id = ?"
                ))
                .bind(ns)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(row) = row {
                    out.push(letter(&row)?);
                }
            }
            out.sort_by_key(|(seq, _)| *seq);
            out.dedup_by_key(|(seq, _)| *seq);
        }
    }
    Ok(out)
}

#[async_trait]
impl DeadLetterStorage for SqliteStorage {
    fn dead_letter_limit(&self) -> Option<usize> {
        self.scope.dead_letter_limit
    }

    async fn dead_letters(&self, limit: Option<usize>) -> StorageResult<Vec<DeadLetter>> {
        read!(&self.db, |conn| {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM huey_dead WHERE namespace = ? ORDER BY seq LIMIT ?"
            ))
            .bind(self.ns())
            .bind(sql_limit(limit))
            .fetch_all(&mut *conn)
            .await?;
            let mut letters = Vec::with_capacity(rows.len());
            for row in &rows {
                letters.push(letter(row)?.1);
            }
            letters
        })
    }

    async fn dead_letter_count(&self) -> StorageResult<usize> {
        let n = read!(&self.db, |conn| {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM huey_dead WHERE namespace = ?")
                .bind(self.ns())
                .fetch_one(&mut *conn)
                .await?
        })?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn requeue_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> StorageResult<Vec<DeadLetter>> {
        // One transaction: each entry leaves the list exactly when it joins the queue.
        let moved = write_tx!(&self.db, |tx| {
            let moved = selected(&mut tx, self.ns(), which).await?;
            for (seq, _) in &moved {
                sqlx::query(
                    "INSERT INTO huey_queue (namespace, priority, data)
                     SELECT namespace, priority, data FROM huey_dead WHERE seq = ?",
                )
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM huey_dead WHERE seq = ?")
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
            }
            moved
        })?;
        if !moved.is_empty() {
            self.db.shared.queue.notify_waiters();
        }
        Ok(moved.into_iter().map(|(_, letter)| letter).collect())
    }

    async fn delete_dead_letters(&self, which: DeadLetterSelection<'_>) -> StorageResult<usize> {
        let deleted = write_tx!(&self.db, |tx| match which {
            DeadLetterSelection::All => sqlx::query("DELETE FROM huey_dead WHERE namespace = ?")
                .bind(self.ns())
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            DeadLetterSelection::Ids(ids) => {
                let mut deleted = 0;
                for id in ids {
                    deleted += sqlx::query("DELETE FROM huey_dead WHERE namespace = ? AND id = ?")
                        .bind(self.ns())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                deleted
            }
        })?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }
}
