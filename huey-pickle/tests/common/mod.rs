//! Running the Python side of the interop tests (`tests/python/interop.py`).
//!
//! The interpreter is `$HUEY_PYTHON`, else the workspace's `.venv-python` (which `.ci/run`
//! makes, with `huey==3.5.4`) when it is there, else `python3`.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::io::Write;
use std::process::{Command, Stdio};

/// The interpreter the tests run.
pub fn python() -> String {
    if let Ok(python) = std::env::var("HUEY_PYTHON") {
        return python;
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-python/bin/python");
    if venv.exists() {
        return venv.display().to_string();
    }
    "python3".to_owned()
}

/// Runs `python <args>` with `stdin`, returning its stdout; a failure (no interpreter, no
/// huey) panics with what to do about it.
pub fn run_python(args: &[&str], stdin: &str) -> String {
    let python = python();
    let mut child = Command::new(&python)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot run `{python}` ({error}); set HUEY_PYTHON to a Python with huey==3.5.4")
        });
    let mut input = child.stdin.take().expect("stdin was piped");
    let stdin = stdin.to_owned();
    // Written from a thread so a large input cannot deadlock against the child's output.
    let writer = std::thread::spawn(move || input.write_all(stdin.as_bytes()));
    let output = child.wait_with_output().expect("the interpreter ran");
    writer
        .join()
        .expect("the writer thread finished")
        .expect("stdin was written");
    assert!(
        output.status.success(),
        "`{python} {}` failed; HUEY_PYTHON must name a Python with huey==3.5.4 and redis \
         (.ci/run creates .venv-python):\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the script prints UTF-8")
}

/// Runs a command of `tests/python/interop.py`.
pub fn interop(command: &str, stdin: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/interop.py");
    run_python(&[script, command], stdin)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("the script prints hex"))
        .collect()
}
