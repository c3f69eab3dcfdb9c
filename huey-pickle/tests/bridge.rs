//! The serde bridge: Rust types to values and back, and clear errors on every mismatch.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use huey_pickle::{
    BigInt, Date, DateTime, Limits, Message, SerdeError, TimeDelta, TimeZone, Value, from_slice,
    from_value, to_value, to_vec,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Point,
    Circle(f64),
    Rect(u32, u32),
    Poly { sides: u8 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Job {
    path: String,
    width: u32,
    ratio: f64,
    tags: Vec<String>,
    #[serde(with = "serde_bytes")]
    blob: Vec<u8>,
    note: Option<String>,
    pair: (i64, bool),
    limits: BTreeMap<String, i64>,
    shapes: Vec<Shape>,
    #[serde(with = "huey_pickle::datetime::naive")]
    when: NaiveDateTime,
    #[serde(with = "huey_pickle::datetime::utc_option")]
    deadline: Option<chrono::DateTime<Utc>>,
    big: u64,
}

fn job() -> Job {
    Job {
        path: "a.png".into(),
        width: 640,
        ratio: 0.5,
        tags: vec!["x".into(), "y".into()],
        blob: vec![0, 1, 255],
        note: None,
        pair: (-3, true),
        limits: BTreeMap::from([("a".into(), 1), ("b".into(), 2)]),
        shapes: vec![
            Shape::Point,
            Shape::Circle(1.5),
            Shape::Rect(2, 3),
            Shape::Poly { sides: 6 },
        ],
        when: NaiveDate::from_ymd_opt(2030, 1, 2)
            .unwrap()
            .and_hms_micro_opt(3, 4, 5, 6)
            .unwrap(),
        deadline: Some(Utc.with_ymd_and_hms(2031, 5, 6, 7, 8, 9).unwrap()),
        big: u64::MAX,
    }
}

fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    let Value::Dict(pairs) = value else {
        panic!("not a dict: {value:?}")
    };
    &pairs
        .iter()
        .find(|(key, _)| *key == Value::Str(name.into()))
        .expect("the field is there")
        .1
}

#[test]
fn a_struct_maps_onto_python_types_and_back_through_a_pickle() {
    let value = to_value(&job()).unwrap();
    assert_eq!(field(&value, "path"), &Value::Str("a.png".into()));
    assert_eq!(field(&value, "blob"), &Value::Bytes(vec![0, 1, 255]));
    assert_eq!(field(&value, "note"), &Value::None);
    assert_eq!(
        field(&value, "pair"),
        &Value::Tuple(vec![Value::Int(-3), Value::Bool(true)])
    );
    assert_eq!(
        field(&value, "big"),
        &Value::BigInt(BigInt::from_u128(u64::MAX.into()))
    );
    assert_eq!(
        field(&value, "when"),
        &Value::DateTime(DateTime::new(2030, 1, 2, 3, 4, 5, 6).unwrap())
    );
    assert_eq!(
        field(&value, "deadline"),
        &Value::DateTime(
            DateTime::new(2031, 5, 6, 7, 8, 9, 0)
                .unwrap()
                .with_tz(Some(TimeZone::UTC))
        )
    );
    assert_eq!(
        field(&value, "shapes"),
        &Value::List(vec![
            Value::Str("Point".into()),
            Value::Dict(vec![(Value::Str("Circle".into()), Value::Float(1.5))]),
            Value::Dict(vec![(
                Value::Str("Rect".into()),
                Value::Tuple(vec![Value::Int(2), Value::Int(3)])
            )]),
            Value::Dict(vec![(
                Value::Str("Poly".into()),
                Value::Dict(vec![(Value::Str("sides".into()), Value::Int(6))])
            )]),
        ])
    );
    let pickled = to_vec(&value).unwrap();
    let back: Job = from_value(from_slice(&pickled, &Limits::default()).unwrap()).unwrap();
    assert_eq!(back, job());
}

fn error_of<T: DeserializeOwned + std::fmt::Debug>(value: Value) -> String {
    from_value::<T>(value)
        .expect_err("a mismatch is an error")
        .to_string()
}

#[test]
fn mismatches_say_what_was_expected_and_what_was_found() {
    assert_eq!(
        error_of::<u8>(Value::Int(300)),
        "invalid value: integer `300`, expected u8"
    );
    assert_eq!(
        error_of::<u32>(Value::Int(-1)),
        "invalid value: integer `-1`, expected u32"
    );
    assert_eq!(
        error_of::<i64>(Value::BigInt(BigInt::from_i128(1 << 70))),
        "invalid type: integer `1180591620717411303424` as u128, expected i64"
    );
    assert_eq!(
        error_of::<String>(Value::Int(1)),
        "invalid type: integer `1`, expected a string"
    );
    assert_eq!(
        error_of::<i64>(Value::Str("1".into())),
        "invalid type: string \"1\", expected i64"
    );
    assert_eq!(
        error_of::<bool>(Value::None),
        "invalid type: unit value, expected a boolean"
    );
    assert!(error_of::<(i64, i64)>(Value::Tuple(vec![Value::Int(1)])).contains("invalid length 1"));
    assert!(
        error_of::<(i64,)>(Value::Tuple(vec![Value::Int(1), Value::Int(2)]))
            .contains("invalid length 2")
    );
    assert!(error_of::<Job>(Value::Dict(vec![])).contains("missing field `path`"));
    assert!(error_of::<Shape>(Value::Str("Hexagon".into())).contains("unknown variant `Hexagon`"));
    assert!(error_of::<Shape>(Value::Int(1)).contains("expected a variant name"));
    let naive = Value::DateTime(
        DateTime::new(2030, 1, 2, 0, 0, 0, 0)
            .unwrap()
            .with_tz(Some(TimeZone::UTC)),
    );
    #[derive(Debug, Deserialize)]
    struct Naive(
        #[serde(with = "huey_pickle::datetime::naive")]
        #[allow(dead_code)]
        NaiveDateTime,
    );
    assert!(error_of::<Naive>(naive).contains("expected a naive datetime"));
}

#[test]
fn ints_floats_and_big_ints_convert_within_range() {
    assert_eq!(from_value::<f64>(Value::Int(3)).unwrap(), 3.0);
    assert_eq!(
        from_value::<u64>(Value::BigInt(BigInt::from_u128(u64::MAX.into()))).unwrap(),
        u64::MAX
    );
    assert_eq!(
        from_value::<i128>(Value::BigInt(BigInt::from_i128(-1 << 100))).unwrap(),
        -1 << 100
    );
    assert_eq!(
        to_value(&i128::MIN).unwrap(),
        Value::BigInt(BigInt::from_i128(i128::MIN))
    );
    assert_eq!(to_value(&(i64::MAX as u64)).unwrap(), Value::Int(i64::MAX));
    let huge = Value::BigInt(BigInt::from_le_bytes(
        &[0xff; 40][..]
            .iter()
            .copied()
            .chain([0x7f])
            .collect::<Vec<u8>>(),
    ));
    assert!(
        from_value::<u128>(huge)
            .unwrap_err()
            .to_string()
            .contains("beyond 128 bits")
    );
}

#[test]
fn python_containers_read_as_the_nearest_rust_ones() {
    let set = Value::Set(vec![Value::Int(1), Value::Int(2)]);
    assert_eq!(from_value::<Vec<i64>>(set).unwrap(), vec![1, 2]);
    let list = Value::List(vec![Value::Int(1), Value::Str("a".into())]);
    assert_eq!(from_value::<(i64, String)>(list).unwrap(), (1, "a".into()));
    assert_eq!(
        from_value::<Vec<u8>>(Value::Bytes(vec![7, 8])).unwrap(),
        vec![7, 8]
    );
    assert_eq!(
        from_value::<serde_bytes::ByteBuf>(Value::ByteArray(vec![9]))
            .unwrap()
            .into_vec(),
        vec![9]
    );
    assert_eq!(from_value::<Option<i64>>(Value::None).unwrap(), None);
    assert_eq!(from_value::<Option<i64>>(Value::Int(4)).unwrap(), Some(4));
    let kwargs = Value::Dict(vec![(Value::Str("c".into()), Value::Int(3))]);
    assert_eq!(
        from_value::<BTreeMap<String, u8>>(kwargs).unwrap(),
        BTreeMap::from([("c".into(), 3)])
    );
    let date = Value::Date(Date::new(2030, 2, 28).unwrap());
    assert_eq!(
        from_value::<NaiveDate>(date).unwrap(),
        NaiveDate::from_ymd_opt(2030, 2, 28).unwrap()
    );
    #[derive(Debug, PartialEq, Deserialize)]
    struct Span {
        days: i32,
        seconds: i32,
        microseconds: i32,
    }
    let span = Value::TimeDelta(TimeDelta::new(0, -1, 0).unwrap());
    assert_eq!(
        from_value::<Span>(span).unwrap(),
        Span {
            days: -1,
            seconds: 86_399,
            microseconds: 0
        }
    );
}

#[test]
fn a_message_reads_as_a_struct_of_its_fields() {
    #[derive(Debug, Deserialize)]
    struct Envelope {
        id: String,
        name: String,
        args: (i64, i64),
        kwargs: BTreeMap<String, i64>,
        #[serde(with = "huey_pickle::datetime::naive_option")]
        eta: Option<NaiveDateTime>,
        priority: Option<i64>,
    }
    let message = Message {
        id: Value::Str("1".into()),
        name: Value::Str("app.add".into()),
        eta: Value::DateTime(DateTime::new(2030, 1, 2, 3, 4, 5, 0).unwrap()),
        args: Value::Tuple(vec![Value::Int(1), Value::Int(2)]),
        kwargs: Value::Dict(vec![(Value::Str("c".into()), Value::Int(3))]),
        ..Message::default()
    };
    let envelope: Envelope = from_value(Value::Message(Box::new(message))).unwrap();
    assert_eq!(
        (envelope.id.as_str(), envelope.name.as_str(), envelope.args),
        ("1", "app.add", (1, 2))
    );
    assert_eq!(envelope.kwargs["c"], 3);
    assert_eq!(envelope.eta.unwrap().to_string(), "2030-01-02 03:04:05");
    assert_eq!(envelope.priority, None);
}

#[test]
fn a_value_serializes_to_itself_and_to_plain_json_forms() {
    let message = Message {
        id: Value::Str("1".into()),
        args: Value::Tuple(vec![]),
        ..Message::default()
    };
    let value = Value::List(vec![
        Value::Tuple(vec![Value::Int(1), Value::Float(2.5)]),
        Value::DateTime(
            DateTime::new(2030, 1, 2, 3, 4, 5, 6)
                .unwrap()
                .with_tz(Some(TimeZone::UTC)),
        ),
        Value::Date(Date::new(2030, 1, 2).unwrap()),
        Value::TimeDelta(TimeDelta::new(1, 2, 3).unwrap()),
        Value::Message(Box::new(message)),
        Value::Error(vec![(
            Value::Str("error".into()),
            Value::Str("boom".into()),
        )]),
        Value::Skipped,
        Value::BigInt(BigInt::from_u128(u128::MAX)),
    ]);
    assert_eq!(to_value(&value).unwrap(), value);
    let SerdeError { .. } = to_value(&Value::BigInt(BigInt::from_le_bytes(&[1; 20]))).unwrap_err();
}
