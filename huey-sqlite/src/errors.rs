//! SQLite errors as the storage reports them: which may pass (`StorageError::Backend`) and
//! which the same call would meet again (`StorageError::Invalid`), and how a file that stays
//! busy is said, so SQLite's "database is locked" never reaches the user.

use std::time::Duration;

use huey_core::StorageError;

/// What went wrong inside one storage operation, before it is mapped to a `StorageError`.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The driver or SQLite failed.
    Sql(sqlx::Error),
    /// A row does not have the shape this crate writes.
    Shape(String),
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Failure {
        Failure::Sql(error)
    }
}

/// The file stayed locked by other connections for longer than the storage waits
/// ([`SqliteOptions::busy_limit`](crate::SqliteOptions::busy_limit)). Said in these words,
/// without SQLite's own message as a source: the call may be retried, and a user should learn
/// what holds the file, not read "database is locked".
#[derive(Debug, thiserror::Error)]
#[error(
    "the SQLite file stayed busy for {0:?}: another connection held its write lock all that time \
     (a long transaction in another process?)"
)]
pub(crate) struct Busy(pub Duration);

/// A row of the wrong shape.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Shape(String);

/// SQLite's primary result code of a database error, if it is one.
fn primary_code(error: &sqlx::Error) -> Option<i64> {
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    let code: i64 = db.code()?.parse().ok()?;
    Some(code & 0xff)
}

/// Whether SQLite answered that another connection holds the lock it needs (`SQLITE_BUSY`,
/// `SQLITE_LOCKED`): the one error this crate retries by itself.
pub(crate) fn is_busy(failure: &Failure) -> bool {
    const SQLITE_BUSY: i64 = 5;
    const SQLITE_LOCKED: i64 = 6;
    match failure {
        Failure::Sql(error) => matches!(primary_code(error), Some(SQLITE_BUSY | SQLITE_LOCKED)),
        Failure::Shape(_) => false,
    }
}

/// Errors the same call would meet again: a corrupt file, one that is no database, a read-only
/// one, a constraint or type mismatch, a row that does not decode. Everything else (I/O, a full
/// disk, a pool that timed out) may pass.
fn is_invalid(error: &sqlx::Error) -> bool {
    const SQLITE_READONLY: i64 = 8;
    const SQLITE_CORRUPT: i64 = 11;
    const SQLITE_CONSTRAINT: i64 = 19;
    const SQLITE_MISMATCH: i64 = 20;
    const SQLITE_NOTADB: i64 = 26;
    match error {
        sqlx::Error::Database(_) => matches!(
            primary_code(error),
            Some(
                SQLITE_READONLY
                    | SQLITE_CORRUPT
                    | SQLITE_CONSTRAINT
                    | SQLITE_MISMATCH
                    | SQLITE_NOTADB
            )
        ),
        sqlx::Error::Configuration(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::Encode(_)
        | sqlx::Error::TypeNotFound { .. } => true,
        _ => false,
    }
}

/// The storage error for `failure`; `busy_for` is how long the call waited for the file when
/// the failure is that it stayed busy.
pub(crate) fn storage(failure: Failure, busy_for: Duration) -> StorageError {
    if is_busy(&failure) {
        return StorageError::Backend(Box::new(Busy(busy_for)));
    }
    on_app_connection(failure)
}

/// The storage error for a failure on an application's own connection (a transactional
/// enqueue). Nothing is retried there, the transaction being the application's; a busy file
/// is reported in SQLite's words, since the application's own busy timeout ran out.
pub(crate) fn on_app_connection(failure: impl Into<Failure>) -> StorageError {
    match failure.into() {
        Failure::Sql(error) if is_invalid(&error) => StorageError::Invalid(Box::new(error)),
        Failure::Sql(error) => StorageError::Backend(Box::new(error)),
        Failure::Shape(what) => StorageError::Invalid(Box::new(Shape(what))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_file_is_said_without_sqlites_words() {
        let error = storage(Failure::Shape("x".into()), Duration::from_secs(1));
        assert!(!error.is_transient(), "a bad row is permanent");
        let busy = StorageError::Backend(Box::new(Busy(Duration::from_secs(60))));
        let text = huey_core::error_chain(&busy).to_string();
        assert!(text.contains("stayed busy for 60s"), "{text}");
        assert!(!text.contains("database is locked"), "{text}");
    }

    #[test]
    fn io_and_pool_errors_may_pass() {
        let io = sqlx::Error::Io(std::io::Error::other("disk"));
        assert!(storage(Failure::Sql(io), Duration::ZERO).is_transient());
        assert!(storage(Failure::Sql(sqlx::Error::PoolTimedOut), Duration::ZERO).is_transient());
        let decode = sqlx::Error::Decode("bad".into());
        assert!(!storage(Failure::Sql(decode), Duration::ZERO).is_transient());
    }
}
