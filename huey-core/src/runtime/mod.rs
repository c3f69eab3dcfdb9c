//! The runtime: the [`Huey`] handle and what it does with a task. Dispatch puts messages on
//! the queue through an engine (the storage, or the inline engine of immediate mode); the
//! executor runs one claimed message in Huey's order, admitting it through the locks, rate
//! limits and semaphores it declares, and settles it in one storage call; retry rules,
//! revocation, hooks and signals, the task registry, and the glue that macro-generated task
//! bodies call.
//!
//! Files import one way: `huey` (the handle) and `builder` (making one) at the bottom, on
//! `hooks`, `registry` and `engine`; the concerns with methods on the handle above them
//! (`dispatch`, `revocation`, `admin`, `control`, `coordination`, and `inspect` over `control`); the `executor` over those; and the
//! `inline` engine, which runs the executor, on top.

pub(crate) mod admin;
pub(crate) mod blocking;
pub(crate) mod builder;
pub(crate) mod control;
pub(crate) mod coordination;
pub(crate) mod dispatch;
pub(crate) mod engine;
pub(crate) mod executor;
pub(crate) mod hooks;
pub(crate) mod huey;
pub(crate) mod inline;
pub(crate) mod inspect;
pub(crate) mod invoke;
pub(crate) mod registry;
pub(crate) mod retry;
pub(crate) mod revocation;

pub use builder::{DEFAULT_MAX_MESSAGE_SIZE, HueyBuilder};
pub use control::{ConsumerInfo, InFlightTask};
pub use dispatch::MessageSink;
pub use executor::Executed;
pub use hooks::HandlerId;
pub use huey::Huey;
pub use inspect::{FoundTask, StoredOutcome, TaskFilter, TaskLocation};
pub use registry::{
    Registry, TaskDescriptor, crontab_matches, crontab_matches_in, crontab_next_in,
};
