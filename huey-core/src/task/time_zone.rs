//! The time zone in which periodic crontabs are read.
//!
//! The public API speaks chrono; the time zone database comes from jiff, which stays an
//! implementation detail behind this newtype.

use std::fmt;

use chrono::{DateTime, Utc};

/// A time zone for periodic tasks: their crontabs are read as wall-clock time in it (see
/// [`ConsumerBuilder::periodic_time_zone`](crate::ConsumerBuilder::periodic_time_zone) and
/// [`crontab_matches_in`](crate::crontab_matches_in)). The default is [`TimeZone::UTC`], as
/// Huey's `utc=True`.
///
/// Named zones follow daylight saving time: a crontab for 09:00 in `Europe/Paris` fires at
/// 08:00 UTC in winter and 07:00 UTC in summer.
///
/// ```
/// use huey_core::TimeZone;
///
/// let paris = TimeZone::get("Europe/Paris")?;
/// assert_eq!(paris.name(), Some("Europe/Paris"));
/// assert_ne!(paris, TimeZone::UTC);
/// assert!(TimeZone::get("Mars/Olympus_Mons").is_err());
///
/// let tokyo_offset = TimeZone::fixed(9 * 60 * 60).expect("within a day");
/// assert_eq!(tokyo_offset.name(), None);
/// # Ok::<(), huey_core::UnknownTimeZone>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TimeZone(jiff::tz::TimeZone);

impl TimeZone {
    /// Coordinated Universal Time.
    pub const UTC: TimeZone = TimeZone(jiff::tz::TimeZone::UTC);

    /// The zone with this IANA name (`"Europe/Paris"`, `"America/New_York"`), from the
    /// system's time zone database.
    ///
    /// ```
    /// let err = huey_core::TimeZone::get("Nowhere/Special").unwrap_err();
    /// assert_eq!(err.name(), "Nowhere/Special");
    /// assert_eq!(err.to_string(), r#"unknown time zone "Nowhere/Special""#);
    /// ```
    pub fn get(name: &str) -> Result<TimeZone, UnknownTimeZone> {
        jiff::tz::TimeZone::get(name)
            .map(TimeZone)
            .map_err(|source| UnknownTimeZone {
                name: name.to_owned(),
                source,
            })
    }

    /// This machine's time zone (`TZ`, then `/etc/localtime` and the like); one that behaves
    /// like UTC when it cannot be found.
    ///
    /// ```
    /// let here = huey_core::TimeZone::system();
    /// # let _ = here;
    /// ```
    pub fn system() -> TimeZone {
        TimeZone(jiff::tz::TimeZone::system())
    }

    /// A zone at a fixed offset from UTC, in seconds east of Greenwich, without daylight saving
    /// time; `None` when the offset is beyond ±25:59:59.
    ///
    /// ```
    /// use huey_core::TimeZone;
    /// assert!(TimeZone::fixed(-5 * 60 * 60).is_some());
    /// assert!(TimeZone::fixed(26 * 60 * 60).is_none());
    /// ```
    pub fn fixed(offset_seconds: i32) -> Option<TimeZone> {
        let offset = jiff::tz::Offset::from_seconds(offset_seconds).ok()?;
        Some(TimeZone(jiff::tz::TimeZone::fixed(offset)))
    }

    /// The zone's IANA name, when it has one (not for [`fixed`](Self::fixed) zones).
    pub fn name(&self) -> Option<&str> {
        self.0.iana_name()
    }

    /// The wall-clock time of `at` in this zone; `None` outside the range the zone database
    /// covers (beyond the year ±9999).
    pub(crate) fn wall_clock(&self, at: DateTime<Utc>) -> Option<WallClock> {
        let timestamp = jiff::Timestamp::from_millisecond(at.timestamp_millis()).ok()?;
        let local = self.0.to_datetime(timestamp);
        // jiff keeps these in small signed integers that are never negative.
        let field = |n: i8| u32::try_from(n).unwrap_or(u32::MAX);
        Some(WallClock {
            minute: field(local.minute()),
            hour: field(local.hour()),
            day: field(local.day()),
            month: field(local.month()),
            weekday: u32::from(local.weekday().to_sunday_zero_offset().unsigned_abs()),
        })
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone::UTC
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A moment as a crontab reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WallClock {
    pub minute: u32,
    pub hour: u32,
    /// Day of the month, from 1.
    pub day: u32,
    /// From 1.
    pub month: u32,
    /// 0 is Sunday.
    pub weekday: u32,
}

/// [`TimeZone::get`] found no zone of that name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown time zone {name:?}")]
pub struct UnknownTimeZone {
    name: String,
    #[source]
    source: jiff::Error,
}

impl UnknownTimeZone {
    /// The name that was asked for.
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_follows_daylight_saving_time() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let winter = "2026-01-05T08:30:00Z".parse().unwrap(); // a Monday
        let summer = "2026-07-06T07:30:00Z".parse().unwrap(); // a Monday
        for at in [winter, summer] {
            let local = paris.wall_clock(at).unwrap();
            assert_eq!(
                (local.hour, local.minute, local.weekday),
                (9, 30, 1),
                "{at}"
            );
        }
        let utc = TimeZone::UTC.wall_clock(winter).unwrap();
        assert_eq!((utc.day, utc.month, utc.hour), (5, 1, 8));
    }

    #[test]
    fn unknown_zone_keeps_the_cause_out_of_display() {
        let err = TimeZone::get("Nowhere/Special").unwrap_err();
        let source = std::error::Error::source(&err).expect("jiff's error");
        assert!(!err.to_string().contains(&source.to_string()));
    }
}
