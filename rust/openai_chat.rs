//! OpenAI Chat Completions: `chat.completion.chunk` streams (usage in a final chunk with empty
//! `choices` when `stream_options.include_usage` is set; `"usage": null` elsewhere) and whole
//! `chat.completion` bodies. OpenAI-compatible endpoints that repeat usage on every chunk are
//! read the same way: the last value wins.

use serde_json::Value;

use crate::fastscan::{count_string, count_string_with, skip_string};
use crate::json::{self, Object};
use crate::skim::{once, Skim};
use crate::textstats::TextStats;
use crate::usage::{read_error, Extract, Provider};

pub fn looks_like(value: &Value) -> bool {
    matches!(
        value.get("object").and_then(Value::as_str),
        Some("chat.completion.chunk" | "chat.completion")
    ) || value.get("choices").is_some_and(Value::is_array)
}

/// What a plain content chunk says, read by [`Skim`] without building anything.
#[derive(Default)]
struct Chunk<'a> {
    id: Option<&'a str>,
    model: Option<&'a str>,
    service_tier: Option<&'a str>,
    finish_reason: Option<&'a str>,
    /// Where each text string starts, in the order `on_event` counts them, and whether it is
    /// reasoning.
    texts: [(usize, bool); MAX_TEXTS],
    n_texts: usize,
    /// A tool call was streamed (its texts are among `texts`).
    tool_call: bool,
    /// The usage object's counts and where it is, when the chunk carries one.
    usage: Option<(UsageCounts, (usize, usize))>,
    /// What `Provider::detect` looks at: the `object` field, and whether there is a `type`.
    object: Option<&'a str>,
    has_type: bool,
}

const MAX_TEXTS: usize = 12;

fn read_delta<'a>(skim: &mut Skim<'a>, chunk: &mut Chunk<'a>) -> Option<()> {
    let mut fields: [Option<usize>; 3] = [None; 3]; // content, reasoning_content, reasoning
    let mut seen = [false; 4];
    let mut tool_texts = [None; MAX_TEXTS]; // name and arguments of each call, in order
    let mut n_tool_texts = 0;
    skim.object(|skim, name| {
        let at = match name {
            "content" => 0,
            "reasoning_content" => 1,
            "reasoning" => 2,
            "tool_calls" => {
                once(&mut None::<()>, &mut seen[3], Some(()))?;
                if skim.expect_null().is_some() {
                    return Some(());
                }
                return skim.array(|skim| {
                    if !skim.at_object() {
                        return skim.skip_value(); // not a call: `on_event` skips it too
                    }
                    chunk.tool_call = true;
                    let call = read_tool_call(skim)?;
                    for text in call {
                        *tool_texts.get_mut(n_tool_texts)? = text;
                        n_tool_texts += 1;
                    }
                    Some(())
                });
            }
            _ => return skim.skip_value(),
        };
        let value = skim.null_or_string()?;
        once(&mut fields[at], &mut seen[at], value)
    })?;
    // The order `count_message` counts them in.
    let texts = fields
        .into_iter()
        .enumerate()
        .map(|(at, start)| (start, at > 0));
    let tools = tool_texts[..n_tool_texts]
        .iter()
        .map(|&start| (start, false));
    for (start, reasoning) in texts.chain(tools) {
        if let Some(start) = start {
            *chunk.texts.get_mut(chunk.n_texts)? = (start, reasoning);
            chunk.n_texts += 1;
        }
    }
    Some(())
}

/// A tool call: where its function's name and arguments strings start (each when present).
fn read_tool_call(skim: &mut Skim) -> Option<[Option<usize>; 2]> {
    let mut texts = [None; 2];
    let mut seen = [false; 3];
    skim.object(|skim, name| match name {
        "function" => {
            once(&mut None::<()>, &mut seen[2], Some(()))?;
            if !skim.at_object() {
                return skim.skip_value();
            }
            skim.object(|skim, name| {
                let at = match name {
                    "name" => 0,
                    "arguments" => 1,
                    _ => return skim.skip_value(),
                };
                let value = skim.null_or_string()?;
                once(&mut texts[at], &mut seen[at], value)
            })
        }
        _ => skim.skip_value(),
    })?;
    Some(texts)
}

fn read_choice<'a>(skim: &mut Skim<'a>, chunk: &mut Chunk<'a>) -> Option<()> {
    let (mut seen_delta, mut seen_finish) = (false, false);
    let mut finish = None;
    skim.object(|skim, name| match name {
        "delta" => {
            once(&mut None::<()>, &mut seen_delta, Some(()))?;
            if skim.expect_null().is_some() {
                return Some(());
            }
            read_delta(skim, chunk)
        }
        "finish_reason" => {
            let value = skim.null_or_plain()?;
            once(&mut finish, &mut seen_finish, value)
        }
        _ => skim.skip_value(),
    })?;
    if finish.is_some() {
        chunk.finish_reason = finish;
    }
    Some(())
}

/// The counts of a usage object that the meter reads (`read_counts`), each `None` when absent
/// or `null`.
#[derive(Debug, Clone, Copy, Default)]
struct UsageCounts {
    input: Option<u64>,
    cached: Option<u64>,
    output: Option<u64>,
    reasoning: Option<u64>,
}

/// A usage object read in place, without a tree (its text is kept as the raw usage, parsed
/// only if it is the stream's last): the counts `read_counts` reads (Chat Completions names), when each is `null` or a plain
/// count and no name they are under comes twice; `None` otherwise (a value to note, a repeated
/// name, of which the tree keeps only the last), leaving the chunk to the full parse.
fn usage_counts(skim: &mut Skim) -> Option<UsageCounts> {
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

/// The top level of a chunk as far as it was read: the fields it keeps, and the names seen
/// (each may come once). `S` is a field's text (`&str` while reading, its span in the chunk
/// when kept in a [`Prefix`]).
#[derive(Debug, Clone, Copy, Default)]
struct Top<S> {
    id: Option<S>,
    model: Option<S>,
    tier: Option<S>,
    object: Option<S>,
    usage: Option<(UsageCounts, (usize, usize))>,
    has_type: bool,
    seen: [bool; 7],
}

/// A place to go on reading a chunk's top level from: just past the comma before a field
/// name, and what the fields before it held.
type Resume<'a> = (usize, Top<&'a str>);

/// Reads a chunk's top-level object: the whole of it, or (`resume`) its fields from a point
/// that an earlier chunk with the same bytes up to there left. Returns the chunk and the point
/// just before its `choices` (where chunks of a stream start to differ), when it has one.
fn read_chunk<'a>(
    skim: &mut Skim<'a>,
    resume: Option<Resume<'a>>,
) -> Option<(Chunk<'a>, Option<Resume<'a>>)> {
    let mut chunk = Chunk::default();
    let (start, mut top) = resume.unwrap_or_default();
    // Where the last field's value ended, and the point before `choices`.
    let (mut value_end, mut before_choices) = (None, None);
    let mut field = |skim: &mut Skim<'a>, name: &str| {
        let t = &mut top;
        match name {
            "id" => once(&mut t.id, &mut t.seen[0], skim.null_or_plain()?),
            "model" => once(&mut t.model, &mut t.seen[1], skim.null_or_plain()?),
            "service_tier" => once(&mut t.tier, &mut t.seen[2], skim.null_or_plain()?),
            "choices" => {
                // The last value ended (past white space) at the comma before this name.
                let comma = value_end.filter(|&at| skim.text().as_bytes().get(at) == Some(&b','));
                before_choices = comma.map(|at| (at + 1, *t));
                once(&mut None::<()>, &mut t.seen[3], Some(()))?;
                if skim.expect_null().is_none() {
                    skim.array(|skim| read_choice(skim, &mut chunk))?;
                }
                Some(())
            }
            "usage" => once(
                &mut t.usage,
                &mut t.seen[4],
                skim.object_and_span(usage_counts)?,
            ),
            // A chunk that carries an error is read by `on_event`.
            "error" => {
                once(&mut None::<()>, &mut t.seen[5], Some(())).and_then(|()| skim.expect_null())
            }
            "object" => once(&mut t.object, &mut t.seen[6], skim.null_or_plain()?),
            "type" => {
                t.has_type = true;
                skim.skip_value()
            }
            _ => skim.skip_value(),
        }?;
        value_end = Some(skim.position());
        Some(())
    };
    if resume.is_some() {
        skim.resume_at(start);
        skim.fields(&mut field)?;
    } else {
        skim.object(&mut field)?;
    }
    if !skim.at_end() {
        return None;
    }
    (chunk.id, chunk.model, chunk.service_tier) = (top.id, top.model, top.tier);
    (chunk.object, chunk.usage, chunk.has_type) = (top.object, top.usage, top.has_type);
    Some((chunk, before_choices))
}

/// The bytes of a stream's chunks up to their `choices` (the id, the model and the like,
/// the same in every chunk) and the state of the top-level read there: a chunk that starts
/// with them is read from there on.
#[derive(Debug, Clone)]
struct Prefix {
    bytes: Vec<u8>,
    top: Top<(usize, usize)>,
}

impl Prefix {
    /// The prefix of `data` up to `point`, when it is of a size worth keeping.
    fn keep(data: &[u8], (at, top): Resume) -> Option<Prefix> {
        if at > MAX_LAYOUT {
            return None;
        }
        // `Some(None)` for a field that is absent, `None` if one is not in `data`.
        let span = |text: Option<&str>| match text {
            Some(text) => span_in(data, text).map(Some),
            None => Some(None),
        };
        let top = Top {
            id: span(top.id)?,
            model: span(top.model)?,
            tier: span(top.tier)?,
            object: span(top.object)?,
            usage: top.usage,
            has_type: top.has_type,
            seen: top.seen,
        };
        let bytes = data.get(..at)?.to_vec();
        Some(Prefix { bytes, top })
    }

    /// Where to resume reading `text` (a chunk's data) if it starts with this prefix.
    fn resume_in<'a>(&self, text: &'a str) -> Option<Resume<'a>> {
        let at = self.bytes.len();
        if !same_bytes::<false>(text.as_bytes().get(..at)?, &self.bytes) {
            return None;
        }
        let field = |span: Option<(usize, usize)>| match span {
            Some((start, end)) => text.get(start..end).map(Some),
            None => Some(None),
        };
        let t = &self.top;
        let top = Top {
            id: field(t.id)?,
            model: field(t.model)?,
            tier: field(t.tier)?,
            object: field(t.object)?,
            usage: t.usage,
            has_type: t.has_type,
            seen: t.seen,
        };
        Some((at, top))
    }
}

/// Handles a chunk without an error (content, tool calls, the usage chunk), the bulk of a
/// stream; `false` leaves the event to `on_event`, which gives the same result for these
/// chunks. With the provider still `Auto`, it takes only a chunk that `Provider::detect`
/// would call OpenAI Chat, and says so.
pub fn fast_path(ex: &mut Extract, data: &[u8]) -> bool {
    if from_template(ex, data) {
        return true;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let mut skim = Skim::new(text);
    // The reader goes on from the stream's prefix where the chunk starts with it: the state
    // there is what reading the same bytes from the start gives (it reads forward only, and
    // the prefix ends at a comma, where no token goes on).
    let template = ex.chat_template.as_ref();
    let resume = template.and_then(|t| t.prefix.as_ref()?.resume_in(text));
    let Some((chunk, before_choices)) = read_chunk(&mut skim, resume) else {
        return false;
    };
    if ex.provider == Provider::Auto {
        // No `type` (Anthropic and Responses events have one) and a chunk's `object`.
        if chunk.has_type || chunk.object != Some("chat.completion.chunk") {
            return false;
        }
    }
    ex.provider = Provider::OpenAiChat;
    set(&mut ex.message_id, chunk.id);
    set(&mut ex.model, chunk.model);
    set(&mut ex.service_tier, chunk.service_tier);
    for &(start, reasoning) in &chunk.texts[..chunk.n_texts] {
        ex.saw_thinking |= reasoning;
        count_string(data, start, &mut ex.output_text);
    }
    ex.saw_tool_use |= chunk.tool_call;
    set(&mut ex.stop_reason, chunk.finish_reason);
    if let Some((counts, (start, end))) = chunk.usage {
        set_counts(ex, counts, &CHAT_KEYS);
        // Parsed only if it is the last usage object of the stream, when the record is made.
        ex.set_raw_usage_text(&text[start..end]);
    }
    let layout = Layout::learn(data, &chunk);
    let prefix = before_choices.filter(|_| resume.is_none());
    let prefix = prefix.and_then(|point| Prefix::keep(data, point));
    if layout.is_some() || prefix.is_some() {
        let template = ex.chat_template.get_or_insert_with(ChunkTemplate::default);
        if let Some(layout) = layout {
            template.learn(layout);
        }
        if prefix.is_some() {
            template.prefix = prefix;
        }
    }
    true
}

/// Where `part`, a slice of `whole`, lies in it.
fn span_in(whole: &[u8], part: &str) -> Option<(usize, usize)> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start + part.len();
    // `part` points into `whole` (no byte compare, which calls `memcmp` even when empty).
    (end <= whole.len()).then_some((start, end))
}

fn set(slot: &mut Option<String>, value: Option<&str>) {
    if let Some(v) = value.filter(|v| slot.as_deref() != Some(*v)) {
        *slot = Some(v.to_owned());
    }
}

/// The field name of a data line, as each layout's head starts with it.
const DATA_FIELD: &[u8] = b"data: ";

/// One layout of a stream's chunks: a whole chunk but for its one text string (the content,
/// the reasoning, a tool call's arguments), the only part that changes from chunk to chunk.
/// Learned from a chunk the full reader accepted: a later chunk that is the head, a valid
/// string and the end is the same document but for the string, so only the string is read.
#[derive(Debug, Clone)]
struct Layout {
    /// `data: `, the chunk up to the string's body (the head: a whole event's first bytes; a
    /// dispatched event's data is compared from `DATA_FIELD.len()` on), then the chunk from
    /// just past the string's closing quote (the end). One allocation: learning is part of the
    /// slow path, two or three times a stream.
    bytes: Vec<u8>,
    head_len: usize,
    /// What the string is: reasoning text, and whether the chunk streams a tool call.
    reasoning: bool,
    tool_call: bool,
    /// Where the chunk's id, model and service tier are in `bytes`, when it has them.
    identity: [Option<(usize, usize)>; 3],
}

/// The most bytes a layout keeps (its head and end): a real chunk's are a few hundred.
const MAX_LAYOUT: usize = 16 << 10;

/// Layouts kept at once, one per kind of text: content, reasoning, tool call.
const LAYOUTS: usize = 3;

/// The layouts of a stream's chunks, the latest of each kind.
#[derive(Debug, Clone, Default)]
pub struct ChunkTemplate {
    layouts: [Option<Layout>; LAYOUTS],
    /// The layout the last chunk matched, tried first: chunks come in runs of one kind.
    last: usize,
    /// The layout whose identity fields `ex` holds. A chunk no layout reads reaches
    /// [`from_template`] (a whole event [`whole_events`] declines is then dispatched line by
    /// line), which clears this on its miss: only such a chunk can have changed them since.
    identity_of: Option<usize>,
    /// The stream's chunks up to their `choices`, for the full reader.
    prefix: Option<Prefix>,
}

impl Layout {
    /// The layout of a chunk the full reader has just read, if it has one text and nothing
    /// else that a chunk's reading sets beyond the identity (no finish reason, no usage).
    fn learn(data: &[u8], chunk: &Chunk) -> Option<Layout> {
        let [(start, reasoning)] = chunk.texts[..chunk.n_texts] else {
            return None;
        };
        if chunk.finish_reason.is_some() || chunk.usage.is_some() {
            return None;
        }
        let string_end = skip_string(data, start)?;
        let (head, end) = (&data[..start], &data[string_end..]);
        if head.len() + end.len() > MAX_LAYOUT {
            return None;
        }
        // From offsets in the chunk to offsets in the layout, which leaves the string out.
        let gap = string_end - start;
        let at = |i: usize| DATA_FIELD.len() + i - if i < start { 0 } else { gap };
        let span = |text: Option<&str>| span_in(data, text?).map(|(a, b)| (at(a), at(b)));
        Some(Layout {
            bytes: [DATA_FIELD, head, end].concat(),
            head_len: DATA_FIELD.len() + head.len(),
            reasoning,
            tool_call: chunk.tool_call,
            identity: [span(chunk.id), span(chunk.model), span(chunk.service_tier)],
        })
    }

    /// The identity field at `at` (id, model, service tier), as the chunk gave it.
    fn identity(&self, at: usize) -> Option<&str> {
        let (start, end) = self.identity[at]?;
        std::str::from_utf8(&self.bytes[start..end]).ok()
    }

    fn kind(&self) -> usize {
        if self.tool_call {
            2
        } else {
            usize::from(self.reasoning)
        }
    }

    /// If `b` is the head from byte `skip` on, a string and the end, and `accept` takes the
    /// index past the end (it returns the bytes used): counts the string into `stats` and
    /// returns the bytes used; `None` leaves `stats` as it was. The string is counted into
    /// fresh counts appended on success: no copy of `stats` to make before and restore after a
    /// miss.
    #[inline(always)]
    fn read<const WIDE: bool>(
        &self,
        b: &[u8],
        skip: usize,
        stats: &mut TextStats,
        accept: impl Fn(usize) -> Option<usize>,
    ) -> Option<usize> {
        let head = &self.bytes[skip..self.head_len];
        if !same_bytes::<WIDE>(b.get(..head.len())?, head) {
            return None;
        }
        let mut counted = stats.continued();
        let string_end = count_string_with::<WIDE>(b, head.len(), &mut counted)?;
        let layout_end = &self.bytes[self.head_len..];
        let end = string_end + layout_end.len();
        if !same_bytes::<WIDE>(b.get(string_end..end)?, layout_end) {
            return None;
        }
        let used = accept(end)?;
        stats.append(&counted);
        Some(used)
    }

    /// The whole events at the start of `rest` that this layout reads, one after another
    /// (chunks come in runs of one kind): counts their strings into `stats`.
    #[inline(always)]
    fn read_run<const WIDE: bool>(
        &self,
        rest: &[u8],
        stats: &mut TextStats,
        max_event_bytes: usize,
    ) -> ChunkRun {
        let mut run = ChunkRun::default();
        loop {
            let next = &rest[run.used..];
            let framed = |end| framed_end(next, end, max_event_bytes);
            let Some(used) = self.read::<WIDE>(next, 0, stats, framed) else {
                return run;
            };
            run.used += used;
            run.events += 1;
        }
    }
}

/// What a run of whole events held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRun {
    /// The bytes the events took, through the blank line of the last.
    pub used: usize,
    pub events: u64,
}

/// [`Layout::read_run`], compiled for AVX2 and POPCNT when `wide` ([`crate::simd::wide`]):
/// heads compared and text counted 32 bytes a step.
#[inline]
fn layout_run(
    layout: &Layout,
    rest: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
    wide: bool,
) -> ChunkRun {
    #[cfg(target_arch = "x86_64")]
    if wide {
        // SAFETY: `wide` is `simd::wide()`: the processor has AVX2 and POPCNT.
        return unsafe { layout_run_wide(layout, rest, stats, max_event_bytes) };
    }
    let _ = wide;
    layout.read_run::<false>(rest, stats, max_event_bytes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn layout_run_wide(
    layout: &Layout,
    rest: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
) -> ChunkRun {
    layout.read_run::<true>(rest, stats, max_event_bytes)
}

impl ChunkTemplate {
    /// Keeps the layout of a chunk just read by the full reader (which set `ex`'s identity
    /// fields from it), in place of the one of its kind.
    fn learn(&mut self, layout: Layout) {
        let kind = layout.kind();
        self.layouts[kind] = Some(layout);
        (self.last, self.identity_of) = (kind, Some(kind));
    }

    /// The layouts, the one the last chunk matched first: chunks come in runs of one kind.
    fn in_turn(&self) -> impl Iterator<Item = (usize, &Layout)> {
        let others = (0..LAYOUTS).filter(|&at| at != self.last);
        std::iter::once(self.last)
            .chain(others)
            .filter_map(|at| Some((at, self.layouts.get(at)?.as_ref()?)))
    }
}

/// Sets what a chunk of layout `at` says beside its text: its kind, and the layout's identity
/// fields (once after each miss).
#[inline]
fn take_hit(ex: &mut Extract, at: usize) {
    let Some(template) = ex.chat_template.as_mut() else {
        return;
    };
    let Some(layout) = template.layouts.get(at).and_then(Option::as_ref) else {
        return;
    };
    template.last = at;
    ex.saw_thinking |= layout.reasoning;
    ex.saw_tool_use |= layout.tool_call;
    if template.identity_of != Some(at) {
        set_identity(ex, at);
    }
}

#[cold]
fn set_identity(ex: &mut Extract, at: usize) {
    let Some(template) = ex.chat_template.as_mut() else {
        return;
    };
    let Some(layout) = &template.layouts[at] else {
        return;
    };
    set(&mut ex.message_id, layout.identity(0));
    set(&mut ex.model, layout.identity(1));
    set(&mut ex.service_tier, layout.identity(2));
    template.identity_of = Some(at);
}

/// A dispatched event's data that one of the stream's layouts reads.
fn from_template(ex: &mut Extract, data: &[u8]) -> bool {
    let Some(template) = ex.chat_template.as_mut() else {
        return false;
    };
    let whole = |end| (end == data.len()).then_some(end);
    let stats = &mut ex.output_text;
    let hit = template.in_turn().find(|(_, layout)| {
        layout
            .read::<false>(data, DATA_FIELD.len(), stats, whole)
            .is_some()
    });
    let Some((at, _)) = hit else {
        // This chunk goes on to a reader that may set the identity fields.
        template.identity_of = None;
        return false;
    };
    take_hit(ex, at);
    true
}

/// `data: <a chunk that one of the layouts reads>` and a blank line, LF or CRLF framed, whole
/// at the start of `rest`, and as many such events after it as the layouts read: reads each as
/// [`from_template`] reads its data and returns the bytes used and the events; none for
/// anything else (a bare CR, an event over `max_event_bytes`), which the framer then reads
/// line by line. Out of line: the framer's loop, which the Anthropic reader shares, keeps one
/// shape whatever this one grows to.
#[inline(never)]
pub fn whole_events(ex: &mut Extract, rest: &[u8], max_event_bytes: usize) -> ChunkRun {
    let mut run = ChunkRun::default();
    while let Some((at, part)) = next_run(ex, &rest[run.used..], max_event_bytes) {
        take_hit(ex, at);
        run.used += part.used;
        run.events += part.events;
    }
    run
}

/// The events at the start of `rest` that one layout reads (the last one's first): which
/// layout, and what they held.
#[inline]
fn next_run(ex: &mut Extract, rest: &[u8], max_event_bytes: usize) -> Option<(usize, ChunkRun)> {
    let template = ex.chat_template.as_ref()?;
    template.in_turn().find_map(|(at, layout)| {
        let run = layout_run(layout, rest, &mut ex.output_text, max_event_bytes, ex.wide);
        (run.events > 0).then_some((at, run))
    })
}

/// Past the blank line that must follow a whole event's data line ending at `end`, if the
/// data is within `max_event_bytes` (as the event builder bounds a data line).
#[inline(always)]
fn framed_end(rest: &[u8], end: usize, max_event_bytes: usize) -> Option<usize> {
    if end - DATA_FIELD.len() >= max_event_bytes {
        return None;
    }
    match rest.get(end..end + 2) {
        Some(b"\n\n") => Some(end + 2), // the usual framing, in one compare
        _ => lf_or_crlf_end(rest, end).and_then(|at| lf_or_crlf_end(rest, at)),
    }
}

/// Past an LF or CRLF at `at`; `None` for anything else (a bare CR may be the first half of a
/// CRLF split across reads: the framer handles it).
#[inline]
fn lf_or_crlf_end(b: &[u8], at: usize) -> Option<usize> {
    match b.get(at..)? {
        [b'\n', ..] => Some(at + 1),
        [b'\r', b'\n', ..] => Some(at + 2),
        _ => None,
    }
}

/// How many bytes `same_bytes` compares before it checks whether they all matched.
const WINDOW: usize = 512;

/// `a == b`, inlined and 16 bytes at a time (32 with AVX2 when `WIDE`; the last block
/// overlapping): a layout's head is some 250 bytes, compared on every chunk. A longer pattern
/// is compared `WINDOW` bytes at a time, stopping at the first window that differs, so that a
/// long layout compared with the rest of a read that holds many short chunks costs each no
/// more than what matches of it. Only the AVX2 paths may instantiate it with `WIDE`.
#[inline(always)]
fn same_bytes<const WIDE: bool>(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if WIDE && a.len() >= 32 {
            // SAFETY: `WIDE` code runs only where AVX2 is available (above).
            return unsafe { same_bytes32(a, b) };
        }
        if a.len() >= 16 {
            return same_bytes16(a, b);
        }
    }
    same_short(a, b)
}

/// [`same_bytes`] for slices of the same length, at least 16 bytes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn same_bytes16(a: &[u8], b: &[u8]) -> bool {
    use std::arch::x86_64::*;
    debug_assert!(a.len() == b.len() && a.len() >= 16);
    let last = a.len() - 16;
    // SAFETY: SSE2 is part of the x86_64 baseline; every load reads 16 bytes at an offset
    // of at most `len - 16` of `a` or `b`, which have the same length.
    unsafe {
        let load = |x: &[u8], at: usize| _mm_loadu_si128(x.as_ptr().add(at).cast());
        let same_at = |at: usize| _mm_cmpeq_epi8(load(a, at), load(b, at));
        let all = |same: __m128i| _mm_movemask_epi8(same) == 0xFFFF;
        let mut same = same_at(last);
        let mut at = 0;
        while last - at > WINDOW {
            let window_end = at + WINDOW;
            while at < window_end {
                same = _mm_and_si128(same, same_at(at));
                at += 16;
            }
            if !all(same) {
                return false;
            }
        }
        while at < last {
            same = _mm_and_si128(same, same_at(at));
            at += 16;
        }
        all(same)
    }
}

/// [`same_bytes`] for slices of the same length, at least 32 bytes, with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn same_bytes32(a: &[u8], b: &[u8]) -> bool {
    use std::arch::x86_64::*;
    debug_assert!(a.len() == b.len() && a.len() >= 32);
    let last = a.len() - 32;
    // SAFETY: this function's own target feature; every load reads 32 bytes at an offset of
    // at most `len - 32` of `a` or `b`, which have the same length.
    let load = |x: &[u8], at: usize| unsafe { _mm256_loadu_si256(x.as_ptr().add(at).cast()) };
    let same_at = |at: usize| _mm256_cmpeq_epi8(load(a, at), load(b, at));
    let all = |same: __m256i| _mm256_movemask_epi8(same) == -1;
    let mut same = same_at(last);
    let mut at = 0;
    while last - at > WINDOW {
        let window_end = at + WINDOW;
        while at < window_end {
            same = _mm256_and_si256(same, same_at(at));
            at += 32;
        }
        if !all(same) {
            return false;
        }
    }
    // Two blocks a step: a head of some 250 bytes takes four steps.
    while at + 32 < last {
        same = _mm256_and_si256(same, _mm256_and_si256(same_at(at), same_at(at + 32)));
        at += 64;
    }
    if at < last {
        same = _mm256_and_si256(same, same_at(at));
    }
    all(same)
}

/// [`same_bytes`] for slices of the same length under 16 bytes (a test's tiny layouts): no
/// `memcmp` call.
#[inline]
fn same_short(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}

pub fn on_event(ex: &mut Extract, value: &Value) {
    let Some(obj) = value.as_object() else {
        return;
    };
    if json::object(obj, "error").is_some() {
        read_error(ex, obj);
        return;
    }
    read_identity(ex, obj);
    if let Some(Value::Array(choices)) = obj.get("choices") {
        for choice in choices.iter().filter_map(Value::as_object) {
            if let Some(delta) = json::object(choice, "delta") {
                count_message(ex, delta);
            }
            if let Some(reason) = json::string(choice, "finish_reason") {
                ex.stop_reason = Some(reason);
            }
        }
    }
    if let Some(usage) = json::object(obj, "usage") {
        read_usage(ex, usage);
    }
}

/// A whole `chat.completion` body; `false` if it is not one.
pub fn on_body(ex: &mut Extract, value: &Value) -> bool {
    let Some(obj) = value.as_object() else {
        return false;
    };
    if json::object(obj, "error").is_some() {
        read_error(ex, obj);
        return true;
    }
    if !looks_like(value) {
        return false;
    }
    read_identity(ex, obj);
    if let Some(Value::Array(choices)) = obj.get("choices") {
        for choice in choices.iter().filter_map(Value::as_object) {
            if let Some(message) = json::object(choice, "message") {
                count_message(ex, message);
            }
            if let Some(reason) = json::string(choice, "finish_reason") {
                ex.stop_reason = Some(reason);
            }
        }
    }
    if let Some(usage) = json::object(obj, "usage") {
        read_usage(ex, usage);
    }
    true
}

fn read_identity(ex: &mut Extract, obj: &Object) {
    if let Some(id) = json::string(obj, "id") {
        ex.message_id = Some(id);
    }
    if let Some(model) = json::string(obj, "model") {
        ex.model = Some(model);
    }
    if let Some(tier) = json::string(obj, "service_tier") {
        ex.service_tier = Some(tier);
    }
}

/// A streamed `delta` or a body's `message`: content, reasoning text, tool-call arguments.
fn count_message(ex: &mut Extract, message: &Object) {
    if let Some(text) = message.get("content").and_then(Value::as_str) {
        ex.output_text.add(text);
    }
    if let Some(Value::Array(parts)) = message.get("content") {
        for part in parts.iter().filter_map(Value::as_object) {
            if let Some(text) = part.get("text").and_then(Value::as_str) {
                ex.output_text.add(text);
            }
        }
    }
    for key in ["reasoning_content", "reasoning"] {
        if let Some(text) = message.get(key).and_then(Value::as_str) {
            ex.saw_thinking = true;
            ex.output_text.add(text);
        }
    }
    if let Some(Value::Array(calls)) = message.get("tool_calls") {
        for call in calls.iter().filter_map(Value::as_object) {
            ex.saw_tool_use = true;
            if let Some(function) = json::object(call, "function") {
                for key in ["name", "arguments"] {
                    if let Some(text) = function.get(key).and_then(Value::as_str) {
                        ex.output_text.add(text);
                    }
                }
            }
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

const CHAT_KEYS: UsageKeys = UsageKeys {
    input: "prompt_tokens",
    input_details: "prompt_tokens_details",
    output: "completion_tokens",
    output_details: "completion_tokens_details",
};

fn read_usage(ex: &mut Extract, usage: &Object) {
    read_usage_with(ex, usage, &CHAT_KEYS);
}

pub fn read_usage_with(ex: &mut Extract, usage: &Object, keys: &UsageKeys) {
    read_counts(ex, usage, keys);
    ex.set_raw_usage(Value::Object(usage.clone()));
}

/// The counts of a usage object, with a note for each value that is not a count.
fn read_counts(ex: &mut Extract, usage: &Object, keys: &UsageKeys) {
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
fn set_counts(ex: &mut Extract, counts: UsageCounts, keys: &UsageKeys) {
    set_input(ex, counts.input, counts.cached, keys);
    set_output(ex, counts.output, counts.reasoning);
}

/// The input count includes `cached_tokens`: split into uncached input and cache read.
fn set_input(ex: &mut Extract, input: Option<u64>, cached: Option<u64>, keys: &UsageKeys) {
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
fn set_output(ex: &mut Extract, output: Option<u64>, reasoning: Option<u64>) {
    if let Some(output) = output {
        ex.tokens.output = Some(output);
        ex.output_final = true;
    }
    if let Some(reasoning) = reasoning {
        ex.tokens.reasoning = Some(reasoning);
    }
    ex.final_usage = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `same_bytes` in the AVX2 build, entered only where the processor has it.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn same_bytes_wide(a: &[u8], b: &[u8]) -> bool {
        same_bytes::<true>(a, b)
    }

    fn same_bytes_both(a: &[u8], b: &[u8]) -> bool {
        let narrow = same_bytes::<false>(a, b);
        #[cfg(target_arch = "x86_64")]
        if crate::simd::wide() {
            // SAFETY: `simd::wide()`: the processor has AVX2 and POPCNT.
            assert_eq!(unsafe { same_bytes_wide(a, b) }, narrow);
        }
        narrow
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        let a: Vec<u8> = (0..700u32).map(|i| (i * 7 % 251) as u8).collect();
        for len in 0..a.len() {
            let a = &a[..len];
            assert!(same_bytes_both(a, a), "{len}");
            assert!(!same_bytes_both(a, &[a, b"x"].concat()), "{len}");
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes_both(a, &b), "{len} {at}");
            }
        }
    }
}
