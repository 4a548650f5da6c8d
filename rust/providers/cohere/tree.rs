//! Cohere v2 chat events and bodies read from a serde tree.

use serde_json::Value;

use super::usage::read_usage;
use crate::providers::facts::Facts;
use crate::scan::tree::{self as json, Object};

pub fn on_event(ex: &mut Facts, value: &Value) {
    let Some(obj) = value.as_object() else {
        return;
    };
    let delta = json::object(obj, "delta");
    let message = delta.and_then(|d| json::object(d, "message"));
    match obj.get("type").and_then(Value::as_str) {
        Some("message-start") => {
            if let Some(id) = json::string(obj, "id").filter(|id| !id.is_empty()) {
                ex.message_id = Some(id);
            }
        }
        Some("content-delta") => {
            let content = message.and_then(|m| json::object(m, "content"));
            for key in ["text", "thinking"] {
                if let Some(text) = content.and_then(|c| c.get(key)).and_then(Value::as_str) {
                    ex.saw_thinking |= key == "thinking";
                    ex.output_text.add(text);
                }
            }
        }
        Some("tool-plan-delta") => {
            if let Some(text) = message
                .and_then(|m| m.get("tool_plan"))
                .and_then(Value::as_str)
            {
                ex.output_text.add(text);
            }
        }
        Some("tool-call-start" | "tool-call-delta") => {
            ex.saw_tool_use = true;
            let call = message.and_then(|m| json::object(m, "tool_calls"));
            let function = call.and_then(|c| json::object(c, "function"));
            for key in ["name", "arguments"] {
                if let Some(text) = function.and_then(|f| f.get(key)).and_then(Value::as_str) {
                    ex.output_text.add(text);
                }
            }
        }
        Some("message-end") => {
            if let Some(reason) = delta.and_then(|d| json::string(d, "finish_reason")) {
                ex.stop_reason = Some(reason);
            }
            if let Some(usage) = delta.and_then(|d| json::object(d, "usage")) {
                read_usage(ex, usage);
            }
        }
        _ => {}
    }
}

/// A whole v2 chat body; `false` if it is not one.
pub fn on_body(ex: &mut Facts, value: &Value) -> bool {
    let Some(obj) = value.as_object() else {
        return false;
    };
    let Some(message) = json::object(obj, "message") else {
        return false;
    };
    if let Some(id) = json::string(obj, "id").filter(|id| !id.is_empty()) {
        ex.message_id = Some(id);
    }
    count_message(ex, message);
    if let Some(reason) = json::string(obj, "finish_reason") {
        ex.stop_reason = Some(reason);
    }
    if let Some(usage) = json::object(obj, "usage") {
        read_usage(ex, usage);
    }
    true
}

fn count_message(ex: &mut Facts, message: &Object) {
    if let Some(Value::Array(parts)) = message.get("content") {
        for part in parts.iter().filter_map(Value::as_object) {
            for key in ["text", "thinking"] {
                if let Some(text) = part.get(key).and_then(Value::as_str) {
                    ex.saw_thinking |= key == "thinking";
                    ex.output_text.add(text);
                }
            }
        }
    }
    if let Some(text) = message.get("tool_plan").and_then(Value::as_str) {
        ex.output_text.add(text);
    }
    if let Some(Value::Array(calls)) = message.get("tool_calls") {
        for call in calls.iter().filter_map(Value::as_object) {
            ex.saw_tool_use = true;
            if let Some(function) = json::object(call, "function") {
                for key in ["name", "arguments"] {
                    if let Some(text) = function.get(key).and_then(Value::as_str) {
                        ex.output_text.add(text);
                    }
                }
            }
        }
    }
}
