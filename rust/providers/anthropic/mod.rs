//! Anthropic Messages: streams (`message_start` ... `message_delta` ... `message_stop`) and
//! whole response bodies. Usage counts are cumulative: the last value of each field wins.

pub mod reader;
pub mod tree;
pub mod usage;

use serde_json::Value;

const EVENT_TYPES: [&str; 9] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
    "message",
];

pub fn looks_like(value: &Value) -> bool {
    let t = value.get("type").and_then(Value::as_str);
    // An error object alone is not enough: other providers use `{"error": ...}` too.
    matches!(t, Some(t) if EVENT_TYPES.contains(&t))
        && (t != Some("error") || value.get("error").is_some_and(Value::is_object))
        && (t != Some("message") || value.get("role").is_some())
}
