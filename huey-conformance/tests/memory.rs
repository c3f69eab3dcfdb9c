//! The conformance suite on huey-core's `MemoryStorage`, run from outside huey-core as every
//! backend runs it.

huey_conformance::conformance_suite!(huey_core::MemoryStorage::new());
