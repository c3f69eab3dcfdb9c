//! The bounds the reader holds a pickle to.

/// How much a pickle may ask of the reader. Every bound is checked before the memory it
/// guards is allocated, so a hostile pickle costs at most about these amounts.
///
/// ```
/// let mut limits = huey_pickle::Limits::default();
/// limits.max_depth = 50;
/// assert!(huey_pickle::from_slice(b"\x80\x04]\x94.", &limits).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest pickle read, in bytes (default 64 MiB).
    pub max_input_bytes: usize,
    /// The longest single `str`, `bytes` or `bytearray`, in bytes (default 16 MiB).
    pub max_string_bytes: usize,
    /// The deepest nesting of containers, and of unclosed `MARK`s (default 1,000).
    pub max_depth: usize,
    /// The most memo entries (default 100,000).
    pub max_memo_entries: usize,
    /// The most values in the result, counting a shared object once per place it appears
    /// (default 1,000,000); this also bounds the objects built while reading, the items their
    /// containers hold and the height of the stack.
    pub max_values: usize,
    /// The most `str`/`bytes` bytes in the result, counting a shared string once per place it
    /// appears (default 64 MiB), so a pickle cannot expand a string by referring to it many
    /// times.
    pub max_total_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 64 << 20,
            max_string_bytes: 16 << 20,
            max_depth: 1_000,
            max_memo_entries: 100_000,
            max_values: 1_000_000,
            max_total_string_bytes: 64 << 20,
        }
    }
}
