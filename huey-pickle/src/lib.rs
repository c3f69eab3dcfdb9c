//! Python Huey's wire values for Rust: a safe pickle reader, a pickle writer, and a serde
//! bridge.
//!
//! TODO crate docs.

pub mod bridge;
mod decode;
mod encode;
mod limits;
mod opcodes;
mod value;

pub use bridge::{SerdeError, datetime, from_value, to_value};
pub use decode::{DecodeError, from_slice};
pub use encode::{EncodeError, PROTOCOL, to_vec};
pub use limits::Limits;
pub use value::{BigInt, Date, DateTime, InvalidDateTime, Message, TimeDelta, TimeZone, Value};
