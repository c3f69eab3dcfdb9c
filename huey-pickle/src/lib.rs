//! Python Huey's wire values for Rust: a safe pickle reader, a pickle writer, and a serde
//! bridge.
//!
//! Python Huey 3.5.4 stores a task as a pickled `huey.registry.Message` (a namedtuple of 15
//! fields), a result as a pickled value, a failure as a pickled `huey.utils.Error`, and a
//! skipped chord member as `huey.utils.SKIPPED`. Reading those needs class references, which
//! general pickle crates do not resolve; running `pickle.loads` on them, as Huey does, runs
//! whatever code the bytes name. This crate reads exactly the subset Huey and CPython produce
//! for task arguments and results, and nothing that can execute:
//!
//! * [`from_slice`] reads protocols 0 to 5 into a [`Value`] tree. Class references resolve
//!   only against an allow-list; anything else, `os.system` included, is a
//!   [`DecodeError::ForbiddenGlobal`] that names it.
//! * [`to_vec`] writes protocol 4, with the class references CPython writes for the same
//!   objects, so `pickle.loads` (and Huey's own `deserialize_task`) rebuild what Huey builds.
//! * [`to_value`] and [`from_value`] map Rust types onto Python's through serde (see
//!   [`bridge`]); [`datetime`] carries chrono's date-times as `datetime.datetime`.
//!
//! Compression and signing (Huey's gzip/zlib and `SignedSerializer`) wrap the pickle bytes and
//! are the codec's business, not this crate's: a signed message's trailing `:<hexdigest>` is
//! simply ignored here, as `pickle.loads` ignores bytes after `STOP`.
//!
//! # Reading a message Python Huey wrote
//!
//! These are the bytes of `add.s(1, 2, c=3)` as `RedisHuey` pushed them to Redis:
//!
//! ```
//! use huey_pickle::{from_slice, Limits, Value};
//!
//! let stored = b"\x80\x05\x95u\x00\x00\x00\x00\x00\x00\x00\x8c\rhuey.registry\x94\x8c\x07Message\x94\x93\x94(\
//!     \x8c$11111111-2222-3333-4444-555555555555\x94\x8c\x0cexptasks.add\x94NK\x00K\x00NK\x01K\x02\x86\x94}\
//!     \x94\x8c\x01c\x94K\x03sNNNNNNK\x00t\x94\x81\x94.";
//! let message = from_slice(stored, &Limits::default())?.into_message().expect("a Huey message");
//! assert_eq!(message.name, Value::Str("exptasks.add".into()));
//! assert_eq!(message.args, Value::Tuple(vec![Value::Int(1), Value::Int(2)]));
//! assert_eq!(message.kwargs, Value::Dict(vec![(Value::Str("c".into()), Value::Int(3))]));
//! assert_eq!(message.eta, Value::None);
//! # Ok::<(), huey_pickle::DecodeError>(())
//! ```
//!
//! # Writing a result Python Huey reads
//!
//! ```
//! use huey_pickle::{from_slice, to_value, to_vec, Limits};
//!
//! // What `pickle.dumps(3)` gives, up to the protocol byte.
//! assert_eq!(to_vec(&to_value(&3u8)?).unwrap(), b"\x80\x04K\x03.");
//! // A typed result, read back.
//! let bytes = to_vec(&to_value(&vec![(1, "one".to_owned())])?).unwrap();
//! let value = from_slice(&bytes, &Limits::default()).unwrap();
//! assert_eq!(huey_pickle::from_value::<Vec<(i64, String)>>(value)?, [(1, "one".to_owned())]);
//! # Ok::<(), huey_pickle::SerdeError>(())
//! ```
//!
//! # What the reader accepts
//!
//! | global | why | arguments checked |
//! | --- | --- | --- |
//! | `huey.registry.Message` | a task | up to 15 fields (fewer: the rest are `None`, as in Huey) |
//! | `huey.utils.Error` | a failure stored as the result | one dict |
//! | `huey.utils.SKIPPED` | a skipped chord member | (a value, not called) |
//! | `datetime.datetime`, `date`, `timedelta` | etas, expiry, arguments | the pickled state bytes; ints |
//! | `datetime.timezone` | an aware datetime's tzinfo | a timedelta within a day, an optional name |
//! | `builtins.set`, `frozenset`, `bytearray`, `bytes` | how protocols 0 to 3 write those | a list, tuple or set; bytes; nothing |
//! | `_codecs.encode` | how protocols 0 to 2 write `bytes` | a str and `'latin1'` |
//! | `copyreg._reconstructor` | how protocols 0 and 1 write namedtuples | `Message` or `Error` over `builtins.tuple` |
//!
//! `REDUCE`, `NEWOBJ`, `NEWOBJ_EX` and `BUILD` apply only to these, each with its argument
//! shape checked; nothing is imported and no Python code runs. Persistent ids, the extension
//! registry, out-of-band buffers, old-style `INST`/`OBJ` and Python 2's quoted `STRING` are
//! refused as [`DecodeError::UnsupportedOpcode`].
//!
//! Every bound in [`Limits`] is checked before the memory it guards is taken: the input size,
//! one string's size, nesting depth (and open `MARK`s), memo entries, and the values and string
//! bytes of the result, counting a shared object at each place it appears (so a pickle cannot
//! expand a small input into a huge tree). The reader is iterative, and dropping a [`Value`]
//! never recurses, so depth costs heap, not stack.
//!
//! # The value model
//!
//! * An `int` outside `i64` is a [`BigInt`] (little-endian two's complement, as pickle stores
//!   it; any size is kept, and the serde bridge converts up to 128 bits, failing clearly
//!   beyond).
//! * A `dict` keeps its pairs in order, as a `Vec`; sets likewise. Keys and members must be of
//!   hashable kinds (not a list, dict, set or bytearray), or reading fails as Python's would.
//! * A [`Value`] is a tree: an object the pickle shares appears as equal copies, and a pickle
//!   that contains itself is refused.
//! * A Python `str` with lone surrogates (which pickle allows) is refused: a Rust `String` is
//!   UTF-8.
//!
//! # Fuzzing
//!
//! Besides the proptest properties in `tests/properties.rs`, a stable-Rust mutation fuzzer runs
//! for a set time over CPython-made seeds, stopping on a panic, a hang (a watchdog allows 5 s
//! per input) or a value that does not survive being written and read again:
//!
//! ```text
//! cargo run --release -p huey-pickle --example fuzz -- --minutes 5
//! ```
//!
//! Last run, on the reader as of commit 011fcb8 (`--minutes 6 --seed 20261202`, on two
//! shared cores): 18,315,517 inputs in 6.0 minutes (6,025,204 read, 12,290,313 refused), no
//! panic, hang or mismatch.

pub mod bridge;
mod decode;
mod encode;
mod limits;
mod opcodes;
mod value;

pub use bridge::{SerdeError, datetime, from_value, to_value};
pub use decode::{DecodeError, from_slice};
pub use encode::{EncodeError, PROTOCOL, to_vec};
pub use limits::Limits;
pub use value::{BigInt, Date, DateTime, InvalidDateTime, Message, TimeDelta, TimeZone, Value};
