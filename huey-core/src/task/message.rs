//! The message envelope: what travels through storage for every task call.
//!
//! Messages are JSON, so a queue can be read with `redis-cli` and by other languages. The
//! envelope carries a version (`v`); a consumer rejects (dead-letters) a message whose version
//! it does not know instead of guessing. Unknown fields are ignored so that a newer producer
//! can add optional fields without breaking older consumers.
//!
//! Optional fields are left out when empty, so a message that does not use them is written as
//! it was before they existed. `trace` is one: the producer's W3C trace context
//! ([`TraceContext`]), written by the `opentelemetry` feature and read by any consumer that has
//! it; a consumer without it carries the field along unread.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The envelope version this build writes and reads.
pub const MESSAGE_VERSION: u32 = 1;

/// One task call on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    /// Envelope version, [`MESSAGE_VERSION`].
    pub v: u32,
    /// The task id (a UUID unless the caller chose one). Retries keep it.
    pub id: String,
    /// The registered task name.
    pub name: String,
    /// The arguments, a JSON array in parameter order.
    pub args: Box<RawValue>,
    /// Run no earlier than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<DateTime<Utc>>,
    /// When this copy was put on the queue: by a producer's call, a retry, a pipeline's next
    /// stage or the periodic scheduler. The start of the queue-latency metric (with `eta` when
    /// that is later); optional, so messages from producers that do not write it still decode.
    /// Stored as milliseconds since the epoch: every message carries it, and an integer costs a
    /// fraction of what writing and parsing an RFC 3339 string would, on both sides.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "chrono::serde::ts_milliseconds_option"
    )]
    pub enqueued_at: Option<DateTime<Utc>>,
    /// The W3C trace context of the span that enqueued this copy (the producer's `huey.enqueue`
    /// span, or the execution that made a retry or a pipeline's next stage), so that the
    /// execution joins its trace; see [`crate::trace`]. Absent when the producer traced
    /// nothing. A value of the wrong shape is read as absent: tracing data never keeps a task
    /// from running.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_trace"
    )]
    pub trace: Option<TraceContext>,
    /// Retries left.
    #[serde(default)]
    pub retries: u32,
    /// Seconds before a retry; 0 re-enqueues at once.
    #[serde(default)]
    pub retry_delay: f64,
    /// Multiplier applied to `retry_delay` after each retry (0 disables it).
    #[serde(default)]
    pub retry_backoff: f64,
    /// Higher runs first.
    #[serde(default)]
    pub priority: i32,
    /// Skip the task when it starts after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Seconds the body may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Whether the message was made by the periodic scheduler.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub periodic: bool,
    /// Whether the previous pipeline stage's value (or, for an error handler, the failure) is
    /// appended to `args` when this message is enqueued by that stage.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub takes_parent: bool,
    /// The next pipeline stage, enqueued when this task succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_complete: Option<Box<Message>>,
    /// The error handler, enqueued with the failure appended when this task fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<Box<Message>>,
    /// Set on the last stage of a chord member: where its outcome goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chord: Option<ChordMember>,
}

/// A W3C trace context as it travels in a message (the `trace` field): the two headers of the
/// [Trace Context](https://www.w3.org/TR/trace-context/) specification, under their header
/// names, so any language's propagator reads them.
///
/// ```
/// use huey_core::message::{Message, TraceContext};
///
/// let json = br#"{"v":1,"id":"a","name":"app::add","args":[1,2],
///   "trace":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}"#;
/// let message = Message::decode(json).unwrap();
/// let trace = message.trace.as_ref().unwrap();
/// assert_eq!(trace.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// assert_eq!(trace.tracestate, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceContext {
    /// `version-traceid-parentid-flags`, for example
    /// `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`: the trace, and the span the
    /// execution becomes a child of.
    pub traceparent: String,
    /// Vendor-specific trace data, `key=value` pairs separated by commas; left out when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

/// Reads `trace`, taking anything that is not a trace context for none.
fn lenient_trace<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<TraceContext>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Lenient {
        Context(TraceContext),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Lenient::deserialize(d)? {
        Lenient::Context(context) => Some(context),
        Lenient::Other(_) => None,
    })
}

/// A chord member's bookkeeping, carried by the member's last stage (Huey's `chord_config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChordMember {
    /// The chord's id.
    pub id: String,
    /// This member's position.
    pub index: usize,
    /// How many members the chord has.
    pub size: usize,
    /// Enqueued with every member's outcome, in member order, once all have one.
    pub callback: Box<Message>,
}

impl Message {
    /// Encodes the message for storage.
    pub fn encode(&self) -> Vec<u8> {
        // A Message holds only strings, numbers and validated raw JSON, so this cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes a stored message, rejecting unknown envelope versions.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let message: Message = serde_json::from_slice(bytes).map_err(DecodeError::Malformed)?;
        if message.v != MESSAGE_VERSION {
            return Err(DecodeError::Version(message.v));
        }
        Ok(message)
    }

    /// The timeout as a duration; zero means none.
    pub fn timeout_duration(&self) -> Option<Duration> {
        self.timeout
            .filter(|t| *t > 0.0)
            .and_then(|t| Duration::try_from_secs_f64(t).ok())
    }

    /// This stage's copy as enqueued by its parent: `parent` (a JSON value) is appended to the
    /// arguments when the stage takes it.
    pub(crate) fn with_parent(&self, parent: &RawValue) -> Result<Message, serde_json::Error> {
        let mut next = self.clone();
        if next.takes_parent {
            next.args = append_arg(&next.args, parent)?;
            next.takes_parent = false;
        }
        Ok(next)
    }

    /// The last stage of the pipeline this message starts (itself when there is none).
    pub(crate) fn tail(&self) -> &Message {
        self.stages().last().unwrap_or(self)
    }

    /// This stage and every later one, in order.
    pub(crate) fn stages(&self) -> impl Iterator<Item = &Message> {
        std::iter::successors(Some(self), |m| m.on_complete.as_deref())
    }

    /// [`tail`](Self::tail), mutably.
    pub(crate) fn tail_mut(&mut self) -> &mut Message {
        match self.on_complete {
            Some(ref mut next) => next.tail_mut(),
            None => self,
        }
    }

    /// The retry delay as a duration.
    pub fn retry_delay_duration(&self) -> Duration {
        Duration::try_from_secs_f64(self.retry_delay.max(0.0)).unwrap_or(Duration::MAX)
    }
}

/// `[a, b]` + `c` = `[a, b, c]`. Arguments are always a JSON array (a tuple or `[]`).
fn append_arg(args: &RawValue, value: &RawValue) -> Result<Box<RawValue>, serde_json::Error> {
    let mut items: Vec<&RawValue> = serde_json::from_str(args.get())?;
    items.push(value);
    serde_json::value::to_raw_value(&items)
}

/// A stored message that cannot be turned into a task call.
///
/// `Display` shows this error's own message; the cause is its
/// [`source`](std::error::Error::source) ([`error_chain`](crate::error_chain) shows both).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not a JSON message envelope.
    #[error("malformed message")]
    Malformed(#[source] serde_json::Error),
    /// A message envelope of a version this build does not read.
    #[error("unsupported message version {0} (this build reads version {MESSAGE_VERSION})")]
    Version(u32),
    /// A signature that is missing or wrong (see [`crate::codec`]). A
    /// consumer dead-letters such a message; it never runs.
    #[error("rejected signature")]
    Signature(#[from] SignatureError),
    /// A compressed body that does not decompress.
    #[error("compressed message does not decompress")]
    Decompress(#[source] std::io::Error),
}

/// Why a signature check failed; carried by
/// [`DecodeError::Signature`].
///
/// ```
/// use huey_core::message::DecodeError;
/// use huey_core::codec::SignatureError;
/// use huey_core::Huey;
///
/// let signed = Huey::builder("docs").signing_secret("s3cret").build(huey_core::MemoryStorage::new());
/// let err = signed.decode_message(br#"{"v":1,"id":"x","name":"t","args":[]}"#).unwrap_err();
/// assert!(matches!(err, DecodeError::Signature(SignatureError::Missing)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The message carries no signature, but this reader requires one.
    #[error("the message is not signed, and this huey requires signed messages")]
    Missing,
    /// The signature does not match: the message was altered, or signed with another secret
    /// or salt.
    #[error("the signature does not match (altered, or signed with another secret or salt)")]
    Mismatch,
}

/// Zero-argument tasks encode their arguments as `[]`, not JSON `null`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoArgs;

impl Serialize for NoArgs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        s.serialize_tuple(0)?.end()
    }
}

impl<'de> Deserialize<'de> for NoArgs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = NoArgs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an empty argument list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<NoArgs, A::Error> {
                match seq.next_element::<serde::de::IgnoredAny>()? {
                    None => Ok(NoArgs),
                    Some(_) => Err(serde::de::Error::invalid_length(1, &self)),
                }
            }
            fn visit_unit<E>(self) -> Result<NoArgs, E> {
                Ok(NoArgs)
            }
        }
        d.deserialize_any(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Display` never repeats the source's text (see `error.rs`).
    #[test]
    fn decode_error_display_does_not_repeat_the_source() {
        let errors = [
            DecodeError::Malformed(serde_json::from_str::<u32>("x").unwrap_err()),
            DecodeError::Signature(SignatureError::Mismatch),
            DecodeError::Decompress(std::io::Error::other("corrupt deflate stream")),
        ];
        for error in &errors {
            let source = std::error::Error::source(error).expect("wraps a cause");
            assert!(
                !error.to_string().contains(&source.to_string()),
                "{error:?}"
            );
        }
        assert_eq!(
            crate::error_chain(&errors[0]).to_string(),
            "malformed message: expected value at line 1 column 1"
        );
    }

    fn sample() -> Message {
        Message {
            v: MESSAGE_VERSION,
            id: "abc".into(),
            name: "app::add".into(),
            args: RawValue::from_string("[1,2]".into()).unwrap(),
            eta: None,
            enqueued_at: None,
            trace: None,
            retries: 2,
            retry_delay: 1.5,
            retry_backoff: 2.0,
            priority: 3,
            expires_at: None,
            timeout: Some(0.5),
            periodic: false,
            takes_parent: false,
            on_complete: None,
            on_error: None,
            chord: None,
        }
    }

    #[test]
    fn test_message_wrapping() {
        let m = sample();
        let back = Message::decode(&m.encode()).unwrap();
        assert_eq!(back.id, "abc");
        assert_eq!(back.name, "app::add");
        assert_eq!(back.args.get(), "[1,2]");
        assert_eq!(back.retries, 2);
        assert_eq!(back.retry_delay, 1.5);
        assert_eq!(back.priority, 3);
        assert_eq!(back.timeout_duration(), Some(Duration::from_millis(500)));
    }

    #[test]
    fn unknown_version_and_garbage_are_rejected() {
        let mut m = sample();
        m.v = 99;
        assert!(matches!(
            Message::decode(&m.encode()),
            Err(DecodeError::Version(99))
        ));
        assert!(matches!(
            Message::decode(b"\x00\xffjunk"),
            Err(DecodeError::Malformed(_))
        ));
    }

    /// A message from before the `trace` field (or from a producer that traces nothing) reads
    /// as it is and is written back byte for byte.
    #[test]
    fn a_message_without_trace_context_round_trips_unchanged() {
        let stored: &[u8] = br#"{"v":1,"id":"abc","name":"app::add","args":[1,2],"enqueued_at":1767225600000,"retries":2,"retry_delay":1.5,"retry_backoff":2.0,"priority":3,"timeout":0.5}"#;
        let message = Message::decode(stored).unwrap();
        assert_eq!(message.trace, None);
        assert_eq!(message.encode(), stored);
        assert!(
            !String::from_utf8(sample().encode())
                .unwrap()
                .contains("trace")
        );
    }

    #[test]
    fn trace_context_round_trips_and_nests_under_its_header_names() {
        let mut m = sample();
        m.trace = Some(TraceContext {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: Some("vendor=42".into()),
        });
        let encoded = String::from_utf8(m.encode()).unwrap();
        assert!(
            encoded.contains(r#""trace":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","tracestate":"vendor=42"}"#),
            "{encoded}"
        );
        assert_eq!(Message::decode(encoded.as_bytes()).unwrap().trace, m.trace);
        m.trace.as_mut().unwrap().tracestate = None;
        assert!(
            !String::from_utf8(m.encode())
                .unwrap()
                .contains("tracestate")
        );
    }

    /// Tracing data never keeps a task from running: a `trace` of the wrong shape reads as none.
    #[test]
    fn a_malformed_trace_context_reads_as_none() {
        for trace in [
            r#""00-abc""#,
            "null",
            "42",
            r#"{"tracestate":"a=b"}"#,
            "[1]",
        ] {
            let json = format!(r#"{{"v":1,"id":"a","name":"t","args":[],"trace":{trace}}}"#);
            let message =
                Message::decode(json.as_bytes()).unwrap_or_else(|e| panic!("{trace}: {e}"));
            assert_eq!(message.trace, None, "{trace}");
            assert_eq!(message.name, "t");
        }
    }

    #[test]
    fn no_args_round_trip() {
        assert_eq!(serde_json::to_string(&NoArgs).unwrap(), "[]");
        assert_eq!(serde_json::from_str::<NoArgs>("[]").unwrap(), NoArgs);
        assert!(serde_json::from_str::<NoArgs>("[1]").is_err());
    }
}
