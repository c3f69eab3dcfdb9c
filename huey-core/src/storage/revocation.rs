//! Revocation flags: per task instance and per task type, kept apart from stored values.

use async_trait::async_trait;

use super::StorageResult;

/// What a revocation flag applies to.
///
/// ```
/// use huey_core::storage::{MemoryStorage, RevocationStorage, RevocationTarget};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::StorageError> {
/// let storage = MemoryStorage::new();
/// storage.put_revocation(RevocationTarget::Type("app::send"), b"flag".to_vec()).await?;
/// let [instance, of_type] = storage.revocations("some-id", "app::send").await?;
/// assert_eq!((instance, of_type), (None, Some(b"flag".to_vec())));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationTarget<'a> {
    /// One task instance, by id.
    Instance(&'a str),
    /// Every instance of a task, by registered name.
    Type(&'a str),
}

/// Revocation flags. The flag's bytes are the runtime's (when and how often it applies); a
/// storage keeps them and tells whether any exist. Required: `put_revocation`, `revocation`,
/// `delete_revocation`. A backend that can say "no flag at all" cheaply sets
/// [`Delivery::revocations`](super::Delivery::revocations) to false on its claims, and the
/// executor then skips the lookup.
#[async_trait]
pub trait RevocationStorage: Send + Sync {
    /// Stores (or replaces) the flag of `target`.
    async fn put_revocation(
        &self,
        target: RevocationTarget<'_>,
        flag: Vec<u8>,
    ) -> StorageResult<()>;

    /// The flag of `target`, if any.
    async fn revocation(&self, target: RevocationTarget<'_>) -> StorageResult<Option<Vec<u8>>>;

    /// The flags of task instance `id` and of its task type `name`, in that order. The default
    /// reads them one after the other; a backend overrides it to read both at once.
    async fn revocations(&self, id: &str, name: &str) -> StorageResult<[Option<Vec<u8>>; 2]> {
        Ok([
            self.revocation(RevocationTarget::Instance(id)).await?,
            self.revocation(RevocationTarget::Type(name)).await?,
        ])
    }

    /// Removes the flag of `target`; returns whether there was one.
    async fn delete_revocation(&self, target: RevocationTarget<'_>) -> StorageResult<bool>;
}
