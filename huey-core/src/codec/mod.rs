//! The codec: how messages and stored values become bytes in the storage, and back.
//!
//! A [`Codec`] is the format of a queue: [`JsonCodec`] (versioned JSON envelopes) is the
//! default, and another one (Python Huey's pickle, for a queue shared with Python) plugs in
//! with [`HueyBuilder::codec`](crate::HueyBuilder::codec). Compression ([`Compressed`]) and
//! signing ([`Signed`]) layer over any codec; the builder stacks them as
//! `Signed<Compressed<your codec>>` from its options.
//!
//! Turned on with [`HueyBuilder::compression`](crate::HueyBuilder::compression) and
//! [`HueyBuilder::signing_secret`](crate::HueyBuilder::signing_secret); every path that stores
//! a message or reads one back (enqueue, bulk enqueue, the schedule, retries, periodic tasks,
//! the worker, [`Huey::pending`](crate::Huey::pending) and
//! [`Huey::scheduled`](crate::Huey::scheduled)) goes through
//! [`Huey::encode_message`](crate::Huey::encode_message) and
//! [`Huey::decode_message`](crate::Huey::decode_message), so none bypasses the signature.
//!
//! # Wire format
//!
//! A stored message is built in three layers, innermost first:
//!
//! 1. the JSON envelope ([`Message::encode`](crate::task::message::Message::encode));
//! 2. with compression, that JSON gzip- or zlib-compressed (RFC 1952 / RFC 1950 streams, so
//!    any gzip or zlib tool reads them);
//! 3. with a signing secret, a 65-byte trailer: `:` and the lowercase hex of
//!    HMAC-SHA256(*key*, bytes of layer 2), where *key* = HMAC-SHA256(key = salt,
//!    message = secret) (HKDF's extract step; the salt defaults to `huey`).
//!
//! ```text
//! stored = body [ ":" hex(HMAC-SHA256(key, body)) ]     body = json | gzip(json) | zlib(json)
//! ```
//!
//! Huey puts the signature *inside* the compression. Here it goes outside, over the compressed
//! bytes, deliberately: a consumer checks the signature before it runs a decompressor on the
//! bytes, so forged input never reaches zlib (no decompression bombs, no parser exposure), and
//! a forged message is rejected without the cost of inflating it. The two layouts are
//! equally strong for authenticity; huey-rs is not wire-compatible with Huey's pickle anyway.
//!
//! # Reading
//!
//! A reader accepts compressed and uncompressed bodies alike, whatever its own setting, by their
//! magic bytes (gzip `1f 8b`; zlib `78` with a valid header checksum): a JSON envelope starts
//! with `{`, so the test cannot mistake one for the other. Mixed traffic during a roll-out is
//! therefore read, as in Huey; a reader that compresses logs a warning for each uncompressed
//! message it meets. A reader with a signing secret rejects a message whose signature is
//! missing or wrong ([`DecodeError::Signature`]); the
//! worker moves such a message to the dead-letter list, and it never runs.
//!
//! A reader *without* a secret reads signed messages too, ignoring the trailer (as Huey's plain
//! serializer does: its unpickler stops before the signature). It runs unsigned messages
//! anyway, so checking nothing costs it nothing, and this is what lets a queue move to signing
//! one process at a time: first every producer signs, then every consumer gets the secret and
//! from then on requires it. (The trailer cannot be mistaken for data: a JSON envelope ends
//! with `}`.)
//!
//! # Results
//!
//! Task results (and values stored with [`Huey::put`](crate::Huey::put)) are compressed with
//! the same setting, as in Huey: they are often the larger half of what a queue stores, and they
//! wait in storage until read. They are not signed: a signature protects consumers from running
//! work that nobody with the secret enqueued, while a result is only data handed back to the
//! caller's own type; whoever can write the result store can already delete or replace any
//! result. Revocation flags, periodic-tick claims and other bookkeeping stay plain JSON.

mod compression;
mod signing;

use std::borrow::Cow;

pub use compression::{Compressed, Compression};
pub use signing::Signed;

pub use crate::task::message::SignatureError;
use crate::task::message::{DecodeError, Message};

/// How a queue's messages and stored values become bytes. Values (results, `Huey::put`) come
/// in and go out as JSON, the runtime's form; a codec may store them in another format.
///
/// ```
/// use huey_core::codec::{Codec, JsonCodec};
/// use huey_core::message::Message;
///
/// let message = Message::decode(br#"{"v":1,"id":"1","name":"t","args":[]}"#)?;
/// let stored = JsonCodec.encode_message(&message);
/// assert_eq!(JsonCodec.decode_message(&stored)?.id, "1");
/// assert_eq!(JsonCodec.decode_value(&JsonCodec.encode_value(b"[1,2]".to_vec()))?.as_ref(), b"[1,2]");
/// # Ok::<(), huey_core::message::DecodeError>(())
/// ```
pub trait Codec: Send + Sync + std::fmt::Debug + 'static {
    /// The stored bytes of `message`.
    fn encode_message(&self, message: &Message) -> Vec<u8>;

    /// Reads stored bytes back into a message.
    fn decode_message(&self, bytes: &[u8]) -> Result<Message, DecodeError>;

    /// The stored bytes of a value given as JSON.
    fn encode_value(&self, json: Vec<u8>) -> Vec<u8>;

    /// Reads a stored value back as JSON.
    fn decode_value<'a>(&self, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, DecodeError>;

    /// How this codec stores messages, in words (for the consumer's banner; never a secret).
    fn describe(&self) -> String;
}

/// The default codec: messages as versioned JSON envelopes
/// ([`Message::encode`]/[`Message::decode`]), values as the JSON they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonCodec;

impl Codec for JsonCodec {
    fn encode_message(&self, message: &Message) -> Vec<u8> {
        message.encode()
    }

    fn decode_message(&self, bytes: &[u8]) -> Result<Message, DecodeError> {
        Message::decode(bytes)
    }

    fn encode_value(&self, json: Vec<u8>) -> Vec<u8> {
        json
    }

    fn decode_value<'a>(&self, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, DecodeError> {
        Ok(Cow::Borrowed(bytes))
    }

    fn describe(&self) -> String {
        "JSON".to_owned()
    }
}

/// A shared codec is a codec: the builder holds the chosen one behind an `Arc`.
impl<C: Codec + ?Sized> Codec for std::sync::Arc<C> {
    fn encode_message(&self, message: &Message) -> Vec<u8> {
        (**self).encode_message(message)
    }

    fn decode_message(&self, bytes: &[u8]) -> Result<Message, DecodeError> {
        (**self).decode_message(bytes)
    }

    fn encode_value(&self, json: Vec<u8>) -> Vec<u8> {
        (**self).encode_value(json)
    }

    fn decode_value<'a>(&self, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, DecodeError> {
        (**self).decode_value(bytes)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}
