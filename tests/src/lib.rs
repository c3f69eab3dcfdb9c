//! Shared test code for huey-rs: the [`storage_suite!`] macro runs the generic storage behaviour
//! suite (Huey's `test_storage.py` plus the claim/ack contract) against any backend,
//! [`redis_server::RedisServer`] gives a test its own `redis-server`, and [`tasks`] holds the
//! tasks that the `test_consumer` binary runs for the cross-process tests.

pub mod backend;
pub mod consumer_process;
pub mod faulty;
pub mod redis_server;
pub mod storage_suite;
pub mod tasks;
