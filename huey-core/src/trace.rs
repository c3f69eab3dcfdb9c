//! Traces: the `tracing` spans of enqueues and executions, and (the `opentelemetry` feature)
//! the producer's W3C trace context carried in each message, so that an application exporting
//! OpenTelemetry sees a task's enqueue and its execution as one trace.
//!
//! | span | where | fields |
//! | --- | --- | --- |
//! | `huey.enqueue` | the producer, around each enqueue (a task, pipeline, group, chord or map, to the storage or into a [`MessageSink`](crate::MessageSink)); the `opentelemetry` feature only (when the subscriber filters it out, messages carry the current span's context) | `queue`, `messages` (how many), and for one message its `task` and `id`; `otel.kind = "producer"` |
//! | `task` | the consumer, around each execution, also without the feature | `id`, `name`, `attempt` (this copy's delivery), `retries` (left), `queue` |
//!
//! With the feature, an enqueue writes its span's context into each message's
//! [`trace`](crate::message::Message::trace) field as a [`TraceContext`] (`traceparent`, and
//! `tracestate` when there is one), through OpenTelemetry's W3C `TraceContextPropagator`. The
//! consumer makes that context the parent of the execution's `task` span (an execution whose
//! message carries none is the root of a trace of its own). What an execution
//! enqueues in turn (a pipeline's next stage, an error handler, a chord's callback, its own
//! retry) carries the execution's context, so a pipeline, its retries included, is one trace.
//! The propagator is the W3C one whatever the application's global propagator is: the field's
//! format is fixed, so consumers in other languages can read it.
//!
//! huey-core exports nothing itself: the application installs a `tracing` subscriber with
//! `tracing_opentelemetry`'s layer over its own tracer provider and exporter, on the producer
//! and on the consumer (`huey-cli` keeps a subscriber installed before `run_cli`). Without an
//! OpenTelemetry layer the spans have no trace context and messages carry none. Without the
//! feature nothing of OpenTelemetry is built: there is no `huey.enqueue` span, messages are
//! written without the field, and a consumer passes a message's `trace` along unread.
//!
//! The crates are re-exported in the versions huey-core is built with (their types must match
//! the application's), with the feature: `opentelemetry`, `opentelemetry_sdk` and
//! `tracing_opentelemetry`.
//!
//! ```
//! use huey_core::prelude::*;
//!
//! #[task]
//! fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! # #[cfg(feature = "opentelemetry")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), HueyError> {
//! use huey_core::trace::opentelemetry::trace::TracerProvider as _;
//! use huey_core::trace::opentelemetry_sdk::trace::SdkTracerProvider;
//! use huey_core::trace::tracing_opentelemetry::OpenTelemetryLayer;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! // The application's tracer provider, with its exporter (OTLP, say) added to the builder.
//! let provider = SdkTracerProvider::builder().build();
//! let layer = OpenTelemetryLayer::new(provider.tracer("my-app"));
//! let _subscriber = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
//!
//! let huey = Huey::memory("traced");
//! add::enqueue(&huey, 1, 2).await?;
//! let message = huey.pending(None).await?.remove(0);
//! let trace = message.trace.expect("the enqueue span's context");
//! assert!(trace.traceparent.starts_with("00-"));
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "opentelemetry"))]
//! # fn main() {}
//! ```

#[cfg(feature = "opentelemetry")]
pub use opentelemetry;
#[cfg(feature = "opentelemetry")]
pub use opentelemetry_sdk;
#[cfg(feature = "opentelemetry")]
pub use tracing_opentelemetry;

use crate::task::message::Message;
pub use crate::task::message::TraceContext;

/// The name of the producer's span around an enqueue.
pub const ENQUEUE_SPAN: &str = "huey.enqueue";
/// The name of the consumer's span around an execution.
pub const EXECUTION_SPAN: &str = "task";

/// The trace of one enqueue: its `huey.enqueue` span, whose context the messages carry.
/// Without the feature, nothing.
pub(crate) struct Enqueue {
    #[cfg(feature = "opentelemetry")]
    span: tracing::Span,
}

impl Enqueue {
    /// Opens the span of enqueueing `messages` on queue `queue` and writes its context into
    /// each: the span's, or the current span's when the subscriber filters the enqueue span
    /// out; keeping theirs when neither has one (no OpenTelemetry layer is installed).
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn begin(queue: &str, messages: &mut [Message]) -> Enqueue {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        let span = tracing::info_span!(
            ENQUEUE_SPAN,
            otel.kind = "producer",
            queue,
            messages = messages.len(),
            task = tracing::field::Empty,
            id = tracing::field::Empty,
        );
        if let [message] = &*messages {
            span.record("task", message.name.as_str());
            span.record("id", message.id.as_str());
        }
        // A span the subscriber filters out has no context: the current span's stands in.
        let trace = TraceContext::from_context(&span.context()).or_else(TraceContext::current);
        if let Some(trace) = trace {
            for message in messages {
                message.trace = Some(trace.clone());
            }
        }
        Enqueue { span }
    }

    /// Without the feature: nothing to open or write.
    #[cfg(not(feature = "opentelemetry"))]
    #[inline(always)]
    pub(crate) fn begin(_queue: &str, _messages: &mut [Message]) -> Enqueue {
        Enqueue {}
    }

    /// Runs the enqueue `future` inside the span.
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn run<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        tracing::Instrument::instrument(future, self.span)
    }

    /// Without the feature: `future` itself.
    #[cfg(not(feature = "opentelemetry"))]
    #[inline(always)]
    pub(crate) fn run<F: Future>(self, future: F) -> F {
        future
    }
}

/// Makes the context `message` carries the parent of its execution's `span`, which must not
/// have been entered yet. Without one (or with one that does not parse) the execution starts a
/// trace of its own, rather than joining the worker's span, which lasts as long as the
/// consumer: each untraced execution is one trace.
#[cfg(feature = "opentelemetry")]
pub(crate) fn adopt(span: &tracing::Span, message: &Message) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let parent = message
        .trace
        .as_ref()
        .map(TraceContext::to_context)
        .filter(|parent| parent.span().span_context().is_valid())
        .unwrap_or_default();
    // Refused only without a layer or for a disabled span: nobody records it then.
    let _ = span.set_parent(parent);
}

/// Without the feature: the span has no OpenTelemetry parent.
#[cfg(not(feature = "opentelemetry"))]
#[inline(always)]
pub(crate) fn adopt(_span: &tracing::Span, _message: &Message) {}

/// Writes the current span's context (the execution's, in the executor) into `messages`, the
/// copies an execution enqueues (its next stage, error handler, chord callback, retry), so
/// that they join its trace. Keeps theirs when there is no current context.
#[cfg(feature = "opentelemetry")]
pub(crate) fn follow<'a>(messages: impl IntoIterator<Item = &'a mut Message>) {
    if let Some(trace) = TraceContext::current() {
        for message in messages {
            message.trace = Some(trace.clone());
        }
    }
}

/// Without the feature: the copies keep what they carry.
#[cfg(not(feature = "opentelemetry"))]
#[inline(always)]
pub(crate) fn follow<'a>(_messages: impl IntoIterator<Item = &'a mut Message>) {}

#[cfg(feature = "opentelemetry")]
mod otel {
    use opentelemetry::Context;
    use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    use super::TraceContext;

    const TRACEPARENT: &str = "traceparent";
    const TRACESTATE: &str = "tracestate";

    /// The propagator's writes, collected.
    #[derive(Default)]
    struct Headers {
        traceparent: Option<String>,
        tracestate: Option<String>,
    }

    impl Injector for Headers {
        fn set(&mut self, key: &str, value: String) {
            match key {
                TRACEPARENT => self.traceparent = Some(value),
                TRACESTATE => self.tracestate = Some(value),
                _ => {}
            }
        }
    }

    impl Extractor for TraceContext {
        fn get(&self, key: &str) -> Option<&str> {
            match key {
                TRACEPARENT => Some(&self.traceparent),
                TRACESTATE => self.tracestate.as_deref(),
                _ => None,
            }
        }

        fn keys(&self) -> Vec<&str> {
            let mut keys = vec![TRACEPARENT];
            if self.tracestate.is_some() {
                keys.push(TRACESTATE);
            }
            keys
        }
    }

    impl TraceContext {
        /// The W3C trace context of `context`'s span; `None` when it has no valid span.
        /// (the `opentelemetry` feature)
        ///
        /// ```
        /// use huey_core::trace::TraceContext;
        /// use huey_core::trace::opentelemetry::trace::{
        ///     SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
        /// };
        /// use huey_core::trace::opentelemetry::Context;
        ///
        /// let span = SpanContext::new(
        ///     TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        ///     SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        ///     TraceFlags::SAMPLED,
        ///     true,
        ///     TraceState::NONE,
        /// );
        /// let trace = TraceContext::from_context(&Context::new().with_remote_span_context(span));
        /// assert_eq!(
        ///     trace.unwrap().traceparent,
        ///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        /// );
        /// assert_eq!(TraceContext::from_context(&Context::new()), None);
        /// ```
        pub fn from_context(context: &Context) -> Option<TraceContext> {
            let mut headers = Headers::default();
            TraceContextPropagator::new().inject_context(context, &mut headers);
            Some(TraceContext {
                traceparent: headers.traceparent?,
                tracestate: headers.tracestate.filter(|state| !state.is_empty()),
            })
        }

        /// The trace context of the current `tracing` span (through its OpenTelemetry layer);
        /// `None` without one. (the `opentelemetry` feature)
        pub fn current() -> Option<TraceContext> {
            TraceContext::from_context(&tracing::Span::current().context())
        }

        /// This context as OpenTelemetry's, a remote span context to parent spans on; the
        /// empty context when `traceparent` does not parse. (the `opentelemetry` feature)
        ///
        /// ```
        /// use huey_core::trace::TraceContext;
        /// use huey_core::trace::opentelemetry::trace::TraceContextExt;
        ///
        /// let trace = TraceContext {
        ///     traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        ///     tracestate: Some("vendor=42".into()),
        /// };
        /// let context = trace.to_context();
        /// let span = context.span();
        /// assert_eq!(span.span_context().span_id().to_string(), "00f067aa0ba902b7");
        /// assert_eq!(span.span_context().trace_state().get("vendor"), Some("42"));
        ///
        /// let garbage = TraceContext { traceparent: "nonsense".into(), tracestate: None };
        /// assert!(!garbage.to_context().span().span_context().is_valid());
        /// ```
        pub fn to_context(&self) -> Context {
            TraceContextPropagator::new().extract(self)
        }
    }
}
