//! sseusage-fast core: exact SSE framing and LLM token-usage extraction, free of Python.
//!
//! - [`framer`]: bytes to lines (CR, LF, CRLF; BOM; bounded).
//! - [`event`]: lines to events, per WHATWG "interpreting an event stream".
//! - [`usage`]: events or a whole body to one [`record::RawRecord`], per provider.
//! - [`textstats`]: counts of streamed text, for estimating tokens when usage is missing.
//!
//! The PyO3 binding (feature `python`) is a thin skin in [`python`].

pub mod anthropic;
pub mod event;
pub mod framer;
pub mod json;
pub mod record;
pub mod textstats;
pub mod usage;

#[cfg(feature = "python")]
mod python;
