//! A producer whose OpenTelemetry layer filters out `info` spans, `huey.enqueue` among them:
//! the message carries the context of the span the application enqueued in. (A binary of its
//! own: the subscriber is global, and filters differently from `trace.rs`'s.)

use huey_core::Huey;
use huey_core::trace::ENQUEUE_SPAN;
use huey_tests::tasks::add;
use huey_trace_tests::spans::SpanRecorder;
use tracing::Instrument;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn a_filtered_out_enqueue_span_leaves_the_current_spans_context() {
    let recorder = SpanRecorder::new();
    let layer = recorder.layer().with_filter(LevelFilter::WARN);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .expect("no other subscriber");
    let huey = Huey::memory("trace-filtered");
    add::enqueue(&huey, 1, 2)
        .instrument(tracing::warn_span!("request"))
        .await
        .expect("enqueue");
    let message = huey.pending(None).await.expect("list the queue").remove(0);
    let spans = recorder.finished();
    assert!(spans.iter().all(|s| s.name != ENQUEUE_SPAN), "{spans:#?}");
    let [request] = &spans[..] else {
        panic!("the request span alone in {spans:#?}");
    };
    assert_eq!(
        message.trace.expect("a trace context").traceparent,
        format!("00-{}-{}-01", request.trace_id, request.span_id)
    );
}
