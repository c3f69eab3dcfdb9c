//! The storage conformance suite of huey-rs: the behaviour every storage backend must show.
//!
//! A backend implements the seven traits of [`huey_core::storage`] (together,
//! [`Storage`]). The traits say what each method does; this suite pins it down as executable
//! cases, one per behaviour: FIFO and priority order, claims and their settlement on every
//! path an attempt can end on, the schedule, results and waiting for them, the atomic
//! coordination primitives, dead letters, revocation flags, consumer presence and the pause
//! flag. It covers every method of the
//! contract. A backend must pass all of the cases; a case that does not apply to a backend
//! (priority order on a FIFO-only queue, say) checks what the backend declares
//! ([`supports_priority`](huey_core::storage::QueueStorage::supports_priority),
//! [`maintenance_interval`](huey_core::storage::QueueStorage::maintenance_interval)) and
//! asserts the part that still holds.
//!
//! # Running it from a backend crate
//!
//! Add the suite as a dev-dependency, under its own name (the macro refers to it as
//! `::huey_conformance`):
//!
//! ```toml
//! [dev-dependencies]
//! huey-conformance = "0.1"
//! ```
//!
//! Then write a fixture that owns a fresh, empty storage and whatever keeps it alive (a
//! server, a temporary database), and hand [`conformance_suite!`] an expression that makes
//! one. The expression is evaluated once per case, inside the case's async test function, so
//! it may `.await`. A `tests/conformance.rs`:
//!
//! ```ignore
//! use huey_conformance::StorageFixture;
//! use huey_core::Storage;
//! use my_backend::{MyOptions, MyStorage};
//!
//! /// A private server and a storage on it, for one case; dropped (and the server stopped)
//! /// when the case ends.
//! struct Fixture {
//!     storage: MyStorage,
//!     _server: my_backend::testing::Server,
//! }
//!
//! impl StorageFixture for Fixture {
//!     fn storage(&self) -> &dyn Storage {
//!         &self.storage
//!     }
//! }
//!
//! async fn fixture(options: MyOptions) -> Fixture {
//!     let server = my_backend::testing::Server::start();
//!     let storage = MyStorage::connect("conformance", &server.url(), options)
//!         .await
//!         .expect("connect to the test server");
//!     Fixture { storage, _server: server }
//! }
//!
//! // One module per layout, so each runs every case under its own name.
//! mod default_layout {
//!     huey_conformance::conformance_suite!(super::fixture(Default::default()).await);
//! }
//! ```
//!
//! A storage that needs nothing kept alive is a fixture itself (every [`Storage`] is one),
//! as in this crate's own run on huey-core's `MemoryStorage`:
//!
//! ```
//! use huey_core::MemoryStorage;
//!
//! huey_conformance::conformance_suite!(MemoryStorage::new());
//! # fn main() {}
//! ```
//!
//! The macro defines one `#[tokio::test]` per case, through the tokio this crate re-exports,
//! so the backend crate needs no tokio dev-dependency of its own. Each case runs on a
//! current-thread runtime and gets its own fixture: the storage it sees is empty.
//!
//! Every case is also a public async function taking `&dyn Storage`, for a backend that
//! wants to run one by hand (under another runtime, or against a shared server with a
//! fresh namespace per call).
//!
//! # The cases, by trait
//!
//! [`CASES`] lists them all; by the part of the contract they pin:
//!
//! - [`queue`] (`QueueStorage`):
//!   - [`test_queue_methods`](queue::test_queue_methods)
//!   - [`test_priority`](queue::test_priority)
//!   - [`test_claim_ack_contract`](queue::test_claim_ack_contract)
//!   - [`test_requeue_returns_claim`](queue::test_requeue_returns_claim)
//!   - [`test_delivery_count`](queue::test_delivery_count)
//!   - [`test_release_is_uncounted`](queue::test_release_is_uncounted)
//!   - [`test_dequeue_batch`](queue::test_dequeue_batch)
//!   - [`test_dequeue_wakes_on_enqueue`](queue::test_dequeue_wakes_on_enqueue)
//!   - [`test_enqueue_many`](queue::test_enqueue_many)
//!   - [`test_maintain_keeps_own_claims`](queue::test_maintain_keeps_own_claims)
//!   - [`test_retire_gives_claims_back`](queue::test_retire_gives_claims_back)
//!   - [`test_dequeue_size_limit`](queue::test_dequeue_size_limit)
//!   - [`test_dequeue_size_limit_while_waiting`](queue::test_dequeue_size_limit_while_waiting)
//! - [`schedule`] (`ScheduleStorage`):
//!   - [`test_schedule_methods`](schedule::test_schedule_methods)
//!   - [`test_read_schedule`](schedule::test_read_schedule)
//!   - [`test_promote_due`](schedule::test_promote_due)
//!   - [`test_promote_due_large_batch`](schedule::test_promote_due_large_batch)
//! - [`results`] (`ResultStorage`):
//!   - [`test_result_store_methods`](results::test_result_store_methods)
//!   - [`test_peek_many`](results::test_peek_many)
//!   - [`test_wait_result`](results::test_wait_result)
//!   - [`test_result_store_holds_values_only`](results::test_result_store_holds_values_only)
//! - [`coordination`] (`CoordinationStorage`):
//!   - [`test_counter`](coordination::test_counter)
//!   - [`test_put_if_empty_ttl`](coordination::test_put_if_empty_ttl)
//!   - [`test_delete_data_if`](coordination::test_delete_data_if)
//!   - [`test_chord_record`](coordination::test_chord_record)
//!   - [`test_semaphore_methods`](coordination::test_semaphore_methods)
//!   - [`test_semaphore_expiry`](coordination::test_semaphore_expiry)
//! - [`dead_letters`] (`DeadLetterStorage`):
//!   - [`test_dead_letter_keeps_message`](dead_letters::test_dead_letter_keeps_message)
//!   - [`test_dead_letter_requeue_selected`](dead_letters::test_dead_letter_requeue_selected)
//!   - [`test_dead_letter_requeue_all`](dead_letters::test_dead_letter_requeue_all)
//!   - [`test_dead_letter_delete`](dead_letters::test_dead_letter_delete)
//!   - [`test_dead_letter_retention`](dead_letters::test_dead_letter_retention)
//! - [`revocation`] (`RevocationStorage`):
//!   - [`test_revocation_methods`](revocation::test_revocation_methods)
//!   - [`test_claim_reports_revocations`](revocation::test_claim_reports_revocations)
//! - [`control`] (`ControlStorage`):
//!   - [`test_presence_methods`](control::test_presence_methods)
//!   - [`test_presence_drops_stale`](control::test_presence_drops_stale)
//!   - [`test_pause_flag`](control::test_pause_flag)
//!   - [`test_control_apart_from_results`](control::test_control_apart_from_results)
//!   - [`test_stats_add_up`](control::test_stats_add_up)
//!   - [`test_stats_retention`](control::test_stats_retention)
//!   - [`test_stats_apart_from_results`](control::test_stats_apart_from_results)
//! - [`settlement`] (`QueueStorage::settle`):
//!   - [`test_settle_success_with_next_stage`](settlement::test_settle_success_with_next_stage)
//!   - [`test_settle_final_failure_with_error_handler`](settlement::test_settle_final_failure_with_error_handler)
//!   - [`test_settle_retry_without_delay`](settlement::test_settle_retry_without_delay)
//!   - [`test_settle_retry_with_delay`](settlement::test_settle_retry_with_delay)
//!   - [`test_settle_chord_member_fires_once`](settlement::test_settle_chord_member_fires_once)
//!   - [`test_settle_dead_letter`](settlement::test_settle_dead_letter)
//!   - [`test_settle_requeue`](settlement::test_settle_requeue)
//!   - [`test_settle_not_held_writes_nothing`](settlement::test_settle_not_held_writes_nothing)
//!   - [`test_settle_without_claim`](settlement::test_settle_without_claim)
//!   - [`test_settle_wakes_result_waiter`](settlement::test_settle_wakes_result_waiter)
//!   - [`test_settle_result_if_awaited`](settlement::test_settle_result_if_awaited)
//! - [`flush`] (every trait's flush):
//!   - [`test_flush_all`](flush::test_flush_all)
//!   - [`test_flushes_are_independent`](flush::test_flushes_are_independent)
//!
//! No case sleeps to wait for an event: a case that races two calls interleaves them with
//! `yield_now`. Only the expiry cases (a put-if-empty TTL, a semaphore slot's TTL) wait, for
//! a fraction of a second, because the passing of time is what they test.

#![warn(missing_docs)]

pub mod control;
pub mod coordination;
pub mod dead_letters;
pub mod flush;
pub mod queue;
pub mod results;
pub mod revocation;
pub mod schedule;
pub mod settlement;
mod support;

use huey_core::Storage;

/// Defines one `#[tokio::test]` per conformance case for the storage that `$make` builds.
///
/// `$make` is an expression giving a [`StorageFixture`]; it is evaluated once per case, in the
/// case's async test function, so it may `.await`. Call the macro once per storage layout,
/// each in a module of its own, since the test functions are named after the cases. See the
/// [crate docs](crate) for a complete example.
///
/// ```
/// mod memory {
///     huey_conformance::conformance_suite!(huey_core::MemoryStorage::new());
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@cases @tests ($make));
    };
    // The one list of cases, by module; the other arms receive it. Braces, so the call
    // stands as items (the tests) and as an expression (`CASES`).
    (@cases @$then:ident $args:tt) => {
        $crate::conformance_suite! { @$then $args;
            queue: [
                test_queue_methods, test_priority, test_claim_ack_contract,
                test_requeue_returns_claim, test_delivery_count, test_release_is_uncounted,
                test_dequeue_batch, test_dequeue_wakes_on_enqueue,
                test_enqueue_many, test_maintain_keeps_own_claims, test_retire_gives_claims_back,
                test_dequeue_size_limit, test_dequeue_size_limit_while_waiting,
            ],
            schedule: [
                test_schedule_methods, test_read_schedule, test_promote_due,
                test_promote_due_large_batch,
            ],
            results: [
                test_result_store_methods, test_peek_many, test_wait_result,
                test_result_store_holds_values_only,
            ],
            coordination: [
                test_counter, test_put_if_empty_ttl, test_delete_data_if, test_chord_record,
                test_semaphore_methods, test_semaphore_expiry,
            ],
            dead_letters: [
                test_dead_letter_keeps_message, test_dead_letter_requeue_selected,
                test_dead_letter_requeue_all, test_dead_letter_delete, test_dead_letter_retention,
            ],
            revocation: [
                test_revocation_methods, test_claim_reports_revocations,
            ],
            control: [
                test_presence_methods, test_presence_drops_stale, test_pause_flag,
                test_control_apart_from_results, test_stats_add_up, test_stats_retention,
                test_stats_apart_from_results,
            ],
            settlement: [
                test_settle_success_with_next_stage, test_settle_final_failure_with_error_handler,
                test_settle_retry_without_delay, test_settle_retry_with_delay,
                test_settle_chord_member_fires_once, test_settle_dead_letter, test_settle_requeue,
                test_settle_not_held_writes_nothing, test_settle_without_claim,
                test_settle_wakes_result_waiter, test_settle_result_if_awaited,
            ],
            flush: [
                test_flush_all, test_flushes_are_independent,
            ],
        }
    };
    (@tests ($make:expr); $($module:ident: [$($name:ident),* $(,)?]),* $(,)?) => {
        $($(
            // tokio's `crate` option takes a string, where `$crate` cannot go: the path is
            // spelled out, which is why the dependency must keep its name.
            #[$crate::__private::tokio::test(crate = "::huey_conformance::__private::tokio")]
            async fn $name() {
                let fixture = $make;
                $crate::$module::$name($crate::StorageFixture::storage(&fixture)).await;
            }
        )*)*
    };
    (@names (); $($module:ident: [$($name:ident),* $(,)?]),* $(,)?) => {
        &[$($(concat!(stringify!($module), "::", stringify!($name))),*),*]
    };
}

/// Every case of the suite as `module::function`, in the order [`conformance_suite!`]
/// defines them.
pub const CASES: &[&str] = conformance_suite!(@cases @names ());

/// What a case holds for its duration: a storage, and whatever keeps it alive (a server, a
/// temporary database), dropped when the case ends.
///
/// Every [`Storage`] is a fixture of itself.
pub trait StorageFixture {
    /// The storage under test: fresh and empty when the case starts.
    fn storage(&self) -> &dyn Storage;
}

impl<S: Storage> StorageFixture for S {
    fn storage(&self) -> &dyn Storage {
        self
    }
}

/// What [`conformance_suite!`] expands to needs; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use tokio;
}

#[cfg(test)]
mod tests {
    /// Every public case function is in the macro's list, so no case is written and never
    /// run.
    #[test]
    fn every_case_is_listed() {
        let sources = [
            ("control", include_str!("control.rs")),
            ("coordination", include_str!("coordination.rs")),
            ("dead_letters", include_str!("dead_letters.rs")),
            ("flush", include_str!("flush.rs")),
            ("queue", include_str!("queue.rs")),
            ("results", include_str!("results.rs")),
            ("revocation", include_str!("revocation.rs")),
            ("schedule", include_str!("schedule.rs")),
            ("settlement", include_str!("settlement.rs")),
        ];
        let mut defined: Vec<String> = sources
            .iter()
            .flat_map(|(module, source)| {
                source.lines().filter_map(move |line| {
                    let name = line.strip_prefix("pub async fn ")?.split('(').next()?;
                    Some(format!("{module}::{name}"))
                })
            })
            .collect();
        let mut listed: Vec<String> = super::CASES.iter().map(|c| c.to_string()).collect();
        defined.sort();
        listed.sort();
        assert_eq!(defined, listed);
    }
}
