//! sqlx errors as the storage reports them: which may pass (a lost connection, a timeout, a
//! server shutting down or out of resources) and which the same call would meet again.

use huey_core::StorageError;

/// Maps a sqlx error to [`StorageError::Backend`] (transient) or [`StorageError::Invalid`].
pub(crate) fn backend(e: sqlx::Error) -> StorageError {
    if is_transient(&e) {
        StorageError::Backend(Box::new(e))
    } else {
        StorageError::Invalid(Box::new(e))
    }
}

/// Connection trouble and server states that pass; everything else (bad SQL, a constraint, a
/// value that does not decode) fails again the same way.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| transient_state(&code)),
        _ => false,
    }
}

/// SQLSTATE classes that pass: 08 connection exception, 40 transaction rollback (serialization
/// failure, deadlock), 53 insufficient resources, 57 operator intervention (shutdown, cannot
/// connect now), 58 system error; and 55P03, a lock not available.
fn transient_state(code: &str) -> bool {
    matches!(code.get(..2), Some("08" | "40" | "53" | "57" | "58")) || code == "55P03"
}

/// The error of a settle batch, for every settlement in it: the text, since a sqlx error
/// cannot be cloned, and whether it may pass.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub message: String,
    pub transient: bool,
}

impl Shared {
    pub fn of(e: &sqlx::Error) -> Shared {
        Shared {
            message: e.to_string(),
            transient: is_transient(e),
        }
    }

    pub fn into_storage(self) -> StorageError {
        let boxed = self.message.into();
        if self.transient {
            StorageError::Backend(boxed)
        } else {
            StorageError::Invalid(boxed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::transient_state;

    #[test]
    fn sqlstates() {
        assert!(transient_state("08006"), "connection failure");
        assert!(transient_state("40001"), "serialization failure");
        assert!(transient_state("57P01"), "admin shutdown");
        assert!(transient_state("55P03"));
        assert!(!transient_state("42P01"), "undefined table");
        assert!(!transient_state("23505"), "unique violation");
    }
}
