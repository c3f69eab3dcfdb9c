//! Rust values into [`Value`]s.

use serde::Serialize;
use serde::ser::{self, Error as _};

use super::{SerdeError, tag};
use crate::value::{BigInt, Date, DateTime, Message, TimeDelta, TimeZone, Value};

/// A Rust value as a [`Value`], by the mapping in the [module docs](crate::bridge).
///
/// ```
/// use huey_pickle::{to_value, Value};
///
/// assert_eq!(to_value(&(1u8, "a"))?, Value::Tuple(vec![Value::Int(1), Value::Str("a".into())]));
/// assert_eq!(to_value(&vec![Some(true), None])?, Value::List(vec![Value::Bool(true), Value::None]));
/// # Ok::<(), huey_pickle::SerdeError>(())
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, SerdeError> {
    value.serialize(ValueSerializer)
}

struct ValueSerializer;

fn int_of(number: i128) -> Value {
    match i64::try_from(number) {
        Ok(small) => Value::Int(small),
        Err(_) => Value::BigInt(BigInt::from_i128(number)),
    }
}

fn parse_datetime(text: &str) -> Result<DateTime, SerdeError> {
    let invalid = |_| SerdeError::custom(format!("{text:?} is not an ISO 8601 datetime"));
    if let Ok(aware) = chrono::DateTime::parse_from_rfc3339(text) {
        let offset =
            TimeDelta::new(0, aware.offset().local_minus_utc().into(), 0).map_err(invalid)?;
        let tz = if offset == TimeDelta::ZERO {
            TimeZone::UTC
        } else {
            TimeZone { offset, name: None }
        };
        return Ok(DateTime::from_naive(&aware.naive_local())
            .map_err(invalid)?
            .with_tz(Some(tz)));
    }
    let naive: chrono::NaiveDateTime = text
        .parse()
        .map_err(|_| SerdeError::custom(format!("{text:?} is not an ISO 8601 datetime")))?;
    DateTime::from_naive(&naive).map_err(invalid)
}

/// Turns what a tagged newtype carried into the Python type it stands for.
fn tagged(name: &str, inner: Value) -> Result<Value, SerdeError> {
    let wrong =
        |what: &str| SerdeError::custom(format!("a {what} must carry {}", inner.type_name()));
    Ok(match (name, &inner) {
        (tag::DATETIME, Value::Str(text)) => Value::DateTime(parse_datetime(text)?),
        (tag::DATE, Value::Str(text)) => {
            let day: chrono::NaiveDate = text
                .parse()
                .map_err(|_| SerdeError::custom(format!("{text:?} is not an ISO 8601 date")))?;
            use chrono::Datelike;
            let year = u16::try_from(day.year()).map_err(SerdeError::custom)?;
            Value::Date(
                Date::new(year, day.month() as u8, day.day() as u8).map_err(SerdeError::custom)?,
            )
        }
        (tag::TIMEDELTA, Value::Tuple(parts)) => match parts[..] {
            [Value::Int(days), Value::Int(seconds), Value::Int(micros)] => {
                Value::TimeDelta(TimeDelta::new(days, seconds, micros).map_err(SerdeError::custom)?)
            }
            _ => return Err(wrong("timedelta")),
        },
        (tag::MESSAGE, Value::Dict(pairs)) => {
            let mut message = Message::default();
            for (key, value) in pairs {
                let Value::Str(key) = key else {
                    return Err(wrong("Message"));
                };
                let index = Message::FIELD_NAMES
                    .iter()
                    .position(|field| field == key)
                    .ok_or_else(|| {
                        SerdeError::custom(format!("huey.registry.Message has no field {key:?}"))
                    })?;
                *message.fields_mut()[index] = value.clone();
            }
            Value::Message(Box::new(message))
        }
        (tag::ERROR, Value::Dict(pairs)) => Value::Error(pairs.clone()),
        (tag::DATETIME | tag::DATE | tag::TIMEDELTA | tag::MESSAGE | tag::ERROR, _) => {
            return Err(wrong(name.trim_start_matches("\0huey_pickle::")));
        }
        _ => inner,
    })
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = SerdeError;
    type SerializeSeq = Items;
    type SerializeTuple = Items;
    type SerializeTupleStruct = Items;
    type SerializeTupleVariant = Variant<Items>;
    type SerializeMap = Pairs;
    type SerializeStruct = Pairs;
    type SerializeStructVariant = Variant<Pairs>;

    fn serialize_bool(self, flag: bool) -> Result<Value, SerdeError> {
        Ok(Value::Bool(flag))
    }
    fn serialize_i8(self, number: i8) -> Result<Value, SerdeError> {
        Ok(Value::Int(number.into()))
    }
    fn serialize_i16(self, number: i16) -> Result<Value, SerdeError> {
        Ok(Value::Int(number.into()))
    }
    fn serialize_i32(self, number: i32) -> Result<Value, SerdeError> {
        Ok(Value::Int(number.into()))
    }
    fn serialize_i64(self, number: i64) -> Result<Value, SerdeError> {
        Ok(Value::Int(number))
    }
    fn serialize_i128(self, number: i128) -> Result<Value, SerdeError> {
        Ok(int_of(number))
    }
    fn serialize_u8(self, number: u8) -> Result<Value, SerdeError> {
        Ok(Value::Int(number.into()))
    }
    fn serialize_u16(self, number: u16) -> Result<Value, SerdeError> {
        Ok(Value::Int(number.into()))
    }
    fn serialize_u32(self, number: u32) -> Result<Value, SerdeError> {
        Ok(Value::Int(number.into()))
    }
    fn serialize_u64(self, number: u64) -> Result<Value, SerdeError> {
        Ok(int_of(number.into()))
    }
    fn serialize_u128(self, number: u128) -> Result<Value, SerdeError> {
        Ok(match i128::try_from(number) {
            Ok(number) => int_of(number),
            Err(_) => Value::BigInt(BigInt::from_u128(number)),
        })
    }
    fn serialize_f32(self, number: f32) -> Result<Value, SerdeError> {
        Ok(Value::Float(number.into()))
    }
    fn serialize_f64(self, number: f64) -> Result<Value, SerdeError> {
        Ok(Value::Float(number))
    }
    fn serialize_char(self, char: char) -> Result<Value, SerdeError> {
        Ok(Value::Str(char.to_string()))
    }
    fn serialize_str(self, text: &str) -> Result<Value, SerdeError> {
        Ok(Value::Str(text.to_owned()))
    }
    fn serialize_bytes(self, bytes: &[u8]) -> Result<Value, SerdeError> {
        Ok(Value::Bytes(bytes.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, SerdeError> {
        Ok(Value::None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, SerdeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, SerdeError> {
        Ok(Value::None)
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Value, SerdeError> {
        Ok(if name == tag::SKIPPED {
            Value::Skipped
        } else {
            Value::None
        })
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, SerdeError> {
        Ok(Value::Str(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Value, SerdeError> {
        tagged(name, value.serialize(self)?)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, SerdeError> {
        Ok(Value::Dict(vec![(
            Value::Str(variant.to_owned()),
            value.serialize(self)?,
        )]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Items, SerdeError> {
        Ok(Items {
            items: Vec::with_capacity(len.unwrap_or(0).min(4096)),
            tuple: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Items, SerdeError> {
        Ok(Items {
            items: Vec::with_capacity(len.min(4096)),
            tuple: true,
        })
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Items, SerdeError> {
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<Items>, SerdeError> {
        Ok(Variant {
            name: variant,
            inner: self.serialize_tuple(len)?,
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Pairs, SerdeError> {
        Ok(Pairs {
            pairs: Vec::with_capacity(len.unwrap_or(0).min(4096)),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Pairs, SerdeError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<Pairs>, SerdeError> {
        Ok(Variant {
            name: variant,
            inner: self.serialize_map(Some(len))?,
        })
    }
}

/// The items of a list or tuple being serialized.
struct Items {
    items: Vec<Value>,
    tuple: bool,
}

impl Items {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.items.push(value.serialize(ValueSerializer)?);
        Ok(())
    }

    fn finish(mut self) -> Value {
        let items = std::mem::take(&mut self.items);
        if self.tuple {
            Value::Tuple(items)
        } else {
            Value::List(items)
        }
    }
}

impl ser::SerializeSeq for Items {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for Items {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for Items {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(self.finish())
    }
}

/// The pairs of a dict being serialized.
struct Pairs {
    pairs: Vec<(Value, Value)>,
    key: Option<Value>,
}

impl Pairs {
    fn finish(self) -> Value {
        Value::Dict(self.pairs)
    }
}

impl ser::SerializeMap for Pairs {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerdeError> {
        let key = key.serialize(ValueSerializer)?;
        if !key.is_hashable() {
            return Err(SerdeError::custom(format!(
                "a {} cannot be a dict key (it is unhashable)",
                key.type_name()
            )));
        }
        self.key = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerdeError::custom("a dict value came without its key"))?;
        self.pairs.push((key, value.serialize(ValueSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for Pairs {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), SerdeError> {
        self.pairs.push((
            Value::Str(name.to_owned()),
            value.serialize(ValueSerializer)?,
        ));
        Ok(())
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(self.finish())
    }
}

/// An enum variant with data: `{'Variant': data}`.
struct Variant<T> {
    name: &'static str,
    inner: T,
}

impl<T> Variant<T> {
    fn wrap(name: &'static str, value: Value) -> Value {
        Value::Dict(vec![(Value::Str(name.to_owned()), value)])
    }
}

impl ser::SerializeTupleVariant for Variant<Items> {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.inner.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(Self::wrap(self.name, self.inner.finish()))
    }
}

impl ser::SerializeStructVariant for Variant<Pairs> {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), SerdeError> {
        ser::SerializeStruct::serialize_field(&mut self.inner, name, value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(Self::wrap(self.name, self.inner.finish()))
    }
}
