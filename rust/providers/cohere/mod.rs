//! Cohere v2 chat: a stream of typed events (`message-start`, `content-delta`, ...,
//! `message-end` with the usage) and whole chat bodies. `usage.billed_units` holds the billed
//! figures; `usage.tokens` what the model processed (preamble included), not billed.

pub mod tree;
pub mod usage;

use serde_json::Value;

/// The event types of a v2 chat stream.
const EVENT_TYPES: [&str; 11] = [
    "message-start",
    "content-start",
    "content-delta",
    "content-end",
    "tool-plan-delta",
    "tool-call-start",
    "tool-call-delta",
    "tool-call-end",
    "citation-start",
    "citation-end",
    "message-end",
];

pub fn looks_like(value: &Value) -> bool {
    let event = value.get("type").and_then(Value::as_str);
    let billed = value.get("usage").and_then(|u| u.get("billed_units"));
    event.is_some_and(|t| EVENT_TYPES.contains(&t))
        || (billed.is_some() && value.get("message").is_some())
}
