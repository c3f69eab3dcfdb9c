//! One test per behaviour in Huey 3.5.4's `huey/tests/test_crontab.py`, plus
//! a few for this crate's own API.

use huey_crontab::{Crontab, CrontabError, CrontabSpec, Field, parse_field};

/// Day of week for a Gregorian date, Sunday = 0.
fn weekday(year: i32, month: u32, day: u32) -> u32 {
    // Sakamoto's method.
    const T: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if month < 3 { year - 1 } else { year };
    let w = (y + y / 4 - y / 100 + y / 400 + T[(month - 1) as usize] + day as i32) % 7;
    w as u32
}

/// Like calling Huey's validator with `datetime(year, month, day, hour, minute)`.
fn at(c: &Crontab, year: i32, month: u32, day: u32, hour: u32, minute: u32) -> bool {
    c.matches(minute, hour, day, month, weekday(year, month, day))
}

fn parse(spec: CrontabSpec<'_>) -> Crontab {
    match Crontab::parse(&spec) {
        Ok(c) => c,
        Err(e) => panic!("{spec:?} should parse: {e}"),
    }
}

fn parse_err(spec: CrontabSpec<'_>) -> CrontabError {
    match Crontab::parse(&spec) {
        Ok(c) => panic!("{spec:?} should be rejected, got {c:?}"),
        Err(e) => e,
    }
}

fn mask_of(values: &[u32]) -> u64 {
    values.iter().fold(0, |m, v| m | 1 << v)
}

#[test]
fn weekday_helper_is_right() {
    assert_eq!(weekday(2011, 1, 1), 6); // Saturday
    assert_eq!(weekday(2011, 1, 2), 0); // Sunday
    assert_eq!(weekday(2011, 5, 1), 0); // Sunday
    assert_eq!(weekday(2026, 4, 1), 3); // Wednesday
}

#[test]
fn test_crontab_month() {
    let valids = [1, 4, 7, 8, 9];
    let c = parse(CrontabSpec {
        month: "1,4,*/6,8-9",
        ..Default::default()
    });
    for x in 1..=12 {
        assert_eq!(at(&c, 2011, x, 1, 0, 0), valids.contains(&x), "month {x}");
    }
}

#[test]
fn test_crontab_day() {
    let valids = [1, 4, 7, 8, 9, 13, 19, 25, 31];
    let c = parse(CrontabSpec {
        day: "*/6,1,4,8-9",
        ..Default::default()
    });
    for x in 1..=31 {
        assert_eq!(at(&c, 2011, 1, x, 0, 0), valids.contains(&x), "day {x}");
    }

    let c = parse(CrontabSpec {
        day: "*/10",
        ..Default::default()
    });
    assert_eq!(
        parse_field(Field::Day, "*/10", false),
        Ok(mask_of(&[1, 11, 21, 31]))
    );
    let valids = [1, 11, 21, 31];
    for x in 1..=31 {
        assert_eq!(at(&c, 2011, 1, x, 0, 0), valids.contains(&x), "jan {x}");
    }
    // February 2011 has 28 days, so 31 never comes up.
    let valids = [1, 11, 21];
    for x in 1..=28 {
        assert_eq!(at(&c, 2011, 2, x, 0, 0), valids.contains(&x), "feb {x}");
    }
}

#[test]
fn test_crontab_hour() {
    let valids = [0, 1, 4, 6, 8, 9, 12, 18];
    let c = parse(CrontabSpec {
        hour: "8-9,*/6,1,4",
        ..Default::default()
    });
    for x in 0..24 {
        assert_eq!(at(&c, 2011, 1, 1, x, 0), valids.contains(&x), "hour {x}");
    }

    // Huey accepts hour=0 as an int; here that is the text "0".
    let edge = parse(CrontabSpec {
        hour: "0",
        ..Default::default()
    });
    assert!(at(&edge, 2011, 1, 1, 0, 0));
    assert!(!at(&edge, 2011, 1, 1, 12, 0));
}

#[test]
fn test_crontab_minute() {
    let valids = [0, 1, 4, 6, 8, 9, 12, 18, 24, 30, 36, 42, 48, 54];
    let c = parse(CrontabSpec {
        minute: "4,8-9,*/6,1",
        ..Default::default()
    });
    for x in 0..60 {
        assert_eq!(at(&c, 2011, 1, 1, 1, x), valids.contains(&x), "minute {x}");
    }

    // Fixed points of the hour, not "every 16 minutes" across hours.
    let valids = [0, 16, 32, 48];
    let c = parse(CrontabSpec {
        minute: "*/16",
        ..Default::default()
    });
    for x in 0..60 {
        assert_eq!(at(&c, 2011, 1, 1, 1, x), valids.contains(&x), "minute {x}");
    }
}

#[test]
fn test_crontab_day_of_week() {
    // 1 January 2011 is a Saturday; these are its Sundays and Tuesdays.
    let valids = [2, 4, 9, 11, 16, 18, 23, 25, 30];
    let c = parse(CrontabSpec {
        day_of_week: "0,2",
        ..Default::default()
    });
    for x in 1..=31 {
        assert_eq!(at(&c, 2011, 1, x, 0, 0), valids.contains(&x), "day {x}");
    }
}

#[test]
fn test_crontab_sunday() {
    for dow in ["0", "7"] {
        let c = parse(CrontabSpec {
            day_of_week: dow,
            hour: "0",
            minute: "0",
            ..Default::default()
        });
        let valid = [2, 9, 16, 23, 30];
        for x in 1..=31 {
            assert_eq!(
                at(&c, 2011, 1, x, 0, 0),
                valid.contains(&x),
                "dow {dow} day {x}"
            );
        }
    }
}

#[test]
fn test_crontab_sunday_range() {
    // 2 January 2011 is a Sunday, so 2 + x has weekday x.
    let cases: [(&str, &[u32]); 6] = [
        ("0-7", &[0, 1, 2, 3, 4, 5, 6]),
        ("0-7/2", &[0, 2, 4, 6]),
        // 1, 3, 5, 7 -> 7 is Sunday.
        ("1-7/2", &[0, 1, 3, 5]),
        ("5-7", &[0, 5, 6]),
        // Reversed: nothing from 7 up to Saturday, then 0, 1, 2.
        ("7-2", &[0, 1, 2]),
        // Reversed then stepped: 0, 1, 2, 3 taking every second -> 0, 2.
        ("7-3/2", &[0, 2]),
    ];
    for (dow, valid) in cases {
        let c = parse(CrontabSpec {
            day_of_week: dow,
            ..Default::default()
        });
        for x in 0..7 {
            assert_eq!(
                at(&c, 2011, 1, 2 + x, 0, 0),
                valid.contains(&x),
                "dow {dow} weekday {x}"
            );
        }
        assert_eq!(
            parse_field(Field::DayOfWeek, dow, true),
            Ok(mask_of(valid)),
            "{dow}"
        );
    }
}

#[test]
fn test_crontab_all_together() {
    // 1 January 2011 is a Saturday, 1 May 2011 a Sunday.
    let c = parse(CrontabSpec {
        month: "1,5",
        day: "1,4,7",
        day_of_week: "0,6",
        hour: "*/4",
        minute: "1-5,10-15,50",
        strict: false,
    });

    assert!(at(&c, 2011, 5, 1, 4, 11));
    assert!(at(&c, 2011, 5, 7, 20, 50));
    assert!(at(&c, 2011, 1, 1, 0, 1));

    // Fails on month.
    assert!(!at(&c, 2011, 6, 4, 4, 11));
    // Fails on day.
    assert!(!at(&c, 2011, 1, 6, 4, 11));
    // Fails on day of week (Tuesday 4 January), although the day matches:
    // the two are ANDed.
    assert!(!at(&c, 2011, 1, 4, 4, 11));
    // Fails on hour.
    assert!(!at(&c, 2011, 1, 1, 1, 11));
    // Fails on minute.
    assert!(!at(&c, 2011, 1, 1, 4, 6));
}

#[test]
fn test_invalid_crontabs() {
    let e = parse_err(CrontabSpec {
        minute: "61",
        ..Default::default()
    });
    assert_eq!(e.field, Field::Minute);
    assert_eq!(e.to_string(), r#"minute: "61" is out of range 0-59"#);

    let e = parse_err(CrontabSpec {
        minute: "0-61",
        ..Default::default()
    });
    assert_eq!(e.field, Field::Minute);
    assert_eq!(e.value, "0-61");

    let e = parse_err(CrontabSpec {
        day_of_week: "*/3",
        ..Default::default()
    });
    assert_eq!(e.field, Field::DayOfWeek);
    assert_eq!(
        e.to_string(),
        r#"day_of_week: "*/3": */n is not allowed for day_of_week"#
    );

    // Other fields' bounds.
    for (field, text) in [
        (Field::Hour, "24"),
        (Field::Day, "0"),
        (Field::Day, "32"),
        (Field::Month, "0"),
        (Field::Month, "13"),
        (Field::DayOfWeek, "8"),
        (Field::DayOfWeek, "0-8"),
        (Field::Minute, "99999999999999999999"),
    ] {
        let e = parse_field(field, text, false).unwrap_err();
        assert!(e.reason.starts_with("is out of range"), "{e}");
    }
    // Out of range is an error even next to a good piece.
    assert!(parse_field(Field::Minute, "5,61", false).is_err());
}

#[test]
fn test_invalid_crontabs_2() {
    for text in ["abc", "*abc", "a-b", "1-c", "0x9"] {
        for strict in [false, true] {
            let e = parse_err(CrontabSpec {
                minute: text,
                strict,
                ..Default::default()
            });
            assert_eq!(e.field, Field::Minute, "{text}");
            if strict {
                assert_eq!(e.reason, "is not a valid piece (strict mode)", "{text}");
            } else {
                assert_eq!(e.reason, "matches no values", "{text}");
            }
        }
    }
    let e = parse_err(CrontabSpec {
        hour: "abc",
        strict: true,
        ..Default::default()
    });
    assert_eq!(
        e.to_string(),
        r#"hour: "abc" is not a valid piece (strict mode)"#
    );
    let e = parse_err(CrontabSpec {
        minute: "abc",
        ..Default::default()
    });
    assert_eq!(e.to_string(), r#"minute: "abc" matches no values"#);
}

#[test]
fn test_crontab_range_step() {
    let c = parse(CrontabSpec {
        minute: "0-30/5",
        ..Default::default()
    });
    let valid = [0, 5, 10, 15, 20, 25, 30];
    for x in 0..60 {
        assert_eq!(at(&c, 2011, 1, 1, 1, x), valid.contains(&x), "minute {x}");
    }

    let c = parse(CrontabSpec {
        hour: "9-17/4",
        strict: true,
        ..Default::default()
    });
    let valid = [9, 13, 17];
    for x in 0..24 {
        assert_eq!(at(&c, 2011, 1, 1, x, 0), valid.contains(&x), "hour {x}");
    }
}

#[test]
fn test_crontab_wrap_around_hour() {
    let c = parse(CrontabSpec {
        minute: "0",
        hour: "22-2",
        strict: true,
        ..Default::default()
    });
    let valid = [22, 23, 0, 1, 2];
    for x in 0..24 {
        assert_eq!(at(&c, 2011, 1, 1, x, 0), valid.contains(&x), "hour {x}");
    }
    // A step counts along the wrapped sequence 22, 23, 0, 1, 2.
    assert_eq!(
        parse_field(Field::Hour, "22-2/2", true),
        Ok(mask_of(&[22, 0, 2]))
    );
    // Other fields wrap at their own ends.
    assert_eq!(
        parse_field(Field::Day, "30-2", true),
        Ok(mask_of(&[30, 31, 1, 2]))
    );
    assert_eq!(
        parse_field(Field::Month, "11-2", true),
        Ok(mask_of(&[11, 12, 1, 2]))
    );
}

#[test]
fn test_crontab_wrap_around_day_of_week() {
    // 2 January 2011 is a Sunday.
    let c = parse(CrontabSpec {
        minute: "0",
        hour: "0",
        day_of_week: "1-7",
        strict: true,
        ..Default::default()
    });
    for x in 2..=8 {
        assert!(at(&c, 2011, 1, x, 0, 0), "day {x}");
    }

    let c = parse(CrontabSpec {
        minute: "0",
        hour: "0",
        day_of_week: "5-1",
        strict: true,
        ..Default::default()
    });
    let valid = [2, 3, 7, 8]; // Sun, Mon, Fri, Sat
    for x in 2..=8 {
        assert_eq!(at(&c, 2011, 1, x, 0, 0), valid.contains(&x), "day {x}");
    }
}

#[test]
fn test_crontab_empty() {
    let e = parse_err(CrontabSpec {
        minute: "foo",
        ..Default::default()
    });
    assert_eq!(e.reason, "matches no values");

    let e = parse_err(CrontabSpec {
        minute: "0-30/0",
        ..Default::default()
    });
    assert_eq!(
        e.to_string(),
        r#"minute: "0-30/0": step must be at least 1"#
    );

    // Also */0, and an empty field.
    assert!(parse_field(Field::Minute, "*/0", false).is_err());
    assert!(parse_field(Field::Minute, "", false).is_err());
}

#[test]
fn test_crontab_shortcuts() {
    let c = Crontab::hourly();
    assert!(at(&c, 2026, 4, 1, 0, 0));
    assert!(!at(&c, 2026, 4, 1, 0, 1));
    assert!(!at(&c, 2026, 4, 1, 0, 59));
    assert!(at(&c, 2026, 4, 1, 1, 0));
    assert_eq!(
        c,
        parse(CrontabSpec {
            minute: "0",
            ..Default::default()
        })
    );

    let c = Crontab::daily();
    assert!(at(&c, 2026, 4, 1, 0, 0));
    assert!(!at(&c, 2026, 4, 1, 1, 0));
    assert!(!at(&c, 2026, 4, 1, 23, 59));
    assert!(at(&c, 2026, 4, 2, 0, 0));
    assert_eq!(
        c,
        parse(CrontabSpec {
            minute: "0",
            hour: "0",
            ..Default::default()
        })
    );

    assert_eq!(Crontab::every_minute(), parse(CrontabSpec::default()));
}

#[test]
fn test_non_strict_ignores_bad_piece() {
    let c = parse(CrontabSpec {
        minute: "1,abc",
        ..Default::default()
    });
    for x in 0..60 {
        assert_eq!(at(&c, 2011, 1, 1, 1, x), x == 1, "minute {x}");
    }
    // Huey does not trim: " 2" is not a number, so it is skipped too.
    assert_eq!(parse_field(Field::Minute, "1, 2", false), Ok(1 << 1));
    assert_eq!(parse_field(Field::Minute, "1,", false), Ok(1 << 1));

    let e = parse_err(CrontabSpec {
        minute: "1,abc",
        strict: true,
        ..Default::default()
    });
    assert_eq!(e.value, "abc");
}

#[test]
fn test_from_str() {
    let c: Crontab = "*/5 * * * *".parse().unwrap();
    assert_eq!(
        c,
        parse(CrontabSpec {
            minute: "*/5",
            ..Default::default()
        })
    );
    assert!(at(&c, 2011, 1, 1, 3, 35));
    assert!(!at(&c, 2011, 1, 1, 3, 36));

    let c: Crontab = "  0\t22-2  1,15 * 1-5 ".parse().unwrap();
    assert_eq!(
        c,
        parse(CrontabSpec {
            minute: "0",
            hour: "22-2",
            day: "1,15",
            day_of_week: "1-5",
            ..Default::default()
        })
    );

    for bad in ["", "* * * *", "* * * * * *"] {
        let e = bad.parse::<Crontab>().unwrap_err();
        assert_eq!(e.field, Field::Minute);
        assert!(e.reason.starts_with("expected 5 fields"), "{e}");
    }
    // Field errors come through unchanged.
    let e = "0 24 * * *".parse::<Crontab>().unwrap_err();
    assert_eq!(e.field, Field::Hour);
}

#[test]
fn masks_round_trip_and_matches_guards_ranges() {
    let c = parse(CrontabSpec {
        minute: "0,59",
        hour: "23",
        day: "31",
        month: "12",
        day_of_week: "6",
        strict: true,
    });
    assert_eq!(c.masks(), (1 | 1 << 59, 1 << 23, 1 << 31, 1 << 12, 1 << 6));
    let (mi, h, d, mo, w) = c.masks();
    assert_eq!(Crontab::from_masks(mi, h, d, mo, w), c);

    let all = Crontab::every_minute();
    assert_eq!(
        all.masks(),
        ((1 << 60) - 1, (1 << 24) - 1, !1, 0x1ffe, 0x7f)
    );
    assert!(!all.matches(60, 0, 1, 1, 0));
    assert!(!all.matches(0, 24, 1, 1, 0));
    assert!(!all.matches(0, 0, 0, 1, 0));
    assert!(!all.matches(0, 0, 32, 1, 0));
    assert!(!all.matches(0, 0, 1, 13, 0));
    assert!(!all.matches(0, 0, 1, 1, 7));
    assert!(!all.matches(u32::MAX, u32::MAX, u32::MAX, u32::MAX, u32::MAX));
}

#[test]
fn errors_follow_huey_field_order() {
    // Huey validates month, day, day_of_week, hour, minute in that order.
    let e = parse_err(CrontabSpec {
        minute: "99",
        hour: "99",
        month: "99",
        ..Default::default()
    });
    assert_eq!(e.field, Field::Month);
    let e = parse_err(CrontabSpec {
        minute: "99",
        hour: "99",
        ..Default::default()
    });
    assert_eq!(e.field, Field::Hour);
}
