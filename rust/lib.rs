//! sseusage-fast core: exact SSE framing and LLM token-usage extraction, free of Python.
//!
//! - [`framer`]: bytes to lines (CR, LF, CRLF; BOM; bounded).
//! - [`event`]: lines to events, per WHATWG "interpreting an event stream".
//! - [`usage`]: events or a whole body to one [`record::RawRecord`], per provider.
//! - [`textstats`]: counts of streamed text, for estimating tokens when usage is missing.
//!
//! The PyO3 binding (feature `python`) is a thin skin in [`python`].

pub mod anthropic;
pub mod anthropic_events;
pub mod anthropic_skim;
pub mod event;
pub mod fastscan;
pub mod framer;
pub mod gemini;
pub mod json;
pub mod openai_chat;
pub mod openai_responses;
pub mod record;
pub mod simd;
pub mod skim;
pub mod textstats;
pub mod usage;

#[cfg(test)]
mod tests_framing;
#[cfg(test)]
mod tests_openai;
#[cfg(test)]
mod tests_usage;

#[cfg(feature = "python")]
mod python;
