//! The Converse usage object: `inputTokens` without the cache reads and writes, which are
//! their own counts (`totalTokens` = input + output + cache reads + cache writes); when the
//! total says the cache counts are inside `inputTokens`, they are taken out of it.

use serde_json::Value;

use crate::providers::facts::Facts;
use crate::scan::tree::{self as json, Object};

pub(super) fn read_usage(ex: &mut Facts, usage: &Object) {
    let notes = &mut ex.notes;
    let input = json::count(usage, "inputTokens", notes);
    let output = json::count(usage, "outputTokens", notes);
    let total = json::count(usage, "totalTokens", notes);
    let mut cache = |keys: [&str; 2]| {
        let first = json::count(usage, keys[0], notes);
        first.or_else(|| json::count(usage, keys[1], notes))
    };
    let read = cache(["cacheReadInputTokens", "cacheReadInputTokenCount"]);
    let write = cache(["cacheWriteInputTokens", "cacheWriteInputTokenCount"]);
    let t = &mut ex.tokens;
    if let Some(input) = input {
        let cached = read.unwrap_or(0).saturating_add(write.unwrap_or(0));
        let inside = cached > 0
            && total.is_some_and(|total| Some(total) == json::sum(input, output.unwrap_or(0)));
        t.input = Some(if inside {
            input.saturating_sub(cached)
        } else {
            input
        });
    }
    if read.is_some() {
        t.cache_read = read;
    }
    if write.is_some() {
        t.cache_creation = write;
    }
    if output.is_some() {
        t.output = output;
        ex.output_final = true;
    }
    ex.final_usage = true;
    ex.set_raw_usage(Value::Object(usage.clone()));
}
