//! Shared test code for huey-rs. The [`storage_suite!`] macro runs the generic storage behaviour
//! suite (Huey's `test_storage.py` plus the claim/ack contract) against any backend.

pub mod storage_suite;
