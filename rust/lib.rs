//! sseusage-fast core: exact SSE framing and LLM token-usage extraction, free of Python.
//!
//! The stages, in the order the bytes go through them:
//!
//! - `sse`: bytes to lines to events, per WHATWG (framer, events); knows no provider.
//! - `scan`: reading JSON in place without a tree (strings, the skim reader), and the exact
//!   serde tree that is the fallback and the oracle.
//! - `simd`: which vector instructions run (the one dispatch point).
//! - `textstats`: counts of streamed text, for estimating tokens when usage is missing.
//! - `providers`: one folder per provider; each writes what it reads into `Facts`.
//! - `record`: token buckets, status, the raw record.
//! - `meter`: feed, sniff the body's kind, dispatch events to the provider, finish a record.
//! - `python` (feature `python`): the PyO3 binding, a thin skin.

mod framing;
mod meter;
mod providers;
mod record;
mod scan;
mod simd;
mod sse;
mod textstats;

#[cfg(feature = "python")]
mod python;

#[cfg(test)]
mod tests;

pub use meter::{parse_usage, UsageCore, DEFAULT_MAX_EVENT_BYTES};
pub use providers::facts::Provider;
pub use record::{BodyKind, RawRecord, Status, Tokens};
pub use scan::tree::MAX_COUNT;
pub use sse::{EventBuilder, EventSink, Framer, LineSink, Lines, MAX_RETRY_DIGITS};
pub use textstats::TextStats;
