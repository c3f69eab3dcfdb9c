//! Huey's crontab grammar, parsed once into bit masks.
//!
//! This crate reproduces the behaviour of Huey 3.5.4's `crontab(minute, hour,
//! day, month, day_of_week, strict)`:
//!
//! * Five fields: minute (0-59), hour (0-23), day (1-31), month (1-12) and day
//!   of week (0-6, where 0 is Sunday; 7 is also read as Sunday).
//! * Each field is a comma-separated list of pieces: `*`, `N`, `*/n`, `a-b`
//!   and `a-b/s`. A range whose start is greater than its end wraps around
//!   the end of the field (`22-2` for hours is 22, 23, 0, 1, 2).
//! * `*/n` takes every n-th value of the field's own range, counting from the
//!   range start, so `day = "*/10"` is 1, 11, 21, 31. It is rejected for the
//!   day of week.
//! * Numbers outside the field's range and steps of 0 are errors. A piece that
//!   is not in the grammar is silently skipped unless `strict` is set, but a
//!   field that ends up matching no value at all is always an error.
//! * Day of month and day of week must **both** match (Vixie cron ORs them).
//!   Seconds play no part.
//!
//! ```
//! use huey_crontab::{Crontab, CrontabSpec};
//!
//! let every_quarter = Crontab::parse(&CrontabSpec {
//!     minute: "*/15",
//!     hour: "9-17",
//!     day_of_week: "1-5",
//!     ..CrontabSpec::default()
//! })?;
//! // Monday 3 January 2011, 09:45.
//! assert!(every_quarter.matches(45, 9, 3, 1, 1));
//! // Same time on Sunday 2 January 2011.
//! assert!(!every_quarter.matches(45, 9, 2, 1, 0));
//! # Ok::<(), huey_crontab::CrontabError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::str::FromStr;

/// Which field of a crontab.
///
/// ```
/// use huey_crontab::Field;
///
/// assert_eq!(Field::DayOfWeek.name(), "day_of_week");
/// assert_eq!(Field::Day.range(), (1, 31));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Minute of the hour, 0-59.
    Minute,
    /// Hour of the day, 0-23.
    Hour,
    /// Day of the month, 1-31.
    Day,
    /// Month of the year, 1-12.
    Month,
    /// Day of the week, 0-6 with 0 = Sunday (the parser also reads 7 as Sunday).
    DayOfWeek,
}

impl Field {
    /// The field's name as Huey spells the keyword argument: `"minute"`,
    /// `"hour"`, `"day"`, `"month"` or `"day_of_week"`.
    ///
    /// ```
    /// assert_eq!(huey_crontab::Field::Minute.name(), "minute");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::Day => "day",
            Field::Month => "month",
            Field::DayOfWeek => "day_of_week",
        }
    }

    /// The inclusive range of values a timestamp can have in this field.
    ///
    /// For [`Field::DayOfWeek`] this is `(0, 6)`; the parser additionally
    /// accepts `7` in the text as another way to write Sunday (`0`).
    ///
    /// ```
    /// use huey_crontab::Field;
    ///
    /// assert_eq!(Field::Minute.range(), (0, 59));
    /// assert_eq!(Field::DayOfWeek.range(), (0, 6));
    /// ```
    pub const fn range(self) -> (u32, u32) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::Day => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 6),
        }
    }

    /// The largest number the parser accepts in this field's text.
    const fn max_input(self) -> u32 {
        match self {
            Field::DayOfWeek => 7,
            _ => self.range().1,
        }
    }

    /// Every valid value of the field as a mask.
    const fn full_mask(self) -> u64 {
        let (lo, hi) = self.range();
        // hi < 64 for every field, so both shifts are in range.
        ((1u64 << (hi + 1)) - 1) & !((1u64 << lo) - 1)
    }
}

/// The textual form of a crontab, as written by the user.
///
/// The default has every field set to `"*"` and `strict` off, so struct
/// update syntax only needs the fields that differ.
///
/// ```
/// use huey_crontab::CrontabSpec;
///
/// let spec = CrontabSpec { minute: "0", hour: "3", ..CrontabSpec::default() };
/// assert_eq!(spec.day, "*");
/// assert!(!spec.strict);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrontabSpec<'a> {
    /// Minute field, 0-59.
    pub minute: &'a str,
    /// Hour field, 0-23.
    pub hour: &'a str,
    /// Day-of-month field, 1-31.
    pub day: &'a str,
    /// Month field, 1-12.
    pub month: &'a str,
    /// Day-of-week field, 0-6 with 0 = Sunday (7 is also Sunday).
    pub day_of_week: &'a str,
    /// Reject any piece that is not in the grammar instead of skipping it.
    pub strict: bool,
}

impl Default for CrontabSpec<'_> {
    fn default() -> Self {
        CrontabSpec {
            minute: "*",
            hour: "*",
            day: "*",
            month: "*",
            day_of_week: "*",
            strict: false,
        }
    }
}

/// Why a crontab field was rejected.
///
/// `value` is the offending text: the piece at fault, or the whole field
/// when the field as a whole matches nothing. `reason` is either a predicate
/// about that text (starting with `is ` or `matches `), which is displayed
/// right after the quoted value, or a free-standing sentence, displayed after
/// a colon:
///
/// ```
/// use huey_crontab::{parse_field, Field};
///
/// let err = parse_field(Field::Minute, "61", false).unwrap_err();
/// assert_eq!(err.to_string(), r#"minute: "61" is out of range 0-59"#);
///
/// let err = parse_field(Field::Minute, "0-30/0", false).unwrap_err();
/// assert_eq!(err.to_string(), r#"minute: "0-30/0": step must be at least 1"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrontabError {
    /// The field that was rejected.
    pub field: Field,
    /// The offending text.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl CrontabError {
    fn new(field: Field, value: &str, reason: impl Into<String>) -> Self {
        CrontabError {
            field,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for CrontabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.reason.starts_with("is ") || self.reason.starts_with("matches ") {
            " "
        } else {
            ": "
        };
        write!(
            f,
            "{}: {:?}{}{}",
            self.field.name(),
            self.value,
            sep,
            self.reason
        )
    }
}

impl std::error::Error for CrontabError {}

/// A parsed crontab: one bit mask per field.
///
/// Matching a timestamp is a handful of shifts and ANDs, and the value can be
/// built in a `const` context with [`Crontab::from_masks`].
///
/// ```
/// use huey_crontab::{Crontab, CrontabSpec};
///
/// let nightly = Crontab::parse(&CrontabSpec { minute: "30", hour: "2", ..Default::default() })?;
/// assert!(nightly.matches(30, 2, 14, 6, 3));
/// assert!(!nightly.matches(31, 2, 14, 6, 3));
/// # Ok::<(), huey_crontab::CrontabError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Crontab {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    days_of_week: u8,
}

impl Crontab {
    /// Parse a crontab the way Huey's `crontab(...)` does.
    ///
    /// Fields are checked in Huey's order (month, day, day_of_week, hour,
    /// minute), so when several are wrong the error names the same field
    /// Huey's `ValueError` would.
    ///
    /// ```
    /// use huey_crontab::{Crontab, CrontabSpec, Field};
    ///
    /// let night = Crontab::parse(&CrontabSpec { minute: "0", hour: "22-2", ..Default::default() })?;
    /// assert!(night.matches(0, 23, 1, 1, 6));
    /// assert!(night.matches(0, 1, 1, 1, 6));
    /// assert!(!night.matches(0, 12, 1, 1, 6));
    ///
    /// let err = Crontab::parse(&CrontabSpec { day_of_week: "*/3", ..Default::default() }).unwrap_err();
    /// assert_eq!(err.field, Field::DayOfWeek);
    /// # Ok::<(), huey_crontab::CrontabError>(())
    /// ```
    pub fn parse(spec: &CrontabSpec<'_>) -> Result<Crontab, CrontabError> {
        let strict = spec.strict;
        let months = parse_field(Field::Month, spec.month, strict)?;
        let days = parse_field(Field::Day, spec.day, strict)?;
        let days_of_week = parse_field(Field::DayOfWeek, spec.day_of_week, strict)?;
        let hours = parse_field(Field::Hour, spec.hour, strict)?;
        let minutes = parse_field(Field::Minute, spec.minute, strict)?;
        // Each mask only has bits within its field's range, so these casts
        // never drop a set bit.
        Ok(Crontab::from_masks(
            minutes,
            hours as u32,
            days as u32,
            months as u16,
            days_of_week as u8,
        ))
    }

    /// Build a crontab from raw masks: bit `m` of `minutes` for minute `m`,
    /// bit `h` of `hours`, bit `d` of `days` for day `d` (1-31), bit `m` of
    /// `months` for month `m` (1-12) and bit `w` of `days_of_week` for weekday
    /// `w` (0 = Sunday .. 6 = Saturday).
    ///
    /// Bits outside a field's range (minute 60-63, hour 24-31, day 0,
    /// month 0 and 13-15, weekday 7) are cleared. A field with no bit set
    /// makes a crontab that never matches; [`Crontab::parse`] never
    /// produces one.
    ///
    /// ```
    /// use huey_crontab::Crontab;
    ///
    /// const NOON_SUNDAYS: Crontab = Crontab::from_masks(1, 1 << 12, !0, !0, 1);
    /// assert!(NOON_SUNDAYS.matches(0, 12, 2, 1, 0));
    /// assert!(!NOON_SUNDAYS.matches(0, 12, 3, 1, 1));
    /// ```
    pub const fn from_masks(
        minutes: u64,
        hours: u32,
        days: u32,
        months: u16,
        days_of_week: u8,
    ) -> Crontab {
        Crontab {
            minutes: minutes & Field::Minute.full_mask(),
            hours: hours & Field::Hour.full_mask() as u32,
            days: days & Field::Day.full_mask() as u32,
            months: months & Field::Month.full_mask() as u16,
            days_of_week: days_of_week & Field::DayOfWeek.full_mask() as u8,
        }
    }

    /// The masks in [`Crontab::from_masks`] order:
    /// `(minutes, hours, days, months, days_of_week)`.
    ///
    /// ```
    /// use huey_crontab::Crontab;
    ///
    /// let (minutes, hours, _, _, dow) = Crontab::daily().masks();
    /// assert_eq!((minutes, hours, dow), (1, 1, 0x7f));
    /// ```
    pub const fn masks(&self) -> (u64, u32, u32, u16, u8) {
        (
            self.minutes,
            self.hours,
            self.days,
            self.months,
            self.days_of_week,
        )
    }

    /// Huey's `crontab.hourly()`: minute 0 of every hour.
    ///
    /// ```
    /// use huey_crontab::Crontab;
    ///
    /// assert!(Crontab::hourly().matches(0, 7, 1, 4, 3));
    /// assert!(!Crontab::hourly().matches(1, 7, 1, 4, 3));
    /// ```
    pub const fn hourly() -> Crontab {
        Crontab::from_masks(1, !0, !0, !0, !0)
    }

    /// Huey's `crontab.daily()`: minute 0 of hour 0, every day.
    ///
    /// ```
    /// use huey_crontab::Crontab;
    ///
    /// assert!(Crontab::daily().matches(0, 0, 2, 4, 4));
    /// assert!(!Crontab::daily().matches(0, 1, 2, 4, 4));
    /// ```
    pub const fn daily() -> Crontab {
        Crontab::from_masks(1, 1, !0, !0, !0)
    }

    /// Every minute: every field `*`, the same as `crontab()` with no
    /// arguments.
    ///
    /// ```
    /// use huey_crontab::Crontab;
    ///
    /// assert!(Crontab::every_minute().matches(59, 23, 31, 12, 6));
    /// ```
    pub const fn every_minute() -> Crontab {
        Crontab::from_masks(!0, !0, !0, !0, !0)
    }

    /// Whether a timestamp matches. `weekday` counts from Sunday = 0 to
    /// Saturday = 6, `month` is 1-12 and `day` 1-31. Day of month and day of
    /// week must both match. Any value outside its field's range never
    /// matches.
    ///
    /// ```
    /// use huey_crontab::Crontab;
    ///
    /// // Saturday 1 January 2011, 00:00.
    /// assert!(Crontab::daily().matches(0, 0, 1, 1, 6));
    /// assert!(!Crontab::daily().matches(0, 0, 1, 1, 7));
    /// ```
    pub const fn matches(
        &self,
        minute: u32,
        hour: u32,
        day: u32,
        month: u32,
        weekday: u32,
    ) -> bool {
        minute < 60
            && hour < 24
            && day < 32
            && month < 16
            && weekday < 8
            && (self.minutes >> minute) & 1 != 0
            && (self.hours >> hour) & 1 != 0
            && (self.days >> day) & 1 != 0
            && (self.months >> month) & 1 != 0
            && (self.days_of_week >> weekday) & 1 != 0
    }
}

/// Parses the classic five-field form `"minute hour day month day_of_week"`,
/// fields separated by whitespace, without strict mode.
///
/// ```
/// use huey_crontab::Crontab;
///
/// let c: Crontab = "*/5 * * * 1-5".parse()?;
/// assert!(c.matches(10, 8, 3, 1, 1));
/// assert!(!c.matches(11, 8, 3, 1, 1));
/// assert!("* * *".parse::<Crontab>().is_err());
/// # Ok::<(), huey_crontab::CrontabError>(())
/// ```
impl FromStr for Crontab {
    type Err = CrontabError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fields: Vec<&str> = s.split_whitespace().collect();
        match fields.as_slice() {
            &[minute, hour, day, month, day_of_week] => Crontab::parse(&CrontabSpec {
                minute,
                hour,
                day,
                month,
                day_of_week,
                strict: false,
            }),
            other => Err(CrontabError::new(
                Field::Minute,
                s,
                format!(
                    "expected 5 fields (minute hour day month day_of_week), found {}",
                    other.len()
                ),
            )),
        }
    }
}

/// Parse one field's text into a mask with bit `v` set for each value `v` it
/// matches. For [`Field::DayOfWeek`], `7` lands on bit 0 (Sunday).
///
/// With `strict` off, a piece outside the grammar (`abc`, `0x9`, `*abc`,
/// an empty piece, a piece with spaces) is skipped; with `strict` on it is an
/// error. Either way the field must match at least one value.
///
/// ```
/// use huey_crontab::{parse_field, Field};
///
/// assert_eq!(parse_field(Field::Minute, "*/16", false)?, 1 | 1 << 16 | 1 << 32 | 1 << 48);
/// assert_eq!(parse_field(Field::Minute, "1,abc", false)?, 1 << 1);
/// assert!(parse_field(Field::Minute, "1,abc", true).is_err());
/// assert_eq!(parse_field(Field::DayOfWeek, "7", false)?, 1);
/// # Ok::<(), huey_crontab::CrontabError>(())
/// ```
pub fn parse_field(field: Field, text: &str, strict: bool) -> Result<u64, CrontabError> {
    let mut mask = 0u64;
    for piece in text.split(',') {
        match parse_piece(field, piece)? {
            Some(bits) => mask |= bits,
            None if strict => {
                return Err(CrontabError::new(
                    field,
                    piece,
                    "is not a valid piece (strict mode)",
                ));
            }
            None => {}
        }
    }
    if mask == 0 {
        return Err(CrontabError::new(field, text, "matches no values"));
    }
    Ok(mask)
}

/// A non-empty run of ASCII digits.
fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A value in the text; `None` when it is too large for `u32` (and so out of
/// range for every field).
fn value_of(s: &str) -> Option<u32> {
    s.parse().ok()
}

/// A step; huge steps saturate, which selects just the first value exactly
/// as a huge step would.
fn step_of(s: &str) -> u32 {
    s.parse().unwrap_or(u32::MAX)
}

/// Check a number from the text against the field's accepted input range.
fn in_range(field: Field, piece: &str, text: &str) -> Result<u32, CrontabError> {
    let (lo, _) = field.range();
    let hi = field.max_input();
    match value_of(text) {
        Some(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(CrontabError::new(
            field,
            piece,
            format!("is out of range {lo}-{hi}"),
        )),
    }
}

/// The bit for a value, folding day-of-week 7 onto Sunday.
fn bit(field: Field, v: u32) -> u64 {
    let v = if field == Field::DayOfWeek { v % 7 } else { v };
    1u64 << v
}

/// Parse one comma-separated piece. `Ok(None)` means the piece is not in the
/// grammar at all.
fn parse_piece(field: Field, piece: &str) -> Result<Option<u64>, CrontabError> {
    let (lo, hi) = field.range();

    if piece == "*" {
        return Ok(Some(field.full_mask()));
    }

    if is_number(piece) {
        let v = in_range(field, piece, piece)?;
        return Ok(Some(bit(field, v)));
    }

    if let Some(every) = piece.strip_prefix("*/") {
        if !is_number(every) {
            return Ok(None);
        }
        if field == Field::DayOfWeek {
            return Err(CrontabError::new(
                field,
                piece,
                "*/n is not allowed for day_of_week",
            ));
        }
        let step = step_of(every);
        if step == 0 {
            return Err(CrontabError::new(field, piece, "step must be at least 1"));
        }
        let mask = (lo..=hi)
            .step_by(step as usize)
            .fold(0, |m, v| m | bit(field, v));
        return Ok(Some(mask));
    }

    // a-b or a-b/s
    let Some((start, rest)) = piece.split_once('-') else {
        return Ok(None);
    };
    let (end, step) = match rest.split_once('/') {
        Some((end, step)) => (end, Some(step)),
        None => (rest, None),
    };
    if !is_number(start) || !is_number(end) || !step.is_none_or(is_number) {
        return Ok(None);
    }
    let start = in_range(field, piece, start)?;
    let end = in_range(field, piece, end)?;
    let step = step.map_or(1, step_of);
    if step == 0 {
        return Err(CrontabError::new(field, piece, "step must be at least 1"));
    }

    // A reversed range runs to the top of the field and continues from the
    // bottom. For the day of week the top is Saturday (6), so a start of 7
    // contributes nothing before the wrap. The step counts along that
    // sequence, starting with its first element.
    let mask = if start <= end {
        (start..=end)
            .step_by(step as usize)
            .fold(0, |m, v| m | bit(field, v))
    } else {
        (start..=hi)
            .chain(lo..=end)
            .step_by(step as usize)
            .fold(0, |m, v| m | bit(field, v))
    };
    Ok(Some(mask))
}
