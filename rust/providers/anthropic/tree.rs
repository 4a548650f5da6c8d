//! Anthropic events and bodies read from a serde tree: the exact fallback for what the reader
//! declines, and the oracle in tests.

use serde_json::Value;

use super::usage::{read_bedrock_metrics, read_usage};
use crate::providers::error::read_error;
use crate::providers::facts::Facts;
use crate::scan::tree::{self as json, Object};

fn count_delta(
    ex: &mut Facts,
    text: Option<&str>,
    thinking: Option<&str>,
    partial_json: Option<&str>,
) {
    if let Some(text) = text {
        ex.output_text.add(text);
    }
    if let Some(thinking) = thinking {
        ex.saw_thinking = true;
        ex.output_text.add(thinking);
    }
    if let Some(partial) = partial_json {
        ex.saw_tool_use = true;
        ex.output_text.add(partial);
    }
}

pub fn on_event(ex: &mut Facts, event_type: &[u8], value: &Value) {
    let Some(obj) = value.as_object() else {
        return;
    };
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some(kind) => kind.as_bytes(),
        None => event_type,
    };
    match kind {
        b"message_start" => {
            if let Some(message) = json::object(obj, "message") {
                read_message(ex, message, false);
            }
        }
        b"content_block_start" => {
            if let Some(block) = json::object(obj, "content_block") {
                count_block(ex, block);
            }
        }
        b"content_block_delta" => {
            if let Some(delta) = json::object(obj, "delta") {
                let s = |k| delta.get(k).and_then(Value::as_str);
                count_delta(ex, s("text"), s("thinking"), s("partial_json"));
                // A compaction pass's summary (`compaction_delta`), billed as output.
                if let Some(text) = s("content") {
                    ex.output_text.add(text);
                }
            }
        }
        b"message_delta" => {
            if let Some(reason) =
                json::object(obj, "delta").and_then(|d| json::string(d, "stop_reason"))
            {
                ex.stop_reason = Some(reason);
            }
            if let Some(usage) = json::object(obj, "usage") {
                read_usage(ex, usage.clone(), true);
            }
        }
        b"message_stop" => {
            if let Some(metrics) = json::object(obj, "amazon-bedrock-invocationMetrics") {
                read_bedrock_metrics(ex, metrics);
            }
        }
        b"error" => read_error(ex, obj),
        _ => {}
    }
}

/// A whole (non-streaming) response body; `false` if it is not an Anthropic body.
pub fn on_body(ex: &mut Facts, value: &Value) -> bool {
    let Some(obj) = value.as_object() else {
        return false;
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("message") => {
            read_message(ex, obj, true);
            if let Some(Value::Array(blocks)) = obj.get("content") {
                for block in blocks.iter().filter_map(Value::as_object) {
                    count_block(ex, block);
                    // A compaction pass's summary, billed as output.
                    if block.get("type").and_then(Value::as_str) == Some("compaction") {
                        if let Some(text) = block.get("content").and_then(Value::as_str) {
                            ex.output_text.add(text);
                        }
                    }
                }
            }
            true
        }
        Some("error") => {
            read_error(ex, obj);
            true
        }
        _ => false,
    }
}

/// `message_start.message` or a whole body: identity, and usage (final only for a body).
fn read_message(ex: &mut Facts, message: &Object, is_final: bool) {
    ex.message_id = json::string(message, "id").or(ex.message_id.take());
    ex.model = json::string(message, "model").or(ex.model.take());
    if let Some(reason) = json::string(message, "stop_reason") {
        ex.stop_reason = Some(reason);
    }
    if let Some(usage) = json::object(message, "usage") {
        read_usage(ex, usage.clone(), is_final);
    }
}

/// Counts the visible text of a content block (a body's blocks, or a block's start).
fn count_block(ex: &mut Facts, block: &Object) {
    let s = |k| block.get(k).and_then(Value::as_str);
    match block.get("type").and_then(Value::as_str) {
        Some("tool_use" | "server_tool_use") => {
            ex.saw_tool_use = true;
            if let Some(name) = s("name") {
                ex.output_text.add(name);
            }
            // A streamed block starts with an empty input; a body's block holds it whole.
            if let Some(Value::Object(input)) = block.get("input") {
                if !input.is_empty() {
                    ex.output_text
                        .add(&Value::Object(input.clone()).to_string());
                }
            }
        }
        Some("thinking") => count_delta(ex, None, s("thinking"), None),
        Some("redacted_thinking") => ex.saw_thinking = true,
        _ => count_delta(ex, s("text"), None, None),
    }
}
