//! OpenTelemetry spans recorded in memory, for the trace tests: a tracer provider with an
//! in-memory exporter, a `tracing` layer over it, and its finished spans as plain rows that
//! the `test_consumer` binary writes to a JSON file (`HUEY_TEST_SPANS`) when it stops.

use std::collections::BTreeMap;
use std::path::Path;

use huey_core::trace::opentelemetry::trace::TracerProvider as _;
use huey_core::trace::opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use huey_core::trace::tracing_opentelemetry::OpenTelemetryLayer;
use serde::{Deserialize, Serialize};
use tracing_subscriber::registry::LookupSpan;

/// A finished span: its ids in hex, as W3C `traceparent` writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedSpan {
    /// The span's name (`huey.enqueue`, `task`, ...).
    pub name: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits; all zeros for a root span.
    pub parent_span_id: String,
    /// `Producer`, `Consumer`, `Internal`, ...
    pub kind: String,
    /// The span's fields, as text.
    pub attributes: BTreeMap<String, String>,
}

impl RecordedSpan {
    /// Attribute `key`, if the span has it.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// A tracer provider exporting each span to memory as it ends.
pub struct SpanRecorder {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
}

impl Default for SpanRecorder {
    fn default() -> Self {
        SpanRecorder::new()
    }
}

impl SpanRecorder {
    /// A recorder with nothing recorded.
    pub fn new() -> SpanRecorder {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        SpanRecorder { provider, exporter }
    }

    /// The `tracing` layer that turns spans into this recorder's OpenTelemetry spans.
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        OpenTelemetryLayer::new(self.provider.tracer("huey-tests"))
    }

    /// The spans that have ended, in the order they ended.
    pub fn finished(&self) -> Vec<RecordedSpan> {
        self.provider.force_flush().expect("flush the spans");
        let spans = self.exporter.get_finished_spans().expect("read the spans");
        spans
            .into_iter()
            .map(|span| RecordedSpan {
                name: span.name.into_owned(),
                trace_id: span.span_context.trace_id().to_string(),
                span_id: span.span_context.span_id().to_string(),
                parent_span_id: span.parent_span_id.to_string(),
                kind: format!("{:?}", span.span_kind),
                attributes: span
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                    .collect(),
            })
            .collect()
    }

    /// Writes [`finished`](Self::finished) to `path` as a JSON array.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(&self.finished()).map_err(std::io::Error::other)?;
        std::fs::write(path, json)
    }
}

/// Reads the spans a `trace_consumer` wrote to `path`.
pub fn read(path: &Path) -> Vec<RecordedSpan> {
    let json = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&json).expect("the spans file is JSON")
}
