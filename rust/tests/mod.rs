//! Crate-internal suites: framing against the WHATWG reference, usage through the meter,
//! OpenAI streams against a full parse. `support` holds what they share.

mod bedrock_layouts;
mod captures;
mod content_type;
mod eof;
mod framing;
mod gemini_layouts;
mod layouts;
mod openai;
mod responses;
mod starts;
pub(crate) mod support;
mod usage;
mod usage_layouts;
pub mod whatwg;
