//! The Gemini `usageMetadata` object: a cumulative snapshot, kept so that each one can fill
//! what an earlier one lacked; prompt includes cached, thoughts are billed output.

use serde_json::Value;

use super::Counts;
use crate::providers::facts::{set_text, Facts};
use crate::scan::tree::{self as json, Object};

pub(super) fn read_usage(ex: &mut Facts, g: &mut Counts, usage: &Object) {
    let notes = &mut ex.notes;
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
    set_tokens(ex, g);
    let traffic = json::string(usage, "trafficType");
    let service_tier = json::string(usage, "serviceTier");
    if let Some(tier) = tier(traffic.as_deref(), service_tier.as_deref()) {
        set_text(&mut ex.service_tier, tier);
    }
    // The audio shares, from the per-modality breakdowns.
    if let Some(n) = modality_count(usage, "promptTokensDetails", "AUDIO", &mut ex.notes) {
        ex.billing.audio_input = Some(n);
    }
    if let Some(n) = modality_count(usage, "candidatesTokensDetails", "AUDIO", &mut ex.notes) {
        ex.billing.audio_output = Some(n);
    }
    ex.set_raw_usage(Value::Object(usage.clone()));
}

/// The record's token buckets from the snapshots' counts so far (each field the last that
/// gave it): input is the prompt less its cached part plus the tool-use prompt, output the
/// candidates plus the thoughts.
pub(super) fn set_tokens(ex: &mut Facts, g: &Counts) {
    let (t, notes) = (&mut ex.tokens, &mut ex.notes);
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
}

/// Vertex `trafficType` (which quota was used, priced apart) in the record's names, else the
/// Gemini API's `serviceTier` (each where it is a string).
pub(super) fn tier<'a>(traffic: Option<&'a str>, service_tier: Option<&'a str>) -> Option<&'a str> {
    let traffic = traffic.and_then(|t| match t {
        "TRAFFIC_TYPE_UNSPECIFIED" | "" => None,
        "ON_DEMAND" => Some("on_demand"),
        "ON_DEMAND_FLEX" => Some("flex"),
        "ON_DEMAND_PRIORITY" => Some("priority"),
        "PROVISIONED_THROUGHPUT" => Some("provisioned"),
        _ => Some(t),
    });
    traffic.or_else(|| service_tier.filter(|t| !t.is_empty()))
}

/// The `tokenCount` of one modality in a list of `{modality, tokenCount}` (summed if listed
/// twice), `None` when the list does not name it.
fn modality_count(
    usage: &Object,
    key: &str,
    modality: &str,
    notes: &mut Vec<String>,
) -> Option<u64> {
    let Some(Value::Array(items)) = usage.get(key) else {
        return None;
    };
    let mut total = None;
    for item in items.iter().filter_map(Value::as_object) {
        if item.get("modality").and_then(Value::as_str) == Some(modality) {
            total = add_modality(total, json::count(item, "tokenCount", notes));
        }
    }
    total
}

/// A modality's total so far with one more listing's count added (a missing or null count
/// adds 0; past `MAX_COUNT`, the total stops there).
pub(super) fn add_modality(total: Option<u64>, count: Option<u64>) -> Option<u64> {
    Some(json::sum(total.unwrap_or(0), count.unwrap_or(0)).unwrap_or(json::MAX_COUNT))
}
