//! The Responses usage object: OpenAI's usage reader with the Responses names.

use crate::providers::facts::Facts;
use crate::providers::openai_chat::usage::{read_usage_with, UsageKeys};
use crate::scan::tree::Object;

pub(super) const RESPONSES_KEYS: UsageKeys = UsageKeys {
    input: "input_tokens",
    input_details: "input_tokens_details",
    output: "output_tokens",
    output_details: "output_tokens_details",
};

pub(super) fn read_usage(ex: &mut Facts, usage: &Object) {
    read_usage_with(ex, usage, &RESPONSES_KEYS);
}
