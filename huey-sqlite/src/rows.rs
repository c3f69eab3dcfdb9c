//! Statements that several parts run inside their transactions: adding a message to the queue
//! or the schedule, storing a value, and setting a claimed message aside as a dead letter.

use sqlx::SqliteConnection;

use crate::db::{Scope, now_ms};
use crate::errors::Failure;

/// Adds a message to the queue.
pub(crate) async fn enqueue(
    conn: &mut SqliteConnection,
    namespace: &str,
    data: &[u8],
    priority: i32,
) -> Result<(), Failure> {
    sqlx::query("INSERT INTO huey_queue (namespace, priority, data) VALUES (?, ?, ?)")
        .bind(namespace)
        .bind(priority)
        .bind(data)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds a message to the schedule, due at `due_ms`.
pub(crate) async fn schedule(
    conn: &mut SqliteConnection,
    namespace: &str,
    data: &[u8],
    priority: i32,
    due_ms: i64,
) -> Result<(), Failure> {
    sqlx::query(
        "INSERT INTO huey_schedule (namespace, due_ms, priority, data) VALUES (?, ?, ?, ?)",
    )
    .bind(namespace)
    .bind(due_ms)
    .bind(priority)
    .bind(data)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores `value` under `key`, replacing what it held, expiring at `expires_ms` if given.
pub(crate) async fn store(
    conn: &mut SqliteConnection,
    namespace: &str,
    key: &str,
    value: &[u8],
    expires_ms: Option<i64>,
) -> Result<(), Failure> {
    sqlx::query(
        "INSERT INTO huey_kv (namespace, key, value, expires_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (namespace, key) DO UPDATE
         SET value = excluded.value, expires_ms = excluded.expires_ms",
    )
    .bind(namespace)
    .bind(key)
    .bind(value)
    .bind(expires_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves queue row `id` to the dead letters with `reason`, if it is still claimed by `owner`
/// (any row when `owner` is `None`). The bytes move inside SQLite: they never reach this
/// process. Returns whether it moved; keeps the newest dead letters within the limit.
pub(crate) async fn dead_letter(
    conn: &mut SqliteConnection,
    scope: &Scope,
    id: i64,
    owner: Option<&str>,
    reason: &str,
) -> Result<bool, Failure> {
    let moved = sqlx::query(
        "INSERT INTO huey_dead (namespace, id, priority, reason, at_ms, data)
         SELECT namespace, ?, priority, ?, ?, data FROM huey_queue
         WHERE id = ? AND (owner = ? OR ? IS NULL)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(reason)
    .bind(now_ms())
    .bind(id)
    .bind(owner)
    .bind(owner)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if moved == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM huey_queue WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    trim_dead(conn, scope).await?;
    Ok(true)
}

/// Drops the oldest dead letters of the namespace beyond the limit.
pub(crate) async fn trim_dead(conn: &mut SqliteConnection, scope: &Scope) -> Result<(), Failure> {
    let Some(limit) = scope.dead_letter_limit else {
        return Ok(());
    };
    sqlx::query(
        "DELETE FROM huey_dead WHERE namespace = ?1 AND seq <= (
             SELECT seq FROM huey_dead WHERE namespace = ?1
             ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
    )
    .bind(&scope.namespace)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .execute(conn)
    .await?;
    Ok(())
}
