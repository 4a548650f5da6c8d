//! Gemini `streamGenerateContent?alt=sse` and `generateContent`: `usageMetadata` is a
//! cumulative snapshot on each chunk (the last value of each field wins, never a sum);
//! `promptTokenCount` includes `cachedContentTokenCount`; thoughts are billed output.

pub mod reader;
pub mod tree;
pub mod usage;

use serde_json::Value;

use crate::providers::facts::Facts;

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

/// What a chunk's reading decides last, from what it and the chunks before said: a blocked
/// prompt (`promptFeedback.blockReason`) ends the response with nothing generated (Google omits
/// zero counts); the figures are final once a candidate has finished and usage was reported.
pub(crate) fn close_chunk(ex: &mut Facts, blocked: bool) {
    if blocked && ex.has_raw_usage() {
        ex.tokens.output.get_or_insert(0);
        ex.final_usage = true;
        ex.output_final = true;
    }
    if ex.stop_reason.is_some() && ex.has_raw_usage() {
        ex.final_usage = true;
        ex.output_final = ex.tokens.output.is_some();
    }
}
