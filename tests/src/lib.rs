//! Cross-crate integration tests for huey-rs live in `tests/`.
