//! Shared code of the trace tests: [`spans`] records OpenTelemetry spans in memory, in the test
//! process (the producer) and in the `trace_consumer` binary (the consumer).

pub mod spans;
