//! Workflows: typed calls ([`TaskCall`](call::TaskCall), [`PartialCall`](call::PartialCall)),
//! pipelines, groups and chords, and the typed handles on their results. Everything here is
//! built from messages and dispatched through the runtime; nothing below knows about it.

pub(crate) mod call;
pub mod group;
pub mod pipeline;
pub(crate) mod result;
pub(crate) mod sink;
