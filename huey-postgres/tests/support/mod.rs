//! A schema of its own per test on the PostgreSQL at `DATABASE_URL`, dropped when the test
//! ends. Without a reachable server the tests fail, saying so: they never pass silently.

#![allow(dead_code)]

use huey_postgres::{PostgresOptions, PostgresStorage};

/// The server's URL: `DATABASE_URL`, or the README's default for the local server. An
/// unreachable server fails the tests, saying so (see `fixture`); they never pass silently.
pub fn database_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => "postgres://postgres@127.0.0.1:5432/test".to_owned(),
    }
}

/// A random schema name, fresh per test.
pub fn fresh_schema() -> String {
    format!("huey_test_{}", uuid::Uuid::new_v4().simple())
}

/// Drops its schema when dropped (from a thread of its own, since `Drop` cannot await).
pub struct SchemaGuard {
    pub url: String,
    pub schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test schema");
            runtime.block_on(async move {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .map(drop)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}", self.schema);
        }
    }
}

/// A storage on a fresh schema, with the guard that drops it.
pub struct Fixture {
    pub storage: PostgresStorage,
    pub guard: SchemaGuard,
}

impl huey_conformance::StorageFixture for Fixture {
    fn storage(&self) -> &dyn huey_core::Storage {
        &self.storage
    }
}

/// Connects `namespace` on a fresh schema with `options` (its schema replaced).
pub async fn fixture_with(namespace: &str, options: PostgresOptions) -> Fixture {
    let url = database_url();
    let schema = fresh_schema();
    let guard = SchemaGuard {
        url: url.clone(),
        schema: schema.clone(),
    };
    let storage = PostgresStorage::connect_with(namespace, &url, options.schema(&schema))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach the PostgreSQL server at DATABASE_URL={url}: {e} (cause: {:?})",
                std::error::Error::source(&e)
            )
        });
    Fixture { storage, guard }
}

pub async fn fixture(options: PostgresOptions) -> Fixture {
    fixture_with("conformance", options).await
}
