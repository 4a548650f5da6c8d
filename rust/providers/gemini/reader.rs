//! Gemini chunks read in place by the skim reader, as `tree::on_event` reads their tree: the
//! candidates' part texts (counted in place), the finish reason, the usage snapshot (kept as
//! text), the model and the response id. Every chunk of a Gemini stream carries its usage, so
//! without this each went through the serde tree and a copy of its usage object.
//!
//! A function call's name is counted as a text; its arguments as the tree counts them, as
//! serde_json's compact text of them (keys sorted, numbers as it writes them): that value alone
//! goes through serde_json, not the chunk.
//!
//! Declined, for the tree to read: an error, escapes in a name the record keeps, a field read
//! twice (the tree keeps the last), a count to note, more texts than `MAX_TEXTS`; under `Auto`,
//! a chunk with a field another provider's test looks at (`type`, `object`, `choices`).

use super::usage::{add_modality, set_tokens, tier};
use super::{close_chunk, Counts};
use crate::providers::facts::{set_text, Facts, Provider};
use crate::record::Sealed;
use crate::scan::skim::{once, Skim};
use crate::scan::strings::count_string;
use crate::scan::tree;

/// The texts one chunk may hold (its parts' texts and function calls across candidates); more
/// are declined.
const MAX_TEXTS: usize = 16;

/// A text of a chunk, counted once the chunk is known to be read whole.
#[derive(Clone, Copy)]
enum Text {
    /// A string, from its body's start.
    String(usize),
    /// A function call's arguments: any value, from its span.
    Args((usize, usize)),
}

/// A slot not yet filled (`Chunk::n_texts` says which are).
impl Default for Text {
    fn default() -> Self {
        Text::String(0)
    }
}

/// A usage snapshot read in place: the counts as `read_usage` takes them, and where it is.
#[derive(Default)]
struct Snapshot<'a> {
    counts: Counts,
    traffic: Option<&'a str>,
    service_tier: Option<&'a str>,
    audio_input: Option<u64>,
    audio_output: Option<u64>,
    span: (usize, usize),
}

/// What a chunk says, read whole before anything is applied.
#[derive(Default)]
struct Chunk<'a> {
    response_id: Option<&'a str>,
    model: Option<&'a str>,
    /// The texts to count, in the tree's order (candidates, then parts; in a part its text,
    /// then its function call's name and arguments).
    texts: [Text; MAX_TEXTS],
    n_texts: usize,
    /// A part holds a function call.
    tool_use: bool,
    /// A part with text is a thought.
    thinking: bool,
    signatures: Sealed,
    finish_reason: Option<&'a str>,
    usage: Option<Snapshot<'a>>,
    blocked: bool,
    /// Has `candidates` or `usageMetadata` (what `looks_like` asks).
    gemini: bool,
    /// Has a field that another provider's test reads.
    other: bool,
}

/// The chunk in `data` read and applied as `tree::on_event` would; `None` (nothing changed)
/// where the tree must read it.
pub fn fast_path(ex: &mut Facts, counts: &mut Counts, data: &[u8]) -> Option<()> {
    let mut skim = Skim::new(data);
    let chunk = read_chunk(&mut skim)?;
    if !skim.at_end() || (ex.provider == Provider::Auto && (chunk.other || !chunk.gemini)) {
        return None;
    }
    let mut stats = ex.output_text;
    for &text in &chunk.texts[..chunk.n_texts] {
        match text {
            Text::String(start) => count_string(data, start, &mut stats).map(drop)?,
            Text::Args(span) => {
                stats.add(&tree::parse(skim.text_at(span)?.as_bytes())?.to_string())
            }
        }
    }
    let usage_text = match &chunk.usage {
        Some(usage) => Some(skim.text_at(usage.span)?),
        None => None,
    };
    ex.provider = Provider::Gemini;
    if let Some(id) = chunk.response_id {
        set_text(&mut ex.message_id, id);
    }
    if let Some(model) = chunk.model {
        set_text(&mut ex.model, model);
    }
    ex.output_text = stats;
    ex.saw_thinking |= chunk.thinking;
    ex.saw_tool_use |= chunk.tool_use;
    ex.encrypted_reasoning.chars += chunk.signatures.chars;
    ex.encrypted_reasoning.items += chunk.signatures.items;
    if let Some(reason) = chunk.finish_reason {
        set_text(&mut ex.stop_reason, reason);
    }
    if let (Some(usage), Some(text)) = (chunk.usage, usage_text) {
        apply_usage(ex, counts, usage, text);
    }
    close_chunk(ex, chunk.blocked);
    Some(())
}

/// Whether `data` is an object whose first field only a Gemini chunk has. Under `Auto` such a
/// chunk goes to this reader first: the other readers would each skim it whole to decline it
/// (none takes a chunk this reader takes: that has no `type`, `object` or `choices`).
pub fn opens_as_gemini(data: &[u8]) -> bool {
    const NAMES: [&[u8]; 5] = [
        b"candidates\"",
        b"usageMetadata\"",
        b"promptFeedback\"",
        b"modelVersion\"",
        b"responseId\"",
    ];
    let blank = |b: &[u8]| b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let Some(object) = data.get(blank(data)..).and_then(|b| b.strip_prefix(b"{")) else {
        return false;
    };
    let name = object[blank(object)..]
        .strip_prefix(b"\"")
        .unwrap_or_default();
    NAMES.iter().any(|n| name.starts_with(n))
}

/// As `usage::read_usage` applies a snapshot (nothing to note: the reader declined those).
fn apply_usage(ex: &mut Facts, g: &mut Counts, usage: Snapshot, text: &str) {
    let c = usage.counts;
    for (slot, value) in [
        (&mut g.prompt, c.prompt),
        (&mut g.cached, c.cached),
        (&mut g.tool_prompt, c.tool_prompt),
        (&mut g.candidates, c.candidates),
        (&mut g.thoughts, c.thoughts),
    ] {
        if value.is_some() {
            *slot = value;
        }
    }
    set_tokens(ex, g);
    if let Some(tier) = tier(usage.traffic, usage.service_tier) {
        set_text(&mut ex.service_tier, tier);
    }
    if usage.audio_input.is_some() {
        ex.billing.audio_input = usage.audio_input;
    }
    if usage.audio_output.is_some() {
        ex.billing.audio_output = usage.audio_output;
    }
    ex.set_raw_usage_text(text);
}

fn read_chunk<'a>(skim: &mut Skim<'a>) -> Option<Chunk<'a>> {
    let mut c = Chunk::default();
    let mut seen = [false; 5];
    skim.object(|skim, key| match key {
        "responseId" => once(&mut c.response_id, &mut seen[0], skim.plain_or_skip()?),
        "modelVersion" => once(&mut c.model, &mut seen[1], skim.plain_or_skip()?),
        "candidates" => {
            c.gemini = true;
            once(&mut None::<()>, &mut seen[2], Some(()))?;
            skim.array_or_skip(|skim| read_candidate(skim, &mut c))
        }
        "usageMetadata" => {
            c.gemini = true;
            let usage = match skim.at_object() {
                true => Some(read_usage(skim)?),
                false => skim.skip_value().map(|()| None)?,
            };
            once(&mut c.usage, &mut seen[3], usage)
        }
        "promptFeedback" => {
            let mut reason = None;
            once(&mut None::<()>, &mut seen[4], Some(()))?;
            let mut once_reason = false;
            skim.object_or_skip(|skim, key| match key {
                "blockReason" => once(&mut reason, &mut once_reason, skim.plain_or_skip()?),
                _ => skim.skip_value(),
            })?;
            c.blocked = reason.is_some();
            Some(())
        }
        "error" => None,
        _ => {
            c.other |= matches!(key, "type" | "object" | "choices");
            skim.skip_value()
        }
    })?;
    Some(c)
}

/// One candidate: its content's part texts and its finish reason (the last candidate's that
/// gives one is the chunk's, as the tree sets it candidate after candidate).
fn read_candidate<'a>(skim: &mut Skim<'a>, c: &mut Chunk<'a>) -> Option<()> {
    if !skim.at_object() {
        return skim.skip_value();
    }
    let (mut seen, mut reason) = ([false; 2], None);
    skim.object(|skim, key| match key {
        "content" => {
            once(&mut None::<()>, &mut seen[0], Some(()))?;
            let mut seen_parts = false;
            skim.object_or_skip(|skim, key| match key {
                "parts" => {
                    once(&mut None::<()>, &mut seen_parts, Some(()))?;
                    skim.array_or_skip(|skim| read_part(skim, c))
                }
                _ => skim.skip_value(),
            })
        }
        "finishReason" => once(&mut reason, &mut seen[1], skim.plain_or_skip()?),
        _ => skim.skip_value(),
    })?;
    if reason.is_some() {
        c.finish_reason = reason;
    }
    Some(())
}

/// One part, as `tree::count_part` reads it: its text (a thought's too), its function call,
/// its signature.
fn read_part(skim: &mut Skim, c: &mut Chunk) -> Option<()> {
    if !skim.at_object() {
        return skim.skip_value();
    }
    let (mut text, mut thought, mut call, mut signature) = (None, None, None, None);
    let mut seen = [false; 4];
    skim.object(|skim, key| match key {
        "text" => once(&mut text, &mut seen[0], skim.string_or_skip()?),
        "thought" => {
            let at = skim.position();
            let is_true = skim.bytes()[at..].starts_with(b"true");
            skim.skip_value()?;
            once(&mut thought, &mut seen[1], Some(is_true))
        }
        "functionCall" => once(&mut call, &mut seen[2], skim.object_or_null(read_call)?),
        "thoughtSignature" => once(&mut signature, &mut seen[3], skim.plain_or_skip()?),
        _ => skim.skip_value(),
    })?;
    if let Some(start) = text {
        c.push(Text::String(start))?;
        c.thinking |= thought == Some(true);
    }
    if let Some((name, args)) = call {
        c.tool_use = true;
        if let Some(start) = name {
            c.push(Text::String(start))?;
        }
        if let Some(span) = args {
            c.push(Text::Args(span))?;
        }
    }
    if let Some(signature) = signature {
        c.signatures.add(signature);
    }
    Some(())
}

/// A `functionCall` object: where its name's body starts (a string's), where its arguments
/// are (any value).
type Call = (Option<usize>, Option<(usize, usize)>);

fn read_call(skim: &mut Skim) -> Option<Call> {
    let (mut name, mut args, mut seen) = (None, None, [false; 2]);
    skim.object(|skim, key| match key {
        "name" => once(&mut name, &mut seen[0], skim.string_or_skip()?),
        "args" => {
            let start = skim.position();
            skim.skip_value()?;
            once(&mut args, &mut seen[1], Some((start, skim.position())))
        }
        _ => skim.skip_value(),
    })?;
    Some((name, args))
}

impl Chunk<'_> {
    /// One more text to count; `None` past `MAX_TEXTS`.
    fn push(&mut self, text: Text) -> Option<()> {
        *self.texts.get_mut(self.n_texts)? = text;
        self.n_texts += 1;
        Some(())
    }
}

/// A `usageMetadata` object: the counts, the tier's names, the audio shares of the
/// per-modality lists.
fn read_usage<'a>(skim: &mut Skim<'a>) -> Option<Snapshot<'a>> {
    let start = skim.position();
    let mut u = Snapshot::default();
    let mut seen = [false; 9];
    let g = &mut u.counts;
    skim.object(|skim, key| match key {
        "promptTokenCount" => once(&mut g.prompt, &mut seen[0], skim.null_or_count()?),
        "cachedContentTokenCount" => once(&mut g.cached, &mut seen[1], skim.null_or_count()?),
        "toolUsePromptTokenCount" => once(&mut g.tool_prompt, &mut seen[2], skim.null_or_count()?),
        "candidatesTokenCount" => once(&mut g.candidates, &mut seen[3], skim.null_or_count()?),
        "thoughtsTokenCount" => once(&mut g.thoughts, &mut seen[4], skim.null_or_count()?),
        "trafficType" => once(&mut u.traffic, &mut seen[5], skim.plain_or_skip()?),
        "serviceTier" => once(&mut u.service_tier, &mut seen[6], skim.plain_or_skip()?),
        "promptTokensDetails" => once(&mut u.audio_input, &mut seen[7], audio_count(skim)?),
        "candidatesTokensDetails" => once(&mut u.audio_output, &mut seen[8], audio_count(skim)?),
        _ => skim.skip_value(),
    })?;
    u.span = (start, skim.position());
    Some(u)
}

/// The `AUDIO` listings' token count in a list of `{modality, tokenCount}`, as
/// `usage::modality_count` sums them: `None` where the list names none (or is no list).
fn audio_count(skim: &mut Skim) -> Option<Option<u64>> {
    let mut total = None;
    skim.array_or_skip(|skim| {
        if !skim.at_object() {
            return skim.skip_value();
        }
        let (mut modality, mut count, mut seen) = (None, None, [false; 2]);
        skim.object(|skim, key| match key {
            "modality" => once(&mut modality, &mut seen[0], skim.plain_or_skip()?),
            "tokenCount" => once(&mut count, &mut seen[1], skim.null_or_count()?),
            _ => skim.skip_value(),
        })?;
        if modality == Some("AUDIO") {
            total = add_modality(total, count);
        }
        Some(())
    })?;
    Some(total)
}
