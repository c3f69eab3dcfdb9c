//! Checkpoints off the writers' path. By default SQLite checkpoints inside the commit that
//! grows the WAL past 1000 pages, and that commit (and this process's turn to write) waits for
//! the copy and its fsync: a drain ran at half speed. The pools this crate makes turn that
//! off, and a background task checkpoints passively instead, beside the writers.

use std::sync::Weak;
use std::time::Duration;

use crate::db::Db;

/// Starts the checkpoint task on the current runtime; it ends when the storage is dropped.
pub(crate) fn spawn(db: Weak<Db>, every: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let Some(db) = db.upgrade() else { return };
            // PASSIVE copies what it can without waiting for readers or writers.
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&db.pool)
                .await
            {
                tracing::debug!(%error, "WAL checkpoint failed; the next one tries again");
            }
        }
    });
}
