//! What the estimator learns from a complete record, and where it keeps it: the Python
//! `Estimator._observe` for a parser without a request (`samples`), and its windows of recent
//! samples per (calibration key, kind) (`Learned`), so that `finish()` on the usual stream
//! learns without a Python call; and what an estimate without a request reads of them
//! (`estimate`). The constants are the pure twin's (`estimate/learned.py`,
//! `estimate/textstats.py`; a test compares them), the arithmetic is its own, operation for
//! operation, so both give the same floats.

pub(crate) mod estimate;
pub(crate) mod names;
mod window;

use std::collections::HashMap;

use crate::record::RawRecord;
use crate::textstats::TextStats;
#[cfg_attr(not(feature = "python"), allow(unused_imports))] // the binding's
pub(crate) use estimate::{estimate_output, Estimate, Priors, Reads, NO_REQUEST, REASONS};
use names::Names;
pub(crate) use window::Window;

/// `learned.KINDS`, in its order: a window's kind is an index into it.
pub(crate) const KINDS: [&str; 11] = [
    "input",
    "output",
    "output:thinking",
    "output:tools",
    "reasoning",
    "output:offset",
    "reasoning:per_token",
    "input:offset",
    "output:structured",
    "input:tools",
    "reasoning:encrypted",
];
const OUTPUT: usize = 1;
const OUTPUT_THINKING: usize = 2;
const OUTPUT_TOOLS: usize = 3;
const REASONING: usize = 4;
const OUTPUT_OFFSET: usize = 5;
const REASONING_PER_TOKEN: usize = 6;
const OUTPUT_STRUCTURED: usize = 8;
const REASONING_ENCRYPTED: usize = 10;

/// `learned._LIMITS`, by kind.
pub(crate) const LIMITS: [(f64, f64); 11] = [
    (0.25, 4.0),
    (0.25, 4.0),
    (0.25, 20.0),
    (0.25, 20.0),
    (0.0, 1_000_000.0),
    (-50.0, 50.0),
    (0.0, 1000.0),
    (-50.0, 50.0),
    (0.25, 4.0),
    (-10_000.0, 10_000.0),
    (0.25, 4.0),
];
/// `learned._MIN_BASE` (`MIN_BASE_TOKENS` for the kinds it does not name), by kind.
pub(crate) const MIN_BASE: [f64; 11] = [
    50.0, 50.0, 10.0, 10.0, 50.0, 50.0, 50.0, 50.0, 10.0, 50.0, 50.0,
];
/// In [`REPORTS_REASONING`], spelled out (compares of known lengths, without a call).
fn reports_reasoning(provider: &str) -> bool {
    matches!(provider, "gemini" | "openai" | "openai-responses")
}

/// `learned._REPORTS_REASONING`.
pub(crate) const REPORTS_REASONING: [&str; 3] = ["gemini", "openai", "openai-responses"];
/// `learned.MIN_SEALED_TOKENS`.
pub(crate) const MIN_SEALED_TOKENS: f64 = 20.0;
/// `families.encrypted_reasoning_tokens`'s forms: (fixed characters an item, characters a
/// token) of Gemini's signatures, and of everyone else's (OpenAI's) items.
pub(crate) const SEALED_GEMINI: (u64, f64) = (66, 5.1);
pub(crate) const SEALED_OTHERS: (u64, f64) = (980, 6.5);
/// `textstats.COEFFICIENTS`, in `STAT_FIELDS` order.
pub(crate) const COEFFICIENTS: [f64; 7] = [0.788, 0.0346, 0.155, 0.784, 1.063, 0.732, 0.753];

/// `textstats.core_base_tokens`: the products summed left to right, as Python writes it.
pub(crate) fn base_tokens(s: &TextStats) -> f64 {
    let c = COEFFICIENTS;
    c[0] * s.words as f64
        + c[1] * s.alnum as f64
        + c[2] * s.space as f64
        + c[3] * s.punct() as f64
        + c[4] * s.cjk as f64
        + c[5] * s.other as f64
        + c[6] * s.numbers as f64
}

/// `min(high, max(low, value))` as Python's two calls take it (the first argument kept on a
/// tie: `_count`).
fn count(kind: usize, value: f64) -> f64 {
    let (low, high) = LIMITS[kind];
    let v = if value > low { value } else { low };
    if v < high {
        v
    } else {
        high
    }
}

/// `_ratio` / the ratio clip of `_observe`: `low` unless above it, `high` unless below it
/// (negated as Python writes it, so a NaN would clip the same way).
#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn ratio(kind: usize, value: f64) -> f64 {
    let (low, high) = LIMITS[kind];
    if !(value > low) {
        low
    } else if !(value < high) {
        high
    } else {
        value
    }
}

/// One sample: the window's kind, its value, and whether it counts as learned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    pub(crate) kind: usize,
    pub(crate) value: f64,
    pub(crate) counted: bool,
}

/// `families.encrypted_reasoning_tokens`: the hidden reasoning the encrypted items' length
/// says, None without items.
fn sealed_tokens(r: &RawRecord) -> Option<f64> {
    let (chars, items) = (r.encrypted_reasoning.chars, r.encrypted_reasoning.items);
    if items == 0 {
        return None;
    }
    let (fixed, per_token) = if r.provider == Some("gemini") {
        SEALED_GEMINI
    } else {
        SEALED_OTHERS
    };
    // Python's ints: the difference may be negative (then 0.0).
    let tokens = (chars as i128 - i128::from(fixed) * i128::from(items)) as f64 / per_token;
    Some(if tokens > 0.0 { tokens } else { 0.0 })
}

/// What `Estimator._observe` learns from a complete record made without a request (no input
/// stats, nothing estimated, no server tools offered, no output schema), in its order; at
/// most four. The caller checks the status and those conditions.
#[allow(clippy::neg_cmp_op_on_partial_ord)] // `not base < min_base`, as Python writes it
pub(crate) fn samples(r: &RawRecord) -> ([Sample; 4], usize) {
    let mut out = [Sample {
        kind: 0,
        value: 0.0,
        counted: false,
    }; 4];
    let mut n = 0;
    let mut push = |kind: usize, value: f64, counted: bool| {
        out[n] = Sample {
            kind,
            value,
            counted,
        };
        n += 1;
    };
    let t = &r.tokens;
    let actual = t.output.unwrap_or(0);
    if actual == 0 || r.billing.iterations.len() > 1 {
        return (out, 0);
    }
    let stats = &r.output_text;
    let thinking = r.saw_thinking;
    let hidden = if thinking {
        0
    } else {
        t.reasoning.unwrap_or(0)
    };
    let server_tools = t.web_search.unwrap_or(0) != 0 || t.web_fetch.unwrap_or(0) != 0;
    let kind = if r.saw_tool_use || server_tools {
        OUTPUT_TOOLS
    } else if thinking {
        OUTPUT_THINKING
    } else if stats.punct() >= stats.words && stats.words > 0 {
        OUTPUT_STRUCTURED
    } else {
        OUTPUT
    };
    // Counts are at most 10^12 (the core's bound): exact as i64 and as f64.
    let billed = actual as i64 - hidden as i64;
    let mut base = None;
    if billed > 0 {
        let b = base_tokens(stats);
        base = Some(b);
        if !(b < MIN_BASE[kind]) {
            push(kind, ratio(kind, billed as f64 / b), true);
        } else if kind == OUTPUT && 0.0 < b {
            // float(round(billed - base)): ties to even, and an int has no -0.0.
            let offset = (billed as f64 - b).round_ties_even() + 0.0;
            let (low, high) = LIMITS[OUTPUT_OFFSET];
            let offset = if offset < low {
                low
            } else if offset > high {
                high
            } else {
                offset
            };
            push(OUTPUT_OFFSET, offset, false);
        }
    }
    let reports = r.provider.is_some_and(reports_reasoning);
    if !thinking && (t.reasoning.is_some() || reports) {
        push(REASONING, count(REASONING, hidden as f64), false);
        let b = base.unwrap_or_else(|| base_tokens(stats));
        if b >= 5.0 {
            let per_token = count(REASONING_PER_TOKEN, hidden as f64 / b);
            push(REASONING_PER_TOKEN, per_token, false);
        }
    }
    // The reported reasoning against what the encrypted items say (read only where there is
    // reasoning to learn against).
    if let Some(reasoning) = t.reasoning.filter(|&n| n != 0) {
        if let Some(sealed) = sealed_tokens(r).filter(|&s| s >= MIN_SEALED_TOKENS) {
            push(
                REASONING_ENCRYPTED,
                ratio(REASONING_ENCRYPTED, reasoning as f64 / sealed),
                false,
            );
        }
    }
    (out, n)
}

/// The windows of one calibration key, by kind.
type Kinds = [Option<Window>; KINDS.len()];

/// One calibration key's windows, and its family's priors once an estimate asked for them.
#[derive(Debug)]
struct Slot {
    key: Box<str>,
    kinds: Kinds,
    priors: Option<Priors>,
}

/// An estimator's learned state: a window per (calibration key, kind), how many fair samples
/// were learned in all, and the calibration keys of the model names seen (worked out in
/// Python, remembered here as the place of the key's windows: one lookup a record).
#[derive(Debug)]
pub(crate) struct Learned {
    size: usize,
    /// Each calibration key's windows, and where they are in `slots`.
    slots: Vec<Slot>,
    places: HashMap<Box<str>, usize, Names>,
    pub(crate) learned: u64,
    /// A model name's key, as its place in `slots` (None: the name has no key).
    keys: HashMap<Box<str>, Option<usize>, Names>,
}

/// How many model names' keys are remembered (as `calibration_key`'s cache).
const MAX_KEYS: usize = 4096;

impl Learned {
    pub(crate) fn new(size: usize) -> Self {
        Learned {
            size: size.max(1),
            slots: Vec::new(),
            places: HashMap::default(),
            learned: 0,
            keys: HashMap::default(),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The place of `key`'s windows, made when missing.
    fn place(&mut self, key: &str) -> usize {
        if let Some(&at) = self.places.get(key) {
            return at;
        }
        self.slots.push(Slot {
            key: key.into(),
            kinds: Default::default(),
            priors: None,
        });
        self.places.insert(key.into(), self.slots.len() - 1);
        self.slots.len() - 1
    }

    /// `model`'s calibration key (`None`: it has none) remembered; the place of its windows.
    pub(crate) fn remember_key(&mut self, model: &str, key: Option<&str>) -> Option<usize> {
        let at = key.map(|key| self.place(key));
        if self.keys.len() < MAX_KEYS {
            self.keys.insert(model.into(), at);
        }
        at
    }

    /// The place of `model`'s key's windows as remembered (`Some(None)`: it has no key);
    /// None when not remembered.
    pub(crate) fn place_of(&self, model: &str) -> Option<Option<usize>> {
        self.keys.get(model).copied()
    }

    /// The calibration key at `at`, and its family's priors once set.
    pub(crate) fn slot(&self, at: usize) -> (&str, Option<Priors>) {
        let slot = &self.slots[at];
        (&slot.key, slot.priors)
    }

    pub(crate) fn set_priors(&mut self, at: usize, priors: Priors) {
        self.slots[at].priors = Some(priors);
    }

    pub(crate) fn window_at(&self, at: usize, kind: usize) -> Option<&Window> {
        self.slots[at].kinds[kind].as_ref()
    }

    fn add_at(&mut self, at: usize, kind: usize, value: f64, counted: bool) {
        let size = self.size;
        let slot = &mut self.slots[at].kinds[kind];
        slot.get_or_insert_with(|| Window::new(size, &[]))
            .add(value);
        self.learned += u64::from(counted);
    }

    /// `_add_all`: each sample into its window, made when missing.
    pub(crate) fn add(&mut self, key: &str, kind: usize, value: f64, counted: bool) {
        let at = self.place(key);
        self.add_at(at, kind, value, counted);
    }

    /// What `samples` gives, under the remembered key of `model`; false when `model`'s key is
    /// not remembered (nothing added then).
    pub(crate) fn add_for_model(&mut self, model: &str, samples: &[Sample]) -> bool {
        let Some(&at) = self.keys.get(model) else {
            return false;
        };
        if let Some(at) = at {
            for s in samples {
                self.add_at(at, s.kind, s.value, s.counted);
            }
        }
        true
    }

    pub(crate) fn window(&self, key: &str, kind: usize) -> Option<&Window> {
        let at = *self.places.get(key)?;
        self.window_at(at, kind)
    }

    /// The window of (key, kind) replaced by one of `values` (the last `size` of them).
    pub(crate) fn put(&mut self, key: &str, kind: usize, values: &[f64]) {
        let at = self.place(key);
        self.slots[at].kinds[kind] = Some(Window::new(self.size, values));
    }

    /// Every window, with its values in arrival order.
    pub(crate) fn windows(&self) -> Vec<(&str, &'static str, Vec<f64>)> {
        let mut out = Vec::new();
        for slot in &self.slots {
            for (kind, window) in slot.kinds.iter().enumerate() {
                if let Some(w) = window {
                    out.push((&*slot.key, KINDS[kind], w.recent().collect()));
                }
            }
        }
        out
    }
}

/// A kind's index in [`KINDS`].
pub(crate) fn kind_index(kind: &str) -> Option<usize> {
    KINDS.iter().position(|k| *k == kind)
}

#[cfg(test)]
mod tests {
    use super::{reports_reasoning, REPORTS_REASONING};

    #[test]
    fn reports_reasoning_is_the_list() {
        let names = [
            "anthropic",
            "openai",
            "openai-responses",
            "gemini",
            "cohere",
            "ollama",
            "bedrock",
            "",
            "openai-",
        ];
        for name in names {
            assert_eq!(reports_reasoning(name), REPORTS_REASONING.contains(&name));
        }
    }
}
