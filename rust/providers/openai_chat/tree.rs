//! Chat chunks and bodies read from a serde tree: the exact fallback for what the reader
//! declines, and the oracle in tests.

use serde_json::Value;

use super::looks_like;
use super::usage::{read_audio_usage, read_usage};
use crate::providers::error::read_error;
use crate::providers::facts::Facts;
use crate::scan::tree::{self as json, Object};

pub fn on_event(ex: &mut Facts, value: &Value) {
    let Some(obj) = value.as_object() else {
        return;
    };
    if let Some(kind) = json::string(obj, "type").filter(|k| super::is_audio_event(k)) {
        return on_audio_event(ex, obj, &kind);
    }
    if json::object(obj, "error").is_some() {
        // Usage in an error chunk is usage (OpenRouter sends both in one chunk).
        read_error(ex, obj);
        read_chunk_usage(ex, obj);
        return;
    }
    read_identity(ex, obj);
    if let Some(Value::Array(choices)) = obj.get("choices") {
        for choice in choices.iter().filter_map(Value::as_object) {
            match json::object(choice, "delta") {
                Some(delta) => count_message(ex, delta),
                // A legacy completion's text (vLLM, OpenAI's /v1/completions); beside a delta
                // it repeats the delta's text (Together sends both): not counted twice.
                None => count_legacy_text(ex, choice),
            }
            if let Some(reason) = json::string(choice, "finish_reason") {
                ex.stop_reason = Some(reason);
            }
        }
    }
    read_chunk_usage(ex, obj);
}

/// Speech (`speech.audio.delta` / `.done`) and transcription (`transcript.text.delta` /
/// `.done`) streams: the usage on the `done` event.
fn on_audio_event(ex: &mut Facts, obj: &Object, kind: &str) {
    if kind == "transcript.text.delta" {
        if let Some(text) = obj.get("delta").and_then(Value::as_str) {
            ex.output_text.add(text);
        }
    }
    let speech = kind == "speech.audio.done";
    if speech || kind == "transcript.text.done" {
        if let Some(usage) = json::object(obj, "usage") {
            read_audio_usage(ex, usage, speech);
        }
    }
}

/// A chunk's usage: at the top level, else where compatible servers put it (Groq
/// `x_groq.usage`, Moonshot `choices[i].usage`).
fn read_chunk_usage(ex: &mut Facts, obj: &Object) {
    if let Some(usage) = json::object(obj, "usage") {
        read_usage(ex, usage);
    } else if let Some(usage) = json::object(obj, "x_groq").and_then(|x| json::object(x, "usage")) {
        read_usage(ex, usage);
    } else if let Some(Value::Array(choices)) = obj.get("choices") {
        let usage = choices
            .iter()
            .filter_map(Value::as_object)
            .find_map(|choice| json::object(choice, "usage"));
        if let Some(usage) = usage {
            read_usage(ex, usage);
        }
    }
}

/// A whole `chat.completion` body; `false` if it is not one.
pub fn on_body(ex: &mut Facts, value: &Value) -> bool {
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
            match json::object(choice, "message") {
                Some(message) => count_message(ex, message),
                // A legacy completion (`text_completion`: vLLM, OpenAI's /v1/completions).
                None => count_legacy_text(ex, choice),
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

/// The id, model and tier; an empty one never replaces a named one (Azure's filter chunks
/// say `"model":""`).
fn read_identity(ex: &mut Facts, obj: &Object) {
    let named = |key| json::string(obj, key).filter(|v| !v.is_empty());
    if let Some(id) = named("id") {
        ex.message_id = Some(id);
    }
    if let Some(model) = named("model") {
        ex.model = Some(model);
    }
    if let Some(tier) = named("service_tier") {
        ex.service_tier = Some(tier);
    }
}

/// A streamed `delta` or a body's `message`: content (a string, or an array of text and
/// Mistral thinking parts), reasoning text, tool-call arguments, an audio reply's transcript.
/// A choice's `text`, where it has no message or delta: a legacy completion's reply.
fn count_legacy_text(ex: &mut Facts, choice: &Object) {
    if let Some(text) = choice.get("text").and_then(Value::as_str) {
        ex.output_text.add(text);
    }
}

fn count_message(ex: &mut Facts, message: &Object) {
    match message.get("content") {
        Some(Value::String(text)) => ex.output_text.add(text),
        Some(Value::Array(parts)) => {
            for part in parts.iter().filter_map(Value::as_object) {
                count_part(ex, part);
            }
        }
        _ => {}
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
    let audio = json::object(message, "audio");
    if let Some(text) = audio
        .and_then(|a| a.get("transcript"))
        .and_then(Value::as_str)
    {
        ex.output_text.add(text);
    }
}

/// One part of a content array: its `text`, or a Mistral thinking part's text (`{"type":
/// "thinking", "thinking": [{"type": "text", "text": ...}]}`, or the thinking as a string).
fn count_part(ex: &mut Facts, part: &Object) {
    if let Some(text) = part.get("text").and_then(Value::as_str) {
        ex.output_text.add(text);
    }
    if part.get("type").and_then(Value::as_str) != Some("thinking") {
        return;
    }
    match part.get("thinking") {
        Some(Value::String(text)) => {
            ex.saw_thinking = true;
            ex.output_text.add(text);
        }
        Some(Value::Array(inner)) => {
            ex.saw_thinking = true;
            for text in inner
                .iter()
                .filter_map(Value::as_object)
                .filter_map(|p| p.get("text").and_then(Value::as_str))
            {
                ex.output_text.add(text);
            }
        }
        _ => {}
    }
}
