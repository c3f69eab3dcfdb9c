//! Properties, with proptest: every value this crate writes reads back equal, and no input,
//! random or a mutated valid pickle, makes the reader panic. (`examples/fuzz.rs` runs the
//! same search for minutes at a time.)

use huey_pickle::{
    BigInt, Date, DateTime, Limits, Message, TimeDelta, TimeZone, Value, from_slice, to_vec,
};
use proptest::prelude::*;

/// Dict keys and set members: the hashable kinds.
fn key() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Int),
        "[a-z]{0,8}".prop_map(Value::Str),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::None),
        prop::collection::vec(
            any::<i32>().prop_map(|number| Value::Int(number.into())),
            0..3
        )
        .prop_map(Value::Tuple),
    ]
}

fn datetime() -> impl Strategy<Value = DateTime> {
    (
        1u16..=9999,
        1u8..=12,
        1u8..=28,
        0u8..24,
        0u8..60,
        0u8..60,
        0u32..1_000_000,
        any::<bool>(),
        prop::option::of(-86_399i64..86_400),
    )
        .prop_map(
            |(year, month, day, hour, minute, second, micro, fold, offset)| {
                let tz = offset.map(|seconds| TimeZone {
                    offset: TimeDelta::new(0, seconds, 0).unwrap(),
                    name: None,
                });
                DateTime::new(year, month, day, hour, minute, second, micro)
                    .unwrap()
                    .with_fold(fold)
                    .with_tz(tz)
            },
        )
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        key(),
        any::<i128>()
            .prop_map(BigInt::from_i128)
            .prop_map(
                |number| match number.to_i128().and_then(|wide| i64::try_from(wide).ok()) {
                    Some(small) => Value::Int(small),
                    None => Value::BigInt(number),
                }
            ),
        // NaN is left out only because it is unequal to itself.
        prop_oneof![-1e300..1e300f64, Just(f64::INFINITY), Just(-0.0)].prop_map(Value::Float),
        ".{0,40}".prop_map(Value::Str),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
        prop::collection::vec(any::<u8>(), 0..10).prop_map(Value::ByteArray),
        datetime().prop_map(Value::DateTime),
        (1u16..=9999, 1u8..=12, 1u8..=28)
            .prop_map(|(year, month, day)| Value::Date(Date::new(year, month, day).unwrap())),
        (-999_999_999i64..=999_999_999, any::<i32>(), any::<i32>()).prop_map(
            |(days, seconds, micros)| Value::TimeDelta(
                TimeDelta::new(days, seconds.into(), micros.into()).unwrap()
            )
        ),
        Just(Value::Skipped),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::List),
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Tuple),
            prop::collection::vec((key(), inner.clone()), 0..6).prop_map(Value::Dict),
            prop::collection::vec(key(), 0..6).prop_map(Value::Set),
            prop::collection::vec(key(), 0..6).prop_map(Value::FrozenSet),
            prop::collection::vec((key(), inner.clone()), 0..4).prop_map(Value::Error),
            prop::collection::vec(inner, 0..=15)
                .prop_map(|fields| Value::Message(Box::new(Message::from_fields(fields).unwrap()))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn what_is_written_reads_back_equal(value in value()) {
        let bytes = to_vec(&value).unwrap();
        prop_assert_eq!(from_slice(&bytes, &Limits::default()).unwrap(), value);
    }

    #[test]
    fn random_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..512), framed in any::<bool>()) {
        if framed {
            bytes.splice(0..0, [0x80, 5]);
        }
        let _ = from_slice(&bytes, &Limits::default());
    }

    #[test]
    fn mutated_pickles_never_panic(
        value in value(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = to_vec(&value).unwrap();
        for (at, byte, kind) in edits {
            let position = at.index(bytes.len() + 1);
            match kind {
                0 if position < bytes.len() => bytes[position] = byte,
                1 => bytes.insert(position, byte),
                _ if position < bytes.len() => { bytes.remove(position); }
                _ => bytes.push(byte),
            }
        }
        // Ok or Err are both fine; a panic fails the test.
        if let Ok(read) = from_slice(&bytes, &Limits::default()) {
            // Whatever was read can be written again.
            prop_assert!(to_vec(&read).is_ok());
        }
    }
}
