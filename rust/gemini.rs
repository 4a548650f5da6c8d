//! Gemini `streamGenerateContent?alt=sse` and `generateContent`: `usageMetadata` is a
//! cumulative snapshot on each chunk (the last value of each field wins, never a sum);
//! `promptTokenCount` includes `cachedContentTokenCount`; thoughts are billed output.

use serde_json::Value;

use crate::json::{self, Object};
use crate::usage::{read_error, Extract};

/// The provider's own fields, kept so each snapshot can fill what an earlier one lacked.
#[derive(Debug, Default, Clone)]
pub struct GeminiCounts {
    prompt: Option<u64>,
    cached: Option<u64>,
    tool_prompt: Option<u64>,
    candidates: Option<u64>,
    thoughts: Option<u64>,
}

pub fn looks_like(value: &Value) -> bool {
    value.get("candidates").is_some() || value.get("usageMetadata").is_some()
}

pub fn on_event(ex: &mut Extract, value: &Value) {
    match value {
        Value::Object(obj) if json::object(obj, "error").is_some() => read_error(ex, obj),
        Value::Object(obj) => read_chunk(ex, obj),
        _ => {}
    }
}

/// A whole body: one response, or the JSON array a non-SSE `streamGenerateContent` returns.
pub fn on_body(ex: &mut Extract, value: &Value) -> bool {
    match value {
        Value::Array(items) => {
            let mut known = false;
            for item in items
                .iter()
                .filter(|v| looks_like(v) || v.get("error").is_some())
            {
                on_event(ex, item);
                known = true;
            }
            known
        }
        Value::Object(obj) if json::object(obj, "error").is_some() => {
            read_error(ex, obj);
            true
        }
        Value::Object(obj) if looks_like(value) => {
            read_chunk(ex, obj);
            true
        }
        _ => false,
    }
}

fn read_chunk(ex: &mut Extract, obj: &Object) {
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
        read_usage(ex, usage);
    }
    // The figures are final once a candidate has finished and usage was reported.
    if ex.stop_reason.is_some() && ex.last_usage.is_some() {
        ex.final_usage = true;
        ex.output_final = ex.tokens.output.is_some();
    }
}

fn count_part(ex: &mut Extract, part: &Object) {
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
}

fn read_usage(ex: &mut Extract, usage: &Object) {
    let notes = &mut ex.notes;
    let g = &mut ex.gemini;
    let mut take = |slot: &mut Option<u64>, key: &str| {
        if let Some(v) = json::count(usage, key, notes) {
            *slot = Some(v);
        }
    };
    take(&mut g.prompt, "promptTokenCount");
    take(&mut g.cached, "cachedContentTokenCount");
    take(&mut g.tool_prompt, "toolUsePromptTokenCount");
    take(&mut g.candidates, "candidatesTokenCount");
    take(&mut g.thoughts, "thoughtsTokenCount");
    let t = &mut ex.tokens;
    if let Some(prompt) = g.prompt {
        let cached = g.cached.unwrap_or(0).min(prompt);
        // Tool-use prompt tokens (e.g. search results fed back) are billed as input too.
        match json::sum(prompt - cached, g.tool_prompt.unwrap_or(0)) {
            Some(input) => t.input = Some(input),
            None => json::note(
                notes,
                "ignored input: prompt + tool-use prompt is not a token count".into(),
            ),
        }
        t.cache_read = Some(cached);
    }
    if g.candidates.is_some() || g.thoughts.is_some() {
        match json::sum(g.candidates.unwrap_or(0), g.thoughts.unwrap_or(0)) {
            Some(output) => t.output = Some(output),
            None => json::note(
                notes,
                "ignored output: candidates + thoughts is not a token count".into(),
            ),
        }
    }
    if g.thoughts.is_some() {
        t.reasoning = g.thoughts;
    }
    ex.set_raw_usage(Value::Object(usage.clone()));
}
