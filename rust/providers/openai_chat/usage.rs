//! The OpenAI usage object (Chat names; Responses passes its own): counts read from a tree
//! or in place, split into uncached input and cache reads, applied to the facts.

use serde_json::Value;

use super::billing::{self, SkimExtras};
use crate::providers::facts::Facts;
use crate::scan::skim::{once, Skim};
use crate::scan::tree::{self as json, Object};

/// The counts of a usage object that the meter reads (`read_counts`), each `None` when absent
/// or `null`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct UsageCounts {
    input: Option<u64>,
    cached: Option<u64>,
    cache_write: Option<u64>,
    output: Option<u64>,
    reasoning: Option<u64>,
    total: Option<u64>,
    audio_input: Option<u64>,
    audio_output: Option<u64>,
}

/// A usage object read in place (`read_in_place`): its counts and what it bills beyond them.
#[derive(Debug)]
pub struct Skimmed {
    counts: UsageCounts,
    extras: SkimExtras,
}

/// A usage object read in place, and where it is (`None` for one the reader declined: its own
/// tree reads it). Boxed: a chunk is moved whole, and most chunks carry none.
pub type UsageAt = (Option<Box<Skimmed>>, (usize, usize));

/// A usage object read in place, in any layout (keys in any order, unknown fields and nested
/// objects skipped): the counts `read_counts` reads under `keys`' names and the extras
/// `billing` reads. `None` for a value to note (not a count where one is read) and for a name
/// read twice (the tree keeps the last): the object's own tree reads those.
fn read_in_place(skim: &mut Skim, keys: &UsageKeys) -> Option<Skimmed> {
    let mut c = UsageCounts::default();
    let mut extras = SkimExtras::default();
    // Detail counts, and the top-level fallbacks (DeepSeek, Kimi, gateways).
    let (mut cached, mut write, mut hit, mut top_cached, mut top_write) =
        (None, None, None, None, None);
    let mut seen = [false; 8];
    skim.object(|skim, key| {
        let slot = match key {
            _ if key == keys.input => (&mut c.input, 0),
            _ if key == keys.output => (&mut c.output, 1),
            "total_tokens" => (&mut c.total, 2),
            "prompt_cache_hit_tokens" => (&mut hit, 3),
            "cached_tokens" => (&mut top_cached, 4),
            "cache_creation_input_tokens" => (&mut top_write, 5),
            _ if key == keys.input_details => {
                once(&mut None::<()>, &mut seen[6], Some(()))?;
                let mut seen = [false; 3];
                return skim.object_or_skip(|skim, key| match key {
                    "cached_tokens" => once(&mut cached, &mut seen[0], skim.null_or_count()?),
                    "cache_write_tokens" => once(&mut write, &mut seen[1], skim.null_or_count()?),
                    "audio_tokens" => once(&mut c.audio_input, &mut seen[2], skim.null_or_count()?),
                    _ => skim.skip_value(),
                });
            }
            _ if key == keys.output_details => {
                once(&mut None::<()>, &mut seen[7], Some(()))?;
                let mut seen = [false; 2];
                return skim.object_or_skip(|skim, key| match key {
                    "reasoning_tokens" => {
                        once(&mut c.reasoning, &mut seen[0], skim.null_or_count()?)
                    }
                    "audio_tokens" => {
                        once(&mut c.audio_output, &mut seen[1], skim.null_or_count()?)
                    }
                    _ => skim.skip_value(),
                });
            }
            _ => {
                return match extras.read(skim, key)? {
                    true => Some(()),
                    false => skim.skip_value(),
                }
            }
        };
        once(slot.0, &mut seen[slot.1], skim.null_or_count()?)
    })?;
    // As `read_counts`: the details first, then the top-level names.
    c.cached = cached.or(hit).or(top_cached);
    c.cache_write = write.or(top_write);
    Some(Skimmed { counts: c, extras })
}

/// A usage object: read in place, or, when `read_in_place` declines it, only where it is,
/// for its own tree; `Some(None)` for a value that is not an object.
pub fn usage_or_span(skim: &mut Skim, keys: &UsageKeys) -> Option<Option<UsageAt>> {
    if !skim.at_object() {
        return skim.skip_value().map(|()| None);
    }
    let start = skim.position();
    let read = read_in_place(skim, keys).map(Box::new);
    if read.is_none() {
        skim.resume_at(start);
        skim.skip_value()?;
    }
    Some(Some((read, (start, skim.position()))))
}

/// The own tree of a usage object the reader declined, parsed before anything is changed:
/// `None` if it does not parse (the event goes to the full parse), `Some(None)` when there is
/// no tree to make.
pub fn declined_tree(usage: &Option<UsageAt>, data: &[u8]) -> Option<Option<Object>> {
    match *usage {
        Some((None, (start, end))) => match json::parse(&data[start..end]) {
            Some(Value::Object(usage)) => Some(Some(usage)),
            _ => None,
        },
        _ => Some(None),
    }
}

/// The usage object found by `usage_or_span` by `skim` (done reading), with its
/// `declined_tree`: as `read_usage_with` reads its tree. Read in place, it is kept as text,
/// parsed only if it is the stream's last when the record is made.
pub fn apply_usage(
    ex: &mut Facts,
    usage: Option<UsageAt>,
    tree: Option<Object>,
    skim: &Skim,
    keys: &UsageKeys,
) {
    if let Some(usage) = tree {
        read_usage_owned_with(ex, usage, keys);
    } else if let Some((Some(read), span)) = usage {
        set_counts(ex, read.counts, keys);
        billing::apply(ex, read.extras.resolve(skim));
        // Text: the skim read it whole (`None` cannot happen).
        if let Some(text) = skim.text_at(span) {
            ex.set_raw_usage_text(text);
        }
    }
}

/// Where an OpenAI usage object keeps its counts (Chat and Responses name them apart).
pub struct UsageKeys {
    pub input: &'static str,
    pub input_details: &'static str,
    pub output: &'static str,
    pub output_details: &'static str,
}

pub const CHAT_KEYS: UsageKeys = UsageKeys {
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

/// [`read_usage_with`] of a usage object the caller gives up: kept, not copied.
pub fn read_usage_owned_with(ex: &mut Facts, usage: Object, keys: &UsageKeys) {
    read_counts(ex, &usage, keys);
    ex.set_raw_usage(Value::Object(usage));
}

/// The counts of a usage object, with a note for each value that is not a count, and what a
/// provider bills beyond them.
fn read_counts(ex: &mut Facts, usage: &Object, keys: &UsageKeys) {
    let notes = &mut ex.notes;
    let details = json::object(usage, keys.input_details);
    let out_details = json::object(usage, keys.output_details);
    let mut detail = |obj: Option<&Object>, key| obj.and_then(|d| json::count(d, key, notes));
    let mut c = UsageCounts {
        cached: detail(details, "cached_tokens"),
        cache_write: detail(details, "cache_write_tokens"),
        audio_input: detail(details, "audio_tokens"),
        reasoning: detail(out_details, "reasoning_tokens"),
        audio_output: detail(out_details, "audio_tokens"),
        ..UsageCounts::default()
    };
    c.input = json::count(usage, keys.input, notes);
    c.output = json::count(usage, keys.output, notes);
    c.total = json::count(usage, "total_tokens", notes);
    // DeepSeek: prompt_tokens = prompt_cache_hit_tokens + prompt_cache_miss_tokens; Kimi: a
    // top-level cached_tokens. Both inside the prompt count, as OpenAI's.
    for key in ["prompt_cache_hit_tokens", "cached_tokens"] {
        if c.cached.is_none() {
            c.cached = json::count(usage, key, notes);
        }
    }
    // Gateways in OpenRouter's shape (Vercel AI Gateway): cache writes at the top level.
    if c.cache_write.is_none() {
        c.cache_write = json::count(usage, "cache_creation_input_tokens", notes);
    }
    set_counts(ex, c, keys);
    billing::read_extras(ex, usage);
}

/// Counts read from a tree or in place (the skim reader leaves values to note to the tree).
fn set_counts(ex: &mut Facts, c: UsageCounts, keys: &UsageKeys) {
    let (reasoning_outside, cached_outside) = outside(&c);
    set_input(ex, &c, cached_outside, keys);
    set_output(ex, c.output, c.reasoning, reasoning_outside);
    if c.audio_input.is_some() {
        ex.billing.audio_input = c.audio_input;
    }
    if c.audio_output.is_some() {
        ex.billing.audio_output = c.audio_output;
    }
}

/// Whether reasoning lies outside the output count, and cache reads outside the input count,
/// decided from the reported total (OpenAI's documented rule, both inside, when the total
/// says nothing else): xAI reports total = prompt + completion + reasoning.
fn outside(c: &UsageCounts) -> (bool, bool) {
    let (Some(total), Some(input), Some(output)) = (c.total, c.input, c.output) else {
        return (false, false);
    };
    let (reasoning, cached) = (c.reasoning.unwrap_or(0), c.cached.unwrap_or(0));
    [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .find(|&(r, k)| {
            let sum = u128::from(input) + u128::from(output);
            sum + u128::from(r) * u128::from(reasoning) + u128::from(k) * u128::from(cached)
                == u128::from(total)
        })
        .unwrap_or((false, false))
}

/// The input count includes `cached_tokens` and cache writes (unless the total says the cache
/// reads are outside it): split into uncached input, cache reads and cache writes.
fn set_input(ex: &mut Facts, c: &UsageCounts, cached_outside: bool, keys: &UsageKeys) {
    let Some(input) = c.input else {
        return;
    };
    let cached = c.cached.unwrap_or(0);
    let t = &mut ex.tokens;
    if c.cache_write.is_some() {
        t.cache_creation = c.cache_write;
    }
    if cached_outside {
        t.input = Some(input.saturating_sub(c.cache_write.unwrap_or(0)));
        t.cache_read = Some(cached);
        return;
    }
    let inside = cached.saturating_add(c.cache_write.unwrap_or(0));
    t.input = Some(input.saturating_sub(inside));
    t.cache_read = Some(cached.min(input));
    if inside > input {
        // Inconsistent figures: the input count includes the cached ones.
        let key = keys.input;
        json::note(
            &mut ex.notes,
            format!("cached_tokens above {key}: cache reads capped at {key}"),
        );
    }
}

/// The output count (reasoning included, or added when the total puts it outside) and its
/// reasoning share; these are final figures.
fn set_output(ex: &mut Facts, output: Option<u64>, reasoning: Option<u64>, outside: bool) {
    if let Some(output) = output {
        let extra = if outside { reasoning.unwrap_or(0) } else { 0 };
        ex.tokens.output = json::sum(output, extra).or(Some(output));
        ex.output_final = true;
    }
    if let Some(reasoning) = reasoning {
        ex.tokens.reasoning = Some(reasoning);
    }
    ex.final_usage = true;
}

/// The usage of a speech or transcription stream (`input_tokens`, `output_tokens`, and for
/// transcription `input_token_details.audio_tokens`): a speech's output is audio.
pub(super) fn read_audio_usage(ex: &mut Facts, usage: &Object, speech: bool) {
    let notes = &mut ex.notes;
    let input = json::count(usage, "input_tokens", notes);
    let details = json::object(usage, "input_token_details");
    let audio_in = details.and_then(|d| json::count(d, "audio_tokens", notes));
    let output = json::count(usage, "output_tokens", notes);
    if input.is_some() {
        ex.tokens.input = input;
    }
    if let Some(output) = output {
        ex.tokens.output = Some(output);
        ex.output_final = true;
        if speech {
            ex.billing.audio_output = Some(output);
        }
    }
    if audio_in.is_some() {
        ex.billing.audio_input = audio_in;
    }
    ex.final_usage = true;
    ex.set_raw_usage(Value::Object(usage.clone()));
}
