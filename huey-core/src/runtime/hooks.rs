//! The hook set a `Huey` runs: signal handlers and pre/post-execute hooks, the registered
//! ones first (in declaration order) and those connected at run time after them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::registry::{Hook, PostExecuteFn, PreExecuteFn, SignalFn, registered_hooks};
use crate::error::TaskError;
use crate::task::signal::Signal;
use crate::task::state::{State, WorkerState};
use crate::task::{Task, TaskValue};

/// Identifies a handler connected with [`Huey::connect_signal`](crate::Huey::connect_signal),
/// for disconnecting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandlerId(u64);

type DynSignalFn = Arc<dyn Fn(Signal, &Task, Option<&TaskError>) + Send + Sync>;
type DynPreFn = Arc<dyn Fn(&Task) -> Result<(), TaskError> + Send + Sync>;
type DynPostFn = Arc<dyn Fn(&Task, Option<&TaskValue>, Option<&TaskError>) + Send + Sync>;

struct DynSignal {
    id: HandlerId,
    signals: Vec<Signal>,
    f: DynSignalFn,
}

#[derive(Clone)]
pub(crate) enum PreHook {
    Registered(&'static str, PreExecuteFn),
    Dynamic(HandlerId, String, DynPreFn),
}

#[derive(Clone)]
pub(crate) enum PostHook {
    Registered(&'static str, PostExecuteFn),
    Dynamic(HandlerId, String, DynPostFn),
}

/// The hooks and signal handlers of one `Huey`: the registered ones plus those connected at
/// run time.
#[derive(Default)]
pub(crate) struct Hooks {
    /// The `#[signal]` handlers that apply, found once rather than at every signal.
    registered_signals: Vec<(&'static str, &'static [Signal], SignalFn)>,
    next_id: AtomicU64,
    signals: RwLock<Vec<DynSignal>>,
    pre: RwLock<Vec<PreHook>>,
    post: RwLock<Vec<PostHook>>,
}

impl Hooks {
    pub(crate) fn new(include_registered: bool) -> Self {
        let mut hooks = Hooks::default();
        if include_registered {
            hooks.registered_signals = registered_hooks()
                .iter()
                .filter_map(|h| match h.hook {
                    Hook::Signal(list, f) => Some((h.name, list, f)),
                    _ => None,
                })
                .collect();
            let mut pre = Vec::new();
            let mut post = Vec::new();
            for h in registered_hooks() {
                match h.hook {
                    Hook::PreExecute(f) => pre.push(PreHook::Registered(h.name, f)),
                    Hook::PostExecute(f) => post.push(PostHook::Registered(h.name, f)),
                    _ => {}
                }
            }
            *write(&hooks.pre) = pre;
            *write(&hooks.post) = post;
        }
        hooks
    }

    fn next_id(&self) -> HandlerId {
        HandlerId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn connect_signal(&self, signals: &[Signal], f: DynSignalFn) -> HandlerId {
        let id = self.next_id();
        write(&self.signals).push(DynSignal {
            id,
            signals: signals.to_vec(),
            f,
        });
        id
    }

    pub(crate) fn add_pre(&self, name: String, f: DynPreFn) -> HandlerId {
        let id = self.next_id();
        write(&self.pre).push(PreHook::Dynamic(id, name, f));
        id
    }

    pub(crate) fn add_post(&self, name: String, f: DynPostFn) -> HandlerId {
        let id = self.next_id();
        write(&self.post).push(PostHook::Dynamic(id, name, f));
        id
    }

    /// Removes a connected handler or hook; returns whether it was connected.
    pub(crate) fn disconnect(&self, id: HandlerId) -> bool {
        let mut removed = false;
        write(&self.signals).retain(|s| {
            let keep = s.id != id;
            removed |= !keep;
            keep
        });
        write(&self.pre).retain(|h| {
            let keep = !matches!(h, PreHook::Dynamic(i, ..) if *i == id);
            removed |= !keep;
            keep
        });
        write(&self.post).retain(|h| {
            let keep = !matches!(h, PostHook::Dynamic(i, ..) if *i == id);
            removed |= !keep;
            keep
        });
        removed
    }

    pub(crate) fn pre_hooks(&self) -> Vec<PreHook> {
        read(&self.pre).clone()
    }

    pub(crate) fn post_hooks(&self) -> Vec<PostHook> {
        read(&self.post).clone()
    }

    /// Fires `signal`: handlers for that signal first, then handlers for every signal, each
    /// isolated so a panicking handler neither stops the others nor the task.
    pub(crate) fn emit(&self, signal: Signal, task: &Task, error: Option<&TaskError>) {
        let registered = &self.registered_signals;
        for (name, _, f) in registered.iter().filter(|(_, l, _)| l.contains(&signal)) {
            call_isolated(name, || f(signal, task, error));
        }
        // Copy the connected handlers out, so a handler may connect or disconnect others.
        let (specific, any): (Vec<DynSignalFn>, Vec<DynSignalFn>) = {
            let connected = read(&self.signals);
            let specific = connected
                .iter()
                .filter(|s| s.signals.contains(&signal))
                .map(|s| Arc::clone(&s.f))
                .collect();
            let any = connected
                .iter()
                .filter(|s| s.signals.is_empty())
                .map(|s| Arc::clone(&s.f))
                .collect();
            (specific, any)
        };
        for f in &specific {
            call_isolated("connected handler", || f(signal, task, error));
        }
        for (name, _, f) in registered.iter().filter(|(_, l, _)| l.is_empty()) {
            call_isolated(name, || f(signal, task, error));
        }
        for f in &any {
            call_isolated("connected handler", || f(signal, task, error));
        }
    }
}

/// The worker's value of type `T` for a `State<T>` parameter of hook `hook` (generated by
/// `#[pre_execute]` and `#[post_execute]`). Its absence is the hook's failure, logged with the
/// type's name, as a task's is.
#[doc(hidden)]
pub fn hook_state<T: Send + Sync + 'static>(
    state: &WorkerState,
    hook: &str,
) -> Result<State<T>, TaskError> {
    state.get::<T>().ok_or_else(|| {
        TaskError::msg(format!(
            "hook {hook} needs State<{}> but this worker has none: insert it with \
             WorkerState::insert in an #[on_startup] hook",
            std::any::type_name::<T>()
        ))
    })
}

fn call_isolated(name: &str, f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        let error = TaskError::from_panic(payload);
        tracing::error!(handler = name, %error, "signal handler failed");
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
