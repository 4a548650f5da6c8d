//! One folder per provider, the same file names in each: `tree.rs` reads an event or a body
//! from a serde tree (the exact fallback), `usage.rs` turns the provider's usage object into
//! token buckets, `reader.rs` (where there is one) reads events in place without a tree. They
//! write into [`facts::Facts`], a leaf; the meter calls them and they never call the meter.

pub mod anthropic;
pub mod bedrock;
pub mod cohere;
pub mod error;
pub mod facts;
pub mod gemini;
pub mod ollama;
pub mod openai_chat;
pub mod openai_responses;

use serde_json::Value;

use facts::Provider;

/// What a provider's readers keep between the events of one stream (beside the facts).
#[derive(Debug, Default)]
pub struct State {
    pub gemini: gemini::Counts,
    pub openai_chat: openai_chat::State,
}

/// Which provider wrote this event or body (`Auto` when it cannot tell yet).
pub fn detect(value: &Value) -> Provider {
    if let Value::Array(items) = value {
        // Gemini's non-SSE streamGenerateContent answers with an array of chunks.
        return items.first().map_or(Provider::Auto, detect);
    }
    if anthropic::looks_like(value) {
        Provider::Anthropic
    } else if openai_responses::looks_like(value) {
        Provider::OpenAiResponses
    } else if openai_chat::looks_like(value) {
        Provider::OpenAiChat
    } else if gemini::looks_like(value) {
        Provider::Gemini
    } else if cohere::looks_like(value) {
        Provider::Cohere
    } else if ollama::looks_like(value) {
        Provider::Ollama
    } else if bedrock::looks_like(value) {
        Provider::Bedrock
    } else {
        Provider::Auto
    }
}
