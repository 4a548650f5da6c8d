//! OpenAI Responses: `response.created` ... `response.output_text.delta` ... a terminal
//! `response.completed` / `response.incomplete` / `response.failed` (usage on the response),
//! `error` events, and whole `response` bodies.

use serde_json::Value;

use crate::json::{self, Object};
use crate::openai_chat::{read_usage_with, UsageKeys};
use crate::usage::Extract;

pub fn looks_like(value: &Value) -> bool {
    let kind = value.get("type").and_then(Value::as_str);
    kind.is_some_and(|t| t.starts_with("response."))
        || value.get("object").and_then(Value::as_str) == Some("response")
        // A Responses `error` event: code and message at the top, no `error` object.
        || (kind == Some("error") && value.get("error").is_none() && value.get("code").is_some())
}

pub fn on_event(ex: &mut Extract, value: &Value) {
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
        }
    }
}

/// A whole `response` body; `false` if it is not one.
pub fn on_body(ex: &mut Extract, value: &Value) -> bool {
    match value.as_object() {
        Some(obj) if looks_like(value) => {
            read_response(ex, obj, "response.body");
            true
        }
        _ => false,
    }
}

fn read_response(ex: &mut Extract, response: &Object, kind: &str) {
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

const RESPONSES_KEYS: UsageKeys = UsageKeys {
    input: "input_tokens",
    input_details: "input_tokens_details",
    output: "output_tokens",
    output_details: "output_tokens_details",
};

fn read_usage(ex: &mut Extract, usage: &Object) {
    read_usage_with(ex, usage, &RESPONSES_KEYS);
}
