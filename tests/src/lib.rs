//! Shared test code for huey-rs: [`redis_server::RedisServer`] gives a test its own
//! `redis-server`, [`backend`] runs a test body on both backends, [`faulty`] is a storage that
//! dies on cue, [`logs`] captures log lines to count, [`consumer_process`] runs a consumer as a separate process, [`presence`] waits on a consumer's presence record, [`temp`] gives a test a temporary folder (for SQLite files), and [`tasks`] holds
//! the tasks that the `test_consumer` binary runs for the cross-process tests. The storage
//! behaviour suite is the `huey-conformance` crate.

pub mod backend;
pub mod consumer_process;
pub mod faulty;
pub mod logs;
pub mod presence;
pub mod redis_server;
pub mod tasks;
pub mod temp;
