//! Revocation flags, in a table of their own so a stored value cannot forge one.

use huey_core::async_trait;
use huey_core::storage::{RevocationStorage, RevocationTarget, StorageResult};

use crate::storage::SqliteStorage;

/// Huey's keys for revocation flags: `r:<id>` and `rt:<name>`; `None` for a target this build
/// does not know (it applies to nothing stored).
fn flag_key(target: RevocationTarget<'_>) -> Option<String> {
    match target {
        RevocationTarget::Instance(id) => Some(format!("r:{id}")),
        RevocationTarget::Type(name) => Some(format!("rt:{name}")),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

#[async_trait]
impl RevocationStorage for SqliteStorage {
    async fn put_revocation(
        &self,
        target: RevocationTarget<'_>,
        flag: Vec<u8>,
    ) -> StorageResult<()> {
        let Some(key) = flag_key(target) else {
            return Ok(());
        };
        write_tx!(&self.db, |tx| {
            sqlx::query(
                "INSERT INTO huey_revocations (namespace, key, flag) VALUES (?, ?, ?)
                 ON CONFLICT (namespace, key) DO UPDATE SET flag = excluded.flag",
            )
            .bind(self.ns())
            .bind(&key)
            .bind(&flag)
            .execute(&mut *tx)
            .await?;
        })
    }

    async fn revocation(&self, target: RevocationTarget<'_>) -> StorageResult<Option<Vec<u8>>> {
        let Some(key) = flag_key(target) else {
            return Ok(None);
        };
        read!(&self.db, |conn| {
            sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT flag FROM huey_revocations WHERE namespace = ? AND key = ?",
            )
            .bind(self.ns())
            .bind(&key)
            .fetch_optional(&mut *conn)
            .await?
        })
    }

    async fn revocations(&self, id: &str, name: &str) -> StorageResult<[Option<Vec<u8>>; 2]> {
        let (instance, of_type) = (format!("r:{id}"), format!("rt:{name}"));
        read!(&self.db, |conn| {
            let mut flags = [None, None];
            for (slot, key) in flags.iter_mut().zip([&instance, &of_type]) {
                *slot = sqlx::query_scalar::<_, Vec<u8>>(
                    "SELECT flag FROM huey_revocations WHERE namespace = ? AND key = ?",
                )
                .bind(self.ns())
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
            }
            flags
        })
    }

    async fn delete_revocation(&self, target: RevocationTarget<'_>) -> StorageResult<bool> {
        let Some(key) = flag_key(target) else {
            return Ok(false);
        };
        write_tx!(&self.db, |tx| {
            sqlx::query("DELETE FROM huey_revocations WHERE namespace = ? AND key = ?")
                .bind(self.ns())
                .bind(&key)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        })
    }
}
