//! Pipelines (Huey's `then` and `error`): stages chained so that each one is enqueued when the
//! one before it succeeds, with that stage's value as its last argument.
//!
//! The chain travels inside the head's message, so a pipeline needs no bookkeeping in storage.
//! Types are checked at compile time: a stage made with `my_task::partial(..)` takes the
//! previous stage's output as its last parameter, and a full `my_task::call(..)` may only follow
//! a stage that returns `()` (Huey passes nothing on for `None`).
//!
//! ```
//! use huey_core::prelude::*;
//! use std::time::Duration;
//!
//! #[task]
//! fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! #[task]
//! fn label(prefix: String, n: i64) -> String {
//!     format!("{prefix}{n}")
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let huey = Huey::memory("pipeline-docs");
//! let consumer = Consumer::builder(&huey).workers(2).start()?;
//! // add(1, 2) -> add(10, 3) -> label("total: ", 13)
//! let (mut first, mut second, mut third) = add::call(1, 2)
//!     .then(add::partial(10))
//!     .then(label::partial("total: ".to_owned()))
//!     .enqueue(&huey)
//!     .await?;
//! let wait = Duration::from_secs(5);
//! assert_eq!(first.wait(wait).await?, 3);
//! assert_eq!(second.wait(wait).await?, 13);
//! assert_eq!(third.wait(wait).await?, "total: 13");
//! consumer.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! A stage that fails for good writes its [`TaskFailure`](crate::TaskFailure) to every later
//! stage's result, so no one waiting on them hangs; a stage that is skipped (revoked, expired,
//! cancelled by a hook) does the same with a failure of kind `skipped`. The later stages are
//! never enqueued.

use std::marker::PhantomData;
use std::sync::Arc;

use super::call::{Stage, TaskCall};
use super::result::TaskResult;
use crate::error::HueyError;
use crate::runtime::Huey;
use crate::task::TaskDef;
use crate::task::message::Message;

impl<T: TaskDef> TaskCall<T> {
    /// Starts a pipeline: `next` is enqueued with this call's value once this call succeeds
    /// (Huey's `then`). See [`Pipeline`].
    #[allow(clippy::type_complexity)]
    pub fn then<S>(
        self,
        next: S,
    ) -> Pipeline<
        S::Task,
        (
            TaskResult<T::Output>,
            TaskResult<<S::Task as TaskDef>::Output>,
        ),
    >
    where
        S: Stage<T::Output>,
    {
        Pipeline {
            stages: vec![self.into_message(), next.into_stage_message()],
            _types: PhantomData,
        }
    }
}

/// Stages that run one after the other, each with the value of the one before (Huey's
/// pipeline). Made by [`TaskCall::then`]; `H` is the tuple of typed result handles that
/// [`enqueue`](Self::enqueue) returns, one per stage. See the [module docs](self) for an
/// example; pipelines have at most 12 stages.
#[must_use = "a pipeline does nothing until it is enqueued"]
pub struct Pipeline<Last: TaskDef, H> {
    stages: Vec<Result<Message, HueyError>>,
    _types: PhantomData<fn() -> (Last, H)>,
}

impl<Last: TaskDef, H: Handles> Pipeline<Last, H> {
    /// Appends `next`, enqueued with the last stage's value once that stage succeeds.
    #[allow(clippy::type_complexity)]
    pub fn then<S>(
        self,
        next: S,
    ) -> Pipeline<S::Task, <H as Append<TaskResult<<S::Task as TaskDef>::Output>>>::With>
    where
        S: Stage<Last::Output>,
        H: Append<TaskResult<<S::Task as TaskDef>::Output>>,
    {
        let mut stages = self.stages;
        stages.push(next.into_stage_message());
        Pipeline {
            stages,
            _types: PhantomData,
        }
    }

    /// Enqueues the first stage (which carries the rest) and returns one handle per stage.
    pub async fn enqueue(self, huey: &Huey) -> Result<H, HueyError> {
        let head = self.into_chain()?;
        let handles = H::from_chain(huey, &head);
        huey.enqueue_raw(head).await?;
        Ok(handles)
    }

    /// [`enqueue`](Self::enqueue) for sync code: blocks the calling thread until stored.
    pub fn blocking_enqueue(self, huey: &Huey) -> Result<H, HueyError> {
        let head = self.into_chain()?;
        let handles = H::from_chain(huey, &head);
        crate::runtime::blocking::block_on(huey.enqueue_raw(head))??;
        Ok(handles)
    }

    /// Writes the first stage (which carries the rest) to `sink` instead of the queue's
    /// storage, and returns one handle per stage; see [`MessageSink`](crate::MessageSink).
    pub async fn enqueue_into(
        self,
        huey: &Huey,
        sink: &mut (dyn crate::MessageSink + '_),
    ) -> Result<H, HueyError> {
        let head = self.into_chain()?;
        let handles = H::from_chain(huey, &head);
        huey.enqueue_batch_into(vec![head], sink).await?;
        Ok(handles)
    }

    /// Nests the stages: each carries the rest as its `on_complete`.
    pub(crate) fn into_chain(self) -> Result<Message, HueyError> {
        nest(self.stages, "a pipeline has no stages")
    }
}

/// Nests `stages` into one message: each carries the rest as its `on_complete`.
pub(crate) fn nest(
    stages: Vec<Result<Message, HueyError>>,
    when_empty: &str,
) -> Result<Message, HueyError> {
    let mut next: Option<Box<Message>> = None;
    for stage in stages.into_iter().rev() {
        let mut stage = stage?;
        stage.on_complete = next;
        next = Some(Box::new(stage));
    }
    next.map(|head| *head)
        .ok_or_else(|| HueyError::Configuration(when_empty.to_owned()))
}

/// The tuple of result handles a [`Pipeline`] returns. Implemented for `()` and tuples of
/// [`TaskResult`]s of up to 12 elements.
pub trait Handles: Sized {
    #[doc(hidden)]
    fn from_chain(huey: &Huey, head: &Message) -> Self;
}

/// Adds one handle to a [`Handles`] tuple (the type of a pipeline with one more stage).
#[diagnostic::on_unimplemented(message = "a pipeline has at most 12 stages")]
pub trait Append<X> {
    /// The tuple with `X` at the end.
    type With;
}

/// Every stage message of the chain starting at `head`, in order.
fn chain(head: &Message) -> impl Iterator<Item = Arc<Message>> + '_ {
    head.stages().map(|m| Arc::new(m.clone()))
}

macro_rules! handles {
    ($($o:ident),+) => {
        impl<$($o),+> Handles for ($(TaskResult<$o>,)+) {
            fn from_chain(huey: &Huey, head: &Message) -> Self {
                let mut stages = chain(head);
                ($({
                    let _: PhantomData<$o>;
                    let stage = stages.next().expect("a pipeline has one stage per handle");
                    TaskResult::new(huey.clone(), stage)
                },)+)
            }
        }
    };
}

macro_rules! append {
    ($($o:ident),+) => {
        impl<$($o,)+ X> Append<X> for ($(TaskResult<$o>,)+) {
            type With = ($(TaskResult<$o>,)+ X);
        }
    };
}

impl Handles for () {
    fn from_chain(_: &Huey, _: &Message) -> Self {}
}

impl<X> Append<X> for () {
    type With = (X,);
}

handles!(A);
handles!(A, B);
handles!(A, B, C);
handles!(A, B, C, D);
handles!(A, B, C, D, E);
handles!(A, B, C, D, E, F);
handles!(A, B, C, D, E, F, G);
handles!(A, B, C, D, E, F, G, H);
handles!(A, B, C, D, E, F, G, H, I);
handles!(A, B, C, D, E, F, G, H, I, J);
handles!(A, B, C, D, E, F, G, H, I, J, K);
handles!(A, B, C, D, E, F, G, H, I, J, K, L);
append!(A);
append!(A, B);
append!(A, B, C);
append!(A, B, C, D);
append!(A, B, C, D, E);
append!(A, B, C, D, E, F);
append!(A, B, C, D, E, F, G);
append!(A, B, C, D, E, F, G, H);
append!(A, B, C, D, E, F, G, H, I);
append!(A, B, C, D, E, F, G, H, I, J);
append!(A, B, C, D, E, F, G, H, I, J, K);
