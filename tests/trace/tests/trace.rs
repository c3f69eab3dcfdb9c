//! Traces across processes: this test process is the producer, with an OpenTelemetry pipeline
//! exporting to memory; a `trace_consumer` process, with its own, runs the tasks and writes its
//! spans to a file when it stops. The consumer's execution span is a child of the producer's
//! `huey.enqueue` span, in the same trace; a pipeline's next stage and a retry are children of
//! the execution that enqueued them.

use std::sync::OnceLock;
use std::time::Duration;

use huey_core::group::group;
use huey_core::trace::{ENQUEUE_SPAN, EXECUTION_SPAN};
use huey_core::{Huey, MessageSink, StorageError};
use huey_redis::RedisStorage;
use huey_tests::consumer_process::ConsumerProcess;
use huey_tests::redis_server::RedisServer;
use huey_tests::tasks::{add, refuse};
use huey_tests::temp::TempDir;
use huey_trace_tests::spans::{self, RecordedSpan, SpanRecorder};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

const WAIT: Duration = Duration::from_secs(20);
const NO_PARENT: &str = "0000000000000000";

/// The recorder of this process's spans, the producer's: installed as the global subscriber,
/// as a subscriber set per test thread can miss spans whose callsite another thread saw first.
/// The tests run at once, so each looks for its own spans by task id.
fn producer_spans() -> &'static SpanRecorder {
    static RECORDER: OnceLock<SpanRecorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let recorder = SpanRecorder::new();
        let subscriber = tracing_subscriber::registry().with(recorder.layer());
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
        recorder
    })
}

/// A consumer process on queue `name` of `server` that records its spans into `dir`, and this
/// process's producer on the same queue.
async fn start(server: &RedisServer, dir: &TempDir, name: &str) -> (ConsumerProcess, Huey) {
    start_with(server, dir, name, &["-w", "2"]).await
}

/// [`start`] with consumer flags `args`.
async fn start_with(
    server: &RedisServer,
    dir: &TempDir,
    name: &str,
    args: &[&str],
) -> (ConsumerProcess, Huey) {
    let spans = dir.path().join("consumer-spans.json");
    let spans = spans.to_str().expect("a UTF-8 path");
    let exe = env!("CARGO_BIN_EXE_trace_consumer");
    let consumer =
        ConsumerProcess::spawn_with(exe, server, name, args, &[("HUEY_TEST_SPANS", spans)]);
    let storage = RedisStorage::connect(name, &server.url())
        .await
        .expect("connect to the test server");
    (consumer, Huey::builder(name).build(storage))
}

/// Stops the consumer gracefully and reads the spans it wrote.
fn stop(consumer: ConsumerProcess, dir: &TempDir) -> Vec<RecordedSpan> {
    consumer.signal("INT");
    assert!(consumer.wait().success(), "a graceful stop exits 0");
    spans::read(&dir.path().join("consumer-spans.json"))
}

/// The one span named `name` whose attribute `key` is `value`.
fn the<'a>(spans: &'a [RecordedSpan], name: &str, key: &str, value: &str) -> &'a RecordedSpan {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.name == name && s.attribute(key) == Some(value))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {name} span with {key}={value} in {spans:#?}"
    );
    found[0]
}

/// The execution spans of task `id`, in the order they ended.
fn executions<'a>(spans: &'a [RecordedSpan], id: &str) -> Vec<&'a RecordedSpan> {
    spans
        .iter()
        .filter(|s| s.name == EXECUTION_SPAN && s.attribute("id") == Some(id))
        .collect()
}

#[tokio::test]
async fn the_execution_span_is_a_child_of_the_producers_enqueue_span_across_processes() {
    let recorder = producer_spans();
    let server = RedisServer::start();
    let dir = TempDir::new("trace-one");
    let (consumer, huey) = start(&server, &dir, "trace-one").await;

    let request = tracing::info_span!("request");
    let mut handle = add::enqueue(&huey, 1, 2)
        .instrument(request.clone())
        .await
        .expect("enqueue");
    let id = handle.id().to_owned();
    drop(request);
    assert_eq!(handle.wait(WAIT).await.expect("the consumer runs it"), 3);
    let consumed = stop(consumer, &dir);
    let produced = recorder.finished();

    let enqueue = the(&produced, ENQUEUE_SPAN, "id", &id);
    assert_eq!(enqueue.kind, "Producer");
    assert_eq!(enqueue.attribute("task"), Some("huey_tests::tasks::add"));
    assert_eq!(enqueue.attribute("queue"), Some("trace-one"));
    let request = produced
        .iter()
        .find(|s| s.span_id == enqueue.parent_span_id)
        .expect("the enqueue span's parent");
    assert_eq!(
        request.name, "request",
        "the enqueue span is a child of the span the application enqueued in"
    );
    assert_eq!(request.trace_id, enqueue.trace_id);

    let [execution] = executions(&consumed, &id)[..] else {
        panic!("one execution of {id} in {consumed:#?}");
    };
    assert_eq!(execution.trace_id, enqueue.trace_id, "one trace");
    assert_eq!(
        execution.parent_span_id, enqueue.span_id,
        "the execution span's parent is the producer's enqueue span"
    );
    assert_eq!(execution.attribute("name"), Some("huey_tests::tasks::add"));
    assert_eq!(execution.attribute("attempt"), Some("1"));
    assert_eq!(execution.attribute("queue"), Some("trace-one"));
}

#[tokio::test]
async fn a_pipelines_next_stage_and_a_retry_join_the_trace_of_the_execution_that_enqueued_them() {
    let recorder = producer_spans();
    let server = RedisServer::start();
    let dir = TempDir::new("trace-pipeline");
    let (consumer, huey) = start(&server, &dir, "trace-pipeline").await;

    let (mut first, mut second) = add::call(1, 2)
        .then(add::partial(10))
        .enqueue(&huey)
        .await
        .expect("enqueue the pipeline");
    let mut refused = refuse::call("no".to_owned())
        .retries(1)
        .enqueue(&huey)
        .await
        .expect("enqueue the failing task");
    assert_eq!(first.wait(WAIT).await.expect("first stage"), 3);
    assert_eq!(second.wait(WAIT).await.expect("second stage"), 13);
    refused
        .wait(WAIT)
        .await
        .expect_err("it fails after its retry");
    let consumed = stop(consumer, &dir);
    let produced = recorder.finished();

    // The pipeline: one enqueue (of its head), the first stage under it, the second under the
    // first stage's execution.
    let enqueue = the(&produced, ENQUEUE_SPAN, "id", first.id());
    let [stage_one] = executions(&consumed, first.id())[..] else {
        panic!("one execution of the first stage in {consumed:#?}");
    };
    let [stage_two] = executions(&consumed, second.id())[..] else {
        panic!("one execution of the second stage in {consumed:#?}");
    };
    assert_eq!(stage_one.parent_span_id, enqueue.span_id);
    assert_eq!(
        stage_two.trace_id, enqueue.trace_id,
        "the pipeline is one trace"
    );
    assert_eq!(
        stage_two.parent_span_id, stage_one.span_id,
        "the next stage is a child of the execution that enqueued it"
    );

    // The retry: a child of the failed attempt, in the producer's trace.
    let enqueue = the(&produced, ENQUEUE_SPAN, "id", refused.id());
    let [attempt, retry] = executions(&consumed, refused.id())[..] else {
        panic!("two executions of the failing task in {consumed:#?}");
    };
    assert_eq!(attempt.parent_span_id, enqueue.span_id);
    assert_eq!(attempt.attribute("retries"), Some("1"));
    assert_eq!(retry.attribute("retries"), Some("0"));
    assert_eq!(retry.trace_id, enqueue.trace_id);
    assert_eq!(retry.parent_span_id, attempt.span_id);
    assert_eq!(
        enqueue.parent_span_id, NO_PARENT,
        "enqueued in no span: a root"
    );
}

/// Without an OpenTelemetry layer in the producer, a message carries no trace context (it is
/// written as without the feature), and the consumer's execution span is a root.
#[tokio::test]
async fn an_untraced_producer_writes_no_trace_context() {
    // This thread's subscriber has no OpenTelemetry layer.
    let _untraced = tracing::subscriber::set_default(tracing_subscriber::registry());
    let server = RedisServer::start();
    let idle = Huey::builder("trace-idle").build(
        RedisStorage::connect("trace-idle", &server.url())
            .await
            .expect("connect to the test server"),
    );
    add::enqueue(&idle, 2, 2).await.expect("enqueue");
    let [message] = &idle.pending(None).await.expect("list the queue")[..] else {
        panic!("one pending message");
    };
    assert_eq!(message.trace, None);
    assert!(!String::from_utf8_lossy(&message.encode()).contains("trace"));

    let dir = TempDir::new("trace-none");
    let (consumer, huey) = start(&server, &dir, "trace-none").await;
    let mut handle = add::enqueue(&huey, 2, 2).await.expect("enqueue");
    assert_eq!(handle.wait(WAIT).await.expect("the consumer runs it"), 4);
    let consumed = stop(consumer, &dir);
    let [execution] = executions(&consumed, handle.id())[..] else {
        panic!("one execution in {consumed:#?}");
    };
    assert_eq!(execution.parent_span_id, NO_PARENT);
}

/// The `traceparent` that `span` writes (sampled, as the recorder samples every span).
fn traceparent(span: &RecordedSpan) -> String {
    format!("00-{}-{}-01", span.trace_id, span.span_id)
}

/// A group is one enqueue, one span, whose context every member carries; an enqueue into a
/// sink (an application's transaction) writes the context as an enqueue to the storage does.
#[tokio::test]
async fn a_group_and_an_enqueue_into_a_sink_carry_their_enqueue_span() {
    let recorder = producer_spans();
    let huey = Huey::memory("trace-group");
    group([add::call(1, 2), add::call(3, 4)])
        .enqueue(&huey)
        .await
        .expect("enqueue the group");
    let pending = huey.pending(None).await.expect("list the queue");
    let parents: Vec<&str> = pending
        .iter()
        .map(|m| {
            m.trace
                .as_ref()
                .expect("a trace context")
                .traceparent
                .as_str()
        })
        .collect();
    let enqueue = recorder
        .finished()
        .into_iter()
        .find(|s| s.name == ENQUEUE_SPAN && s.attribute("queue") == Some("trace-group"))
        .expect("the group's enqueue span");
    assert_eq!(enqueue.attribute("messages"), Some("2"));
    assert_eq!(enqueue.attribute("id"), None, "no single task to name");
    assert_eq!(parents, [traceparent(&enqueue), traceparent(&enqueue)]);

    let mut sink = Collect::default();
    let handle = add::call(5, 6)
        .enqueue_into(&huey, &mut sink)
        .await
        .expect("enqueue into the sink");
    let [(data, _priority)] = &sink.0[..] else {
        panic!("one message in the sink");
    };
    let message = huey.decode_message(data).expect("the sink holds a message");
    let enqueue = the(&recorder.finished(), ENQUEUE_SPAN, "id", handle.id()).clone();
    assert_eq!(
        message.trace.expect("a trace context").traceparent,
        traceparent(&enqueue)
    );
}

/// Collects messages, as a transaction would hold them until its commit.
#[derive(Default)]
struct Collect(Vec<(Vec<u8>, i32)>);

#[huey_core::async_trait]
impl MessageSink for Collect {
    async fn put(&mut self, items: Vec<(Vec<u8>, i32)>) -> Result<(), StorageError> {
        self.0.extend(items);
        Ok(())
    }
}

/// With process workers, the execution runs in a child that re-ran the consumer binary and
/// installed the same pipeline: its span still has the producer's enqueue span as parent.
#[tokio::test]
async fn a_process_workers_execution_is_a_child_of_the_enqueue_span() {
    let recorder = producer_spans();
    let server = RedisServer::start();
    let dir = TempDir::new("trace-process");
    let (consumer, huey) = start_with(
        &server,
        &dir,
        "trace-process",
        &["-w", "1", "-k", "process"],
    )
    .await;
    let mut handle = add::enqueue(&huey, 4, 5).await.expect("enqueue");
    assert_eq!(handle.wait(WAIT).await.expect("the worker runs it"), 9);
    let parent = stop(consumer, &dir);
    assert!(
        executions(&parent, handle.id()).is_empty(),
        "the parent runs no task"
    );
    let child = spans::read(&dir.path().join("consumer-spans.json.worker-0"));
    let enqueue = the(&recorder.finished(), ENQUEUE_SPAN, "id", handle.id()).clone();
    let [execution] = executions(&child, handle.id())[..] else {
        panic!("one execution in the worker's {child:#?}");
    };
    assert_eq!(execution.trace_id, enqueue.trace_id);
    assert_eq!(execution.parent_span_id, enqueue.span_id);
}
