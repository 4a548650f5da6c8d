//! The Cohere usage object: `billed_units` are what is billed (`tokens` only when those are
//! missing: the model's own counts, preamble included).

use serde_json::Value;

use crate::providers::facts::Facts;
use crate::scan::tree::{self as json, Object};

pub(super) fn read_usage(ex: &mut Facts, usage: &Object) {
    let counts = json::object(usage, "billed_units").or_else(|| json::object(usage, "tokens"));
    if let Some(counts) = counts {
        let notes = &mut ex.notes;
        let input = json::count(counts, "input_tokens", notes);
        let output = json::count(counts, "output_tokens", notes);
        if input.is_some() {
            ex.tokens.input = input;
        }
        if output.is_some() {
            ex.tokens.output = output;
            ex.output_final = true;
        }
    }
    ex.final_usage = true;
    ex.set_raw_usage(Value::Object(usage.clone()));
}
