//! Redis errors as the storage reports them: a full Redis (`maxmemory` reached with
//! `noeviction`) in plain words, everything else as Redis said it; and which of them may pass
//! (see `StorageError`).

use huey_core::StorageError;
use redis::RedisError;

pub(crate) fn backend(e: RedisError) -> StorageError {
    if is_full(&e) {
        return StorageError::Backend(Box::new(Full(e)));
    }
    if is_invalid(&e) {
        return StorageError::Invalid(Box::new(e));
    }
    StorageError::Backend(Box::new(e))
}

/// Errors that the same call would meet again: a key holding the wrong type, or a reply of a
/// shape this crate does not expect. Everything else (connections, timeouts, a loading or
/// failing-over server, a full one) may pass, and is retried.
fn is_invalid(e: &RedisError) -> bool {
    e.kind() == redis::ErrorKind::UnexpectedReturnType || e.code() == Some("WRONGTYPE")
}

/// Redis is at `maxmemory` with `noeviction`: said plainly, instead of as the pipeline failure
/// redis-rs reports, with Redis's own words as the source.
#[derive(Debug)]
struct Full(RedisError);

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(FULL)
    }
}

impl std::error::Error for Full {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

const FULL: &str = "Redis is full: used memory is above maxmemory and its policy evicts nothing, \
                    so it refuses new data (consumers still drain the queue; free memory or raise \
                    maxmemory)";

/// A Redis error in words, for the settle task's per-settlement replies.
pub(crate) fn describe(e: &RedisError) -> String {
    if is_full(e) {
        return format!("{FULL}: {e}");
    }
    e.to_string()
}

/// Whether Redis refused a call because it is at `maxmemory`.
pub(crate) fn is_full(error: &redis::RedisError) -> bool {
    error.code() == Some("OOM") || error.to_string().contains("OOM")
}
