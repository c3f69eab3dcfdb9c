//! A time-boxed mutation fuzzer for the pickle reader, on stable Rust.
//!
//! ```text
//! cargo run --release -p huey-pickle --example fuzz -- --minutes 5 [--seed N] [--corpus DIR]
//! ```
//!
//! It mutates a seed corpus (the CPython pickles in `huey-pickle/fuzz/corpus`, made by
//! `tests/python/interop.py`, plus pickles this crate writes) and feeds every input to
//! [`huey_pickle::from_slice`]. It stops with the failing input saved in the current directory
//! when the reader panics (`fuzz-crash.pickle`), takes longer than the per-input limit
//! (`fuzz-hang.pickle`, caught by a watchdog thread), or reads a value that does not survive
//! being written and read again (`fuzz-mismatch.pickle`). Inputs that decode to a value of a
//! shape not seen before join the corpus, so mutations build on valid structure; the seeds
//! stay, and every other input starts from one.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use huey_pickle::{Limits, Message, Value, from_slice, to_vec};

/// The longest one input may take before it counts as a hang.
const PER_INPUT_LIMIT: Duration = Duration::from_secs(5);
/// The most inputs the corpus keeps (new ones replace random old ones beyond this).
const CORPUS_CAP: usize = 4_096;
/// The longest input kept in the corpus, so mutations stay fast.
const INPUT_CAP: usize = 64 * 1024;

struct Options {
    duration: Duration,
    seed: u64,
    corpus: PathBuf,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        duration: Duration::from_secs(60),
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |since| since.as_nanos() as u64),
        corpus: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus")),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--minutes" => {
                let minutes: f64 = value()?.parse().map_err(|_| "--minutes takes a number")?;
                options.duration = Duration::from_secs_f64(minutes * 60.0);
            }
            "--seconds" => {
                let seconds: f64 = value()?.parse().map_err(|_| "--seconds takes a number")?;
                options.duration = Duration::from_secs_f64(seconds);
            }
            "--seed" => options.seed = value()?.parse().map_err(|_| "--seed takes an integer")?,
            "--corpus" => options.corpus = PathBuf::from(value()?),
            other => {
                return Err(format!(
                    "unknown argument {other}; use --minutes, --seconds, --seed, --corpus"
                ));
            }
        }
    }
    Ok(options)
}

/// xorshift64*: small, fast, and reproducible from `--seed`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// Bytes that steer a pickle reader: opcodes and boundary values of length fields.
const INTERESTING: &[u8] = &[
    b'(', b'.', b'0', b'1', b'2', b'N', b'R', b'a', b'b', b'c', b'e', b'h', b'j', b'l', b'q', b'r',
    b's', b't', b'u', b'}', b']', b')', 0x80, 0x81, 0x85, 0x86, 0x87, 0x8a, 0x8b, 0x8c, 0x8f, 0x90,
    0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x00, 0x01, 0x7f, 0xff, 0xfe,
];

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], seeds: usize) -> Vec<u8> {
    let pick = if rng.below(2) == 0 {
        rng.below(seeds)
    } else {
        rng.below(corpus.len())
    };
    let mut input = corpus[pick].clone();
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => input[rng.below(len)] ^= 1 << rng.below(8),
            1 if len > 0 => input[rng.below(len)] = INTERESTING[rng.below(INTERESTING.len())],
            2 => input.insert(
                rng.below(len + 1),
                INTERESTING[rng.below(INTERESTING.len())],
            ),
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(16)).min(len);
                input.drain(start..end);
            }
            4 if len > 0 => {
                // Repeat a slice: deepens nesting and multiplies memo traffic.
                let start = rng.below(len);
                let end = (start + 1 + rng.below(32)).min(len);
                let slice = input[start..end].to_vec();
                let at = rng.below(len + 1);
                for _ in 0..1 + rng.below(8) {
                    input.splice(at..at, slice.iter().copied());
                }
            }
            5 => {
                // Splice in part of another input.
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.below(64)).min(other.len());
                    let at = rng.below(len + 1);
                    input.splice(at..at, other[start..end].iter().copied());
                }
            }
            6 if len >= 4 => {
                // A length or index field set to a boundary value.
                let at = rng.below(len - 3);
                let word = [0u32, 1, 0x7f, 0xff, 0xffff, 0x7fff_ffff, 0xffff_ffff][rng.below(7)];
                input[at..at + 4].copy_from_slice(&word.to_le_bytes());
            }
            _ if len > 0 => input.truncate(rng.below(len)),
            _ => input.push(b'.'),
        }
    }
    input.truncate(INPUT_CAP * 2);
    input
}

/// Pickles this crate writes, so the corpus covers its own output too.
fn built_in_seeds() -> Vec<Vec<u8>> {
    let message = Message {
        id: Value::Str("id".into()),
        name: Value::Str("app.task".into()),
        args: Value::Tuple(vec![
            Value::Int(1),
            Value::Float(2.5),
            Value::Bytes(b"x".to_vec()),
        ]),
        kwargs: Value::Dict(vec![(
            Value::Str("k".into()),
            Value::Set(vec![Value::Int(1)]),
        )]),
        ..Message::default()
    };
    let values = [
        Value::Message(Box::new(message)),
        Value::Error(vec![(
            Value::Str("error".into()),
            Value::Str("boom".into()),
        )]),
        Value::List(vec![
            Value::Skipped,
            Value::ByteArray(vec![1, 2]),
            Value::FrozenSet(vec![Value::None]),
        ]),
    ];
    values
        .iter()
        .map(|value| to_vec(value).expect("the seeds encode"))
        .collect()
}

fn load_corpus(directory: &PathBuf) -> Vec<Vec<u8>> {
    let mut corpus = built_in_seeds();
    match std::fs::read_dir(directory) {
        Ok(entries) => {
            for entry in entries.flatten() {
                if let Ok(bytes) = std::fs::read(entry.path()) {
                    corpus.push(bytes);
                }
            }
        }
        Err(error) => eprintln!(
            "no corpus at {} ({error}); using the built-in seeds",
            directory.display()
        ),
    }
    corpus
}

fn save(name: &str, input: &[u8]) {
    match std::fs::write(name, input) {
        Ok(()) => eprintln!("the input is saved in {name} ({} bytes)", input.len()),
        Err(error) => eprintln!(
            "could not save {name}: {error}; the input in hex: {}",
            hex(input)
        ),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let mut rng = Rng(options.seed.max(1));
    let mut corpus = load_corpus(&options.corpus);
    let seeds = corpus.len();
    let mut shapes = HashSet::new();
    println!(
        "fuzzing huey_pickle::from_slice for {:.1} min, seed {}, {} seed inputs",
        options.duration.as_secs_f64() / 60.0,
        options.seed,
        corpus.len()
    );

    // The watchdog: if the count of finished inputs stops moving, the current one hangs.
    let finished = Arc::new(AtomicU64::new(0));
    let current = Arc::new(Mutex::new(Vec::new()));
    {
        let finished = Arc::clone(&finished);
        let current = Arc::clone(&current);
        std::thread::spawn(move || {
            let mut last = u64::MAX;
            loop {
                std::thread::sleep(PER_INPUT_LIMIT);
                let now = finished.load(Ordering::Relaxed);
                if now == last {
                    eprintln!("HANG: one input ran for over {PER_INPUT_LIMIT:?}");
                    save(
                        "fuzz-hang.pickle",
                        &current.lock().unwrap_or_else(|poison| poison.into_inner()),
                    );
                    std::process::exit(1);
                }
                last = now;
            }
        });
    }
    // Panics are caught and reported below; the default hook would print them a second time.
    std::panic::set_hook(Box::new(|_| {}));

    let limits = Limits::default();
    let started = Instant::now();
    let mut next_report = Duration::from_secs(30);
    let (mut accepted, mut rejected) = (0u64, 0u64);
    while started.elapsed() < options.duration {
        let input = mutate(&mut rng, &corpus, seeds);
        current
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone_from(&input);
        let outcome = std::panic::catch_unwind(|| check(&input, &limits));
        match outcome {
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                    .unwrap_or_default();
                eprintln!("CRASH: the reader panicked: {message}");
                save("fuzz-crash.pickle", &input);
                std::process::exit(1);
            }
            Ok(Err(mismatch)) => {
                eprintln!("MISMATCH: {mismatch}");
                save("fuzz-mismatch.pickle", &input);
                std::process::exit(1);
            }
            Ok(Ok(Some(shape))) => {
                accepted += 1;
                if input.len() <= INPUT_CAP && shapes.insert(shape) {
                    if corpus.len() < CORPUS_CAP {
                        corpus.push(input);
                    } else {
                        let slot = seeds + rng.below(corpus.len() - seeds);
                        corpus[slot] = input;
                    }
                }
            }
            Ok(Ok(None)) => rejected += 1,
        }
        finished.fetch_add(1, Ordering::Relaxed);
        if started.elapsed() >= next_report {
            println!(
                "{:>5.1} min: {} inputs ({accepted} read, {rejected} refused)",
                started.elapsed().as_secs_f64() / 60.0,
                accepted + rejected
            );
            next_report += Duration::from_secs(30);
        }
    }
    println!(
        "done: {} inputs in {:.1} min ({accepted} read, {rejected} refused), no panic, hang or mismatch",
        accepted + rejected,
        started.elapsed().as_secs_f64() / 60.0
    );
}

/// The shape of what `input` read as (`None` if it was refused); an error if what was read
/// does not survive a round trip.
fn check(input: &[u8], limits: &Limits) -> Result<Option<u64>, String> {
    let Ok(value) = from_slice(input, limits) else {
        return Ok(None);
    };
    let written =
        to_vec(&value).map_err(|error| format!("a value that was read does not write: {error}"))?;
    let again = from_slice(&written, limits)
        .map_err(|error| format!("what was written does not read: {error}"))?;
    // Compared as bytes, so a NaN compares equal to itself.
    let rewritten =
        to_vec(&again).map_err(|error| format!("the re-read value does not write: {error}"))?;
    if rewritten != written {
        return Err("writing, reading and writing again changed the pickle".to_owned());
    }
    Ok(Some(shape(&value)))
}

/// A hash of the value's types in depth-first order (the first 64 of them): a stand-in for
/// coverage, to tell new structure from more of the same.
fn shape(value: &Value) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut pending = vec![value];
    let mut seen = 0;
    while let Some(value) = pending.pop() {
        value.type_name().hash(&mut hasher);
        seen += 1;
        if seen == 64 {
            break;
        }
        match value {
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => {
                pending.extend(items.iter().rev());
            }
            Value::Dict(pairs) | Value::Error(pairs) => {
                pending.extend(pairs.iter().rev().flat_map(|(key, value)| [value, key]));
            }
            Value::Message(message) => pending.extend(message.fields().into_iter().rev()),
            _ => {}
        }
    }
    hasher.finish()
}
