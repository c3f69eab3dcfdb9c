//! What every storage handle on one file shares within this process: the wake-ups (so a write
//! by one handle wakes the waiters of all, with no polling) and the turn to write (so writers
//! of one process queue here, in order, instead of sleeping in SQLite's busy handler).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;

/// The per-file state of this process.
#[derive(Debug, Default)]
pub(crate) struct FileShared {
    /// Held for the whole of each write transaction of this process on the file.
    pub write: tokio::sync::Mutex<()>,
    /// Woken when a message becomes ready on the queue (enqueued, requeued, promoted).
    pub queue: Notify,
    /// Woken when a value is stored (a result, a `put`).
    pub data: Notify,
}

/// The live per-file states, by canonical path: the last handle on a file dropping it frees
/// its entry.
static FILES: Mutex<Option<HashMap<PathBuf, Weak<FileShared>>>> = Mutex::new(None);

/// The state of the file at `path` (canonical), made on first use.
pub(crate) fn for_file(path: &Path) -> Arc<FileShared> {
    let mut files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    let files = files.get_or_insert_with(HashMap::new);
    if let Some(shared) = files.get(path).and_then(Weak::upgrade) {
        return shared;
    }
    files.retain(|_, shared| shared.strong_count() > 0);
    let shared = Arc::new(FileShared::default());
    files.insert(path.to_owned(), Arc::downgrade(&shared));
    shared
}

/// A state of its own, for a database that no other handle can name (an in-memory one).
pub(crate) fn private() -> Arc<FileShared> {
    Arc::new(FileShared::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_on_one_file_share_their_state() {
        let a = for_file(Path::new("/tmp/huey-sqlite-shared-test.db"));
        let b = for_file(Path::new("/tmp/huey-sqlite-shared-test.db"));
        let other = for_file(Path::new("/tmp/huey-sqlite-shared-other.db"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
    }
}
