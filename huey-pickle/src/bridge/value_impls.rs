//! [`Value`] as a serde type of its own, so it converts to and from any serde format (JSON
//! included).
//!
//! Serializing keeps the Python types through [`to_value`](super::to_value) (a tuple stays a
//! tuple, a datetime a datetime); other formats see the nearest plain form: a datetime or date
//! as its ISO 8601 string, a timedelta as `[days, seconds, microseconds]`, a message as a
//! struct of its 15 fields, an error as its metadata map, `SKIPPED` as a unit, sets as
//! sequences. Deserializing from a self-describing format reads the plain forms: sequences
//! become lists and maps dicts.

use serde::de::{self, Visitor};
use serde::ser::{self, SerializeMap, SerializeSeq, SerializeStruct, SerializeTuple};
use serde::{Deserialize, Serialize};

use super::tag;
use crate::value::{BigInt, Message, Value};

impl Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::None => serializer.serialize_none(),
            Value::Bool(flag) => serializer.serialize_bool(*flag),
            Value::Int(number) => serializer.serialize_i64(*number),
            Value::BigInt(number) => match (number.to_i128(), number.to_u128()) {
                (_, Some(unsigned)) => serializer.serialize_u128(unsigned),
                (Some(signed), _) => serializer.serialize_i128(signed),
                _ => Err(ser::Error::custom(
                    "an int beyond 128 bits has no serde form",
                )),
            },
            Value::Float(number) => serializer.serialize_f64(*number),
            Value::Str(text) => serializer.serialize_str(text),
            Value::Bytes(bytes) | Value::ByteArray(bytes) => serializer.serialize_bytes(bytes),
            Value::List(items) | Value::Set(items) | Value::FrozenSet(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Tuple(items) => {
                let mut tuple = serializer.serialize_tuple(items.len())?;
                for item in items {
                    tuple.serialize_element(item)?;
                }
                tuple.end()
            }
            Value::Dict(pairs) => {
                serializer.collect_map(pairs.iter().map(|(key, value)| (key, value)))
            }
            Value::DateTime(moment) => {
                serializer.serialize_newtype_struct(tag::DATETIME, &moment.to_string())
            }
            Value::Date(day) => serializer.serialize_newtype_struct(tag::DATE, &day.to_string()),
            Value::TimeDelta(span) => {
                serializer.serialize_newtype_struct(tag::TIMEDELTA, &span.parts())
            }
            Value::Message(message) => {
                serializer.serialize_newtype_struct(tag::MESSAGE, &Fields(message))
            }
            Value::Error(pairs) => {
                serializer.serialize_newtype_struct(tag::ERROR, &Metadata(pairs))
            }
            Value::Skipped => serializer.serialize_unit_struct(tag::SKIPPED),
        }
    }
}

/// A message as a struct of its fields.
struct Fields<'a>(&'a Message);

impl Serialize for Fields<'_> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("Message", Message::FIELD_NAMES.len())?;
        for (name, value) in Message::FIELD_NAMES.iter().zip(self.0.fields()) {
            fields.serialize_field(name, value)?;
        }
        fields.end()
    }
}

/// An error's metadata as a map.
struct Metadata<'a>(&'a [(Value, Value)]);

impl Serialize for Metadata<'_> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("any value")
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Value, E> {
        Ok(Value::Bool(flag))
    }
    fn visit_i64<E>(self, number: i64) -> Result<Value, E> {
        Ok(Value::Int(number))
    }
    fn visit_i128<E>(self, number: i128) -> Result<Value, E> {
        Ok(BigInt::from_i128(number).into_value())
    }
    fn visit_u64<E>(self, number: u64) -> Result<Value, E> {
        Ok(BigInt::from_u128(number.into()).into_value())
    }
    fn visit_u128<E>(self, number: u128) -> Result<Value, E> {
        Ok(BigInt::from_u128(number).into_value())
    }
    fn visit_f64<E>(self, number: f64) -> Result<Value, E> {
        Ok(Value::Float(number))
    }
    fn visit_str<E>(self, text: &str) -> Result<Value, E> {
        Ok(Value::Str(text.to_owned()))
    }
    fn visit_string<E>(self, text: String) -> Result<Value, E> {
        Ok(Value::Str(text))
    }
    fn visit_bytes<E>(self, bytes: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(bytes.to_vec()))
    }
    fn visit_byte_buf<E>(self, bytes: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(bytes))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::None)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::None)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(access.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = access.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut pairs = Vec::with_capacity(access.size_hint().unwrap_or(0).min(4096));
        while let Some(pair) = access.next_entry()? {
            pairs.push(pair);
        }
        Ok(Value::Dict(pairs))
    }
}
