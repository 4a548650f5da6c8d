//! What the provider readers report, and the only thing they write: a leaf type that knows no
//! reader and no meter. The meter makes the record from it at the end.

use serde_json::Value;

use crate::record::{Billing, BodyKind, Framing, Sealed, Status, Tokens};
use crate::textstats::TextStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Auto,
    Anthropic,
    OpenAiChat,
    OpenAiResponses,
    Gemini,
    Cohere,
    Ollama,
    Bedrock,
}

impl Provider {
    pub fn parse(name: &str) -> Option<Provider> {
        match name {
            "auto" => Some(Provider::Auto),
            "anthropic" => Some(Provider::Anthropic),
            "openai" => Some(Provider::OpenAiChat),
            "openai-responses" => Some(Provider::OpenAiResponses),
            "gemini" => Some(Provider::Gemini),
            "cohere" => Some(Provider::Cohere),
            "ollama" => Some(Provider::Ollama),
            "bedrock" => Some(Provider::Bedrock),
            _ => None,
        }
    }

    pub fn name(self) -> Option<&'static str> {
        match self {
            Provider::Auto => None,
            Provider::Anthropic => Some("anthropic"),
            Provider::OpenAiChat => Some("openai"),
            Provider::OpenAiResponses => Some("openai-responses"),
            Provider::Gemini => Some("gemini"),
            Provider::Cohere => Some("cohere"),
            Provider::Ollama => Some("ollama"),
            Provider::Bedrock => Some("bedrock"),
        }
    }
}

/// What the provider reported so far.
#[derive(Debug)]
pub struct Facts {
    pub provider: Provider,
    pub tokens: Tokens,
    pub output_final: bool,
    /// Final figures seen (Anthropic `message_delta`, a whole response body).
    pub final_usage: bool,
    pub model: Option<String>,
    pub message_id: Option<String>,
    pub stop_reason: Option<String>,
    pub service_tier: Option<String>,
    pub speed: Option<String>,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    /// The last usage object, as a tree; see `last_usage_text`.
    pub last_usage: Option<Value>,
    /// Or, when the skim reader read it, its JSON text, parsed only when the record is made
    /// (a stream's earlier usage objects never need a tree). At most one of the two is set.
    pub last_usage_text: Option<String>,
    pub output_text: TextStats,
    pub saw_thinking: bool,
    pub saw_tool_use: bool,
    pub encrypted_reasoning: Sealed,
    pub events: u64,
    pub notes: Vec<String>,
    /// Events whose data is not valid JSON (the usage they held, if any, is lost).
    pub invalid_events: u64,
    /// What was billed beyond the token buckets.
    pub billing: Billing,
    /// Set by a framing other than SSE or one JSON body.
    pub framing: Option<Framing>,
}

impl Facts {
    pub fn new(provider: Provider) -> Self {
        Facts {
            provider,
            tokens: Tokens::default(),
            output_final: false,
            final_usage: false,
            model: None,
            message_id: None,
            stop_reason: None,
            service_tier: None,
            speed: None,
            error_type: None,
            error_message: None,
            last_usage: None,
            last_usage_text: None,
            output_text: TextStats::default(),
            saw_thinking: false,
            saw_tool_use: false,
            encrypted_reasoning: Sealed::default(),
            events: 0,
            notes: Vec::new(),
            invalid_events: 0,
            billing: Billing::default(),
            framing: None,
        }
    }

    /// The record's status once the body, read as `body_kind`, is over.
    pub(crate) fn status(&self, body_kind: BodyKind) -> Status {
        if body_kind == BodyKind::NotSse && self.error_type.is_none() {
            Status::NotSse
        } else if self.error_type.is_some() {
            Status::Error
        } else if self.final_usage {
            Status::Complete
        } else if self.tokens.any() {
            Status::Partial
        } else {
            Status::NoUsage
        }
    }

    /// The last usage object, as a tree.
    pub fn set_raw_usage(&mut self, usage: Value) {
        self.last_usage = Some(usage);
        self.last_usage_text = None;
    }

    /// A usage object was kept (as a tree or as text).
    pub fn has_raw_usage(&self) -> bool {
        self.last_usage.is_some() || self.last_usage_text.is_some()
    }

    /// The last usage object, as JSON text that the skim reader checked.
    pub fn set_raw_usage_text(&mut self, text: &str) {
        self.last_usage = None;
        // One buffer for a stream that repeats its usage on every chunk.
        let kept = self.last_usage_text.get_or_insert_with(String::new);
        kept.clear();
        kept.push_str(text);
    }

    pub fn set_error(&mut self, error_type: &str, message: String) {
        self.error_type = Some(error_type.to_owned());
        self.error_message = Some(message);
    }
}

/// `slot` set to `text`, in the string it holds: a field that every chunk repeats (Gemini's
/// model and response id) costs a compare, not an allocation and a free a chunk.
pub fn set_text(slot: &mut Option<String>, text: &str) {
    match slot {
        Some(kept) if kept == text => {}
        Some(kept) => {
            kept.clear();
            kept.push_str(text);
        }
        None => *slot = Some(text.to_owned()),
    }
}
