//! Against real Python: pickles from CPython (protocols 0 to 5, and Huey's own serializer)
//! decode to the expected values, and what this crate writes loads in Python as the same
//! objects, `huey.registry.Message`s included (Huey's `deserialize_task` accepts them).

mod common;

use std::sync::OnceLock;

use common::{hex, interop, unhex};
use serde::{Deserialize, Serialize};

use huey_pickle::{
    BigInt, Date, DateTime, Limits, Message, TimeDelta, TimeZone, Value, from_slice, to_vec,
};

struct Case {
    name: String,
    protocol: String,
    bytes: Vec<u8>,
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        interop("cases", "")
            .lines()
            .map(|line| {
                let mut parts = line.split(' ');
                let (Some(name), Some(protocol), Some(data)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    panic!("a bad line from the script: {line}");
                };
                Case {
                    name: name.to_owned(),
                    protocol: protocol.to_owned(),
                    bytes: unhex(data),
                }
            })
            .collect()
    })
}

/// Runs Python's `verify` over `name protocol pickle` lines and checks every verdict is OK.
fn verify_in_python(lines: &[String]) {
    let verdicts = interop("verify", &lines.join("\n"));
    let verdicts: Vec<&str> = verdicts.lines().collect();
    assert_eq!(verdicts.len(), lines.len(), "one verdict per pickle");
    let failures: Vec<&&str> = verdicts
        .iter()
        .filter(|verdict| !verdict.starts_with("OK "))
        .collect();
    assert!(failures.is_empty(), "Python disagrees:\n{failures:#?}");
}

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

fn tuple(items: Vec<Value>) -> Value {
    Value::Tuple(items)
}

fn ints(numbers: &[i64]) -> Value {
    Value::Tuple(numbers.iter().map(|&number| Value::Int(number)).collect())
}

fn datetime(
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    micro: u32,
) -> DateTime {
    DateTime::new(year, month, day, hour, minute, second, micro).unwrap()
}

/// A message as Huey's `create_message` makes it for `interop.add` with default settings.
fn message(id: &str, args: Value, kwargs: Value) -> Message {
    Message {
        id: s(id),
        name: s("__main__.add"),
        retries: Value::Int(0),
        retry_delay: Value::Int(0),
        args,
        kwargs,
        retry_backoff: Value::Int(0),
        ..Message::default()
    }
}

/// Task arguments as a Rust type, through the serde bridge (the `typed` case).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Typed {
    path: String,
    width: u32,
    ratio: f64,
    tags: Vec<String>,
    #[serde(with = "serde_bytes")]
    blob: Vec<u8>,
    note: Option<String>,
    pair: (i64, bool),
    #[serde(with = "huey_pickle::datetime::naive")]
    when: chrono::NaiveDateTime,
    #[serde(with = "huey_pickle::datetime::utc")]
    deadline: chrono::DateTime<chrono::Utc>,
}

fn typed() -> Typed {
    Typed {
        path: "a.png".into(),
        width: 640,
        ratio: 0.5,
        tags: vec!["x".into(), "y".into()],
        blob: vec![0, 1, 255],
        note: None,
        pair: (-3, true),
        when: chrono::NaiveDate::from_ymd_opt(2030, 1, 2)
            .unwrap()
            .and_hms_micro_opt(3, 4, 5, 6)
            .unwrap(),
        deadline: chrono::DateTime::from_timestamp(1_935_817_689, 0).unwrap(),
    }
}

/// What each named case of the script decodes to.
fn expected(name: &str) -> Option<Value> {
    Some(match name {
        "none" => Value::None,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "small_ints" => ints(&[
            0,
            1,
            255,
            256,
            65535,
            65536,
            -1,
            -129,
            (1 << 31) - 1,
            -(1 << 31),
        ]),
        "i64_edges" => ints(&[i64::MAX, i64::MIN, 1 << 40]),
        "big_ints" => tuple(vec![
            Value::BigInt(BigInt::from_i128(1 << 64)),
            Value::BigInt(BigInt::from_i128(-(1 << 64) - 1)),
            Value::BigInt(BigInt::from_i128(1 << 100)),
            Value::BigInt(BigInt::from_u128(10u128.pow(30))),
            Value::BigInt(BigInt::from_le_bytes(&[&[0u8; 25][..], &[0xff]].concat())),
        ]),
        "strings" => tuple(vec![
            s(""),
            s("a"),
            s("é"),
            s("日本語"),
            s(&"x".repeat(300)),
            s("line\nbreak\\back\u{100}"),
        ]),
        "bytes" => tuple(vec![
            Value::Bytes(Vec::new()),
            Value::Bytes(b"ab".to_vec()),
            Value::Bytes((0..=255).collect()),
            Value::Bytes(vec![b'x'; 70000]),
        ]),
        "bytearray" => Value::ByteArray(b"ab\x00\xff".to_vec()),
        "list" => Value::List(vec![
            Value::Int(1),
            s("two"),
            Value::List(vec![
                Value::Int(3),
                Value::List(vec![Value::Int(4), Value::List(Vec::new())]),
            ]),
        ]),
        "tuples" => tuple(vec![
            tuple(vec![]),
            ints(&[1]),
            ints(&[1, 2]),
            ints(&[1, 2, 3]),
            ints(&[1, 2, 3, 4]),
        ]),
        "dict" => Value::Dict(vec![
            (s("a"), Value::Int(1)),
            (s("b"), Value::List(vec![Value::Int(1), Value::Int(2)])),
            (Value::Int(3), s("three")),
            (ints(&[1, 2]), Value::None),
            (Value::None, Value::Dict(Vec::new())),
        ]),
        "empty_set" => Value::Set(Vec::new()),
        "datetime_naive" => Value::DateTime(datetime(2030, 1, 2, 3, 4, 5, 6)),
        "datetime_utc" => {
            Value::DateTime(datetime(2030, 1, 2, 3, 4, 5, 0).with_tz(Some(TimeZone::UTC)))
        }
        "datetime_offset" => {
            Value::DateTime(datetime(2030, 1, 2, 0, 0, 0, 0).with_tz(Some(TimeZone {
                offset: TimeDelta::new(0, -5 * 3600 - 30 * 60, 0).unwrap(),
                name: Some("X".to_owned()),
            })))
        }
        "datetime_fold" => Value::DateTime(datetime(2030, 11, 3, 1, 30, 0, 0).with_fold(true)),
        "date" => Value::Date(Date::new(2030, 2, 28).unwrap()),
        "timedeltas" => tuple(vec![
            Value::TimeDelta(TimeDelta::new(1, 2, 3).unwrap()),
            Value::TimeDelta(TimeDelta::new(0, -1, 0).unwrap()),
            Value::TimeDelta(TimeDelta::ZERO),
        ]),
        "shared" => {
            let shared = Value::List(vec![Value::Int(1), Value::Int(2)]);
            Value::List(vec![
                shared.clone(),
                shared.clone(),
                Value::Dict(vec![(s("k"), shared)]),
            ])
        }
        "nested" => Value::Dict(vec![
            (
                s("args"),
                Value::List(vec![tuple(vec![
                    Value::Int(1),
                    Value::Float(2.5),
                    s("x"),
                    Value::Bytes(b"y".to_vec()),
                    Value::None,
                    Value::Bool(true),
                ])]),
            ),
            (
                s("kwargs"),
                Value::Dict(vec![(
                    s("when"),
                    Value::DateTime(datetime(2000, 1, 1, 0, 0, 0, 0)),
                )]),
            ),
        ]),
        "skipped" => Value::Skipped,
        "error" => Value::Error(vec![
            (s("error"), s("ZeroDivisionError(division by zero)")),
            (s("retries"), Value::Int(0)),
            (
                s("traceback"),
                s("Traceback (most recent call last):\n  ..."),
            ),
            (s("task_id"), s("abc")),
        ]),
        "message_simple" => Value::Message(Box::new(message(
            "11111111-2222-3333-4444-555555555555",
            ints(&[1, 2]),
            Value::Dict(vec![(s("c"), Value::Int(3))]),
        ))),
        "message_rich" => {
            let mut rich = message(
                "aaaaaaaa-0000-0000-0000-000000000001",
                ints(&[10, 20]),
                Value::Dict(vec![]),
            );
            rich.eta = Value::DateTime(datetime(2030, 1, 2, 3, 4, 5, 0));
            rich.retries = Value::Int(1);
            rich.retry_delay = Value::Int(2);
            rich.priority = Value::Int(7);
            rich.on_complete = Value::Message(Box::new(message(
                "aaaaaaaa-0000-0000-0000-000000000002",
                ints(&[5]),
                Value::Dict(vec![]),
            )));
            rich.expires = Value::Int(60);
            rich.expires_resolved = Value::DateTime(datetime(2030, 1, 2, 3, 5, 5, 123_456));
            rich.timeout = Value::Int(30);
            rich.retry_backoff = Value::Float(1.5);
            Value::Message(Box::new(rich))
        }
        "message_chord" => {
            let mut member = message("chord-member-0", ints(&[1]), Value::Dict(vec![]));
            member.expires = Value::TimeDelta(TimeDelta::new(0, 300, 0).unwrap());
            let callback = message("callback-1", tuple(vec![]), Value::Dict(vec![]));
            member.chord_config = tuple(vec![
                s("cid-1"),
                Value::Int(3),
                Value::Int(0),
                Value::Message(Box::new(callback)),
            ]);
            Value::Message(Box::new(member))
        }
        "message_short" => {
            let fields = vec![
                s("old"),
                s("__main__.add"),
                Value::None,
                Value::Int(0),
                Value::Int(0),
                Value::None,
                ints(&[1, 2]),
                Value::Dict(vec![]),
            ];
            Value::Message(Box::new(Message::from_fields(fields).unwrap()))
        }
        "revoke_flag" => tuple(vec![Value::None, Value::Bool(true)]),
        "typed" => huey_pickle::to_value(&typed()).expect("Typed maps onto Python types"),
        _ => return None,
    })
}

#[test]
fn python_pickles_of_every_protocol_decode_to_the_expected_values() {
    let mut checked = 0;
    for case in cases() {
        let decoded = from_slice(&case.bytes, &Limits::default())
            .unwrap_or_else(|error| panic!("{} at protocol {}: {error}", case.name, case.protocol));
        if let Some(expected) = expected(&case.name) {
            assert_eq!(
                decoded, expected,
                "{} at protocol {}",
                case.name, case.protocol
            );
            checked += 1;
        }
    }
    // Every protocol of every case with an expectation, and Huey's own serializer's messages.
    assert!(checked >= 150, "only {checked} pickles were compared");
    assert!(
        cases().iter().any(|case| case.protocol == "huey"),
        "Huey's serializer wrote messages"
    );
}

#[test]
fn every_python_pickle_comes_back_from_rust_as_the_same_objects() {
    let lines: Vec<String> = cases()
        .iter()
        .map(|case| {
            let value = from_slice(&case.bytes, &Limits::default()).unwrap_or_else(|error| {
                panic!("{} at protocol {}: {error}", case.name, case.protocol)
            });
            let bytes = to_vec(&value).unwrap_or_else(|error| panic!("{}: {error}", case.name));
            format!("{} {} {}", case.name, case.protocol, hex(&bytes))
        })
        .collect();
    verify_in_python(&lines);
}

#[test]
fn values_built_in_rust_load_in_python_as_huey_builds_them() {
    let mut names: Vec<&str> = cases().iter().map(|case| case.name.as_str()).collect();
    names.dedup();
    let lines: Vec<String> = names
        .into_iter()
        .filter_map(|name| {
            let value = expected(name)?;
            Some(format!(
                "{name} rust {}",
                hex(&to_vec(&value).expect("the expected values encode"))
            ))
        })
        .collect();
    assert!(lines.len() >= 25, "most cases have a Rust-built value");
    verify_in_python(&lines);
}

#[test]
fn python_dicts_read_into_rust_structs() {
    let typed_cases: Vec<&Case> = cases().iter().filter(|case| case.name == "typed").collect();
    assert_eq!(typed_cases.len(), 6, "protocols 0 to 5");
    for case in typed_cases {
        let value = from_slice(&case.bytes, &Limits::default()).expect("the case decodes");
        let read: Typed = huey_pickle::from_value(value).expect("the dict fits the struct");
        assert_eq!(read, typed(), "protocol {}", case.protocol);
    }
}
