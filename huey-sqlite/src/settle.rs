//! Settlements, as statements inside one write transaction: each claim's disposition first,
//! so a claim that is no longer held writes nothing at all, then the attempt's outcome.

use huey_core::storage::{Disposition, Settlement};
use std::collections::HashSet;

use sqlx::SqliteConnection;

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

/// Rows written per multi-row statement at most (4 variables a row, far within SQLite's
/// limit).
const ROWS_PER_STATEMENT: usize = 128;

/// One settlement of a batch: its claim's receipt (`None`: no claim) and what to write.
pub(crate) type Pending<'a> = (Option<i64>, &'a Settlement);

/// Applies the settlements of `batch` in order, for claims of `scope.owner`, returning what
/// each did. Statements are shared across the batch where that changes nothing: one `DELETE`
/// acknowledges every claim, one `INSERT` stores every result and one enqueues every
/// follow-up message, so a batch costs a few statements, not a few per settlement.
pub(crate) async fn apply_batch(
    conn: &mut SqliteConnection,
    scope: &Scope,
    batch: &[Pending<'_>],
) -> Result<Vec<Applied>, Failure> {
    let namespace = scope.namespace.as_str();
    let owner = scope.owner.as_str();
    let acks: Vec<String> = batch
        .iter()
        .filter(|(receipt, s)| receipt.is_some() && s.disposition == Disposition::Ack)
        .filter_map(|(receipt, _)| receipt.map(|id| id.to_string()))
        .collect();
    let mut acked: HashSet<i64> = if acks.is_empty() {
        HashSet::new()
    } else {
        sqlx::query_scalar(
            "DELETE FROM huey_queue
             WHERE owner = ? AND id IN (SELECT value FROM json_each(?)) RETURNING id",
        )
        .bind(owner)
        .bind(format!("[{}]", acks.join(",")))
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect()
    };
    let waiters = if batch.iter().any(|(_, s)| !s.if_awaited.is_empty()) {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM huey_waiters WHERE namespace = ?)",
        )
        .bind(namespace)
        .fetch_one(&mut *conn)
        .await?
    } else {
        false
    };
    let now = now_ms();
    let expires = scope.result_ttl.map(|ttl| now.saturating_add(ms(ttl)));
    let mut values: Vec<(&str, &[u8], Option<i64>)> = Vec::new();
    let mut queued: Vec<(&[u8], i32)> = Vec::new();
    let mut unrevoked = Vec::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    for (receipt, settlement) in batch {
        let mut applied = Applied {
            held: true,
            ..Applied::default()
        };
        if let Some(id) = *receipt {
            applied.held = match &settlement.disposition {
                // Removed from the set, so the same claim twice in a batch applies once.
                Disposition::Ack => acked.remove(&id),
                disposition => {
                    applied.queued = !matches!(disposition, Disposition::DeadLetter { .. });
                    give_back(conn, scope, id, disposition).await?
                }
            };
            if !applied.held {
                outcomes.push(Applied::default());
                continue;
            }
        }
        for (key, value) in &settlement.results {
            values.push((key, value, expires));
            applied.stored = true;
        }
        if waiters {
            for (key, value) in &settlement.if_awaited {
                let waited: Option<i64> = sqlx::query_scalar(
                    "DELETE FROM huey_waiters WHERE namespace = ? AND key = ? RETURNING until_ms",
                )
                .bind(namespace)
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
                if waited.is_some_and(|until| until > now) {
                    values.push((key, value, Some(now + AWAITED_TTL_MS)));
                    applied.stored = true;
                }
            }
        }
        if let Some(id) = &settlement.clear_revocation {
            unrevoked.push(serde_json::Value::String(format!("r:{id}")));
        }
        for message in &settlement.messages {
            match message.eta {
                None => {
                    queued.push((&message.data, message.priority));
                    applied.queued = true;
                }
                Some(eta) => {
                    let due = eta.timestamp_millis();
                    rows::schedule(conn, namespace, &message.data, message.priority, due).await?;
                }
            }
        }
        for chord in &settlement.chords_fired {
            fire_chord(conn, namespace, chord, now).await?;
        }
        outcomes.push(applied);
    }
    // Every settlement of a task that ran clears its revocation flag: one statement for the
    // batch (one per settlement was a tenth of a drain's time).
    if !unrevoked.is_empty() {
        sqlx::query(
            "DELETE FROM huey_revocations
             WHERE namespace = ? AND key IN (SELECT value FROM json_each(?))",
        )
        .bind(namespace)
        .bind(serde_json::Value::Array(unrevoked).to_string())
        .execute(&mut *conn)
        .await?;
    }
    for chunk in values.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO huey_kv (namespace, key, value, expires_ms) VALUES {}
             ON CONFLICT (namespace, key) DO UPDATE
             SET value = excluded.value, expires_ms = excluded.expires_ms",
            vec!["(?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&sql).persistent(false);
        for (key, value, expires) in chunk {
            query = query.bind(namespace).bind(*key).bind(*value).bind(*expires);
        }
        query.execute(&mut *conn).await?;
    }
    for chunk in queued.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO huey_queue (namespace, priority, data) VALUES {}",
            vec!["(?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&sql).persistent(false);
        for (data, priority) in chunk {
            query = query.bind(namespace).bind(*priority).bind(*data);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(outcomes)
}

/// Applies a disposition other than an acknowledgement to claim `id`; returns whether the
/// claim was still held (when not, nothing was written).
async fn give_back(
    conn: &mut SqliteConnection,
    scope: &Scope,
    id: i64,
    disposition: &Disposition,
) -> Result<bool, Failure> {
    let owner = scope.owner.as_str();
    let counted = match disposition {
        Disposition::DeadLetter { reason } => {
            return rows::dead_letter(conn, scope, id, Some(owner), reason).await;
        }
        // A requeue counts as a delivery; a release (unstarted), or a disposition this build
        // does not know, gives the claim back as it was, which loses nothing.
        Disposition::Requeue => 1,
        _ => 0,
    };
    // The row keeps its id, so the message keeps its place in the queue.
    let changed = sqlx::query(
        "UPDATE huey_queue SET owner = NULL, deliveries = deliveries + ?
         WHERE id = ? AND owner = ?",
    )
    .bind(counted)
    .bind(id)
    .bind(owner)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// Ends the bookkeeping of `chord`, whose callback is enqueued in the same transaction.
async fn fire_chord(
    conn: &mut SqliteConnection,
    namespace: &str,
    chord: &str,
    now: i64,
) -> Result<(), Failure> {
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
    .execute(conn)
    .await?;
    Ok(())
}
