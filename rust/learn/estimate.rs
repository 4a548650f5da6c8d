//! The output estimate of a stream whose final output count is missing, for a parser without a
//! request body: `bounds.estimate_output` with `request=None`, step for step (the same float
//! operations in the same order, `min`/`max` keeping the first argument on a tie as Python's
//! do), so both give the same record. What it reads of the model's family tables (regular
//! expressions over the calibration key) comes from Python once per key ([`Priors`]).

use super::{
    base_tokens, sealed_tokens, Learned, MIN_SEALED_TOKENS, OUTPUT, OUTPUT_OFFSET,
    OUTPUT_STRUCTURED, OUTPUT_THINKING, OUTPUT_TOOLS, REASONING, REASONING_ENCRYPTED,
    REASONING_PER_TOKEN,
};
use crate::record::RawRecord;

/// `bounds.TEXT_SPREAD`, `MARGIN`, `SLACK`; `learned.MIN_BASE_TOKENS`, `SPREAD_SAMPLES`;
/// `families.ENCRYPTED_SPREAD`, `TOOL_CALL_RATIO`, `SUMMARIZED_THINKING_RATIO`,
/// `HIDDEN_REASONING_DEFAULT` (a test compares them with the pure twin's).
pub(crate) const TEXT_SPREAD: (f64, f64) = (0.75, 1.4);
pub(crate) const MARGIN: f64 = 0.1;
pub(crate) const SLACK: i64 = 3;
pub(crate) const MIN_BASE_TOKENS: f64 = 50.0;
pub(crate) const SPREAD_SAMPLES: usize = 5;
pub(crate) const ENCRYPTED_SPREAD: (f64, f64) = (0.6, 1.5);
pub(crate) const TOOL_CALL_RATIO: f64 = 1.1;
pub(crate) const SUMMARIZED_THINKING_RATIO: f64 = 1.0;
pub(crate) const HIDDEN_REASONING_DEFAULT: i64 = 150;
/// `families.TOOL_CALL_TOKENS` and its default; `families._SHORT_REPLY_TOKENS` and
/// `SHORT_REPLY_TOKENS`.
pub(crate) const TOOL_CALL_TOKENS: [(&str, i64); 2] = [("anthropic", 30), ("gemini", 0)];
pub(crate) const TOOL_CALL_TOKENS_DEFAULT: i64 = 10;
pub(crate) const SHORT_REPLY: [(&str, i64); 1] = [("cohere", 0)];
pub(crate) const SHORT_REPLY_DEFAULT: i64 = 1;
/// `record.ESTIMATE_REASONS`' first six, in its order: an estimate's reasons are a set of
/// these, listed in this order.
pub(crate) const REASONS: [&str; 6] = [
    "hidden_reasoning",
    "summarized_thinking",
    "tool_calls",
    "server_tools",
    "no_request",
    "truncated",
];
const HIDDEN: u8 = 1;
const SUMMARIZED: u8 = 1 << 1;
const TOOL_CALLS: u8 = 1 << 2;
pub(crate) const NO_REQUEST: u8 = 1 << 4;
const TRUNCATED: u8 = 1 << 5;

/// What the family tables say of a calibration key (`families.stream_priors`): the text
/// ratio, whether the model bills hidden reasoning (no effort asked), whether its streamed
/// thinking is a summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Priors {
    pub(crate) text_ratio: f64,
    pub(crate) hidden_reasoning: bool,
    pub(crate) summarizes_thinking: bool,
}

/// An estimate: the count, its range (`high` None: unbounded), and its reasons (bits of
/// [`REASONS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Estimate {
    pub(crate) value: i64,
    pub(crate) low: i64,
    pub(crate) high: Option<i64>,
    pub(crate) reasons: u8,
}

/// Python's `min(a, b)` and `max(a, b)` of floats: `a` unless `b` is strictly past it.
fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// The estimator's reads of one model's windows (`Estimator.ratio`, `spread`, `offset`):
/// `at` is the place of its calibration key's windows (None: no key, nothing learned).
pub(crate) struct Reads<'a> {
    pub(crate) learned: &'a Learned,
    pub(crate) at: Option<usize>,
    pub(crate) min_samples: usize,
}

impl Reads<'_> {
    fn window(&self, kind: usize, need: usize) -> Option<&super::Window> {
        let w = self.learned.window_at(self.at?, kind)?;
        (w.len() >= need).then_some(w)
    }

    /// `ratio(model, kind)`: the median, once learned.
    fn ratio(&self, kind: usize) -> Option<f64> {
        self.window(kind, self.min_samples)?.median(0.0, 0)
    }

    /// `ratio(model, kind, prior=prior)` and `offset(model, kind, prior)` (weight 1 for the
    /// kinds read here): the median with the prior counted once more.
    fn with_prior(&self, kind: usize, prior: f64) -> Option<f64> {
        self.window(kind, self.min_samples)?.median(prior, 1)
    }

    fn spread(&self, kind: usize) -> Option<(f64, f64)> {
        self.window(kind, self.min_samples.max(SPREAD_SAMPLES))?
            .spread()
    }

    /// `bounds._ratio_and_spread`.
    fn ratio_and_spread(&self, kind: usize, prior: f64, spread: (f64, f64)) -> (f64, f64, f64) {
        let Some(ratio) = self.with_prior(kind, prior) else {
            return (prior, spread.0, prior * spread.1);
        };
        match self.spread(kind) {
            None => (ratio, py_min(ratio, 1.0) * spread.0, ratio * spread.1),
            Some(learned) => (
                ratio,
                learned.0 * (1.0 - MARGIN),
                learned.1 * (1.0 + MARGIN),
            ),
        }
    }
}

fn by_provider(table: &[(&str, i64)], provider: Option<&str>, default: i64) -> i64 {
    let provider = provider.unwrap_or("");
    table
        .iter()
        .find(|(name, _)| *name == provider)
        .map_or(default, |&(_, v)| v)
}

/// `bounds.estimate_output(estimator, stats, ..., request=None, truncated, floor=output or 0,
/// encrypted)` of the raw record `r`.
pub(crate) fn estimate_output(
    reads: &Reads<'_>,
    priors: &Priors,
    r: &RawRecord,
    truncated: bool,
) -> Estimate {
    let stats = &r.output_text;
    let provider = r.provider;
    let (saw_thinking, saw_tool_use) = (r.saw_thinking, r.saw_tool_use);
    let floor = r.tokens.output.unwrap_or(0) as i64;
    let mut reasons = 0u8;
    let has_chars = [
        stats.alnum,
        stats.space,
        stats.punct(),
        stats.cjk,
        stats.other,
        stats.numbers,
    ]
    .iter()
    .any(|&n| n > 0);
    let base = if has_chars { base_tokens(stats) } else { 0.0 };

    let text_prior = priors.text_ratio;
    let learned_hidden = reads.ratio(REASONING);
    let sealed = sealed_tokens(r);
    let hidden = sealed.is_some() || priors.hidden_reasoning || learned_hidden.unwrap_or(0.0) > 0.0;
    let summarized = saw_thinking && (hidden || priors.summarizes_thinking);
    let (text, prior, mut kind) = if saw_tool_use {
        reasons |= TOOL_CALLS;
        (false, TOOL_CALL_RATIO * text_prior, OUTPUT_TOOLS)
    } else if saw_thinking {
        let ratio = if summarized && !hidden {
            SUMMARIZED_THINKING_RATIO
        } else {
            1.0
        };
        (false, ratio * text_prior, OUTPUT_THINKING)
    } else {
        (true, text_prior, OUTPUT)
    };
    if summarized {
        reasons |= SUMMARIZED;
    }
    let structured = stats.punct() >= stats.words && stats.words > 0;
    let mut category_text = text;
    if text && structured && reads.ratio(OUTPUT_STRUCTURED).is_some() {
        category_text = false;
        kind = OUTPUT_STRUCTURED;
    }
    let calibrated = reads.ratio(kind).is_some();
    let (point, low, high) = reads.ratio_and_spread(kind, prior, TEXT_SPREAD);
    let (mut value, mut lo, mut hi) = (base * point, base * low, base * high);
    if category_text && 0.0 < base && base < MIN_BASE_TOKENS {
        let short_reply = by_provider(&SHORT_REPLY, provider, SHORT_REPLY_DEFAULT);
        if let Some(offset) = reads.with_prior(OUTPUT_OFFSET, short_reply as f64) {
            value = py_max(base + offset, 1.0);
            if let Some(spread) = reads.spread(OUTPUT_OFFSET) {
                lo = py_min(lo, base + spread.0);
                hi = py_max(hi, base + spread.1);
            }
            lo = py_min(lo, value);
            hi = py_max(hi, value);
        } else if !hidden {
            value += short_reply as f64;
            hi = py_max(hi, value);
        }
    }
    if saw_tool_use && !calibrated {
        let extra = by_provider(&TOOL_CALL_TOKENS, provider, TOOL_CALL_TOKENS_DEFAULT);
        value += extra as f64;
        hi += (2 * extra) as f64;
    }
    let mut bounded = !summarized;
    if hidden && !(saw_thinking && calibrated) {
        if !saw_thinking {
            reasons |= HIDDEN;
        }
        bounded = false;
        let per_token = reads.ratio(REASONING_PER_TOKEN);
        if let Some(sealed) = sealed {
            let (point, low, high) =
                reads.ratio_and_spread(REASONING_ENCRYPTED, 1.0, ENCRYPTED_SPREAD);
            value += sealed * point;
            lo += sealed * low;
            hi += sealed * high;
            bounded = sealed >= MIN_SEALED_TOKENS && !summarized;
        } else if let Some(per_token) = per_token.filter(|_| base > 0.0) {
            let flat = reads.spread(REASONING);
            let mut hidden_tokens = per_token * base;
            if let Some(flat) = flat {
                hidden_tokens = py_min(hidden_tokens, flat.1 * (1.0 + MARGIN));
            }
            value += hidden_tokens;
            if let (Some(spread), Some(flat)) = (reads.spread(REASONING_PER_TOKEN), flat) {
                lo += py_min(spread.0 * base, flat.0) * (1.0 - MARGIN);
            }
        } else if let Some(learned_hidden) = learned_hidden {
            value += learned_hidden;
            if let Some(spread) = reads.spread(REASONING) {
                lo += spread.0 * (1.0 - MARGIN);
            }
        } else {
            value += HIDDEN_REASONING_DEFAULT as f64;
        }
    }
    if truncated {
        reasons |= TRUNCATED;
        bounded = false;
    }
    // Counts and ranges are far inside i64 (and exact as f64): the casts are Python's int().
    let top = bounded.then(|| hi.ceil() as i64 + SLACK);
    let result = (value.round_ties_even() as i64)
        .max(floor)
        .max(i64::from(base > 0.0));
    let below = i64::from(lo < 10.0 * SLACK as f64);
    let low = (lo.floor() as i64 - below).max(floor).max(0).min(result);
    Estimate {
        value: result,
        low,
        high: top.map(|top| top.max(result)),
        reasons,
    }
}
