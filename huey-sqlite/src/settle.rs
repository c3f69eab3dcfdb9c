//! One settlement, as statements inside a write transaction: the claim's disposition first,
//! so a claim that is no longer held writes nothing at all, then the attempt's outcome.

use huey_core::storage::{Disposition, Settlement};
use sqlx::{Row, SqliteConnection};

use crate::db::{Scope, ms, now_ms};
use crate::errors::Failure;
use crate::rows;

/// How long an `if_awaited` result stays once a waiter made it stored.
const AWAITED_TTL_MS: i64 = 60_000;

/// What applying a settlement did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    /// The claim was still held (always true without a claim): everything was written.
    pub held: bool,
    /// A message became ready on the queue: waiting dequeues should look.
    pub queued: bool,
    /// A value was stored: result waiters should look.
    pub stored: bool,
}

/// Applies `settlement` for claim `receipt` of `scope.owner` (or for no claim).
pub(crate) async fn apply(
    conn: &mut SqliteConnection,
    scope: &Scope,
    receipt: Option<i64>,
    settlement: &Settlement,
) -> Result<Applied, Failure> {
    let mut applied = Applied {
        held: true,
        ..Applied::default()
    };
    if let Some(id) = receipt {
        let owner = scope.owner.as_str();
        let held = match &settlement.disposition {
            Disposition::Ack => sqlx::query("DELETE FROM huey_queue WHERE id = ? AND owner = ?")
                .bind(id)
                .bind(owner)
                .execute(&mut *conn)
                .await?
                .rows_affected(),
            Disposition::Requeue | Disposition::Release => {
                // A requeue counts as a delivery; a release (unstarted) does not. The row keeps
                // its id, so the message keeps its place in the queue.
                let counted = i64::from(settlement.disposition == Disposition::Requeue);
                applied.queued = true;
                sqlx::query(
                    "UPDATE huey_queue SET owner = NULL, deliveries = deliveries + ?
                     WHERE id = ? AND owner = ?",
                )
                .bind(counted)
                .bind(id)
                .bind(owner)
                .execute(&mut *conn)
                .await?
                .rows_affected()
            }
            Disposition::DeadLetter { reason } => {
                u64::from(rows::dead_letter(conn, scope, id, Some(owner), reason).await?)
            }
            // A disposition this build does not know: give the claim back as it was, which
            // loses nothing.
            #[allow(unreachable_patterns)]
            _ => {
                applied.queued = true;
                sqlx::query("UPDATE huey_queue SET owner = NULL WHERE id = ? AND owner = ?")
                    .bind(id)
                    .bind(owner)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected()
            }
        };
        if held == 0 {
            return Ok(Applied::default());
        }
    }
    let namespace = scope.namespace.as_str();
    let now = now_ms();
    let expires = scope.result_ttl.map(|ttl| now.saturating_add(ms(ttl)));
    for (key, value) in &settlement.results {
        rows::store(conn, namespace, key, value, expires).await?;
        applied.stored = true;
    }
    for (key, value) in &settlement.if_awaited {
        let waited: Option<i64> = sqlx::query(
            "DELETE FROM huey_waiters WHERE namespace = ? AND key = ? RETURNING until_ms",
        )
        .bind(namespace)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
        if waited.is_some_and(|until| until > now) {
            rows::store(conn, namespace, key, value, Some(now + AWAITED_TTL_MS)).await?;
            applied.stored = true;
        }
    }
    if let Some(id) = &settlement.clear_revocation {
        sqlx::query("DELETE FROM huey_revocations WHERE namespace = ? AND key = ?")
            .bind(namespace)
            .bind(format!("r:{id}"))
            .execute(&mut *conn)
            .await?;
    }
    for message in &settlement.messages {
        match message.eta {
            None => {
                rows::enqueue(conn, namespace, &message.data, message.priority).await?;
                applied.queued = true;
            }
            Some(eta) => {
                let due = eta.timestamp_millis();
                rows::schedule(conn, namespace, &message.data, message.priority, due).await?;
            }
        }
    }
    for chord in &settlement.chords_fired {
        sqlx::query("DELETE FROM huey_chord_members WHERE namespace = ? AND chord = ?")
            .bind(namespace)
            .bind(chord)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO huey_chords (namespace, chord, completed_by, fired_ms) VALUES (?, ?, NULL, ?)
             ON CONFLICT (namespace, chord) DO UPDATE SET fired_ms = excluded.fired_ms",
        )
        .bind(namespace)
        .bind(chord)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(applied)
}
