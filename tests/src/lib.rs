//! Shared test code for huey-rs: the [`storage_suite!`] macro runs the generic storage behaviour
//! suite (Huey's `test_storage.py` plus the claim/ack contract) against any backend, and
//! [`redis_server::RedisServer`] gives a test its own `redis-server`.

pub mod redis_server;
pub mod storage_suite;
