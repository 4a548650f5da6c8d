//! Gemini `streamGenerateContent?alt=sse` and `generateContent`: `usageMetadata` is a
//! cumulative snapshot on each chunk (the last value of each field wins, never a sum);
//! `promptTokenCount` includes `cachedContentTokenCount`; thoughts are billed output.

pub mod tree;
pub mod usage;

use serde_json::Value;

/// The provider's own fields, kept so each snapshot can fill what an earlier one lacked.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub(super) prompt: Option<u64>,
    pub(super) cached: Option<u64>,
    pub(super) tool_prompt: Option<u64>,
    pub(super) candidates: Option<u64>,
    pub(super) thoughts: Option<u64>,
}

pub fn looks_like(value: &Value) -> bool {
    value.get("candidates").is_some() || value.get("usageMetadata").is_some()
}
