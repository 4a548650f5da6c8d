//! Responses events and bodies read from a serde tree.

use serde_json::Value;

use super::looks_like;
use super::usage::read_usage;
use crate::providers::facts::Facts;
use crate::scan::tree::{self as json, Object};

pub fn on_event(ex: &mut Facts, value: &Value) {
    let Some(obj) = value.as_object() else {
        return;
    };
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
    let delta = || obj.get("delta").and_then(Value::as_str);
    match kind {
        "response.output_text.delta" | "response.refusal.delta" => {
            if let Some(text) = delta() {
                ex.output_text.add(text);
            }
        }
        "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
            ex.saw_thinking = true;
            if let Some(text) = delta() {
                ex.output_text.add(text);
            }
        }
        "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
            ex.saw_tool_use = true;
            if let Some(text) = delta() {
                ex.output_text.add(text);
            }
        }
        "error" => {
            let code = json::string(obj, "code").or_else(|| json::string(obj, "type"));
            let message = json::string(obj, "message");
            ex.set_error(
                code.as_deref().unwrap_or("error"),
                message.unwrap_or_else(|| "the stream reported an error".to_owned()),
            );
        }
        _ => {
            if let Some(response) = json::object(obj, "response") {
                read_response(ex, response, kind);
            }
            if kind == "response.output_item.done" {
                if let Some(item) = json::object(obj, "item") {
                    read_encrypted(ex, item);
                }
            }
        }
    }
}

/// A whole `response` body; `false` if it is not one.
pub fn on_body(ex: &mut Facts, value: &Value) -> bool {
    match value.as_object() {
        Some(obj) if looks_like(value) => {
            read_response(ex, obj, "response.body");
            read_output(ex, obj);
            true
        }
        _ => false,
    }
}

/// The text of a whole body's `output` items, as a stream's deltas would give it: message
/// text and refusals, reasoning summaries and text (thinking), function call arguments and
/// custom tool input (tool calls). A stream's final `response` repeats what its deltas gave,
/// so only a body is read this way.
fn read_output(ex: &mut Facts, response: &Object) {
    let Some(Value::Array(output)) = response.get("output") else {
        return;
    };
    for item in output.iter().filter_map(Value::as_object) {
        match item.get("type").and_then(Value::as_str).unwrap_or("") {
            "message" => {
                for part in objects(item.get("content")) {
                    let text = match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => part.get("text"),
                        Some("refusal") => part.get("refusal"),
                        _ => None,
                    };
                    if let Some(text) = text.and_then(Value::as_str).filter(|t| !t.is_empty()) {
                        ex.output_text.add(text);
                    }
                }
            }
            "reasoning" => {
                read_encrypted(ex, item);
                for part in objects(item.get("summary")).chain(objects(item.get("content"))) {
                    let text = part.get("text").and_then(Value::as_str);
                    if let Some(text) = text.filter(|t| !t.is_empty()) {
                        ex.saw_thinking = true;
                        ex.output_text.add(text);
                    }
                }
            }
            kind @ ("function_call" | "custom_tool_call") => {
                ex.saw_tool_use = true;
                let key = if kind == "function_call" {
                    "arguments"
                } else {
                    "input"
                };
                if let Some(text) = item
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    ex.output_text.add(text);
                }
            }
            _ => {}
        }
    }
}

/// A reasoning item's `encrypted_content`: its length follows the hidden reasoning tokens,
/// which the estimate reads from it.
fn read_encrypted(ex: &mut Facts, item: &Object) {
    if item.get("type").and_then(Value::as_str) == Some("reasoning") {
        if let Some(sealed) = item.get("encrypted_content").and_then(Value::as_str) {
            ex.encrypted_reasoning.add(sealed);
        }
    }
}

fn objects(value: Option<&Value>) -> impl Iterator<Item = &Object> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

fn read_response(ex: &mut Facts, response: &Object, kind: &str) {
    if let Some(id) = json::string(response, "id") {
        ex.message_id = Some(id);
    }
    if let Some(model) = json::string(response, "model") {
        ex.model = Some(model);
    }
    if let Some(tier) = json::string(response, "service_tier") {
        ex.service_tier = Some(tier);
    }
    let reason =
        json::object(response, "incomplete_details").and_then(|d| json::string(d, "reason"));
    // `in_progress` / `queued` on response.created are not a stop.
    let status = json::string(response, "status")
        .filter(|s| !matches!(s.as_str(), "in_progress" | "queued"));
    if let Some(reason) = reason.or(status) {
        ex.stop_reason = Some(reason);
    }
    if kind == "response.failed" || json::object(response, "error").is_some() {
        let error = json::object(response, "error");
        let code = error.and_then(|e| json::string(e, "code"));
        let message = error.and_then(|e| json::string(e, "message"));
        ex.set_error(
            code.as_deref().unwrap_or("response_failed"),
            message.unwrap_or_else(|| "the response failed".to_owned()),
        );
    }
    if let Some(usage) = json::object(response, "usage") {
        read_usage(ex, usage);
    }
}
