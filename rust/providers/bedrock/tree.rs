//! Bedrock event-stream messages and Converse bodies read from a serde tree.

use serde_json::Value;

use super::usage::read_usage;
use super::{base64_decode, reader};
use crate::framing::aws_eventstream::Message;
use crate::providers::anthropic;
use crate::providers::facts::Facts;
use crate::scan::tree::{self as json, Object};

/// One message of the event stream.
pub fn on_message(ex: &mut Facts, msg: &Message) {
    ex.events += 1;
    match msg.message_type.unwrap_or("event") {
        "exception" => {
            let payload = json::parse(msg.payload);
            let message = payload
                .as_ref()
                .and_then(|v| v.get("message"))
                .and_then(Value::as_str);
            let message = message
                .unwrap_or("the provider reported an exception")
                .to_owned();
            ex.set_error(msg.exception_type.unwrap_or("exception"), message);
        }
        "error" => {
            let message = msg
                .error_message
                .unwrap_or("the provider reported an error");
            ex.set_error(msg.error_code.unwrap_or("error"), message.to_owned());
        }
        _ => {
            let event_type = msg.event_type.unwrap_or("");
            if reader::read_event(ex, event_type, msg.payload).is_some() {
                return;
            }
            let Some(value) = json::parse(msg.payload) else {
                ex.invalid_events += 1;
                return;
            };
            on_event(ex, event_type, &value);
        }
    }
}

/// The ConverseStream events a model's own invoke chunk can carry as its single key.
const CONVERSE_EVENTS: [&str; 4] = [
    "contentBlockStart",
    "contentBlockDelta",
    "messageStop",
    "metadata",
];

pub(crate) fn on_event(ex: &mut Facts, event_type: &str, value: &Value) {
    let Some(obj) = value.as_object() else {
        return;
    };
    match event_type {
        // InvokeModelWithResponseStream: the model's own event, base64 in `bytes`.
        "chunk" => {
            let inner = obj.get("bytes").and_then(Value::as_str);
            let inner = inner.and_then(|b| base64_decode(b.as_bytes()));
            match inner.as_deref().and_then(json::parse) {
                Some(inner) if anthropic::looks_like(&inner) => {
                    anthropic::tree::on_event(ex, b"", &inner);
                }
                Some(inner) => on_model_chunk(ex, &inner),
                None => ex.invalid_events += 1,
            }
        }
        "contentBlockStart" => {
            let start = json::object(obj, "start");
            if let Some(tool) = start.and_then(|s| json::object(s, "toolUse")) {
                ex.saw_tool_use = true;
                if let Some(name) = tool.get("name").and_then(Value::as_str) {
                    ex.output_text.add(name);
                }
            }
        }
        "contentBlockDelta" => {
            if let Some(delta) = json::object(obj, "delta") {
                count_delta(ex, delta);
            }
        }
        "messageStop" => {
            if let Some(reason) = json::string(obj, "stopReason") {
                ex.stop_reason = Some(reason);
            }
        }
        "metadata" => {
            if let Some(usage) = json::object(obj, "usage") {
                read_usage(ex, usage);
            }
        }
        _ => {}
    }
}

/// A chunk of a model other than Claude: its own event, read as far as its shape is known.
fn on_model_chunk(ex: &mut Facts, inner: &Value) {
    // Other models (Amazon Nova) wrap one Converse-shaped event per chunk.
    for name in CONVERSE_EVENTS {
        if let Some(event) = inner.get(name) {
            on_event(ex, name, event);
        }
    }
    // Amazon Titan Text streams `outputText`, and names its stop
    // `completionReason` (null until the end).
    if let Some(text) = inner.get("outputText").and_then(Value::as_str) {
        ex.output_text.add(text);
    }
    if let Some(reason) = inner
        .as_object()
        .and_then(|o| json::string(o, "completionReason"))
    {
        ex.stop_reason = Some(reason);
    }
    let metrics = inner.get("amazon-bedrock-invocationMetrics");
    if let Some(metrics) = metrics.and_then(Value::as_object) {
        anthropic::usage::read_bedrock_metrics(ex, metrics);
    }
}

fn count_delta(ex: &mut Facts, delta: &Object) {
    if let Some(text) = delta.get("text").and_then(Value::as_str) {
        ex.output_text.add(text);
    }
    if let Some(input) = json::object(delta, "toolUse").and_then(|t| t.get("input")) {
        ex.saw_tool_use = true;
        if let Some(text) = input.as_str() {
            ex.output_text.add(text);
        }
    }
    if let Some(reasoning) = json::object(delta, "reasoningContent") {
        ex.saw_thinking = true;
        if let Some(text) = reasoning.get("text").and_then(Value::as_str) {
            ex.output_text.add(text);
        }
    }
}

/// A whole Converse body; `false` if it is not one.
pub fn on_body(ex: &mut Facts, value: &Value) -> bool {
    let Some(obj) = value.as_object() else {
        return false;
    };
    if !super::looks_like(value) {
        // An AWS error body: `{"message"}` (the type travels in the x-amzn-ErrorType header).
        let message = obj.get("message").or_else(|| obj.get("Message"));
        let Some(message) = message.and_then(Value::as_str) else {
            return false;
        };
        let kind = json::string(obj, "__type").unwrap_or_else(|| "error".to_owned());
        ex.set_error(&kind, message.to_owned());
        return true;
    }
    let message = json::object(obj, "output").and_then(|o| json::object(o, "message"));
    if let Some(Value::Array(parts)) = message.and_then(|m| m.get("content")) {
        for part in parts.iter().filter_map(Value::as_object) {
            if let Some(text) = part.get("text").and_then(Value::as_str) {
                ex.output_text.add(text);
            }
            let reasoning = json::object(part, "reasoningContent")
                .and_then(|r| json::object(r, "reasoningText"));
            if let Some(text) = reasoning
                .and_then(|r| r.get("text"))
                .and_then(Value::as_str)
            {
                ex.saw_thinking = true;
                ex.output_text.add(text);
            }
            if let Some(tool) = json::object(part, "toolUse") {
                ex.saw_tool_use = true;
                if let Some(name) = tool.get("name").and_then(Value::as_str) {
                    ex.output_text.add(name);
                }
            }
        }
    }
    if let Some(reason) = json::string(obj, "stopReason") {
        ex.stop_reason = Some(reason);
    }
    if let Some(usage) = json::object(obj, "usage") {
        read_usage(ex, usage);
    }
    true
}
