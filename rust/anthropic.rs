//! Anthropic Messages: streams (`message_start` ... `message_delta` ... `message_stop`) and
//! whole response bodies. Usage counts are cumulative: the last value of each field wins.

use serde_json::Value;

use crate::anthropic_events::{self, DeltaKind};
use crate::anthropic_skim;
use crate::json::{self, Object};
use crate::usage::{read_error, Extract, Provider};

const EVENT_TYPES: [&str; 9] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
    "message",
];

pub fn looks_like(value: &Value) -> bool {
    let t = value.get("type").and_then(Value::as_str);
    // An error object alone is not enough: other providers use `{"error": ...}` too.
    matches!(t, Some(t) if EVENT_TYPES.contains(&t))
        && (t != Some("error") || value.get("error").is_some_and(Value::is_object))
        && (t != Some("message") || value.get("role").is_some())
}

/// Handles the events that need no JSON tree; `false` leaves the event to `on_event`.
pub fn fast_path(ex: &mut Extract, data: &[u8]) -> bool {
    if data.starts_with(br#"{"type":"content_block_delta""#) {
        if let Some(kind) = anthropic_events::anthropic_delta(data, &mut ex.output_text) {
            ex.provider = Provider::Anthropic;
            ex.saw_thinking |= kind == DeltaKind::Thinking;
            ex.saw_tool_use |= kind == DeltaKind::ToolInput;
            return true;
        }
    }
    // Any other event, or a delta laid out otherwise (white space, other key order).
    if anthropic_skim::read(ex, data) {
        return true;
    }
    data.starts_with(br#"{"type":"ping"}"#) || data.starts_with(br#"{"type": "ping"}"#)
}

fn count_delta(
    ex: &mut Extract,
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

pub fn on_event(ex: &mut Extract, event_type: &[u8], value: &Value) {
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
pub fn on_body(ex: &mut Extract, value: &Value) -> bool {
    let Some(obj) = value.as_object() else {
        return false;
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("message") => {
            read_message(ex, obj, true);
            if let Some(Value::Array(blocks)) = obj.get("content") {
                for block in blocks.iter().filter_map(Value::as_object) {
                    count_block(ex, block);
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
fn read_message(ex: &mut Extract, message: &Object, is_final: bool) {
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
fn count_block(ex: &mut Extract, block: &Object) {
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

/// What the meter reads from an Anthropic usage object. Read from a tree
/// ([`UsageFields::from_object`]) or, without one, by the skim reader; applied to the record by
/// [`apply_usage`] either way.
#[derive(Debug, Default)]
pub struct UsageFields {
    pub input: Option<u64>,
    pub cache_creation: Option<u64>,
    pub cache_read: Option<u64>,
    pub output: Option<u64>,
    pub cache_creation_5m: Option<u64>,
    pub cache_creation_1h: Option<u64>,
    pub web_search: Option<u64>,
    pub web_fetch: Option<u64>,
    pub reasoning: Option<u64>,
    pub service_tier: Option<String>,
    pub speed: Option<String>,
}

impl UsageFields {
    /// The fields of a usage tree; a value that is not a token count is ignored with a note.
    pub fn from_object(usage: &Object, notes: &mut Vec<String>) -> Self {
        let mut count = |obj: &Object, key: &str| json::count(obj, key, notes);
        // In this order: the notes come out in it.
        let mut f = UsageFields {
            input: count(usage, "input_tokens"),
            cache_creation: count(usage, "cache_creation_input_tokens"),
            cache_read: count(usage, "cache_read_input_tokens"),
            output: count(usage, "output_tokens"),
            ..UsageFields::default()
        };
        if let Some(split) = json::object(usage, "cache_creation") {
            f.cache_creation_5m = count(split, "ephemeral_5m_input_tokens");
            f.cache_creation_1h = count(split, "ephemeral_1h_input_tokens");
        }
        if let Some(tools) = json::object(usage, "server_tool_use") {
            f.web_search = count(tools, "web_search_requests");
            f.web_fetch = count(tools, "web_fetch_requests");
        }
        if let Some(details) = json::object(usage, "output_tokens_details") {
            f.reasoning = count(details, "thinking_tokens");
        }
        f.service_tier = json::string(usage, "service_tier");
        f.speed = json::string(usage, "speed");
        f
    }
}

/// A usage object (cumulative counts: each field present replaces the last); it becomes the
/// raw usage.
pub fn read_usage(ex: &mut Extract, usage: Object, is_final: bool) {
    let fields = UsageFields::from_object(&usage, &mut ex.notes);
    apply_usage(ex, fields, is_final);
    ex.set_raw_usage(Value::Object(usage));
}

/// Applies a usage object's fields: each one present replaces the last.
pub fn apply_usage(ex: &mut Extract, f: UsageFields, is_final: bool) {
    let t = &mut ex.tokens;
    let fields = [
        (&mut t.input, f.input),
        (&mut t.cache_creation, f.cache_creation),
        (&mut t.cache_read, f.cache_read),
        (&mut t.output, f.output),
        (&mut t.cache_creation_5m, f.cache_creation_5m),
        (&mut t.cache_creation_1h, f.cache_creation_1h),
        (&mut t.web_search, f.web_search),
        (&mut t.web_fetch, f.web_fetch),
        (&mut t.reasoning, f.reasoning),
    ];
    for (slot, value) in fields {
        if value.is_some() {
            *slot = value;
        }
    }
    if f.service_tier.is_some() {
        ex.service_tier = f.service_tier;
    }
    if f.speed.is_some() {
        ex.speed = f.speed;
    }
    if is_final {
        ex.final_usage = true;
        ex.output_final |= f.output.is_some();
    }
}

/// Bedrock's own counts on `message_stop`, used where the Anthropic fields are missing.
fn read_bedrock_metrics(ex: &mut Extract, metrics: &Object) {
    let notes = &mut ex.notes;
    let t = &mut ex.tokens;
    let mut fill = |slot: &mut Option<u64>, key: &str| {
        if slot.is_none() {
            *slot = json::count(metrics, key, notes);
        }
    };
    fill(&mut t.input, "inputTokenCount");
    fill(&mut t.cache_read, "cacheReadInputTokenCount");
    fill(&mut t.cache_creation, "cacheWriteInputTokenCount");
    if !ex.output_final {
        if let Some(out) = json::count(metrics, "outputTokenCount", notes) {
            t.output = Some(out);
            ex.output_final = true;
        }
    }
    ex.final_usage |= ex.output_final;
}
