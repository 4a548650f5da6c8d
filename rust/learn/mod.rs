//! What the estimator learns from a complete record, and where it keeps it: the Python
//! `Estimator._observe` for a parser without a request (`samples`), and its windows of recent
//! samples per (calibration key, kind) (`Learned`), so that `finish()` on the usual stream
//! learns without a Python call. The constants are the pure twin's (`estimate/learned.py`,
//! `estimate/textstats.py`; a test compares them), the arithmetic is its own, operation for
//! operation, so both give the same floats.

mod window;

use std::collections::HashMap;

use crate::record::RawRecord;
use crate::textstats::TextStats;
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
/// `learned._REPORTS_REASONING`.
pub(crate) const REPORTS_REASONING: [&str; 3] = ["gemini", "openai", "openai-responses"];
/// `textstats.COEFFICIENTS`, in `STAT_FIELDS` order.
pub(crate) const COEFFICIENTS: [f64; 7] = [0.788, 0.0346, 0.155, 0.784, 1.063, 0.732, 0.753];

/// `textstats.core_base_tokens`: the products summed left to right, as Python writes it.
pub(crate) fn base_tokens(s: &TextStats) -> f64 {
    let c = COEFFICIENTS;
    c[0] * s.words as f64
        + c[1] * s.alnum as f64
        + c[2] * s.space as f64
        + c[3] * s.punct as f64
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

/// What `Estimator._observe` learns from a complete record made without a request (no input
/// stats, nothing estimated, no server tools offered, no output schema) and without encrypted
/// reasoning, in its order; at most three. The caller checks the status and those conditions.
#[allow(clippy::neg_cmp_op_on_partial_ord)] // `not base < min_base`, as Python writes it
pub(crate) fn samples(r: &RawRecord) -> ([Sample; 3], usize) {
    let mut out = [Sample {
        kind: 0,
        value: 0.0,
        counted: false,
    }; 3];
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
    } else if stats.punct >= stats.words && stats.words > 0 {
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
    let reports = r.provider.is_some_and(|p| REPORTS_REASONING.contains(&p));
    if !thinking && (t.reasoning.is_some() || reports) {
        push(REASONING, count(REASONING, hidden as f64), false);
        let b = base.unwrap_or_else(|| base_tokens(stats));
        if b >= 5.0 {
            let per_token = count(REASONING_PER_TOKEN, hidden as f64 / b);
            push(REASONING_PER_TOKEN, per_token, false);
        }
    }
    (out, n)
}

/// The windows of one calibration key, by kind.
type Kinds = [Option<Window>; KINDS.len()];

/// An estimator's learned state: a window per (calibration key, kind), how many fair samples
/// were learned in all, and the calibration keys of the model names seen (worked out in
/// Python, remembered here).
#[derive(Debug)]
pub(crate) struct Learned {
    size: usize,
    windows: HashMap<Box<str>, Kinds>,
    pub(crate) learned: u64,
    keys: HashMap<Box<str>, Option<Box<str>>>,
}

/// How many model names' keys are remembered (as `calibration_key`'s cache).
const MAX_KEYS: usize = 4096;

impl Learned {
    pub(crate) fn new(size: usize) -> Self {
        Learned {
            size: size.max(1),
            windows: HashMap::new(),
            learned: 0,
            keys: HashMap::new(),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn remember_key(&mut self, model: &str, key: Option<&str>) {
        if self.keys.len() < MAX_KEYS {
            self.keys.insert(model.into(), key.map(Into::into));
        }
    }

    fn kinds<'a>(windows: &'a mut HashMap<Box<str>, Kinds>, key: &str) -> &'a mut Kinds {
        if !windows.contains_key(key) {
            windows.insert(key.into(), Default::default());
        }
        windows.get_mut(key).expect("inserted above")
    }

    /// `_add_all`: each sample into its window, made when missing.
    pub(crate) fn add(&mut self, key: &str, kind: usize, value: f64, counted: bool) {
        let size = self.size;
        let slot = &mut Self::kinds(&mut self.windows, key)[kind];
        slot.get_or_insert_with(|| Window::new(size, &[]))
            .add(value);
        self.learned += u64::from(counted);
    }

    /// What `samples` gives, under the remembered key of `model`; false when `model`'s key is
    /// not remembered (nothing added then).
    pub(crate) fn add_for_model(&mut self, model: &str, samples: &[Sample]) -> bool {
        let Some(key) = self.keys.get(model) else {
            return false;
        };
        if let Some(key) = key {
            let kinds = Self::kinds(&mut self.windows, key);
            for s in samples {
                let window = kinds[s.kind].get_or_insert_with(|| Window::new(self.size, &[]));
                window.add(s.value);
                self.learned += u64::from(s.counted);
            }
        }
        true
    }

    pub(crate) fn window(&self, key: &str, kind: usize) -> Option<&Window> {
        self.windows.get(key).and_then(|kinds| kinds[kind].as_ref())
    }

    /// The window of (key, kind) replaced by one of `values` (the last `size` of them).
    pub(crate) fn put(&mut self, key: &str, kind: usize, values: &[f64]) {
        let size = self.size;
        Self::kinds(&mut self.windows, key)[kind] = Some(Window::new(size, values));
    }

    /// Every window, with its values in arrival order.
    pub(crate) fn windows(&self) -> Vec<(&str, &'static str, Vec<f64>)> {
        let mut out = Vec::new();
        for (key, kinds) in &self.windows {
            for (kind, window) in kinds.iter().enumerate() {
                if let Some(w) = window {
                    out.push((&**key, KINDS[kind], w.recent().collect()));
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
