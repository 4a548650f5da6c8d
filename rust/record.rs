//! The raw usage of one request, before estimation (done in Python, shared by both backends;
//! the binding estimates a stream without a request body itself, as Python would: `learn`).

use crate::textstats::TextStats;

/// Encrypted reasoning a stream carried (Responses `encrypted_content`, asked for with
/// `include`; Gemini's `thoughtSignature`): its characters and items. The hidden reasoning's
/// estimate is read from it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub chars: u64,
    pub items: u64,
}

impl Sealed {
    /// One item's encrypted text (an empty one is no item), counted in characters as the
    /// pure twin's `len()` counts them.
    pub fn add(&mut self, text: &str) {
        if !text.is_empty() {
            self.chars += text.chars().count() as u64;
            self.items += 1;
        }
    }
}

/// Token buckets, disjoint, in the order the Python record lists them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub input: Option<u64>,
    pub cache_creation: Option<u64>,
    pub cache_creation_5m: Option<u64>,
    pub cache_creation_1h: Option<u64>,
    pub cache_read: Option<u64>,
    pub output: Option<u64>,
    pub reasoning: Option<u64>,
    pub web_search: Option<u64>,
    pub web_fetch: Option<u64>,
}

impl Tokens {
    /// Any token count proper was reported (server-tool request counts aside), as
    /// `record.TOKEN_COUNT_FIELDS` says in Python.
    pub fn any(&self) -> bool {
        [
            self.input,
            self.cache_creation,
            self.cache_creation_5m,
            self.cache_creation_1h,
            self.cache_read,
            self.output,
            self.reasoning,
        ]
        .iter()
        .any(Option::is_some)
    }
}

/// One billed pass of several in one response (Anthropic `usage.iterations`), in the
/// record's buckets; `model` None is the record's model.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Iteration {
    pub kind: Option<String>,
    pub model: Option<String>,
    pub tokens: Tokens,
    pub audio_input: Option<u64>,
    pub audio_output: Option<u64>,
}

/// What was billed beyond the token buckets (the record's second-round fields).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Billing {
    /// The audio shares of input and output (subsets of them).
    pub audio_input: Option<u64>,
    pub audio_output: Option<u64>,
    pub iterations: Vec<Iteration>,
    /// A charge the provider reported, as the decimal text of USD (never computed).
    pub provider_cost: Option<String>,
    pub inference_geo: Option<String>,
}

/// What was read: `sse`, `json`, `json-array`, `ndjson` or `aws-eventstream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Sse,
    Json,
    JsonArray,
    Ndjson,
    AwsEventStream,
}

impl Framing {
    pub fn as_str(self) -> &'static str {
        match self {
            Framing::Sse => "sse",
            Framing::Json => "json",
            Framing::JsonArray => "json-array",
            Framing::Ndjson => "ndjson",
            Framing::AwsEventStream => "aws-eventstream",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Complete,
    Partial,
    NoUsage,
    Error,
    NotSse,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Complete => "complete",
            Status::Partial => "partial",
            Status::NoUsage => "no_usage",
            Status::Error => "error",
            Status::NotSse => "not_sse",
        }
    }
}

/// How the body was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    EventStream,
    Json,
    NotSse,
}

impl BodyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::EventStream => "sse",
            BodyKind::Json => "json",
            BodyKind::NotSse => "not_sse",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RawRecord {
    pub status: Status,
    pub body_kind: BodyKind,
    pub provider: Option<&'static str>,
    pub tokens: Tokens,
    /// The output count is the provider's final figure (not a `message_start` placeholder).
    pub output_final: bool,
    pub model: Option<String>,
    pub message_id: Option<String>,
    pub stop_reason: Option<String>,
    pub service_tier: Option<String>,
    pub speed: Option<String>,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    /// The provider's last usage object, as a tree (None while `raw_usage_text` holds it).
    pub raw_usage: Option<serde_json::Value>,
    /// Or as the JSON text the skim reader checked, left unparsed by
    /// [`crate::usage::UsageCore::finish_keeping_text`] for a reader that converts the text
    /// itself. At most one of the two is set.
    pub raw_usage_text: Option<String>,
    /// Visible output text (text, thinking, tool input JSON), counted.
    pub output_text: TextStats,
    pub saw_thinking: bool,
    pub saw_tool_use: bool,
    pub encrypted_reasoning: Sealed,
    pub events: u64,
    pub notes: Vec<String>,
    pub billing: Billing,
    /// None for a body that is neither (`not_sse`).
    pub framing: Option<Framing>,
}

impl RawRecord {
    /// Parses `raw_usage_text` into `raw_usage` (a text that does not parse leaves none).
    pub fn parse_usage_text(&mut self) {
        if let Some(text) = self.raw_usage_text.take() {
            self.raw_usage = serde_json::from_str(&text).ok();
        }
    }
}
