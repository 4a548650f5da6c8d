//! OpenAI Responses: `response.created` ... `response.output_text.delta` ... a terminal
//! `response.completed` / `response.incomplete` / `response.failed` (usage on the response),
//! `error` events, and whole `response` bodies.

pub mod delta;
pub mod reader;
pub mod tree;
pub mod usage;

use serde_json::Value;

pub fn looks_like(value: &Value) -> bool {
    let kind = value.get("type").and_then(Value::as_str);
    kind.is_some_and(|t| t.starts_with("response."))
        || value.get("object").and_then(Value::as_str) == Some("response")
        // A Responses `error` event: code and message at the top, no `error` object.
        || (kind == Some("error") && value.get("error").is_none() && value.get("code").is_some())
}
