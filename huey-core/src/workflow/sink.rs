//! [`EnqueueInto`]: the one trait over every `enqueue_into`, so a backend crate writes its
//! transactional `enqueue_in` once, for task calls, pipelines, groups and chords alike.

use std::future::Future;

use super::call::TaskCall;
use super::group::{Chord, ChordResult, Group, ResultGroup};
use super::pipeline::{Handles, Pipeline};
use super::result::TaskResult;
use crate::error::HueyError;
use crate::runtime::{Huey, MessageSink};
use crate::task::TaskDef;

/// What can be written to a [`MessageSink`]: a [`TaskCall`], a [`Pipeline`], a [`Group`]
/// (what a task's `map` enqueues is `group(items.map(my_task::call))`) or a [`Chord`]. Each
/// one's `enqueue_into` method, behind one name, for code generic over them (a backend's
/// `enqueue_in` on its own transactions).
///
/// ```
/// use huey_core::prelude::*;
/// use huey_core::{EnqueueInto, MessageSink, StorageError};
///
/// #[task]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// #[derive(Default)]
/// struct Held(Vec<(Vec<u8>, i32)>);
///
/// #[huey_core::async_trait]
/// impl MessageSink for Held {
///     async fn put(&mut self, items: Vec<(Vec<u8>, i32)>) -> Result<(), StorageError> {
///         self.0.extend(items);
///         Ok(())
///     }
/// }
///
/// /// Anything enqueueable, into a sink of its own: returns the handle(s).
/// async fn held<E: EnqueueInto>(huey: &Huey, what: E) -> Result<E::Handle, HueyError> {
///     what.enqueue_into(huey, &mut Held::default()).await
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), HueyError> {
/// let huey = Huey::memory("enqueue-into-docs");
/// let _one = held(&huey, add::call(1, 2)).await?;
/// let _two = held(&huey, huey_core::group([add::call(1, 2), add::call(3, 4)])).await?;
/// # Ok(())
/// # }
/// ```
pub trait EnqueueInto: Sized + Send {
    /// The result handle(s) the enqueue returns.
    type Handle;

    /// Writes the messages to `sink` in one call and returns the handle(s), as the type's own
    /// `enqueue_into` does.
    fn enqueue_into<'a>(
        self,
        huey: &'a Huey,
        sink: &'a mut (dyn MessageSink + '_),
    ) -> impl Future<Output = Result<Self::Handle, HueyError>> + Send + 'a
    where
        Self: 'a;
}

impl<T: TaskDef> EnqueueInto for TaskCall<T>
where
    TaskCall<T>: Send,
{
    type Handle = TaskResult<T::Output>;

    fn enqueue_into<'a>(
        self,
        huey: &'a Huey,
        sink: &'a mut (dyn MessageSink + '_),
    ) -> impl Future<Output = Result<Self::Handle, HueyError>> + Send + 'a
    where
        Self: 'a,
    {
        TaskCall::enqueue_into(self, huey, sink)
    }
}

impl<L: TaskDef, H: Handles + Send> EnqueueInto for Pipeline<L, H>
where
    Pipeline<L, H>: Send,
{
    type Handle = H;

    fn enqueue_into<'a>(
        self,
        huey: &'a Huey,
        sink: &'a mut (dyn MessageSink + '_),
    ) -> impl Future<Output = Result<Self::Handle, HueyError>> + Send + 'a
    where
        Self: 'a,
    {
        Pipeline::enqueue_into(self, huey, sink)
    }
}

impl<O: Send> EnqueueInto for Group<O>
where
    Group<O>: Send,
{
    type Handle = ResultGroup<O>;

    fn enqueue_into<'a>(
        self,
        huey: &'a Huey,
        sink: &'a mut (dyn MessageSink + '_),
    ) -> impl Future<Output = Result<Self::Handle, HueyError>> + Send + 'a
    where
        Self: 'a,
    {
        Group::enqueue_into(self, huey, sink)
    }
}

impl<O: Send, C: TaskDef, L: TaskDef, H: Handles + Send> EnqueueInto for Chord<O, C, L, H>
where
    Chord<O, C, L, H>: Send,
{
    type Handle = ChordResult<O, C::Output, H>;

    fn enqueue_into<'a>(
        self,
        huey: &'a Huey,
        sink: &'a mut (dyn MessageSink + '_),
    ) -> impl Future<Output = Result<Self::Handle, HueyError>> + Send + 'a
    where
        Self: 'a,
    {
        Chord::enqueue_into(self, huey, sink)
    }
}
