//! The conformance suite on `PostgresStorage`, each case on a schema of its own on the server
//! at `DATABASE_URL`.

mod support;

use std::time::Duration;

use huey_postgres::PostgresOptions;
use support::fixture;

mod default_layout {
    use super::*;
    huey_conformance::conformance_suite!(fixture(PostgresOptions::default()).await);
}

mod expiring_results {
    use super::*;
    huey_conformance::conformance_suite!(
        fixture(PostgresOptions::default().result_ttl(Some(Duration::from_secs(60)))).await
    );
}
