//! The serde bridge: Rust types to [`Value`](crate::Value)s and back, by the natural mapping.
//!
//! | Rust | Python |
//! | --- | --- |
//! | `bool` | `bool` |
//! | integers (`i8`..`i128`, `u8`..`u128`) | `int` (out of range is an error on the way back) |
//! | `f32`, `f64` | `float` (an `int` also reads as a float) |
//! | `char`, `&str`, `String` | `str` |
//! | bytes (`serde_bytes`) | `bytes` (a `bytearray` reads too; a plain `Vec<u8>` reads `bytes`) |
//! | `Option` | `None` or the value |
//! | `()`, unit structs | `None` |
//! | `Vec`, slices, sets | `list` (a `tuple`, `set` or `frozenset` reads too) |
//! | tuples, tuple structs | `tuple` (a `list` reads too) |
//! | maps, structs (by field name) | `dict` |
//! | enums | as JSON does: `'Variant'` or `{'Variant': value}` |
//! | [`NaiveDateTime`](chrono::NaiveDateTime) with [`datetime::naive`] | naive `datetime.datetime` |
//! | [`DateTime<Utc>`](chrono::DateTime) with [`datetime::utc`] | `datetime.datetime` in `timezone.utc` |
//!
//! A mismatch is an error that says what was expected and what was found; nothing panics.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Resize {
//!     path: String,
//!     width: u32,
//!     #[serde(with = "huey_pickle::datetime::naive")]
//!     requested: chrono::NaiveDateTime,
//! }
//!
//! let job = Resize {
//!     path: "a.png".into(),
//!     width: 640,
//!     requested: chrono::NaiveDate::from_ymd_opt(2030, 1, 2).unwrap().and_hms_opt(3, 4, 5).unwrap(),
//! };
//! let value = huey_pickle::to_value(&job)?;
//! assert!(matches!(&value, huey_pickle::Value::Dict(pairs) if pairs.len() == 3));
//! assert_eq!(huey_pickle::from_value::<Resize>(value)?, job);
//!
//! let error = huey_pickle::from_value::<u8>(huey_pickle::Value::Int(300)).unwrap_err();
//! assert_eq!(error.to_string(), "invalid value: integer `300`, expected u8");
//! # Ok::<(), huey_pickle::SerdeError>(())
//! ```

pub mod datetime;
mod de;
mod ser;
mod value_impls;

pub use de::from_value;
pub use ser::to_value;

/// Why a Rust value and a [`Value`](crate::Value) did not map onto each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SerdeError(String);

impl serde::ser::Error for SerdeError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        SerdeError(message.to_string())
    }
}

impl serde::de::Error for SerdeError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        SerdeError(message.to_string())
    }
}

/// Newtype names that carry Python types through serde, recognised by [`to_value`]; other
/// serializers see an ordinary newtype (a string, a tuple, a struct or a unit).
pub(crate) mod tag {
    pub const DATETIME: &str = "\0huey_pickle::DateTime";
    pub const DATE: &str = "\0huey_pickle::Date";
    pub const TIMEDELTA: &str = "\0huey_pickle::TimeDelta";
    pub const MESSAGE: &str = "\0huey_pickle::Message";
    pub const ERROR: &str = "\0huey_pickle::Error";
    pub const SKIPPED: &str = "\0huey_pickle::SKIPPED";
}
