//! sseusage-fast core: exact SSE framing and LLM token-usage extraction, free of Python.
//!
//! The stages, in the order the bytes go through them (each knows only those above it):
//!
//! 1. `sse`: bytes to lines to events, per WHATWG (framer, events); knows no provider.
//!    `framing`: the other framings (AWS event stream, NDJSON, a JSON array).
//! 2. `scan`: reading JSON in place without a tree (strings, the cursor, the skim reader), and
//!    the exact serde tree that is the fallback and the oracle.
//! 3. `simd`: every vector instruction, the kernels written once over a vector trait, and the
//!    one dispatch point (SSE2 / AVX2, `SSEUSAGE_FAST_SIMD=sse2` forces the baseline).
//!    `textstats`: counts of streamed text, for estimating tokens when usage is missing.
//! 4. `providers`: one folder per provider; each writes what it reads into `Facts` (a leaf).
//! 5. `record`: token buckets, status, the raw record. `learn`: what the estimator learns from
//!    a complete record and its windows of samples (the binding's `finish()` learns there, and
//!    estimates the output of a stream without a request body from them).
//! 6. `meter`: feed, sniff the body's kind, dispatch events to the provider, finish a record.
//! 7. `python` (feature `python`): the PyO3 binding, a thin skin.
//!
//! `tests` holds the crate-internal suites, with one support module and the WHATWG reference
//! that the `framer` fuzz target shares. The modules are private; what is public is below.

// 1. Framing.
mod framing;
mod sse;
// 2. JSON reading tools.
mod scan;
// 3. Vector kernels, and the text counts built on them.
mod simd;
mod textstats;
// 4. Providers.
mod providers;
// 5. The record, and what is learned from it.
#[cfg_attr(not(feature = "python"), allow(dead_code))]
mod learn;
mod record;
// 6. The meter.
mod meter;
// 7. The binding.
#[cfg(feature = "python")]
mod python;

#[cfg(test)]
mod tests;

// The surface, stage by stage: what the fuzz targets, the benchmarks and a Rust caller use.
pub use sse::{EventBuilder, EventSink, Framer, LineSink, Lines, MAX_RETRY_DIGITS};

pub use scan::tree::MAX_COUNT;

pub use textstats::TextStats;

pub use providers::facts::Provider;

pub use record::{BodyKind, RawRecord, Status, Tokens};

pub use meter::{parse_usage, UsageCore, DEFAULT_MAX_EVENT_BYTES};
