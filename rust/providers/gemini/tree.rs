//! Gemini chunks and bodies read from a serde tree.

use serde_json::Value;

use super::usage::read_usage;
use super::{close_chunk, looks_like, Counts};
use crate::providers::error::read_error;
use crate::providers::facts::Facts;
use crate::scan::tree::{self as json, Object};

pub fn on_event(ex: &mut Facts, counts: &mut Counts, value: &Value) {
    match value {
        Value::Object(obj) if json::object(obj, "error").is_some() => read_error(ex, obj),
        Value::Object(obj) => read_chunk(ex, counts, obj),
        _ => {}
    }
}

/// A whole body: one response, or the JSON array a non-SSE `streamGenerateContent` returns.
pub fn on_body(ex: &mut Facts, counts: &mut Counts, value: &Value) -> bool {
    match value {
        Value::Array(items) => {
            let mut known = false;
            for item in items
                .iter()
                .filter(|v| looks_like(v) || v.get("error").is_some())
            {
                on_event(ex, counts, item);
                known = true;
            }
            known
        }
        Value::Object(obj) if json::object(obj, "error").is_some() => {
            read_error(ex, obj);
            true
        }
        Value::Object(obj) if looks_like(value) => {
            read_chunk(ex, counts, obj);
            true
        }
        _ => false,
    }
}

fn read_chunk(ex: &mut Facts, counts: &mut Counts, obj: &Object) {
    if let Some(id) = json::string(obj, "responseId") {
        ex.message_id = Some(id);
    }
    if let Some(model) = json::string(obj, "modelVersion") {
        ex.model = Some(model);
    }
    if let Some(Value::Array(candidates)) = obj.get("candidates") {
        for candidate in candidates.iter().filter_map(Value::as_object) {
            let parts = json::object(candidate, "content").and_then(|c| c.get("parts"));
            if let Some(Value::Array(parts)) = parts {
                for part in parts.iter().filter_map(Value::as_object) {
                    count_part(ex, part);
                }
            }
            if let Some(reason) = json::string(candidate, "finishReason") {
                ex.stop_reason = Some(reason);
            }
        }
    }
    if let Some(usage) = json::object(obj, "usageMetadata") {
        read_usage(ex, counts, usage);
    }
    let feedback = json::object(obj, "promptFeedback");
    let blocked = feedback
        .and_then(|f| json::string(f, "blockReason"))
        .is_some();
    close_chunk(ex, blocked);
}

fn count_part(ex: &mut Facts, part: &Object) {
    if let Some(text) = part.get("text").and_then(Value::as_str) {
        if part.get("thought").and_then(Value::as_bool) == Some(true) {
            ex.saw_thinking = true;
        }
        ex.output_text.add(text);
    }
    if let Some(call) = json::object(part, "functionCall") {
        ex.saw_tool_use = true;
        if let Some(name) = call.get("name").and_then(Value::as_str) {
            ex.output_text.add(name);
        }
        if let Some(args) = call.get("args") {
            ex.output_text.add(&args.to_string());
        }
    }
    // The thoughts' encrypted context (with function calls and thought summaries): its length
    // follows the thoughts billed, which are never streamed whole.
    if let Some(signature) = part.get("thoughtSignature").and_then(Value::as_str) {
        ex.encrypted_reasoning.add(signature);
    }
}
