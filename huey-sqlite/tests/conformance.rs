//! The conformance suite on `SqliteStorage`, each case on a file of its own in a temporary
//! folder that is removed when the case ends.

use std::path::PathBuf;
use std::time::Duration;

use huey_conformance::StorageFixture;
use huey_core::Storage;
use huey_sqlite::{SqliteOptions, SqliteStorage};

/// A fresh file and a storage on it; the folder is removed when the fixture drops.
struct Fixture {
    storage: SqliteStorage,
    dir: PathBuf,
}

impl StorageFixture for Fixture {
    fn storage(&self) -> &dyn Storage {
        &self.storage
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn fixture(options: SqliteOptions) -> Fixture {
    let dir = std::env::temp_dir().join(format!("huey-sqlite-{}", uuid_like()));
    std::fs::create_dir_all(&dir).expect("make the temporary folder");
    let storage = SqliteStorage::open_with("conformance", dir.join("queue.db"), options)
        .await
        .expect("open the test file");
    Fixture { storage, dir }
}

/// A name no other case uses.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

mod default_options {
    use super::*;
    huey_conformance::conformance_suite!(fixture(SqliteOptions::default()).await);
}

mod expiring_results {
    use super::*;
    huey_conformance::conformance_suite!(
        fixture(SqliteOptions::default().result_ttl(Some(Duration::from_secs(60)))).await
    );
}
