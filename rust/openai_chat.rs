//! OpenAI Chat Completions: `chat.completion.chunk` streams (usage in a final chunk with empty
//! `choices` when `stream_options.include_usage` is set; `"usage": null` elsewhere) and whole
//! `chat.completion` bodies. OpenAI-compatible endpoints that repeat usage on every chunk are
//! read the same way: the last value wins.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use crate::json::{self, Object};
use crate::usage::{read_error, Extract};

pub fn looks_like(value: &Value) -> bool {
    matches!(
        value.get("object").and_then(Value::as_str),
        Some("chat.completion.chunk" | "chat.completion")
    ) || value.get("choices").is_some_and(Value::is_array)
}

/// A chunk that carries no usage, no error and no tool call: the bulk of a stream, read into
/// borrowed fields without a JSON tree. Any other shape fails to deserialize and goes to
/// `on_event`, so both paths give the same result.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    service_tier: Option<Cow<'a, str>>,
    #[serde(borrow)]
    choices: Option<Vec<Choice<'a>>>,
    usage: Option<IgnoredAny>,
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    #[serde(borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reasoning: Option<Cow<'a, str>>,
    tool_calls: Option<IgnoredAny>,
}

/// Handles a plain content chunk; `false` leaves the event to `on_event`.
pub fn fast_path(ex: &mut Extract, data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(chunk) = serde_json::from_str::<Chunk>(text) else {
        return false;
    };
    let choices = chunk.choices.unwrap_or_default();
    let has_tools = choices
        .iter()
        .any(|c| c.delta.as_ref().is_some_and(|d| d.tool_calls.is_some()));
    if chunk.usage.is_some() || chunk.error.is_some() || has_tools {
        return false;
    }
    let own = |v: Option<Cow<str>>| v.map(Cow::into_owned);
    if let Some(id) = chunk.id {
        if ex.message_id.as_deref() != Some(&*id) {
            ex.message_id = own(Some(id));
        }
    }
    if let Some(model) = chunk.model {
        if ex.model.as_deref() != Some(&*model) {
            ex.model = own(Some(model));
        }
    }
    if let Some(tier) = chunk.service_tier {
        ex.service_tier = own(Some(tier));
    }
    for choice in choices {
        if let Some(delta) = choice.delta {
            if let Some(content) = delta.content {
                ex.output_text.add(&content);
            }
            for text in [delta.reasoning_content, delta.reasoning]
                .into_iter()
                .flatten()
            {
                ex.saw_thinking = true;
                ex.output_text.add(&text);
            }
        }
        if let Some(reason) = choice.finish_reason {
            ex.stop_reason = Some(reason.into_owned());
        }
    }
    true
}

pub fn on_event(ex: &mut Extract, value: &Value) {
    let Some(obj) = value.as_object() else {
        return;
    };
    if json::object(obj, "error").is_some() {
        read_error(ex, obj);
        return;
    }
    read_identity(ex, obj);
    if let Some(Value::Array(choices)) = obj.get("choices") {
        for choice in choices.iter().filter_map(Value::as_object) {
            if let Some(delta) = json::object(choice, "delta") {
                count_message(ex, delta);
            }
            if let Some(reason) = json::string(choice, "finish_reason") {
                ex.stop_reason = Some(reason);
            }
        }
    }
    if let Some(usage) = json::object(obj, "usage") {
        read_usage(ex, usage);
    }
}

/// A whole `chat.completion` body; `false` if it is not one.
pub fn on_body(ex: &mut Extract, value: &Value) -> bool {
    let Some(obj) = value.as_object() else {
        return false;
    };
    if json::object(obj, "error").is_some() {
        read_error(ex, obj);
        return true;
    }
    if !looks_like(value) {
        return false;
    }
    read_identity(ex, obj);
    if let Some(Value::Array(choices)) = obj.get("choices") {
        for choice in choices.iter().filter_map(Value::as_object) {
            if let Some(message) = json::object(choice, "message") {
                count_message(ex, message);
            }
            if let Some(reason) = json::string(choice, "finish_reason") {
                ex.stop_reason = Some(reason);
            }
        }
    }
    if let Some(usage) = json::object(obj, "usage") {
        read_usage(ex, usage);
    }
    true
}

fn read_identity(ex: &mut Extract, obj: &Object) {
    if let Some(id) = json::string(obj, "id") {
        ex.message_id = Some(id);
    }
    if let Some(model) = json::string(obj, "model") {
        ex.model = Some(model);
    }
    if let Some(tier) = json::string(obj, "service_tier") {
        ex.service_tier = Some(tier);
    }
}

/// A streamed `delta` or a body's `message`: content, reasoning text, tool-call arguments.
fn count_message(ex: &mut Extract, message: &Object) {
    if let Some(text) = message.get("content").and_then(Value::as_str) {
        ex.output_text.add(text);
    }
    if let Some(Value::Array(parts)) = message.get("content") {
        for part in parts.iter().filter_map(Value::as_object) {
            if let Some(text) = part.get("text").and_then(Value::as_str) {
                ex.output_text.add(text);
            }
        }
    }
    for key in ["reasoning_content", "reasoning"] {
        if let Some(text) = message.get(key).and_then(Value::as_str) {
            ex.saw_thinking = true;
            ex.output_text.add(text);
        }
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

/// Where an OpenAI usage object keeps its counts (Chat and Responses name them apart).
pub struct UsageKeys {
    pub input: &'static str,
    pub input_details: &'static str,
    pub output: &'static str,
    pub output_details: &'static str,
}

const CHAT_KEYS: UsageKeys = UsageKeys {
    input: "prompt_tokens",
    input_details: "prompt_tokens_details",
    output: "completion_tokens",
    output_details: "completion_tokens_details",
};

fn read_usage(ex: &mut Extract, usage: &Object) {
    read_usage_with(ex, usage, &CHAT_KEYS);
}

/// The input count includes `cached_tokens`: split into uncached input and cache read.
pub fn read_usage_with(ex: &mut Extract, usage: &Object, keys: &UsageKeys) {
    let notes = &mut ex.notes;
    let input = json::count(usage, keys.input, notes);
    let details = json::object(usage, keys.input_details);
    let cached = details.and_then(|d| json::count(d, "cached_tokens", notes));
    let t = &mut ex.tokens;
    if let Some(input) = input {
        t.input = Some(input.saturating_sub(cached.unwrap_or(0)));
        t.cache_read = Some(cached.unwrap_or(0).min(input));
    }
    if let Some(output) = json::count(usage, keys.output, notes) {
        t.output = Some(output);
        ex.output_final = true;
    }
    let out_details = json::object(usage, keys.output_details);
    if let Some(reasoning) = out_details.and_then(|d| json::count(d, "reasoning_tokens", notes)) {
        t.reasoning = Some(reasoning);
    }
    ex.final_usage = true;
    ex.last_usage = Some(Value::Object(usage.clone()));
}
