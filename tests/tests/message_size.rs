//! The message size limit (`HueyBuilder::max_message_size`), on memory and on Redis: refused
//! at enqueue, and set aside unread at claim when a long message reaches the queue anyway.

use huey_core::prelude::*;
use huey_core::storage::over_limit_reason;
use huey_core::{DEFAULT_MAX_MESSAGE_SIZE, HueyError};
use huey_tests::backend::{Backend, WAIT};

#[task]
fn byte_len(data: String) -> usize {
    data.len()
}

#[task]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Every byte value, repeated to `len` bytes: neither UTF-8 nor a message.
fn binary(len: usize) -> Vec<u8> {
    (0..=255u8).cycle().take(len).collect()
}

/// A 50 MB message is refused with the limit on (the default), and nothing is enqueued; of a
/// bulk enqueue with one such message, nothing of the batch.
async fn test_huge_message_refused_on_enqueue(backend: Backend) {
    let huey = backend.huey("size-enqueue").await;
    assert_eq!(huey.max_message_size(), Some(DEFAULT_MAX_MESSAGE_SIZE));
    let huge = "x".repeat(50 << 20);
    let refused = byte_len::enqueue(&huey, huge.clone()).await.unwrap_err();
    match &refused {
        HueyError::MessageTooLarge { size, limit } => {
            assert!(*size > 50 << 20);
            assert_eq!(*limit, DEFAULT_MAX_MESSAGE_SIZE);
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    assert!(
        refused.to_string().contains("max_message_size"),
        "the error names the setting: {refused}"
    );
    assert_eq!(huey.pending_count().await.unwrap(), 0);

    let batch = byte_len::map(&huey, ["small".to_owned(), huge]).await;
    assert!(matches!(batch, Err(HueyError::MessageTooLarge { .. })));
    assert_eq!(
        huey.pending_count().await.unwrap(),
        0,
        "nothing of the batch"
    );

    // A message under the limit goes through.
    byte_len::enqueue(&huey, "small".to_owned()).await.unwrap();
    assert_eq!(huey.pending_count().await.unwrap(), 1);
}

/// A message over the limit that reaches the queue anyway (here written raw through the
/// storage) is dead-lettered by the storage at claim, byte for byte and with the reason; the
/// consumer keeps running, and the messages before and after it run.
async fn test_oversize_message_dead_lettered_at_claim(backend: Backend) {
    let huey = backend
        .huey_with("size-claim", |b| b.max_message_size(Some(1 << 20)))
        .await;
    let before = add::enqueue(&huey, 1, 2).await.unwrap();
    let big = binary((1 << 20) + 1);
    huey.storage().enqueue(big.clone(), 0).await.unwrap();
    let mut after = add::enqueue(&huey, 3, 4).await.unwrap();
    let consumer = Consumer::builder(&huey).workers(1).start().unwrap();
    assert_eq!(after.wait(WAIT).await.unwrap(), 7);
    let mut before = before;
    assert_eq!(before.wait(WAIT).await.unwrap(), 3);

    let dead = huey.dead_letters(None).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].data == big,
        "the dead letter holds the message exactly"
    );
    assert_eq!(dead[0].reason, over_limit_reason(big.len(), 1 << 20));

    let mut later = add::enqueue(&huey, 5, 6).await.unwrap();
    assert_eq!(
        later.wait(WAIT).await.unwrap(),
        11,
        "the consumer still runs"
    );
    consumer.shutdown().await.unwrap();
}

/// With the limit off, a message longer than the default runs.
async fn test_limit_off_runs_long_message(backend: Backend) {
    let huey = backend
        .huey_with("size-off", |b| b.max_message_size(None))
        .await;
    let long = "y".repeat(DEFAULT_MAX_MESSAGE_SIZE + 1);
    let mut handle = byte_len::enqueue(&huey, long).await.unwrap();
    let consumer = Consumer::builder(&huey).workers(1).start().unwrap();
    assert_eq!(
        handle.wait(WAIT).await.unwrap(),
        DEFAULT_MAX_MESSAGE_SIZE + 1
    );
    consumer.shutdown().await.unwrap();
    assert_eq!(huey.dead_letter_count().await.unwrap(), 0);
}

huey_tests::on_both_backends!(
    test_huge_message_refused_on_enqueue,
    test_oversize_message_dead_lettered_at_claim,
    test_limit_off_runs_long_message,
);
