//! [`Value`]s into Rust values.

use serde::de::{self, DeserializeOwned, Error as _, IntoDeserializer, Unexpected, Visitor};

use super::SerdeError;
use crate::value::{BigInt, Message, Value};

/// A [`Value`] as a Rust value, by the mapping in the [module docs](crate::bridge). A
/// mismatch is an error naming what was expected and what was found.
///
/// ```
/// use huey_pickle::{from_value, Value};
///
/// let args = Value::Tuple(vec![Value::Int(2), Value::Str("b".into())]);
/// assert_eq!(from_value::<(i64, String)>(args)?, (2, "b".to_owned()));
///
/// let error = from_value::<String>(Value::Int(1)).unwrap_err();
/// assert_eq!(error.to_string(), "invalid type: integer `1`, expected a string");
/// # Ok::<(), huey_pickle::SerdeError>(())
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, SerdeError> {
    T::deserialize(value)
}

/// A value's contents moved out (a [`Value`] cannot be destructured by move, as it
/// implements `Drop`).
enum Taken {
    None,
    Bool(bool),
    Int(i64),
    BigInt(BigInt),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Seq(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Text(String),
    TimeDelta(i32, i32, i32),
    Message(Box<Message>),
    Skipped,
}

fn take(mut value: Value) -> Taken {
    use std::mem::take;
    match &mut value {
        Value::None => Taken::None,
        Value::Bool(flag) => Taken::Bool(*flag),
        Value::Int(number) => Taken::Int(*number),
        Value::BigInt(number) => Taken::BigInt(number.clone()),
        Value::Float(number) => Taken::Float(*number),
        Value::Str(text) => Taken::Str(take(text)),
        Value::Bytes(bytes) | Value::ByteArray(bytes) => Taken::Bytes(take(bytes)),
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            Taken::Seq(take(items))
        }
        Value::Dict(pairs) | Value::Error(pairs) => Taken::Dict(take(pairs)),
        Value::DateTime(moment) => Taken::Text(moment.to_string()),
        Value::Date(day) => Taken::Text(day.to_string()),
        Value::TimeDelta(span) => {
            let (days, seconds, micros) = span.parts();
            Taken::TimeDelta(days, seconds, micros)
        }
        Value::Message(message) => Taken::Message(take(message)),
        Value::Skipped => Taken::Skipped,
    }
}

/// How a value shows in "invalid type" errors.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::None => Unexpected::Option,
        Value::Bool(flag) => Unexpected::Bool(*flag),
        Value::Int(number) => Unexpected::Signed(*number),
        Value::Float(number) => Unexpected::Float(*number),
        Value::Str(text) => Unexpected::Str(text),
        Value::Bytes(bytes) | Value::ByteArray(bytes) => Unexpected::Bytes(bytes),
        Value::List(_) | Value::Tuple(_) | Value::Set(_) | Value::FrozenSet(_) => Unexpected::Seq,
        Value::Dict(_) => Unexpected::Map,
        other => Unexpected::Other(other.type_name()),
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = SerdeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match take(self) {
            Taken::None | Taken::Skipped => visitor.visit_unit(),
            Taken::Bool(flag) => visitor.visit_bool(flag),
            Taken::Int(number) => visitor.visit_i64(number),
            // Only as wide as needed: serde's u64 visitor, for one, takes no u128.
            Taken::BigInt(number) => match (number.to_i128(), number.to_u128()) {
                (_, Some(unsigned)) => match u64::try_from(unsigned) {
                    Ok(unsigned) => visitor.visit_u64(unsigned),
                    Err(_) => visitor.visit_u128(unsigned),
                },
                (Some(signed), _) => visitor.visit_i128(signed),
                _ => Err(SerdeError::custom(
                    "invalid value: an int beyond 128 bits, expected an integer that fits",
                )),
            },
            Taken::Float(number) => visitor.visit_f64(number),
            Taken::Str(text) | Taken::Text(text) => visitor.visit_string(text),
            Taken::Bytes(bytes) => visitor.visit_byte_buf(bytes),
            Taken::Seq(items) => visit_seq(items, visitor),
            Taken::Dict(pairs) => visit_pairs(pairs, visitor),
            Taken::TimeDelta(days, seconds, micros) => {
                let field = |name: &str, number: i32| {
                    (Value::Str(name.to_owned()), Value::Int(number.into()))
                };
                visit_pairs(
                    vec![
                        field("days", days),
                        field("seconds", seconds),
                        field("microseconds", micros),
                    ],
                    visitor,
                )
            }
            Taken::Message(mut message) => {
                let pairs = Message::FIELD_NAMES
                    .iter()
                    .zip(message.take_fields())
                    .map(|(name, value)| (Value::Str((*name).to_owned()), value))
                    .collect();
                visit_pairs(pairs, visitor)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self {
            Value::None => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self {
            // A plain `Vec<u8>` asks for a sequence of numbers.
            Value::Bytes(_) | Value::ByteArray(_) => match take(self) {
                Taken::Bytes(bytes) => visit_seq(
                    bytes
                        .into_iter()
                        .map(|byte| Value::Int(byte.into()))
                        .collect(),
                    visitor,
                ),
                _ => unreachable!("matched bytes above"),
            },
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        match &self {
            Value::Str(_) => visitor.visit_enum(Enum {
                variant: self,
                content: None,
            }),
            Value::Dict(pairs) if pairs.len() == 1 => {
                let Taken::Dict(mut pairs) = take(self) else {
                    unreachable!("matched a dict above")
                };
                let (variant, content) = pairs.pop().expect("one pair");
                visitor.visit_enum(Enum {
                    variant,
                    content: Some(content),
                })
            }
            other => Err(SerdeError::invalid_type(
                unexpected(other),
                &"a variant name or a one-entry dict",
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier ignored_any
    }
}

fn visit_seq<'de, V: Visitor<'de>>(items: Vec<Value>, visitor: V) -> Result<V::Value, SerdeError> {
    let len = items.len();
    let mut access = de::value::SeqDeserializer::new(items.into_iter());
    let value = visitor.visit_seq(&mut access)?;
    access
        .end()
        .map_err(|_| SerdeError::invalid_length(len, &"fewer items"))?;
    Ok(value)
}

fn visit_pairs<'de, V: Visitor<'de>>(
    pairs: Vec<(Value, Value)>,
    visitor: V,
) -> Result<V::Value, SerdeError> {
    let mut access = de::value::MapDeserializer::new(pairs.into_iter());
    let value = visitor.visit_map(&mut access)?;
    access.end()?;
    Ok(value)
}

impl<'de> IntoDeserializer<'de, SerdeError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

/// An enum as `'Variant'` or `{'Variant': content}`.
struct Enum {
    variant: Value,
    content: Option<Value>,
}

impl<'de> de::EnumAccess<'de> for Enum {
    type Error = SerdeError;
    type Variant = Content;

    fn variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Content), SerdeError> {
        let variant = seed.deserialize(self.variant)?;
        Ok((variant, Content(self.content)))
    }
}

/// What an enum variant carries, if anything.
struct Content(Option<Value>);

impl<'de> de::VariantAccess<'de> for Content {
    type Error = SerdeError;

    fn unit_variant(self) -> Result<(), SerdeError> {
        match self.0 {
            None | Some(Value::None) => Ok(()),
            Some(other) => Err(SerdeError::invalid_type(
                unexpected(&other),
                &"a unit variant",
            )),
        }
    }

    fn newtype_variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, SerdeError> {
        match self.0 {
            Some(content) => seed.deserialize(content),
            None => Err(SerdeError::invalid_type(
                Unexpected::UnitVariant,
                &"a variant with a value",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, SerdeError> {
        match self.0 {
            Some(content) => de::Deserializer::deserialize_seq(content, visitor),
            None => Err(SerdeError::invalid_type(
                Unexpected::UnitVariant,
                &"a tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        match self.0 {
            Some(content) => de::Deserializer::deserialize_map(content, visitor),
            None => Err(SerdeError::invalid_type(
                Unexpected::UnitVariant,
                &"a struct variant",
            )),
        }
    }
}
