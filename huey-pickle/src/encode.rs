//! The writer: protocol 4 pickles, with class references written as CPython writes them for
//! the same objects, so `pickle.loads` rebuilds exactly what Huey would have built.

use crate::opcodes as op;
use crate::value::{BigInt, Date, DateTime, TimeDelta, TimeZone, Value};

/// Why a value could not be written as a pickle Python would read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A dict key or set member Python could not hash (a list, dict, set or bytearray).
    #[error("a {kind} cannot be a {role} in Python (it is unhashable)")]
    Unhashable {
        /// The offending value's type.
        kind: &'static str,
        /// `dict key`, `set member` or `frozenset member`.
        role: &'static str,
    },
}

/// The protocol written: readable by every Python 3 since 3.4, with the compact opcodes for
/// sets, short strings and class references.
pub const PROTOCOL: u8 = 4;

/// Writes `value` as a protocol 4 pickle that Python's `pickle.loads` reads back into the same
/// objects Huey builds (a `huey.registry.Message` namedtuple, naive `datetime`s and so on).
///
/// Deeply nested values are written without recursion.
///
/// ```
/// use huey_pickle::{from_slice, to_vec, Limits, Value};
///
/// let value = Value::Dict(vec![(Value::Str("c".into()), Value::Int(3))]);
/// let bytes = to_vec(&value)?;
/// assert_eq!(from_slice(&bytes, &Limits::default()).unwrap(), value);
/// # Ok::<(), huey_pickle::EncodeError>(())
/// ```
pub fn to_vec(value: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = vec![op::PROTO, PROTOCOL];
    let mut steps = vec![Step::Value(value)];
    while let Some(step) = steps.pop() {
        match step {
            Step::Opcode(opcode) => out.push(opcode),
            Step::Value(value) => write_one(value, &mut out, &mut steps)?,
        }
    }
    out.push(op::STOP);
    Ok(out)
}

/// What is left to write, last first.
enum Step<'a> {
    Value(&'a Value),
    Opcode(u8),
}

/// Writes what `value` starts with, and schedules its items and closing opcodes.
fn write_one<'a>(
    value: &'a Value,
    out: &mut Vec<u8>,
    steps: &mut Vec<Step<'a>>,
) -> Result<(), EncodeError> {
    // Schedules `items` between an opening MARK (written now) and `close`.
    let marked = |out: &mut Vec<u8>, steps: &mut Vec<Step<'a>>, items: &'a [Value], close: u8| {
        out.push(op::MARK);
        steps.push(Step::Opcode(close));
        steps.extend(items.iter().rev().map(Step::Value));
    };
    match value {
        Value::None => out.push(op::NONE),
        Value::Bool(true) => out.push(op::NEWTRUE),
        Value::Bool(false) => out.push(op::NEWFALSE),
        Value::Int(number) => write_int(*number, out),
        Value::BigInt(number) => write_big_int(number, out),
        Value::Float(number) => {
            out.push(op::BINFLOAT);
            out.extend_from_slice(&number.to_be_bytes());
        }
        Value::Str(text) => write_str(text, out),
        Value::Bytes(bytes) => write_bytes(bytes, out),
        Value::ByteArray(bytes) => {
            // Protocol 4 has no bytearray opcode; this is how CPython writes one at 3 and 4.
            write_global("builtins", "bytearray", out);
            write_bytes(bytes, out);
            out.extend_from_slice(&[op::TUPLE1, op::REDUCE]);
        }
        Value::List(items) => {
            out.push(op::EMPTY_LIST);
            if !items.is_empty() {
                marked(out, steps, items, op::APPENDS);
            }
        }
        Value::Tuple(items) => match items.len() {
            0 => out.push(op::EMPTY_TUPLE),
            1..=3 => {
                steps.push(Step::Opcode(op::TUPLE1 + items.len() as u8 - 1));
                steps.extend(items.iter().rev().map(Step::Value));
            }
            _ => marked(out, steps, items, op::TUPLE),
        },
        Value::Dict(pairs) => {
            out.push(op::EMPTY_DICT);
            write_pairs(pairs, out, steps)?;
        }
        Value::Set(items) => {
            check_hashable(items, "set member")?;
            out.push(op::EMPTY_SET);
            if !items.is_empty() {
                marked(out, steps, items, op::ADDITEMS);
            }
        }
        Value::FrozenSet(items) => {
            check_hashable(items, "frozenset member")?;
            marked(out, steps, items, op::FROZENSET);
        }
        Value::DateTime(moment) => write_datetime(moment, out),
        Value::Date(day) => write_date(*day, out),
        Value::TimeDelta(span) => write_timedelta(*span, out),
        Value::Message(message) => {
            // A namedtuple: NEWOBJ of the class over all its fields, as CPython writes it.
            write_global("huey.registry", "Message", out);
            out.push(op::MARK);
            steps.push(Step::Opcode(op::NEWOBJ));
            steps.push(Step::Opcode(op::TUPLE));
            steps.extend(message.fields().into_iter().rev().map(Step::Value));
        }
        Value::Error(metadata) => {
            write_global("huey.utils", "Error", out);
            out.push(op::EMPTY_DICT);
            steps.push(Step::Opcode(op::NEWOBJ));
            steps.push(Step::Opcode(op::TUPLE1));
            write_pairs(metadata, out, steps)?;
        }
        Value::Skipped => write_global("huey.utils", "SKIPPED", out),
    }
    Ok(())
}

/// Schedules `pairs` as one SETITEMS over the dict just written.
fn write_pairs<'a>(
    pairs: &'a [(Value, Value)],
    out: &mut Vec<u8>,
    steps: &mut Vec<Step<'a>>,
) -> Result<(), EncodeError> {
    if pairs.is_empty() {
        return Ok(());
    }
    if let Some((key, _)) = pairs.iter().find(|(key, _)| !key.is_hashable()) {
        return Err(EncodeError::Unhashable {
            kind: key.type_name(),
            role: "dict key",
        });
    }
    out.push(op::MARK);
    steps.push(Step::Opcode(op::SETITEMS));
    for (key, value) in pairs.iter().rev() {
        steps.push(Step::Value(value));
        steps.push(Step::Value(key));
    }
    Ok(())
}

fn check_hashable(items: &[Value], role: &'static str) -> Result<(), EncodeError> {
    match items.iter().find(|item| !item.is_hashable()) {
        Some(item) => Err(EncodeError::Unhashable {
            kind: item.type_name(),
            role,
        }),
        None => Ok(()),
    }
}

fn write_int(number: i64, out: &mut Vec<u8>) {
    if let Ok(small) = u8::try_from(number) {
        out.extend_from_slice(&[op::BININT1, small]);
    } else if let Ok(medium) = u16::try_from(number) {
        out.push(op::BININT2);
        out.extend_from_slice(&medium.to_le_bytes());
    } else if let Ok(word) = i32::try_from(number) {
        out.push(op::BININT);
        out.extend_from_slice(&word.to_le_bytes());
    } else {
        write_big_int(&BigInt::from_i128(number.into()), out);
    }
}

fn write_big_int(number: &BigInt, out: &mut Vec<u8>) {
    let bytes = number.as_le_bytes();
    match u8::try_from(bytes.len()) {
        Ok(len) => out.extend_from_slice(&[op::LONG1, len]),
        Err(_) => {
            out.push(op::LONG4);
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        }
    }
    out.extend_from_slice(bytes);
}

fn write_str(text: &str, out: &mut Vec<u8>) {
    write_sized(
        text.as_bytes(),
        [op::SHORT_BINUNICODE, op::BINUNICODE, op::BINUNICODE8],
        out,
    );
}

fn write_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    write_sized(
        bytes,
        [op::SHORT_BINBYTES, op::BINBYTES, op::BINBYTES8],
        out,
    );
}

/// `data` after the shortest of a 1-, 4- or 8-byte length form.
fn write_sized(data: &[u8], [short, long, huge]: [u8; 3], out: &mut Vec<u8>) {
    if let Ok(len) = u8::try_from(data.len()) {
        out.extend_from_slice(&[short, len]);
    } else if let Ok(len) = u32::try_from(data.len()) {
        out.push(long);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        out.push(huge);
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    }
    out.extend_from_slice(data);
}

fn write_global(module: &str, name: &str, out: &mut Vec<u8>) {
    write_str(module, out);
    write_str(name, out);
    out.push(op::STACK_GLOBAL);
}

fn write_datetime(moment: &DateTime, out: &mut Vec<u8>) {
    write_global("datetime", "datetime", out);
    write_bytes(&moment.state(), out);
    match moment.tz() {
        None => out.push(op::TUPLE1),
        Some(tz) => {
            write_timezone(tz, out);
            out.push(op::TUPLE2);
        }
    }
    out.push(op::REDUCE);
}

fn write_timezone(tz: &TimeZone, out: &mut Vec<u8>) {
    write_global("datetime", "timezone", out);
    write_timedelta(tz.offset, out);
    match &tz.name {
        None => out.push(op::TUPLE1),
        Some(name) => {
            write_str(name, out);
            out.push(op::TUPLE2);
        }
    }
    out.push(op::REDUCE);
}

fn write_date(day: Date, out: &mut Vec<u8>) {
    write_global("datetime", "date", out);
    write_bytes(&day.state(), out);
    out.extend_from_slice(&[op::TUPLE1, op::REDUCE]);
}

fn write_timedelta(span: TimeDelta, out: &mut Vec<u8>) {
    write_global("datetime", "timedelta", out);
    let (days, seconds, microseconds) = span.parts();
    for part in [days, seconds, microseconds] {
        write_int(part.into(), out);
    }
    out.extend_from_slice(&[op::TUPLE3, op::REDUCE]);
}
