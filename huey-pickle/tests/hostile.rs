//! Hostile pickles: code execution attempts (made by real Python), truncation, memo and
//! expansion bombs, deep nesting and huge strings all end in a clear error, without running
//! anything, panicking, overflowing the stack or allocating what the pickle claims.

mod common;

use std::path::PathBuf;

use common::{hex, run_python, unhex};
use huey_pickle::{DecodeError, Limits, Value, from_slice, to_vec};

fn hostile_script() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/hostile.py")
}

/// A path in a fresh temporary directory that nothing has created yet.
fn marker_path(label: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("huey-pickle-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("the temporary directory is writable");
    directory.join("pwned")
}

fn payloads(path: &std::path::Path) -> Vec<(String, String, Vec<u8>)> {
    run_python(
        &[hostile_script(), path.to_str().expect("a UTF-8 temp path")],
        "",
    )
    .lines()
    .map(|line| {
        let parts: Vec<&str> = line.split(' ').collect();
        (parts[0].to_owned(), parts[1].to_owned(), unhex(parts[2]))
    })
    .collect()
}

/// Runs `f` on a thread with a small stack, so recursion proportional to the input would
/// overflow it.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(f)
        .expect("a thread starts")
        .join()
        .expect("no panic and no stack overflow")
}

#[test]
fn code_execution_payloads_are_refused_by_name_and_never_run() {
    let path = marker_path("refused");
    let payloads = payloads(&path);
    assert_eq!(payloads.len(), 12);
    for (name, protocol, bytes) in &payloads {
        let error = from_slice(bytes, &Limits::default()).expect_err("a payload must not decode");
        let DecodeError::ForbiddenGlobal {
            module,
            name: global,
            ..
        } = &error
        else {
            panic!("{name} at protocol {protocol}: expected a forbidden global, got {error}");
        };
        let expected = match name.as_str() {
            "system" | "message" => ("posix", "system"),
            "eval" => ("builtins", "eval"),
            // Protocols 0 to 2 write Python 2's name for the module, which Python 3 maps back.
            "popen" if protocol != "5" => ("commands", "Popen"),
            "popen" => ("subprocess", "Popen"),
            other => panic!("unexpected payload {other}"),
        };
        assert_eq!(
            (module.as_str(), global.as_str()),
            expected,
            "{name} at protocol {protocol}"
        );
        assert!(
            error
                .to_string()
                .contains(&format!("`{}.{}`", expected.0, expected.1)),
            "{error}"
        );
    }
    assert!(!path.exists(), "a payload ran: {} exists", path.display());
    remove_marker(&path);
}

#[test]
fn the_payloads_are_live_when_python_itself_loads_them() {
    // The control for the test above: the same kind of pickle does run under pickle.loads.
    let path = marker_path("control");
    let (_, _, bytes) = payloads(&path)
        .into_iter()
        .find(|(name, ..)| name == "system")
        .expect("a system payload");
    run_python(&[hostile_script(), "--load", &hex(&bytes)], "");
    assert!(path.exists(), "Python's pickle.loads ran the payload");
    remove_marker(&path);
}

fn remove_marker(path: &std::path::Path) {
    if let Some(directory) = path.parent() {
        let _ = std::fs::remove_dir_all(directory);
    }
}

/// A protocol 5 pickle of a Huey message, as a valid base for damage.
fn message_pickle() -> Vec<u8> {
    let message = huey_pickle::Message {
        id: Value::Str("11111111-2222-3333-4444-555555555555".into()),
        name: Value::Str("app.add".into()),
        args: Value::Tuple(vec![
            Value::Int(1),
            Value::Str("two".into()),
            Value::Float(3.0),
        ]),
        kwargs: Value::Dict(vec![(
            Value::Str("c".into()),
            Value::List(vec![Value::Int(3)]),
        )]),
        ..huey_pickle::Message::default()
    };
    to_vec(&Value::Message(Box::new(message))).expect("the message encodes")
}

#[test]
fn every_truncation_of_a_message_is_a_truncation_error() {
    let whole = message_pickle();
    assert!(from_slice(&whole, &Limits::default()).is_ok());
    for len in 0..whole.len() {
        match from_slice(&whole[..len], &Limits::default()) {
            Err(DecodeError::Truncated { offset }) => assert_eq!(offset, len),
            other => panic!("a prefix of {len} bytes gave {other:?}"),
        }
    }
}

#[test]
fn a_memo_bomb_hits_the_memo_limit() {
    // 200,000 distinct LONG_BINPUT slots, each far apart.
    let mut bomb = vec![0x80, 4, b'N'];
    for index in 0..200_000u32 {
        bomb.push(b'r');
        bomb.extend_from_slice(&index.wrapping_mul(21_477).to_le_bytes());
    }
    bomb.push(b'.');
    let error = from_slice(&bomb, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            error,
            DecodeError::LimitExceeded {
                what: "memo entries",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("memo entries (100001) is over the limit of 100000"),
        "{error}"
    );
}

#[test]
fn an_expansion_bomb_of_shared_references_hits_the_result_limits() {
    // A 1 MiB string, then 40 levels of `[previous, previous]` through the memo: 2^40 copies.
    let mut bomb = vec![0x80, 4, b'B'];
    bomb.extend_from_slice(&(1u32 << 20).to_le_bytes());
    bomb.extend(std::iter::repeat_n(b'x', 1 << 20));
    bomb.extend_from_slice(b"\x94");
    for level in 0..40u32 {
        // LONG_BINGET level, LONG_BINGET level, TUPLE2, MEMOIZE (as level + 1)
        for _ in 0..2 {
            bomb.push(b'j');
            bomb.extend_from_slice(&level.to_le_bytes());
        }
        bomb.extend_from_slice(b"\x86\x94");
    }
    bomb.push(b'.');
    let error = on_small_stack(move || from_slice(&bomb, &Limits::default()).unwrap_err());
    assert!(
        matches!(
            error,
            DecodeError::LimitExceeded {
                what: "string bytes in the result",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn deep_nesting_is_refused_without_recursion() {
    let mut marks = vec![0x80, 4];
    marks.extend(std::iter::repeat_n(b'(', 100_000));
    let mut lists = vec![0x80, 4];
    lists.extend(std::iter::repeat_n(b']', 100_000));
    lists.extend(std::iter::repeat_n(b'a', 99_999));
    lists.push(b'.');
    let mut tuples = vec![0x80, 4, b'N'];
    tuples.extend(std::iter::repeat_n(0x85, 100_000));
    tuples.push(b'.');
    let errors = on_small_stack(move || {
        [marks, lists, tuples].map(|pickle| from_slice(&pickle, &Limits::default()).unwrap_err())
    });
    assert!(
        matches!(
            errors[0],
            DecodeError::LimitExceeded {
                what: "open MARKs",
                ..
            }
        ),
        "{}",
        errors[0]
    );
    for error in &errors[1..] {
        assert!(
            matches!(
                error,
                DecodeError::LimitExceeded {
                    what: "nesting depth",
                    ..
                }
            ),
            "{error}"
        );
    }

    // With the limit raised past the nesting, the value builds and drops on the same small stack.
    let mut deep = vec![0x80, 4, b'N'];
    deep.extend(std::iter::repeat_n(0x85, 100_000));
    deep.push(b'.');
    let depth = on_small_stack(move || {
        let mut limits = Limits::default();
        limits.max_depth = 200_000;
        let mut value = from_slice(&deep, &limits).expect("within the raised limit");
        let mut depth = 0;
        while let Value::Tuple(items) = &mut value {
            let inner = items.pop().expect("TUPLE1 holds one item");
            value = inner;
            depth += 1;
            if depth == 10 {
                break;
            }
        }
        depth
    });
    assert_eq!(depth, 10);
}

#[test]
fn a_fifty_megabyte_string_is_refused_before_it_is_copied() {
    let len = 50u32 << 20;
    let mut whole = vec![0x80, 4, b'X'];
    whole.extend_from_slice(&len.to_le_bytes());
    whole.extend(std::iter::repeat_n(b'a', len as usize));
    whole.push(b'.');
    let error = from_slice(&whole, &Limits::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("string length in bytes (52428800) is over the limit of 16777216"),
        "{error}"
    );

    // A header that claims 2^64 - 1 bytes allocates nothing.
    let mut claim = vec![0x80, 4, 0x8e];
    claim.extend_from_slice(&u64::MAX.to_le_bytes());
    let error = from_slice(&claim, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            error,
            DecodeError::LimitExceeded {
                what: "string length in bytes",
                ..
            }
        ),
        "{error}"
    );

    // With the string limit raised, a claim past the end of the input is a truncation.
    let mut limits = Limits::default();
    limits.max_string_bytes = usize::MAX;
    assert!(matches!(
        from_slice(&claim, &limits),
        Err(DecodeError::Truncated { .. })
    ));

    let mut small = Limits::default();
    small.max_input_bytes = 1 << 20;
    assert!(matches!(
        from_slice(&whole, &small),
        Err(DecodeError::InputTooLarge { .. })
    ));
}

#[test]
fn malformed_pickles_are_errors_that_say_where() {
    let cases: &[(&[u8], &str)] = &[
        (b"\x80\x06N.", "protocol 6 is not supported"),
        (b"\x80\x04\xff", "byte 2: 0xff is not a pickle opcode"),
        (b"\x80\x04.", "byte 2: the stack is empty"),
        (b"\x80\x04a.", "byte 2: the stack is empty"),
        (b"\x80\x04NNa.", "APPEND needs a list"),
        (b"\x80\x04h\x05.", "memo entry 5 does not exist"),
        (b"\x80\x04]\x94h\x00a.", "contains itself"),
        (b"\x80\x04}]Ns.", "a list cannot be a dict key"),
        (b"\x80\x04\x8f(]\x90.", "a list cannot be a set member"),
        (b"\x80\x04t.", "no MARK to close"),
        (b"\x80\x04K\x01K\x02R.", "REDUCE applied to a int"),
        (
            b"\x80\x02c__builtin__\neval\n.",
            "`builtins.eval` is not allowed",
        ),
        (
            b"\x80\x02cdatetime\ndatetime\n.",
            "datetime.datetime is a class or function",
        ),
        (
            b"\x80\x02cdatetime\ndatetime\nC\x03abc\x85R.",
            "invalid datetime state length: 3",
        ),
        (
            b"\x80\x02cbuiltins\nset\nK\x01\x85R.",
            "builtins.set takes a list, tuple or set",
        ),
        (
            b"\x80\x02chuey.utils\nError\nK\x01\x85\x81.",
            "huey.utils.Error takes one argument",
        ),
        (
            b"\x80\x02cdatetime\ndate\n)\x81.",
            "NEWOBJ on datetime.date is not supported",
        ),
        (
            b"\x80\x04]}K\x01K\x02sb.",
            "BUILD with state on a list is not supported",
        ),
        (b"\x80\x04Q.", "opcode BINPERSID is not supported"),
        (b"\x80\x04X\x01\x00\x00\x00\xff.", "not valid UTF-8"),
    ];
    for (pickle, expected) in cases {
        let error = from_slice(pickle, &Limits::default()).expect_err("a malformed pickle fails");
        assert!(
            error.to_string().contains(expected),
            "{pickle:?}: {error} (expected {expected:?})"
        );
    }
}

#[test]
fn bytes_after_stop_are_ignored_as_python_ignores_them() {
    // Huey's signed messages append `:<hexdigest>` after the pickle.
    let mut signed = message_pickle();
    signed.extend_from_slice(b":0123456789abcdef0123456789abcdef01234567");
    assert!(matches!(
        from_slice(&signed, &Limits::default()),
        Ok(Value::Message(_))
    ));
}

#[test]
fn copying_one_long_list_many_times_hits_the_reference_limit() {
    // A list of 100,000 items, memoised, then `set(list)` 1,000 times from a few bytes each:
    // 100 million copied references from a 300 KB pickle.
    let mut bomb = vec![0x80, 4, b']', 0x94, b'('];
    bomb.extend(std::iter::repeat_n(b'N', 100_000));
    bomb.push(b'e');
    bomb.extend_from_slice(b"\x8c\x08builtins\x8c\x03set\x93\x94");
    for _ in 0..1_000 {
        // BINGET 1 (set), BINGET 0 (the list), TUPLE1, REDUCE, POP
        bomb.extend_from_slice(b"h\x01h\x00\x85R0");
    }
    bomb.extend_from_slice(b"N.");
    let error = from_slice(&bomb, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            error,
            DecodeError::LimitExceeded {
                what: "items held by containers",
                ..
            }
        ),
        "{error}"
    );

    // A call with more arguments than any allowed class takes is refused before it is copied.
    let mut wide = b"\x80\x04\x8c\x08datetime\x8c\x04date\x93(".to_vec();
    wide.extend(std::iter::repeat_n(b'N', 16));
    wide.extend_from_slice(b"tR.");
    let error = from_slice(&wide, &Limits::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("REDUCE's arguments has 16 items"),
        "{error}"
    );
}
