//! Groups and chords (Huey's `group`, `chord` and `ResultGroup`): many calls enqueued together,
//! and a callback that runs once every one of them has an outcome.
//!
//! ```
//! use huey_core::prelude::*;
//! use huey_core::group::{MemberResult, group};
//! use std::time::Duration;
//!
//! #[task]
//! fn square(n: i64) -> i64 {
//!     n * n
//! }
//!
//! #[task]
//! fn total(label: String, squares: Vec<MemberResult<i64>>) -> String {
//!     let sum: i64 = squares.into_iter().filter_map(MemberResult::ok).sum();
//!     format!("{label}{sum}")
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let huey = Huey::memory("chord-docs");
//! let consumer = Consumer::builder(&huey).workers(2).start()?;
//! let wait = Duration::from_secs(5);
//!
//! // A group: one typed handle per member, in member order.
//! let mut squares = group((1..=3).map(|n| square::call(n))).enqueue(&huey).await?;
//! assert_eq!(squares.wait(wait).await?, vec![1, 4, 9]);
//!
//! // A chord: the callback gets every member's outcome, in member order.
//! let mut chord = group((1..=3).map(|n| square::call(n)))
//!     .then(total::partial("sum of squares: ".to_owned()))
//!     .enqueue(&huey)
//!     .await?;
//! assert_eq!(chord.callback.wait(wait).await?, "sum of squares: 14");
//! consumer.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! A member is a [`TaskCall`] or a [`Pipeline`] (its last stage's output is the member's
//! value). The chord callback's last parameter is a `Vec<MemberResult<O>>`: a member that
//! failed for good contributes [`MemberResult::Failed`], one that was revoked, expired or
//! cancelled by a hook contributes [`MemberResult::Skipped`]. A chord without members runs its
//! callback at once with an empty list.
//!
//! Bookkeeping is idempotent per member (a storage-side record of who has finished, not a
//! counter), so a member that runs twice after a crash can neither complete the chord early
//! nor make it hang.

use std::marker::PhantomData;
use std::ops::{Index, IndexMut};
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::call::{PartialCall, Stage, TaskCall};
use super::pipeline::{Append, Handles, Pipeline, nest};
use super::result::TaskResult;
use crate::error::{HueyError, ResultError, TaskFailure};
use crate::runtime::Huey;
pub use crate::task::MemberResult;
use crate::task::message::{ChordMember, Message};
use crate::task::{TaskDef, new_task_id};

/// A call that can be a member of a [`Group`] whose members produce `O`: a [`TaskCall`] of a
/// task returning `O`, or a [`Pipeline`] whose last stage returns `O`.
#[diagnostic::on_unimplemented(
    message = "this call cannot be a member of a group of `{O}` values",
    note = "every member of a group must produce the same type: a task call returning it, or a pipeline whose last stage returns it"
)]
pub trait Member<O>: sealed::Sealed {
    #[doc(hidden)]
    fn into_member(self) -> Result<Plan, HueyError>;
}

mod sealed {
    pub trait Sealed {}
    impl<T: crate::TaskDef> Sealed for crate::TaskCall<T> {}
    impl<L: crate::TaskDef, H> Sealed for crate::Pipeline<L, H> {}
    impl<O, C: crate::TaskDef, L: crate::TaskDef, H> Sealed for super::Chord<O, C, L, H> {}
}

impl<T: TaskDef> Member<T::Output> for TaskCall<T> {
    fn into_member(self) -> Result<Plan, HueyError> {
        self.into_message().map(Plan::Call)
    }
}

impl<L: TaskDef, H: crate::workflow::pipeline::Handles> Member<L::Output> for Pipeline<L, H> {
    fn into_member(self) -> Result<Plan, HueyError> {
        self.into_chain().map(Plan::Call)
    }
}

/// A nested chord is a member whose outcome is its callback's (the last stage chained after
/// the callback, if any).
impl<O, C: TaskDef, L: TaskDef, H: Handles> Member<L::Output> for Chord<O, C, L, H> {
    fn into_member(self) -> Result<Plan, HueyError> {
        self.into_plan()
    }
}

/// How a member is enqueued. Not a public API.
#[doc(hidden)]
pub enum Plan {
    /// A call or a pipeline: one message, whose last stage's outcome is the member's.
    Call(Message),
    /// A chord: its members (already carrying its bookkeeping) and its callback, whose last
    /// stage's outcome is the member's.
    Chord {
        members: Vec<Message>,
        callback: Message,
    },
}

impl Plan {
    /// The message whose result is this member's value.
    fn outcome(&self) -> &Message {
        match self {
            Plan::Call(message) => message.tail(),
            Plan::Chord { callback, .. } => callback.tail(),
        }
    }

    /// Makes this member number `member.index` of an enclosing chord.
    fn join(&mut self, member: &ChordMember) {
        match self {
            Plan::Call(message) => join_outermost(message, member),
            Plan::Chord { members, callback } => {
                for message in members {
                    join_outermost(message, member);
                }
                join_outermost(callback, member);
            }
        }
    }

    /// Attaches the error handler to every call this member enqueues.
    fn set_error_handler(&mut self, handler: &Message) {
        let copy = || {
            let mut copy = handler.clone();
            copy.id = new_task_id();
            Some(Box::new(copy))
        };
        match self {
            Plan::Call(message) => message.on_error = copy(),
            Plan::Chord { members, .. } => {
                for message in members {
                    message.on_error = copy();
                }
            }
        }
    }

    /// The messages to enqueue now: a chord without members is its callback, with `[]`.
    fn into_messages(self) -> Result<Vec<Message>, HueyError> {
        match self {
            Plan::Call(message) => Ok(vec![message]),
            Plan::Chord { members, callback } if members.is_empty() => {
                let empty = serde_json::value::to_raw_value(&Vec::<()>::new())?;
                Ok(vec![callback.with_parent(&empty)?])
            }
            Plan::Chord { members, .. } => Ok(members),
        }
    }
}

/// Gives `message`'s outcome to the chord `member` belongs to. When the message is already a
/// member of an inner chord, it is that chord's callback (followed inward) that joins.
fn join_outermost(message: &mut Message, member: &ChordMember) {
    let tail = message.tail_mut();
    match &mut tail.chord {
        Some(inner) => join_outermost(&mut inner.callback, member),
        None => tail.chord = Some(member.clone()),
    }
}

/// Calls enqueued together, whose values come back in member order (Huey's `group`; `map`
/// makes one from a single task). Add a callback with [`then`](Self::then) to make a chord.
#[must_use = "a group does nothing until it is enqueued"]
pub struct Group<O> {
    members: Vec<Result<Plan, HueyError>>,
    _output: PhantomData<fn() -> O>,
}

/// A group of `members`, every one producing an `O`. See the [module docs](self).
pub fn group<O, M: Member<O>>(members: impl IntoIterator<Item = M>) -> Group<O> {
    Group {
        members: members.into_iter().map(Member::into_member).collect(),
        _output: PhantomData,
    }
}

impl<O> Group<O> {
    /// A group without members yet; add them with [`push`](Self::push). Members of different
    /// tasks (with the same output type) are added this way.
    pub fn new() -> Self {
        Group {
            members: Vec::new(),
            _output: PhantomData,
        }
    }

    /// Adds a member.
    pub fn push<M: Member<O>>(mut self, member: M) -> Self {
        self.members.push(member.into_member());
        self
    }

    /// Attaches a copy of `handler` to every member, as [`TaskCall::error`] does for one call
    /// (each copy has its own id).
    pub fn error<H: TaskDef, P: Serialize>(
        mut self,
        handler: PartialCall<H, P, TaskFailure>,
    ) -> Self {
        match handler.into_stage_message() {
            Ok(handler) => {
                for plan in self.members.iter_mut().flatten() {
                    plan.set_error_handler(&handler);
                }
            }
            // Enqueueing reports the first bad member, so the first good one carrying the
            // error fails the group as marking them all would, with the error kept whole.
            Err(error) => {
                if let Some(member) = self.members.iter_mut().find(|m| m.is_ok()) {
                    *member = Err(error);
                }
            }
        }
        self
    }

    /// Makes a chord: `callback` runs once every member has an outcome, with the list of
    /// outcomes (in member order) as its last argument.
    pub fn then<S: Stage<Vec<MemberResult<O>>>>(self, callback: S) -> Chord<O, S::Task> {
        Chord {
            members: self.members,
            callback: vec![callback.into_stage_message()],
            _types: PhantomData,
        }
    }

    /// Enqueues every member in one storage call and returns their handles.
    pub async fn enqueue(self, huey: &Huey) -> Result<ResultGroup<O>, HueyError> {
        let plans = self.members.into_iter().collect::<Result<Vec<_>, _>>()?;
        enqueue_plans(huey, plans, None).await
    }

    /// Writes every member to `sink` in one call instead of the queue's storage, and returns
    /// their handles; see [`MessageSink`](crate::MessageSink).
    pub async fn enqueue_into(
        self,
        huey: &Huey,
        sink: &mut (dyn crate::MessageSink + '_),
    ) -> Result<ResultGroup<O>, HueyError> {
        let plans = self.members.into_iter().collect::<Result<Vec<_>, _>>()?;
        enqueue_plans(huey, plans, Some(sink)).await
    }
}

/// Enqueues the members' messages together (to `sink` if given, else to the queue's
/// storage); the handles follow member order.
async fn enqueue_plans<O>(
    huey: &Huey,
    plans: Vec<Plan>,
    sink: Option<&mut (dyn crate::MessageSink + '_)>,
) -> Result<ResultGroup<O>, HueyError> {
    let handles = plans
        .iter()
        .map(|plan| TaskResult::new(huey.clone(), Arc::new(plan.outcome().clone())))
        .collect();
    let mut messages = Vec::new();
    for plan in plans {
        messages.extend(plan.into_messages()?);
    }
    dispatch(huey, messages, sink).await?;
    Ok(ResultGroup::from_handles(handles))
}

/// Enqueues `messages` in one call: to `sink` if given, else to the queue's storage.
async fn dispatch(
    huey: &Huey,
    messages: Vec<Message>,
    sink: Option<&mut (dyn crate::MessageSink + '_)>,
) -> Result<(), HueyError> {
    match sink {
        Some(sink) => huey.enqueue_batch_into(messages, sink).await,
        None => huey.enqueue_batch(messages).await,
    }
}

impl<O> Default for Group<O> {
    fn default() -> Self {
        Group::new()
    }
}

/// A group with a callback (Huey's `chord`). Made by [`Group::then`]; a chord can itself be a
/// member of another group or chord, its callback's value being the member's.
///
/// `C` is the callback's task. [`then`](Self::then) chains stages after the callback, as a
/// pipeline does: `L` is the last stage's task and `H` the tuple of their handles.
///
/// ```
/// use huey_core::group::{MemberResult, group};
/// use huey_core::prelude::*;
/// use std::time::Duration;
///
/// #[task]
/// fn square(n: i64) -> i64 {
///     n * n
/// }
///
/// #[task]
/// fn sum(values: Vec<MemberResult<i64>>) -> i64 {
///     values.into_iter().filter_map(MemberResult::ok).sum()
/// }
///
/// #[task]
/// fn negate(n: i64) -> i64 {
///     -n
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let huey = Huey::memory("chord-docs");
/// let consumer = Consumer::builder(&huey).workers(2).start()?;
/// // An inner chord is a member whose value is its callback's: 1 + 4 = 5.
/// let inner = group([square::call(1), square::call(2)]).then(sum::partial());
/// let mut outer = group([square::call(3)])
///     .push(inner)
///     .then(sum::partial()) // 9 + 5
///     .then(negate::partial()) // chained after the callback
///     .enqueue(&huey)
///     .await?;
/// let wait = Duration::from_secs(5);
/// assert_eq!(outer.callback.wait(wait).await?, 14);
/// assert_eq!(outer.then.0.wait(wait).await?, -14);
/// assert_eq!(outer.results.wait(wait).await?, vec![9, 5]);
/// consumer.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "a chord does nothing until it is enqueued"]
pub struct Chord<O, C: TaskDef, L: TaskDef = C, H = ()> {
    members: Vec<Result<Plan, HueyError>>,
    callback: Vec<Result<Message, HueyError>>,
    _types: PhantomData<ChordTypes<O, C, L, H>>,
}

type ChordTypes<O, C, L, H> = fn() -> (O, C, L, H);

impl<O, C: TaskDef, L: TaskDef, H: Handles> Chord<O, C, L, H> {
    /// Chains `next` after the callback (or after the stage chained last), with that stage's
    /// value, as [`Pipeline::then`] does (Huey's `chord.then`).
    #[allow(clippy::type_complexity)]
    pub fn then<S>(
        self,
        next: S,
    ) -> Chord<O, C, S::Task, <H as Append<TaskResult<<S::Task as TaskDef>::Output>>>::With>
    where
        S: Stage<L::Output>,
        H: Append<TaskResult<<S::Task as TaskDef>::Output>>,
    {
        let mut callback = self.callback;
        callback.push(next.into_stage_message());
        Chord {
            members: self.members,
            callback,
            _types: PhantomData,
        }
    }

    /// Enqueues the members (or, with none, the callback at once with an empty list).
    pub async fn enqueue(self, huey: &Huey) -> Result<ChordResult<O, C::Output, H>, HueyError> {
        self.enqueue_to(huey, None).await
    }

    /// Writes the members (or, with none, the callback with an empty list) to `sink` in one
    /// call instead of the queue's storage, and returns the chord's handles; see
    /// [`MessageSink`](crate::MessageSink). The chord's bookkeeping starts when its first
    /// member settles, so nothing of it is written before the sink's transaction commits.
    ///
    /// ```
    /// use huey_core::group::{MemberResult, group};
    /// use huey_core::prelude::*;
    /// use huey_core::{MessageSink, StorageError};
    ///
    /// #[task]
    /// fn square(n: i64) -> i64 {
    ///     n * n
    /// }
    ///
    /// #[task]
    /// fn sum(values: Vec<MemberResult<i64>>) -> i64 {
    ///     values.into_iter().filter_map(MemberResult::ok).sum()
    /// }
    ///
    /// /// Holds messages as a transaction would until its commit.
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let huey = Huey::memory("chord-sink-docs");
    /// let mut held = Held::default();
    /// let _chord = group([square::call(2), square::call(3)])
    ///     .then(sum::partial())
    ///     .enqueue_into(&huey, &mut held)
    ///     .await?;
    /// assert_eq!(held.0.len(), 2, "the members; the callback travels inside them");
    /// assert_eq!(huey.pending_count().await?, 0, "nothing reached the storage itself");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn enqueue_into(
        self,
        huey: &Huey,
        sink: &mut (dyn crate::MessageSink + '_),
    ) -> Result<ChordResult<O, C::Output, H>, HueyError> {
        self.enqueue_to(huey, Some(sink)).await
    }

    /// Enqueues the chord to `sink` if given, else to the queue's storage, in one call.
    async fn enqueue_to(
        self,
        huey: &Huey,
        sink: Option<&mut (dyn crate::MessageSink + '_)>,
    ) -> Result<ChordResult<O, C::Output, H>, HueyError> {
        let callback = nest(self.callback, "a chord has no callback")?;
        let callback_handle = TaskResult::new(huey.clone(), Arc::new(callback.clone()));
        let then = match &callback.on_complete {
            Some(next) => H::from_chain(huey, next),
            None => H::from_chain(huey, &callback),
        };
        let mut plans = self.members.into_iter().collect::<Result<Vec<_>, _>>()?;
        let results = if plans.is_empty() {
            // No member will ever complete the chord: its callback goes now, with `[]`.
            let empty = serde_json::value::to_raw_value(&Vec::<()>::new())?;
            dispatch(huey, vec![callback.with_parent(&empty)?], sink).await?;
            ResultGroup::from_handles(Vec::new())
        } else {
            join_chord(&mut plans, callback);
            enqueue_plans(huey, plans, sink).await?
        };
        Ok(ChordResult {
            results,
            callback: callback_handle,
            then,
        })
    }

    fn into_plan(self) -> Result<Plan, HueyError> {
        let callback = nest(self.callback, "a chord has no callback")?;
        let mut plans = self.members.into_iter().collect::<Result<Vec<_>, _>>()?;
        join_chord(&mut plans, callback.clone());
        let mut members = Vec::new();
        for plan in plans {
            members.extend(plan.into_messages()?);
        }
        Ok(Plan::Chord { members, callback })
    }
}

/// Makes `plans` the members of a new chord with `callback`.
fn join_chord(plans: &mut [Plan], callback: Message) {
    let chord = ChordMember {
        id: new_task_id(),
        index: 0,
        size: plans.len(),
        callback: Box::new(callback),
    };
    for (index, plan) in plans.iter_mut().enumerate() {
        plan.join(&ChordMember {
            index,
            ..chord.clone()
        });
    }
}

/// The handles of an enqueued chord (Huey's `ChordResult`).
#[derive(Debug)]
#[must_use = "the handles are the only way to read the chord's results"]
pub struct ChordResult<O, C, H = ()> {
    /// The members' handles, in member order.
    pub results: ResultGroup<O>,
    /// The callback's handle.
    pub callback: TaskResult<C>,
    /// The handles of the stages chained after the callback with [`Chord::then`], in order
    /// (`()` when there are none).
    pub then: H,
}

/// Typed handles on the results of a group's members, in member order (Huey's `ResultGroup`).
/// Index it for one member's handle.
///
/// ```
/// use futures::StreamExt;
/// use huey_core::prelude::*;
/// use std::time::Duration;
///
/// #[task]
/// async fn double(n: u32) -> u32 {
///     n * 2
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let huey = Huey::memory("result-group-docs");
/// let consumer = Consumer::builder(&huey).workers(2).start()?;
/// let wait = Duration::from_secs(5);
///
/// let mut doubled = double::map(&huey, [1, 2, 3]).await?;
/// assert_eq!(doubled[2].wait(wait).await?, 6); // one member
/// assert_eq!(doubled.wait(wait).await?, vec![2, 4, 6]); // all, in member order
///
/// // As they finish, with their index.
/// let more = double::map(&huey, [10, 20]).await?;
/// let mut finished: Vec<(usize, u32)> = more
///     .as_completed(wait)
///     .map(|(index, value)| (index, value.expect("a value")))
///     .collect()
///     .await;
/// finished.sort();
/// assert_eq!(finished, vec![(0, 20), (1, 40)]);
/// consumer.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ResultGroup<O> {
    handles: Vec<TaskResult<O>>,
}

impl<O> ResultGroup<O> {
    pub(crate) fn from_handles(handles: Vec<TaskResult<O>>) -> Self {
        ResultGroup { handles }
    }

    /// How many members the group has.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether the group has no members.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The members' handles.
    pub fn iter(&self) -> std::slice::Iter<'_, TaskResult<O>> {
        self.handles.iter()
    }

    /// The members' handles, to read from.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, TaskResult<O>> {
        self.handles.iter_mut()
    }
}

impl<O: DeserializeOwned> ResultGroup<O> {
    /// Each member's value if it is ready, without waiting; a failed member is an error.
    pub async fn get(&mut self) -> Result<Vec<Option<O>>, ResultError> {
        let mut values = Vec::with_capacity(self.handles.len());
        for handle in &mut self.handles {
            values.push(handle.get().await?);
        }
        Ok(values)
    }

    /// Waits up to `timeout` for every member's final outcome (as
    /// [`TaskResult::wait`] does: the errors of attempts that will be retried are passed over)
    /// and returns the values in member order; the first member that failed for good (or did
    /// not finish in time) is the error.
    pub async fn wait(&mut self, timeout: Duration) -> Result<Vec<O>, ResultError> {
        let deadline = tokio::time::Instant::now() + timeout;
        watch(self.handles.iter(), timeout).await;
        let mut values = Vec::with_capacity(self.handles.len());
        for handle in &mut self.handles {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            values.push(handle.wait(left).await?);
        }
        Ok(values)
    }

    /// Each member's final outcome as it becomes ready, with its index, until every member
    /// has one or `timeout` passes (then the members still waiting yield a timeout error).
    ///
    /// One wait is in flight at a time (on the first member still pending, up to
    /// [`POLL`](Self::POLL) at a time), so a large group does not hold a storage connection
    /// per member.
    pub fn as_completed(
        self,
        timeout: Duration,
    ) -> impl Stream<Item = (usize, Result<O, ResultError>)> {
        let deadline = tokio::time::Instant::now() + timeout;
        let pending: Vec<(usize, TaskResult<O>)> = self.handles.into_iter().enumerate().collect();
        futures::stream::unfold(
            (pending, std::collections::VecDeque::new(), false),
            move |(mut pending, mut ready, watched)| async move {
                if !watched {
                    watch(pending.iter().map(|(_, handle)| handle), timeout).await;
                }
                loop {
                    if let Some(item) = ready.pop_front() {
                        return Some((item, (pending, ready, true)));
                    }
                    if pending.is_empty() {
                        return None;
                    }
                    let mut still = Vec::with_capacity(pending.len());
                    for (index, mut handle) in pending {
                        match handle.get().await {
                            Ok(Some(value)) => ready.push_back((index, Ok(value))),
                            Ok(None) => still.push((index, handle)),
                            Err(error) => ready.push_back((index, Err(error))),
                        }
                    }
                    pending = still;
                    if !ready.is_empty() || pending.is_empty() {
                        continue;
                    }
                    let now = tokio::time::Instant::now();
                    if now >= deadline {
                        ready.extend(pending.drain(..).map(|(index, handle)| {
                            let error = ResultError::Timeout {
                                id: handle.id().to_owned(),
                                waited: timeout,
                            };
                            (index, Err(error))
                        }));
                        continue;
                    }
                    let slice = (deadline - now).min(Self::POLL);
                    let (index, handle) = &mut pending[0];
                    match handle.wait(slice).await {
                        Ok(value) => {
                            let index = *index;
                            pending.remove(0);
                            ready.push_back((index, Ok(value)));
                        }
                        Err(ResultError::Timeout { .. }) => {}
                        Err(error) => {
                            let index = *index;
                            pending.remove(0);
                            ready.push_back((index, Err(error)));
                        }
                    }
                }
            },
        )
    }

    /// The longest single wait of [`as_completed`](Self::as_completed) before it looks at
    /// every pending member again.
    pub const POLL: Duration = Duration::from_millis(100);
}

/// Registers a wait on every one of `handles` still without an outcome, at once, before they
/// are waited for one by one: a member that completes meanwhile then leaves its `()` result
/// (which is stored only for a waiter). A failure costs only that, so it is not an error: each
/// member's own wait registers again.
async fn watch<'a, O: 'a>(handles: impl Iterator<Item = &'a TaskResult<O>>, timeout: Duration) {
    let handles: Vec<&TaskResult<O>> = handles.filter(|h| !h.has_outcome()).collect();
    let Some(first) = handles.first() else { return };
    let huey = first.huey();
    if !huey.results_enabled() {
        return;
    }
    let keys: Vec<&str> = handles.iter().map(|h| h.id()).collect();
    if let Err(error) = huey.storage().watch_results(&keys, timeout).await {
        tracing::debug!(error = %crate::error_chain(&error), "could not register the group's waits");
    }
}

impl<O> Index<usize> for ResultGroup<O> {
    type Output = TaskResult<O>;
    fn index(&self, index: usize) -> &TaskResult<O> {
        &self.handles[index]
    }
}

impl<O> IndexMut<usize> for ResultGroup<O> {
    fn index_mut(&mut self, index: usize) -> &mut TaskResult<O> {
        &mut self.handles[index]
    }
}

impl<O> IntoIterator for ResultGroup<O> {
    type Item = TaskResult<O>;
    type IntoIter = std::vec::IntoIter<TaskResult<O>>;
    fn into_iter(self) -> Self::IntoIter {
        self.handles.into_iter()
    }
}

impl<'a, O> IntoIterator for &'a ResultGroup<O> {
    type Item = &'a TaskResult<O>;
    type IntoIter = std::slice::Iter<'a, TaskResult<O>>;
    fn into_iter(self) -> Self::IntoIter {
        self.handles.iter()
    }
}

impl<'a, O> IntoIterator for &'a mut ResultGroup<O> {
    type Item = &'a mut TaskResult<O>;
    type IntoIter = std::slice::IterMut<'a, TaskResult<O>>;
    fn into_iter(self) -> Self::IntoIter {
        self.handles.iter_mut()
    }
}

impl Huey {
    /// Enqueues many messages in one storage call and returns a handle on each one's last
    /// pipeline stage (the message itself when it is not a pipeline).
    pub async fn enqueue_messages<O>(
        &self,
        messages: Vec<Message>,
    ) -> Result<ResultGroup<O>, HueyError> {
        let handles = messages
            .iter()
            .map(|m| TaskResult::new(self.clone(), Arc::new(m.tail().clone())))
            .collect();
        self.enqueue_batch(messages).await?;
        Ok(ResultGroup::from_handles(handles))
    }
}
