//! The values a Huey pickle can hold: Python's plain data types and the few classes Huey
//! itself pickles (its `Message`, its `Error`, `SKIPPED` and the `datetime` types).

use std::fmt;

/// A Python value that Huey puts on the wire, as a tree.
///
/// Containers own their items, so a value is always a tree: a pickle that shares one object
/// in two places decodes into two equal copies (bounded by [`Limits`](crate::Limits)), and a
/// self-referencing pickle is refused. Dicts, sets and frozensets keep their items in pickle
/// order, as pairs and lists (Python's own dicts keep insertion order too).
///
/// Dropping a value never recurses, so even a value nested far deeper than any pickle the
/// reader accepts drops without exhausting the stack. (That `Drop` is also why a value cannot
/// be destructured by move: take its contents with [`Value::into_message`],
/// [`Value::into_items`], [`Value::into_pairs`] and [`Value::into_string`], or match on a
/// reference.)
///
/// ```
/// use huey_pickle::Value;
///
/// let args = Value::Tuple(vec![Value::Int(1), Value::Str("two".into())]);
/// assert_eq!(args.type_name(), "tuple");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An `int` that fits in an `i64`.
    Int(i64),
    /// An `int` outside the `i64` range, as pickle stores it.
    BigInt(BigInt),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `bytes`.
    Bytes(Vec<u8>),
    /// A `bytearray`.
    ByteArray(Vec<u8>),
    /// A `list`.
    List(Vec<Value>),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A `dict`, its pairs in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A `set`.
    Set(Vec<Value>),
    /// A `frozenset`.
    FrozenSet(Vec<Value>),
    /// A `datetime.datetime`.
    DateTime(DateTime),
    /// A `datetime.date`.
    Date(Date),
    /// A `datetime.timedelta`.
    TimeDelta(TimeDelta),
    /// A `huey.registry.Message`: one task invocation.
    Message(Box<Message>),
    /// A `huey.utils.Error`: how Huey stores a task's failure as its result. The pairs are its
    /// `metadata` dict (Huey fills in `error`, `retries`, `traceback` and `task_id`).
    Error(Vec<(Value, Value)>),
    /// `huey.utils.SKIPPED`: the result of a chord member that did not run.
    Skipped,
}

impl Value {
    /// Python's name for this value's type, as error messages show it.
    ///
    /// ```
    /// assert_eq!(huey_pickle::Value::Skipped.type_name(), "huey.utils.SKIPPED");
    /// ```
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::ByteArray(_) => "bytearray",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Set(_) => "set",
            Value::FrozenSet(_) => "frozenset",
            Value::DateTime(_) => "datetime.datetime",
            Value::Date(_) => "datetime.date",
            Value::TimeDelta(_) => "datetime.timedelta",
            Value::Message(_) => "huey.registry.Message",
            Value::Error(_) => "huey.utils.Error",
            Value::Skipped => "huey.utils.SKIPPED",
        }
    }

    /// The message, if this is one; otherwise the value back.
    ///
    /// ```
    /// let value = huey_pickle::Value::Message(Box::default());
    /// assert_eq!(value.into_message().unwrap().id, huey_pickle::Value::None);
    /// ```
    pub fn into_message(mut self) -> Result<Box<Message>, Value> {
        match &mut self {
            Value::Message(message) => Ok(std::mem::take(message)),
            _ => Err(self),
        }
    }

    /// The items of a list, tuple, set or frozenset; otherwise the value back.
    ///
    /// ```
    /// use huey_pickle::Value;
    ///
    /// assert_eq!(Value::Tuple(vec![Value::None]).into_items(), Ok(vec![Value::None]));
    /// assert_eq!(Value::Int(1).into_items(), Err(Value::Int(1)));
    /// ```
    pub fn into_items(mut self) -> Result<Vec<Value>, Value> {
        match &mut self {
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => Ok(std::mem::take(items)),
            _ => Err(self),
        }
    }

    /// The pairs of a dict, or an error's metadata; otherwise the value back.
    ///
    /// ```
    /// use huey_pickle::Value;
    ///
    /// let kwargs = Value::Dict(vec![(Value::Str("c".into()), Value::Int(3))]);
    /// assert_eq!(kwargs.into_pairs().unwrap()[0].1, Value::Int(3));
    /// ```
    pub fn into_pairs(mut self) -> Result<Vec<(Value, Value)>, Value> {
        match &mut self {
            Value::Dict(pairs) | Value::Error(pairs) => Ok(std::mem::take(pairs)),
            _ => Err(self),
        }
    }

    /// The text of a str; otherwise the value back.
    ///
    /// ```
    /// assert_eq!(huey_pickle::Value::Str("id".into()).into_string().as_deref(), Ok("id"));
    /// ```
    pub fn into_string(mut self) -> Result<String, Value> {
        match &mut self {
            Value::Str(text) => Ok(std::mem::take(text)),
            _ => Err(self),
        }
    }

    /// Whether Python could use this value as a dict key or a set member (mutable containers
    /// cannot be hashed). Only the value's own kind is checked, as a cheap guard.
    pub(crate) fn is_hashable(&self) -> bool {
        !matches!(
            self,
            Value::List(_) | Value::Dict(_) | Value::Set(_) | Value::ByteArray(_) | Value::Error(_)
        )
    }

    fn has_children(&self) -> bool {
        match self {
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => !items.is_empty(),
            Value::Dict(pairs) | Value::Error(pairs) => !pairs.is_empty(),
            Value::Message(_) => true,
            _ => false,
        }
    }

    /// Moves this value's direct children into `out`, leaving it shallow.
    fn take_children(&mut self, out: &mut Vec<Value>) {
        match self {
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => {
                out.append(items);
            }
            Value::Dict(pairs) | Value::Error(pairs) => {
                for (key, value) in pairs.drain(..) {
                    out.push(key);
                    out.push(value);
                }
            }
            Value::Message(message) => out.extend(message.take_fields()),
            _ => {}
        }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        // Leaves and containers of leaves drop the ordinary way; anything deeper is flattened
        // onto a heap stack first, so the depth of a value never becomes the depth of the
        // call stack.
        if !self.has_children() {
            return;
        }
        let mut pending = Vec::new();
        self.take_children(&mut pending);
        if !pending.iter().any(Value::has_children) {
            return;
        }
        while let Some(mut value) = pending.pop() {
            value.take_children(&mut pending);
        }
    }
}

/// A Python `int` outside the `i64` range, held as pickle writes it: little-endian two's
/// complement bytes, as short as the value allows.
///
/// ```
/// use huey_pickle::BigInt;
///
/// let big = BigInt::from_i128(1 << 70);
/// assert_eq!(big.to_i128(), Some(1 << 70));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BigInt {
    bytes: Vec<u8>,
}

impl BigInt {
    /// The integer whose little-endian two's complement bytes are `bytes` (empty means zero).
    #[must_use]
    pub fn from_le_bytes(bytes: &[u8]) -> Self {
        let mut bytes = bytes.to_vec();
        // Drop redundant sign-extension bytes so equal numbers compare equal.
        while bytes.len() > 1 {
            let last = bytes[bytes.len() - 1];
            let next_sign = bytes[bytes.len() - 2] & 0x80;
            if (last == 0 && next_sign == 0) || (last == 0xff && next_sign != 0) {
                bytes.pop();
            } else {
                break;
            }
        }
        if bytes == [0] {
            bytes.clear();
        }
        BigInt { bytes }
    }

    /// The integer `value`.
    #[must_use]
    pub fn from_i128(value: i128) -> Self {
        Self::from_le_bytes(&value.to_le_bytes())
    }

    /// The integer `value`.
    #[must_use]
    pub fn from_u128(value: u128) -> Self {
        let mut bytes = value.to_le_bytes().to_vec();
        bytes.push(0);
        Self::from_le_bytes(&bytes)
    }

    /// Its little-endian two's complement bytes, shortest form (empty for zero).
    #[must_use]
    pub fn as_le_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the number is below zero.
    #[must_use]
    pub fn is_negative(&self) -> bool {
        self.bytes.last().is_some_and(|byte| byte & 0x80 != 0)
    }

    /// The number as an `i128`, if it fits.
    #[must_use]
    pub fn to_i128(&self) -> Option<i128> {
        if self.bytes.len() > 16 {
            return None;
        }
        let fill = if self.is_negative() { 0xff } else { 0 };
        let mut buffer = [fill; 16];
        buffer[..self.bytes.len()].copy_from_slice(&self.bytes);
        Some(i128::from_le_bytes(buffer))
    }

    /// The number as a `u128`, if it fits.
    #[must_use]
    pub fn to_u128(&self) -> Option<u128> {
        if self.is_negative() {
            return None;
        }
        let digits = match self.bytes.len() {
            17 if self.bytes[16] == 0 => &self.bytes[..16],
            len if len <= 16 => &self.bytes[..],
            _ => return None,
        };
        let mut buffer = [0; 16];
        buffer[..digits.len()].copy_from_slice(digits);
        Some(u128::from_le_bytes(buffer))
    }

    /// The number as an `i64` if it fits, otherwise itself: the form a [`Value`] holds.
    pub(crate) fn into_value(self) -> Value {
        match self.to_i128().and_then(|wide| i64::try_from(wide).ok()) {
            Some(small) => Value::Int(small),
            None => Value::BigInt(self),
        }
    }
}

/// A `datetime.timezone`: a fixed offset from UTC, with Python's optional name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone {
    /// The offset from UTC (`timezone.utc` is zero). Python requires it to be strictly within
    /// a day of zero.
    pub offset: TimeDelta,
    /// The name given to `datetime.timezone(offset, name)`, if any.
    pub name: Option<String>,
}

impl TimeZone {
    /// `datetime.timezone.utc`.
    pub const UTC: TimeZone = TimeZone {
        offset: TimeDelta::ZERO,
        name: None,
    };
}

/// A `datetime.datetime`. Huey's own datetimes (`eta`, `expires_resolved`) are naive and mean
/// UTC; an aware one carries a fixed-offset [`TimeZone`].
///
/// ```
/// use huey_pickle::DateTime;
///
/// let eta = DateTime::new(2030, 1, 2, 3, 4, 5, 6)?;
/// assert_eq!(eta.to_string(), "2030-01-02T03:04:05.000006");
/// # Ok::<(), huey_pickle::InvalidDateTime>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    microsecond: u32,
    fold: bool,
    tz: Option<TimeZone>,
}

/// A date or time field out of the range Python's `datetime` accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {value}")]
pub struct InvalidDateTime {
    what: &'static str,
    value: i64,
}

impl DateTime {
    /// A naive datetime, checked as Python's constructor checks it.
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        microsecond: u32,
    ) -> Result<Self, InvalidDateTime> {
        let date = Date::new(year, month, day)?;
        check("hour", hour.into(), 0, 23)?;
        check("minute", minute.into(), 0, 59)?;
        check("second", second.into(), 0, 59)?;
        check("microsecond", microsecond.into(), 0, 999_999)?;
        Ok(DateTime {
            date,
            hour,
            minute,
            second,
            microsecond,
            fold: false,
            tz: None,
        })
    }

    /// This datetime with a time zone (`None` makes it naive).
    #[must_use]
    pub fn with_tz(mut self, tz: Option<TimeZone>) -> Self {
        self.tz = tz;
        self
    }

    /// This datetime with Python's `fold` flag (which of two repeated wall-clock times).
    #[must_use]
    pub fn with_fold(mut self, fold: bool) -> Self {
        self.fold = fold;
        self
    }

    /// The date part.
    #[must_use]
    pub fn date(&self) -> Date {
        self.date
    }

    /// Hour, minute, second and microsecond.
    #[must_use]
    pub fn time(&self) -> (u8, u8, u8, u32) {
        (self.hour, self.minute, self.second, self.microsecond)
    }

    /// Python's `fold` flag.
    #[must_use]
    pub fn fold(&self) -> bool {
        self.fold
    }

    /// The time zone, `None` when naive.
    #[must_use]
    pub fn tz(&self) -> Option<&TimeZone> {
        self.tz.as_ref()
    }

    /// Python's pickled state: 10 bytes, the year big-endian, then month (its top bit is
    /// `fold`), day, hour, minute, second, and the microsecond as 3 bytes big-endian.
    pub(crate) fn state(&self) -> [u8; 10] {
        let [year_high, year_low] = self.date.year.to_be_bytes();
        let [_, micro_high, micro_mid, micro_low] = self.microsecond.to_be_bytes();
        let month = self.date.month | if self.fold { 0x80 } else { 0 };
        [
            year_high,
            year_low,
            month,
            self.date.day,
            self.hour,
            self.minute,
            self.second,
            micro_high,
            micro_mid,
            micro_low,
        ]
    }

    /// Reads Python's pickled state (see [`DateTime::state`]).
    pub(crate) fn from_state(state: &[u8]) -> Result<Self, InvalidDateTime> {
        let [
            year_high,
            year_low,
            month,
            day,
            hour,
            minute,
            second,
            m1,
            m2,
            m3,
        ] = state.try_into().map_err(|_| InvalidDateTime {
            what: "datetime state length",
            value: state.len() as i64,
        })?;
        let fold = month & 0x80 != 0;
        let microsecond = u32::from_be_bytes([0, m1, m2, m3]);
        let year = u16::from_be_bytes([year_high, year_low]);
        Ok(Self::new(year, month & 0x7f, day, hour, minute, second, microsecond)?.with_fold(fold))
    }

    /// As a chrono naive datetime, ignoring any time zone (Huey's naive datetimes mean UTC).
    #[must_use]
    pub fn to_naive(&self) -> chrono::NaiveDateTime {
        let date = self.date.to_naive();
        let time = chrono::NaiveTime::from_hms_micro_opt(
            self.hour.into(),
            self.minute.into(),
            self.second.into(),
            self.microsecond,
        )
        .expect("fields were range-checked on construction");
        date.and_time(time)
    }

    /// As a UTC instant: a naive datetime is taken as UTC (Huey's convention), an aware one is
    /// shifted by its offset.
    #[must_use]
    pub fn to_utc(&self) -> chrono::DateTime<chrono::Utc> {
        let naive = self.to_naive();
        let offset = self
            .tz
            .as_ref()
            .map_or(chrono::TimeDelta::zero(), |tz| tz.offset.to_chrono());
        (naive - offset).and_utc()
    }

    /// A naive datetime from chrono's, truncated to microseconds (Python's precision). Fails
    /// for years outside 1..=9999.
    pub fn from_naive(naive: &chrono::NaiveDateTime) -> Result<Self, InvalidDateTime> {
        use chrono::{Datelike, Timelike};
        let year = u16::try_from(naive.year()).map_err(|_| InvalidDateTime {
            what: "year",
            value: naive.year().into(),
        })?;
        // A leap second (nanosecond ≥ 1e9) is folded into the last microsecond of its second.
        let microsecond = (naive.nanosecond() / 1000).min(999_999);
        Self::new(
            year,
            naive.month() as u8,
            naive.day() as u8,
            naive.hour() as u8,
            naive.minute() as u8,
            naive.second() as u8,
            microsecond,
        )
    }

    /// An aware datetime in `datetime.timezone.utc` for a chrono UTC instant.
    pub fn from_utc(instant: &chrono::DateTime<chrono::Utc>) -> Result<Self, InvalidDateTime> {
        Ok(Self::from_naive(&instant.naive_utc())?.with_tz(Some(TimeZone::UTC)))
    }
}

/// ISO 8601, as Python's `isoformat()` writes it (microseconds only when non-zero).
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        )?;
        if self.microsecond != 0 {
            write!(f, ".{:06}", self.microsecond)?;
        }
        if let Some(tz) = &self.tz {
            let micros = tz.offset.total_microseconds();
            let sign = if micros < 0 { '-' } else { '+' };
            let micros = micros.unsigned_abs();
            let seconds = micros / 1_000_000;
            write!(f, "{sign}{:02}:{:02}", seconds / 3600, seconds / 60 % 60)?;
            if seconds % 60 != 0 || micros % 1_000_000 != 0 {
                write!(f, ":{:02}", seconds % 60)?;
            }
            if micros % 1_000_000 != 0 {
                write!(f, ".{:06}", micros % 1_000_000)?;
            }
        }
        Ok(())
    }
}

/// A `datetime.date`.
///
/// ```
/// let day = huey_pickle::Date::new(2030, 2, 28)?;
/// assert_eq!(day.to_string(), "2030-02-28");
/// assert!(huey_pickle::Date::new(2030, 2, 29).is_err());
/// # Ok::<(), huey_pickle::InvalidDateTime>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// A date, checked as Python checks it (years 1 to 9999, real calendar days).
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, InvalidDateTime> {
        check("year", year.into(), 1, 9999)?;
        check("month", month.into(), 1, 12)?;
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days_in_month = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        check("day", day.into(), 1, days_in_month)?;
        Ok(Date { year, month, day })
    }

    /// Year, month and day.
    #[must_use]
    pub fn ymd(&self) -> (u16, u8, u8) {
        (self.year, self.month, self.day)
    }

    pub(crate) fn state(&self) -> [u8; 4] {
        let [high, low] = self.year.to_be_bytes();
        [high, low, self.month, self.day]
    }

    pub(crate) fn from_state(state: &[u8]) -> Result<Self, InvalidDateTime> {
        let [high, low, month, day] = state.try_into().map_err(|_| InvalidDateTime {
            what: "date state length",
            value: state.len() as i64,
        })?;
        Self::new(u16::from_be_bytes([high, low]), month, day)
    }

    /// As a chrono date.
    #[must_use]
    pub fn to_naive(&self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year.into(), self.month.into(), self.day.into())
            .expect("fields were checked on construction")
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn check(what: &'static str, value: i64, low: i64, high: i64) -> Result<(), InvalidDateTime> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(InvalidDateTime { what, value })
    }
}

/// A `datetime.timedelta`, normalised as Python normalises it: `0 <= seconds < 86400`,
/// `0 <= microseconds < 1_000_000`, and `days` carries the sign.
///
/// ```
/// use huey_pickle::TimeDelta;
///
/// let minus_one_second = TimeDelta::from_microseconds(-1_000_000)?;
/// assert_eq!(minus_one_second.parts(), (-1, 86_399, 0));
/// # Ok::<(), huey_pickle::InvalidDateTime>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeDelta {
    days: i32,
    seconds: i32,
    microseconds: i32,
}

const MICROS_PER_DAY: i128 = 86_400_000_000;

impl TimeDelta {
    /// No time at all.
    pub const ZERO: TimeDelta = TimeDelta {
        days: 0,
        seconds: 0,
        microseconds: 0,
    };

    /// A span of `micros` microseconds; Python allows at most 999,999,999 days either way.
    pub fn from_microseconds(micros: i128) -> Result<Self, InvalidDateTime> {
        let days = micros.div_euclid(MICROS_PER_DAY);
        let rest = micros.rem_euclid(MICROS_PER_DAY);
        if !(-999_999_999..=999_999_999).contains(&days) {
            return Err(InvalidDateTime {
                what: "timedelta days",
                value: days.clamp(i64::MIN.into(), i64::MAX.into()) as i64,
            });
        }
        Ok(TimeDelta {
            days: days as i32,
            seconds: (rest / 1_000_000) as i32,
            microseconds: (rest % 1_000_000) as i32,
        })
    }

    /// `timedelta(days, seconds, microseconds)`, normalised.
    pub fn new(days: i64, seconds: i64, microseconds: i64) -> Result<Self, InvalidDateTime> {
        let total = i128::from(days) * MICROS_PER_DAY
            + i128::from(seconds) * 1_000_000
            + i128::from(microseconds);
        Self::from_microseconds(total)
    }

    /// Days, seconds and microseconds, as Python's attributes give them.
    #[must_use]
    pub fn parts(&self) -> (i32, i32, i32) {
        (self.days, self.seconds, self.microseconds)
    }

    /// The whole span in microseconds.
    #[must_use]
    pub fn total_microseconds(&self) -> i64 {
        i64::from(self.days) * 86_400_000_000
            + i64::from(self.seconds) * 1_000_000
            + i64::from(self.microseconds)
    }

    /// As a chrono duration.
    #[must_use]
    pub fn to_chrono(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::microseconds(self.total_microseconds())
    }
}

/// The 15 fields of a `huey.registry.Message` (a namedtuple; this order is the wire format).
///
/// Each field holds whatever Python put there: this crate checks the pickle, not Huey's
/// meaning, so a codec built on it checks that `id` is a `str`, `args` a tuple and so on.
/// A pickled message with fewer fields (an older producer) decodes with the rest `None`, as
/// in Huey.
///
/// ```
/// use huey_pickle::{Message, Value};
///
/// let mut message = Message::default();
/// message.id = Value::Str("1".into());
/// message.name = Value::Str("app.add".into());
/// message.args = Value::Tuple(vec![Value::Int(1), Value::Int(2)]);
/// assert_eq!(message.fields().len(), 15);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // The fields are Huey's, named as Huey names them.
pub struct Message {
    pub id: Value,
    pub name: Value,
    pub eta: Value,
    pub retries: Value,
    pub retry_delay: Value,
    pub priority: Value,
    pub args: Value,
    pub kwargs: Value,
    pub on_complete: Value,
    pub on_error: Value,
    pub expires: Value,
    pub expires_resolved: Value,
    pub timeout: Value,
    pub chord_config: Value,
    pub retry_backoff: Value,
}

impl Default for Message {
    /// Every field `None`, as `huey.registry.Message()` gives.
    fn default() -> Self {
        Self::from_fields(Vec::new()).expect("no fields is within the fifteen")
    }
}

impl Message {
    /// Huey's names for the fields, in wire order.
    pub const FIELD_NAMES: [&'static str; 15] = [
        "id",
        "name",
        "eta",
        "retries",
        "retry_delay",
        "priority",
        "args",
        "kwargs",
        "on_complete",
        "on_error",
        "expires",
        "expires_resolved",
        "timeout",
        "chord_config",
        "retry_backoff",
    ];

    /// A message from its fields in wire order; missing trailing fields are `None`. Returns
    /// the fields back if there are more than 15.
    pub fn from_fields(fields: Vec<Value>) -> Result<Self, Vec<Value>> {
        if fields.len() > Self::FIELD_NAMES.len() {
            return Err(fields);
        }
        let mut fields = fields.into_iter();
        let mut next = || fields.next().unwrap_or(Value::None);
        Ok(Message {
            id: next(),
            name: next(),
            eta: next(),
            retries: next(),
            retry_delay: next(),
            priority: next(),
            args: next(),
            kwargs: next(),
            on_complete: next(),
            on_error: next(),
            expires: next(),
            expires_resolved: next(),
            timeout: next(),
            chord_config: next(),
            retry_backoff: next(),
        })
    }

    /// The fields in wire order.
    #[must_use]
    pub fn fields(&self) -> [&Value; 15] {
        [
            &self.id,
            &self.name,
            &self.eta,
            &self.retries,
            &self.retry_delay,
            &self.priority,
            &self.args,
            &self.kwargs,
            &self.on_complete,
            &self.on_error,
            &self.expires,
            &self.expires_resolved,
            &self.timeout,
            &self.chord_config,
            &self.retry_backoff,
        ]
    }

    /// The fields in wire order, to change in place.
    pub fn fields_mut(&mut self) -> [&mut Value; 15] {
        [
            &mut self.id,
            &mut self.name,
            &mut self.eta,
            &mut self.retries,
            &mut self.retry_delay,
            &mut self.priority,
            &mut self.args,
            &mut self.kwargs,
            &mut self.on_complete,
            &mut self.on_error,
            &mut self.expires,
            &mut self.expires_resolved,
            &mut self.timeout,
            &mut self.chord_config,
            &mut self.retry_backoff,
        ]
    }

    /// Moves the fields out in wire order, leaving `None` in each.
    pub fn take_fields(&mut self) -> [Value; 15] {
        let take = std::mem::take;
        [
            take(&mut self.id),
            take(&mut self.name),
            take(&mut self.eta),
            take(&mut self.retries),
            take(&mut self.retry_delay),
            take(&mut self.priority),
            take(&mut self.args),
            take(&mut self.kwargs),
            take(&mut self.on_complete),
            take(&mut self.on_error),
            take(&mut self.expires),
            take(&mut self.expires_resolved),
            take(&mut self.timeout),
            take(&mut self.chord_config),
            take(&mut self.retry_backoff),
        ]
    }
}

impl Default for Value {
    /// `None`.
    fn default() -> Self {
        Value::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_ints_normalise_and_convert() {
        assert_eq!(
            BigInt::from_le_bytes(&[0x01, 0x00, 0x00]).as_le_bytes(),
            &[0x01]
        );
        assert_eq!(BigInt::from_le_bytes(&[0xff, 0xff]).as_le_bytes(), &[0xff]);
        assert_eq!(BigInt::from_le_bytes(&[0x00]).as_le_bytes(), &[] as &[u8]);
        assert_eq!(BigInt::from_i128(-1 << 100).to_i128(), Some(-1 << 100));
        assert_eq!(BigInt::from_u128(u128::MAX).to_u128(), Some(u128::MAX));
        assert_eq!(BigInt::from_u128(u128::MAX).to_i128(), None);
        assert_eq!(BigInt::from_i128(-5).to_u128(), None);
        assert_eq!(BigInt::from_i128(7).into_value(), Value::Int(7));
    }

    #[test]
    fn datetime_state_round_trips_with_fold() {
        let moment = DateTime::new(2030, 1, 2, 3, 4, 5, 6)
            .unwrap()
            .with_fold(true);
        assert_eq!(DateTime::from_state(&moment.state()).unwrap(), moment);
        assert!(DateTime::from_state(&[0; 9]).is_err());
        assert!(DateTime::new(2030, 13, 1, 0, 0, 0, 0).is_err());
    }

    #[test]
    fn timedelta_normalises_like_python() {
        assert_eq!(TimeDelta::new(0, 90_000, 0).unwrap().parts(), (1, 3_600, 0));
        assert_eq!(
            TimeDelta::new(0, 0, -1).unwrap().parts(),
            (-1, 86_399, 999_999)
        );
        assert!(TimeDelta::new(1_000_000_000, 0, 0).is_err());
    }

    #[test]
    fn deep_values_drop_without_overflowing_the_stack() {
        let mut value = Value::None;
        for _ in 0..1_000_000 {
            value = Value::List(vec![value]);
        }
        drop(value);
    }
}
