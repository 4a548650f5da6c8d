//! The OpenAI usage object (Chat names; Responses passes its own): counts read from a tree
//! or in place, split into uncached input and cache reads, applied to the facts.

use serde_json::Value;

use crate::providers::facts::Facts;
use crate::scan::skim::{once, Skim};
use crate::scan::tree::{self as json, Object};

/// The counts of a usage object that the meter reads (`read_counts`), each `None` when absent
/// or `null`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct UsageCounts {
    input: Option<u64>,
    cached: Option<u64>,
    output: Option<u64>,
    reasoning: Option<u64>,
}

/// A usage object read in place, without a tree (its text is kept as the raw usage, parsed
/// only if it is the stream's last): the counts `read_counts` reads (Chat Completions names), when each is `null` or a plain
/// count and no name they are under comes twice; `None` otherwise (a value to note, a repeated
/// name, of which the tree keeps only the last), leaving the chunk to the full parse.
pub(super) fn usage_counts(skim: &mut Skim) -> Option<UsageCounts> {
    let mut c = UsageCounts::default();
    let mut seen = [false; 4];
    skim.object(|skim, key| match key {
        "prompt_tokens" => once(&mut c.input, &mut seen[0], skim.null_or_count()?),
        "completion_tokens" => once(&mut c.output, &mut seen[1], skim.null_or_count()?),
        "prompt_tokens_details" => {
            once(&mut None::<()>, &mut seen[2], Some(()))?;
            let mut seen = false;
            skim.object_or_skip(|skim, key| match key {
                "cached_tokens" => once(&mut c.cached, &mut seen, skim.null_or_count()?),
                _ => skim.skip_value(),
            })
        }
        "completion_tokens_details" => {
            once(&mut None::<()>, &mut seen[3], Some(()))?;
            let mut seen = false;
            skim.object_or_skip(|skim, key| match key {
                "reasoning_tokens" => once(&mut c.reasoning, &mut seen, skim.null_or_count()?),
                _ => skim.skip_value(),
            })
        }
        _ => skim.skip_value(),
    })?;
    Some(c)
}

/// Where an OpenAI usage object keeps its counts (Chat and Responses name them apart).
pub struct UsageKeys {
    pub input: &'static str,
    pub input_details: &'static str,
    pub output: &'static str,
    pub output_details: &'static str,
}

pub(super) const CHAT_KEYS: UsageKeys = UsageKeys {
    input: "prompt_tokens",
    input_details: "prompt_tokens_details",
    output: "completion_tokens",
    output_details: "completion_tokens_details",
};

pub(super) fn read_usage(ex: &mut Facts, usage: &Object) {
    read_usage_with(ex, usage, &CHAT_KEYS);
}

pub fn read_usage_with(ex: &mut Facts, usage: &Object, keys: &UsageKeys) {
    read_counts(ex, usage, keys);
    ex.set_raw_usage(Value::Object(usage.clone()));
}

/// The counts of a usage object, with a note for each value that is not a count.
fn read_counts(ex: &mut Facts, usage: &Object, keys: &UsageKeys) {
    let notes = &mut ex.notes;
    let input = json::count(usage, keys.input, notes);
    let details = json::object(usage, keys.input_details);
    let cached = details.and_then(|d| json::count(d, "cached_tokens", notes));
    set_input(ex, input, cached, keys);
    let notes = &mut ex.notes;
    let output = json::count(usage, keys.output, notes);
    let out_details = json::object(usage, keys.output_details);
    let reasoning = out_details.and_then(|d| json::count(d, "reasoning_tokens", notes));
    set_output(ex, output, reasoning);
}

/// Counts read without a tree (no notes: the skim reader leaves values to note to the tree).
pub(super) fn set_counts(ex: &mut Facts, counts: UsageCounts, keys: &UsageKeys) {
    set_input(ex, counts.input, counts.cached, keys);
    set_output(ex, counts.output, counts.reasoning);
}

/// The input count includes `cached_tokens`: split into uncached input and cache read.
fn set_input(ex: &mut Facts, input: Option<u64>, cached: Option<u64>, keys: &UsageKeys) {
    let Some(input) = input else {
        return;
    };
    let t = &mut ex.tokens;
    t.input = Some(input.saturating_sub(cached.unwrap_or(0)));
    t.cache_read = Some(cached.unwrap_or(0).min(input));
    if cached.unwrap_or(0) > input {
        // Inconsistent figures: the input count includes the cached ones.
        let key = keys.input;
        json::note(
            &mut ex.notes,
            format!("cached_tokens above {key}: cache reads capped at {key}"),
        );
    }
}

/// The output count (reasoning included) and its reasoning share; these are final figures.
fn set_output(ex: &mut Facts, output: Option<u64>, reasoning: Option<u64>) {
    if let Some(output) = output {
        ex.tokens.output = Some(output);
        ex.output_final = true;
    }
    if let Some(reasoning) = reasoning {
        ex.tokens.reasoning = Some(reasoning);
    }
    ex.final_usage = true;
}
