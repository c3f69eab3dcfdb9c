//! `#[serde(with = ...)]` modules that carry chrono's date-times as Python `datetime`s.
//!
//! chrono serializes its types as strings, which would reach Python as `str`; with these
//! modules [`to_value`](crate::to_value) makes a `datetime.datetime` instead (other formats,
//! such as JSON, still get the ISO 8601 string). Reading accepts the `datetime` and the ISO
//! string alike.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Reminder {
//!     #[serde(with = "huey_pickle::datetime::utc")]
//!     at: chrono::DateTime<chrono::Utc>,
//!     #[serde(with = "huey_pickle::datetime::naive_option")]
//!     until: Option<chrono::NaiveDateTime>,
//! }
//!
//! let at = chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap();
//! let value = huey_pickle::to_value(&Reminder { at, until: None })?;
//! let huey_pickle::Value::Dict(pairs) = &value else { unreachable!() };
//! assert!(matches!(&pairs[0].1, huey_pickle::Value::DateTime(moment) if moment.tz().is_some()));
//! assert_eq!(huey_pickle::from_value::<Reminder>(value)?.at, at);
//! # Ok::<(), huey_pickle::SerdeError>(())
//! ```

use serde::{Deserialize, Deserializer, Serializer};

use super::tag;

fn parse_naive<E: serde::de::Error>(text: &str) -> Result<chrono::NaiveDateTime, E> {
    text.parse()
        .map_err(|_| E::custom(format!("invalid type: {text:?}, expected a naive datetime")))
}

fn parse_utc<E: serde::de::Error>(text: &str) -> Result<chrono::DateTime<chrono::Utc>, E> {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(aware) => Ok(aware.to_utc()),
        // A naive datetime means UTC, as in Huey.
        Err(_) => Ok(parse_naive::<E>(text)
            .map_err(|_| E::custom(format!("invalid type: {text:?}, expected a datetime")))?
            .and_utc()),
    }
}

/// `chrono::NaiveDateTime` as a naive `datetime.datetime`.
pub mod naive {
    use super::*;

    /// Serializes as a naive datetime.
    pub fn serialize<S: Serializer>(
        moment: &chrono::NaiveDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(
            tag::DATETIME,
            &moment.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        )
    }

    /// Reads a naive datetime (or its ISO 8601 string).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<chrono::NaiveDateTime, D::Error> {
        parse_naive(&String::deserialize(deserializer)?)
    }
}

/// `Option<chrono::NaiveDateTime>` as `None` or a naive `datetime.datetime`.
pub mod naive_option {
    use super::*;

    /// Serializes as `None` or a naive datetime.
    pub fn serialize<S: Serializer>(
        moment: &Option<chrono::NaiveDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match moment {
            Some(moment) => serializer.serialize_some(&Wrapped(*moment)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads `None` or a naive datetime.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<chrono::NaiveDateTime>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| parse_naive(&text))
            .transpose()
    }

    struct Wrapped(chrono::NaiveDateTime);

    impl serde::Serialize for Wrapped {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            naive::serialize(&self.0, serializer)
        }
    }
}

/// `chrono::DateTime<Utc>` as a `datetime.datetime` in `timezone.utc`; reading takes any
/// aware datetime, and a naive one as UTC.
pub mod utc {
    use super::*;

    /// Serializes as an aware datetime in UTC.
    pub fn serialize<S: Serializer>(
        moment: &chrono::DateTime<chrono::Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let text = moment
            .naive_utc()
            .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
            .to_string();
        serializer.serialize_newtype_struct(tag::DATETIME, &text)
    }

    /// Reads a datetime (or its ISO 8601 string) as a UTC instant.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<chrono::DateTime<chrono::Utc>, D::Error> {
        parse_utc(&String::deserialize(deserializer)?)
    }
}

/// `Option<chrono::DateTime<Utc>>` as `None` or a datetime in `timezone.utc`.
pub mod utc_option {
    use super::*;

    /// Serializes as `None` or an aware datetime in UTC.
    pub fn serialize<S: Serializer>(
        moment: &Option<chrono::DateTime<chrono::Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match moment {
            Some(moment) => serializer.serialize_some(&Wrapped(*moment)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads `None` or a datetime as a UTC instant.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| parse_utc(&text))
            .transpose()
    }

    struct Wrapped(chrono::DateTime<chrono::Utc>);

    impl serde::Serialize for Wrapped {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            utc::serialize(&self.0, serializer)
        }
    }
}
