//! Ollama chunks read from a serde tree.

use serde_json::{Map, Value};

use crate::providers::error::read_error;
use crate::providers::facts::Facts;
use crate::scan::tree::{self as json, Object};

/// The counts and timings of a final chunk, kept as its raw usage.
const USAGE_KEYS: [&str; 6] = [
    "prompt_eval_count",
    "eval_count",
    "total_duration",
    "load_duration",
    "prompt_eval_duration",
    "eval_duration",
];

pub fn on_event(ex: &mut Facts, value: &Value) {
    let Some(obj) = value.as_object() else {
        return;
    };
    match obj.get("error") {
        Some(Value::String(message)) => return ex.set_error("error", message.clone()),
        Some(Value::Object(_)) => return read_error(ex, obj),
        _ => {}
    }
    if let Some(model) = json::string(obj, "model").filter(|m| !m.is_empty()) {
        ex.model = Some(model);
    }
    count_text(ex, obj);
    if let Some(message) = json::object(obj, "message") {
        count_text(ex, message);
        if let Some(Value::Array(calls)) = message.get("tool_calls") {
            ex.saw_tool_use |= !calls.is_empty();
            for call in calls.iter().filter_map(Value::as_object) {
                let function = json::object(call, "function");
                if let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str) {
                    ex.output_text.add(name);
                }
            }
        }
    }
    if obj.get("done") == Some(&Value::Bool(true)) {
        read_done(ex, obj);
    }
}

/// A whole body: one final chunk.
pub fn on_body(ex: &mut Facts, value: &Value) -> bool {
    if !super::looks_like(value) && value.get("error").is_none() {
        return false;
    }
    on_event(ex, value);
    true
}

/// Chat `message.content` / `message.thinking`, generate `response` / `thinking`.
fn count_text(ex: &mut Facts, obj: &Object) {
    for key in ["content", "response", "thinking"] {
        if let Some(text) = obj.get(key).and_then(Value::as_str) {
            ex.saw_thinking |= key == "thinking" && !text.is_empty();
            ex.output_text.add(text);
        }
    }
}

fn read_done(ex: &mut Facts, obj: &Object) {
    if let Some(reason) = json::string(obj, "done_reason") {
        ex.stop_reason = Some(reason);
    }
    let notes = &mut ex.notes;
    let input = json::count(obj, "prompt_eval_count", notes);
    let output = json::count(obj, "eval_count", notes);
    if input.is_some() {
        ex.tokens.input = input;
    }
    if output.is_some() {
        ex.tokens.output = output;
        ex.output_final = true;
    }
    ex.final_usage = true;
    let usage: Map<String, Value> = USAGE_KEYS
        .iter()
        .filter_map(|&key| Some((key.to_owned(), obj.get(key)?.clone())))
        .collect();
    ex.set_raw_usage(Value::Object(usage));
}
