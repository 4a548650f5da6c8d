//! OpenAI Chat Completions: `chat.completion.chunk` streams (usage in a final chunk with empty
//! `choices` when `stream_options.include_usage` is set; `"usage": null` elsewhere) and whole
//! `chat.completion` bodies. OpenAI-compatible endpoints that repeat usage on every chunk are
//! read the same way: the last value wins.

mod billing;
pub mod reader;
pub mod tree;
pub mod usage;

use serde_json::Value;

/// What the readers keep between the chunks of one stream.
#[derive(Debug, Default)]
pub struct State {
    pub prefix: Option<reader::Prefix>,
    /// A chunk has named the role (`delta.role`).
    pub named_role: bool,
}

pub fn looks_like(value: &Value) -> bool {
    matches!(
        value.get("object").and_then(Value::as_str),
        Some("chat.completion.chunk" | "chat.completion")
    ) || value.get("choices").is_some_and(Value::is_array)
        || value
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(is_audio_event)
}

/// The events of OpenAI's speech and transcription streams (`stream_format: "sse"`).
pub fn is_audio_event(kind: &str) -> bool {
    kind.starts_with("speech.audio.") || kind.starts_with("transcript.text.")
}
