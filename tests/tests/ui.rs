//! Compile errors of the macros, each pinned to its message and span.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
