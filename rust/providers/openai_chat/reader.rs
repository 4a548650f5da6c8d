//! Chat chunks read with [`Skim`] instead of a JSON tree, in any JSON layout: content, tool
//! calls and the usage chunk, the bulk of a stream. A chunk it declines goes to `tree`.

use super::usage::{apply_usage, declined_tree, usage_or_span, UsageAt, CHAT_KEYS};
use crate::providers::error::{read_error_object, ErrorSaid};
use crate::providers::facts::{Facts, Provider};
use crate::scan::holes::{Hole, Holes};
use crate::scan::skeleton::same_bytes;
use crate::scan::skim::{once, Skim};
use crate::scan::strings::count_string;

/// The most bytes of a stream's chunks kept as their [`Prefix`]: a real chunk's are a few
/// hundred.
const MAX_PREFIX: usize = 16 << 10;

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
    /// The delta names the role.
    role: bool,
    /// A Mistral thinking part with its thinking as a string or an array, maybe empty (it
    /// says the reply thinks, text or not).
    thinking_part: bool,
    /// The usage object, when the chunk carries one: at the top level, else under Groq's
    /// `x_groq`, else in a choice (Moonshot), as `tree::read_chunk_usage` looks for it.
    usage: Option<ChunkUsage>,
    /// What `Provider::detect` looks at: the `object` field and whether `choices` is an array
    /// (a chunk with a `type` is declined as it is read).
    object: Option<&'a str>,
    choices: bool,
    /// The chunk carries an error object (OpenRouter's, with the usage until then): read
    /// for that and the usage only, as `tree::on_event` reads it.
    error: Option<ErrorSaid<'a>>,
}

const MAX_TEXTS: usize = 12;

/// A usage object read in place and where it is (`usage::usage_or_span`).
type ChunkUsage = UsageAt;

/// The next value starts with `byte` (white space skipped).
fn at(skim: &mut Skim, byte: u8) -> bool {
    let at = skim.position();
    skim.bytes().get(at) == Some(&byte)
}

/// A string (where its body starts) or `null` (`None`); any other value is skipped (`None`):
/// what `Value::as_str` makes of a field.
fn string_or_skip(skim: &mut Skim) -> Option<Option<usize>> {
    if at(skim, b'"') {
        return skim.null_or_string();
    }
    skim.skip_value().map(|()| None)
}

/// Where the texts of a content array are (`count_part`'s order), and whether it has a
/// thinking part.
struct Parts {
    texts: [(usize, bool); MAX_TEXTS],
    n: usize,
    thinking: bool,
}

impl Parts {
    fn push(&mut self, start: usize, reasoning: bool) -> Option<()> {
        *self.texts.get_mut(self.n)? = (start, reasoning);
        self.n += 1;
        Some(())
    }
}

/// One part of a content array, as `count_part` reads it: its `text`, and a Mistral thinking
/// part's thinking (a string, or an array of objects with a `text`); a part that is not an
/// object is skipped, as the tree skips it.
fn read_part(skim: &mut Skim, parts: &mut Parts) -> Option<()> {
    if !skim.at_object() {
        return skim.skip_value();
    }
    let (mut text, mut kind) = (None, None);
    // The thinking: a string's start, or the inner texts' starts.
    let mut thinking: Option<(Option<usize>, [usize; MAX_TEXTS], usize)> = None;
    let mut seen = [false; 3];
    skim.object(|skim, name| match name {
        "text" => once(&mut text, &mut seen[0], string_or_skip(skim)?),
        "type" => {
            let value = if at(skim, b'"') {
                skim.null_or_plain()?
            } else {
                skim.skip_value()?;
                None
            };
            once(&mut kind, &mut seen[1], value)
        }
        "thinking" => {
            let mut inner = ([0; MAX_TEXTS], 0);
            let value = if at(skim, b'"') {
                Some((skim.null_or_string()?, inner.0, 0))
            } else if at(skim, b'[') {
                skim.array(|skim| {
                    if !skim.at_object() {
                        return skim.skip_value();
                    }
                    let (mut text, mut seen) = (None, false);
                    skim.object(|skim, name| match name {
                        "text" => once(&mut text, &mut seen, string_or_skip(skim)?),
                        _ => skim.skip_value(),
                    })?;
                    if let Some(start) = text {
                        *inner.0.get_mut(inner.1)? = start;
                        inner.1 += 1;
                    }
                    Some(())
                })?;
                Some((None, inner.0, inner.1))
            } else {
                skim.skip_value()?;
                None
            };
            once(&mut thinking, &mut seen[2], value)
        }
        _ => skim.skip_value(),
    })?;
    if let Some(start) = text {
        parts.push(start, false)?;
    }
    if kind != Some("thinking") {
        return Some(());
    }
    if let Some((string, inner, n)) = thinking {
        parts.thinking = true;
        for start in string.into_iter().chain(inner[..n].iter().copied()) {
            parts.push(start, true)?;
        }
    }
    Some(())
}

fn read_delta<'a>(skim: &mut Skim<'a>, chunk: &mut Chunk<'a>, holes: &mut Holes) -> Option<()> {
    let mut fields: [Option<usize>; 3] = [None; 3]; // content, reasoning_content, reasoning
    let mut parts = Parts {
        texts: [(0, false); MAX_TEXTS],
        n: 0,
        thinking: false,
    };
    let mut seen = [false; 4];
    let mut tool_texts = [None; MAX_TEXTS]; // name and arguments of each call, in order
    let mut n_tool_texts = 0;
    skim.object(|skim, name| {
        let at = match name {
            "content" => 0,
            "reasoning_content" => 1,
            "reasoning" => 2,
            // An audio reply's transcript: the tree counts it.
            "audio" => return None,
            "role" => {
                chunk.role = true;
                return skim.skip_value();
            }
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
            // Noted, containers whole: OpenRouter's `reasoning_details` repeat the reasoning
            // text in every chunk, in a list that is empty in some (a layout learned only
            // with them as one hole).
            _ => return skim.skip_noted_any(holes),
        };
        if at == 0 && self::at(skim, b'[') {
            // A content array (Mistral's thinking parts): its parts' texts in order.
            once(&mut None::<()>, &mut seen[0], Some(()))?;
            return skim.array(|skim| read_part(skim, &mut parts));
        }
        let value = skim.null_or_string()?;
        once(&mut fields[at], &mut seen[at], value)
    })?;
    // The order `count_message` counts them in: the content (a string or its parts), the
    // reasoning fields, the tool calls.
    chunk.thinking_part |= parts.thinking;
    let content = parts.texts[..parts.n]
        .iter()
        .map(|&(start, r)| (Some(start), r));
    let texts = fields
        .into_iter()
        .enumerate()
        .map(|(at, start)| (start, at > 0));
    let texts = content.chain(texts);
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

/// A choice, into `chunk`; its usage object, when it is the first choice's, into `usage`.
fn read_choice<'a>(
    skim: &mut Skim<'a>,
    chunk: &mut Chunk<'a>,
    first_usage: &mut Option<ChunkUsage>,
    holes: &mut Holes,
) -> Option<()> {
    let (mut seen_delta, mut seen_finish, mut seen_usage, mut seen_text) =
        (false, false, false, false);
    let (mut finish, mut usage, mut text, mut delta) = (None, None, None, false);
    skim.object(|skim, name| match name {
        "delta" => {
            once(&mut None::<()>, &mut seen_delta, Some(()))?;
            if skim.expect_null().is_some() {
                return Some(());
            }
            delta = true;
            read_delta(skim, chunk, holes)
        }
        "finish_reason" => {
            let value = skim.null_or_plain()?;
            once(&mut finish, &mut seen_finish, value)
        }
        // Usage inside a choice (Moonshot).
        "usage" => once(
            &mut usage,
            &mut seen_usage,
            usage_or_span(skim, &CHAT_KEYS)?,
        ),
        // A legacy completion's text: counted where the choice has no delta, as the tree
        // counts it; beside one (Together sends both) it repeats the delta's text.
        "text" => once(&mut text, &mut seen_text, skim.skip_noting()?),
        // `logprobs` and the like: their shape may change from chunk to chunk. A choice's
        // scalars (`index`) are left literal, not noted as in a delta: noting them costs
        // 4-17 instructions an event (OpenAI API 354 -> 358, captures 1,949 -> 1,966).
        _ => skim.skip_noted_container(holes),
    })?;
    match text {
        Some((start, _, Hole::Str)) if !delta => {
            *chunk.texts.get_mut(chunk.n_texts)? = (start, false);
            chunk.n_texts += 1;
        }
        Some((start, end, hole)) => holes.note(start, end, hole),
        None => {}
    }
    if finish.is_some() {
        chunk.finish_reason = finish;
    }
    // The first choice with a usage object.
    if first_usage.is_none() {
        *first_usage = usage;
    }
    Some(())
}

/// Groq's `x_groq` object: its usage object, when it has one (`Some(None)` for none, or for a
/// value that is not an object).
fn groq_usage(skim: &mut Skim) -> Option<Option<ChunkUsage>> {
    if !skim.at_object() {
        return skim.skip_value().map(|()| None);
    }
    let (mut usage, mut seen) = (None, false);
    skim.object(|skim, name| match name {
        "usage" => once(&mut usage, &mut seen, usage_or_span(skim, &CHAT_KEYS)?),
        _ => skim.skip_value(),
    })?;
    Some(usage)
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
    seen: [bool; 8],
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
    holes: &mut Holes,
) -> Option<(Chunk<'a>, Option<Resume<'a>>)> {
    let mut chunk = Chunk::default();
    let (start, mut top) = resume.unwrap_or_default();
    // Where the last field's value ended, and the point before `choices`.
    let (mut value_end, mut before_choices) = (None, None);
    // The usage objects: at the top level, under `x_groq`, in a choice. Kept out of `Top`
    // (large, and copied at `choices`): a stream's prefix is kept only if none came before.
    let (mut usage, mut groq, mut choice_usage) = (None, None, None);
    let mut error = None;
    let mut field = |skim: &mut Skim<'a>, name: &str| {
        let t = &mut top;
        match name {
            "id" => once(&mut t.id, &mut t.seen[0], skim.null_or_plain()?),
            "model" => once(&mut t.model, &mut t.seen[1], skim.null_or_plain()?),
            "service_tier" => once(&mut t.tier, &mut t.seen[2], skim.null_or_plain()?),
            "choices" => {
                // The last value ended (past white space) at the comma before this name.
                let comma = value_end.filter(|&at| skim.bytes().get(at) == Some(&b','));
                let no_usage = !t.seen[4] && !t.seen[7];
                before_choices = comma.filter(|_| no_usage).map(|at| (at + 1, *t));
                once(&mut None::<()>, &mut t.seen[3], Some(()))?;
                if skim.expect_null().is_none() {
                    chunk.choices = true;
                    skim.array(|skim| read_choice(skim, &mut chunk, &mut choice_usage, holes))?;
                }
                Some(())
            }
            "usage" => once(&mut usage, &mut t.seen[4], usage_or_span(skim, &CHAT_KEYS)?),
            // An error object (anything else is not one, for the tree too).
            "error" => {
                once(&mut None::<()>, &mut t.seen[5], Some(()))?;
                error = skim.object_or_null(read_error_object)?;
                Some(())
            }
            "object" => once(&mut t.object, &mut t.seen[6], skim.null_or_plain()?),
            "x_groq" => once(&mut groq, &mut t.seen[7], groq_usage(skim)?),
            // A chunk has no `type` (Anthropic, Responses, speech and transcription events
            // have one): those go to `on_event`, at once (not read to their end first).
            "type" => None,
            _ => skim.skip_noted(holes),
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
    chunk.object = top.object;
    chunk.usage = usage.or(groq).or(choice_usage);
    chunk.error = error;
    Some((chunk, before_choices))
}

/// The bytes of a stream's chunks up to their `choices` (the id, the model and the like,
/// the same in every chunk) and the state of the top-level read there: a chunk that starts
/// with them is read from there on.
#[derive(Debug, Clone)]
pub struct Prefix {
    bytes: Vec<u8>,
    top: Top<(usize, usize)>,
}

impl Prefix {
    /// The prefix of `data` up to `point`, when it is of a size worth keeping.
    fn keep(data: &[u8], (at, top): Resume) -> Option<Prefix> {
        if at > MAX_PREFIX {
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
            seen: top.seen,
        };
        let bytes = data.get(..at)?.to_vec();
        Some(Prefix { bytes, top })
    }

    /// Where to resume reading `data` (a chunk's) if it starts with this prefix.
    fn resume_in<'a>(&self, data: &'a [u8]) -> Option<Resume<'a>> {
        let at = self.bytes.len();
        if !same_bytes(data.get(..at)?, &self.bytes) {
            return None;
        }
        let field = |span: Option<(usize, usize)>| match span {
            Some((start, end)) if end <= at => {
                // SAFETY: `data[..at]` is the prefix's bytes, where this span was text (a
                // `&str` the skim read): the same bytes, the same valid UTF-8.
                Some(Some(unsafe {
                    std::str::from_utf8_unchecked(&data[start..end])
                }))
            }
            Some(_) => None,
            None => Some(None),
        };
        let t = &self.top;
        let top = Top {
            id: field(t.id)?,
            model: field(t.model)?,
            tier: field(t.tier)?,
            object: field(t.object)?,
            seen: t.seen,
        };
        Some((at, top))
    }
}

/// What a content chunk says beside its text: the same for every chunk of its learned layout
/// (`scan::skeleton`), which changes only in the values the reader skips or counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub reasoning: bool,
    pub tool_call: bool,
    /// It names the role: OpenAI does in a stream's first chunk only, some relays in every one.
    pub names_role: bool,
    /// Its id, model and service tier.
    pub identity: [Option<Box<str>>; 3],
}

impl Seen {
    /// What reading a chunk of this layout does beside counting its text; its identity only
    /// when `identity` (the facts may hold another chunk's since this one's was set).
    #[inline(always)]
    pub fn apply(&self, ex: &mut Facts, identity: bool) {
        ex.provider = Provider::OpenAiChat;
        ex.saw_thinking |= self.reasoning;
        ex.saw_tool_use |= self.tool_call;
        if identity {
            let [id, model, tier] = &self.identity;
            set(&mut ex.message_id, id.as_deref());
            set(&mut ex.model, model.as_deref());
            set(&mut ex.service_tier, tier.as_deref());
        }
    }
}

/// Handles a chunk without an error (content, tool calls, the usage chunk), the bulk of a
/// stream: `None` leaves the event to `on_event`, which gives the same result for these
/// chunks. With the provider still `Auto`, it takes only a chunk that `Provider::detect`
/// would call OpenAI Chat, and says so. A chunk with text and no finish reason or usage gives
/// what it says (`Some(Some(seen))`), its skipped and counted values noted in `holes`: its
/// layout may be learned.
pub fn fast_path(
    ex: &mut Facts,
    prefix: &mut Option<Prefix>,
    data: &[u8],
    holes: &mut Holes,
) -> Option<Option<Seen>> {
    holes.clear();
    let mut skim = Skim::new(data);
    // The reader goes on from the stream's prefix where the chunk starts with it: the state
    // there is what reading the same bytes from the start gives (it reads forward only, and
    // the prefix ends at a comma, where no token goes on).
    let resume = prefix.as_ref().and_then(|p| p.resume_in(data));
    let (chunk, before_choices) = read_chunk(&mut skim, resume, holes)?;
    // As `providers::detect`: Chat by its `choices` array too (Azure's first chunk).
    let chat = chunk.object == Some("chat.completion.chunk")
        || (chunk.choices && chunk.object != Some("response"));
    if ex.provider == Provider::Auto && !chat {
        return None;
    }
    // A usage object the reader declined: its own tree, parsed before anything is changed.
    let usage_tree = declined_tree(&chunk.usage, data)?;
    ex.provider = Provider::OpenAiChat;
    if let Some(error) = chunk.error {
        // As `tree::on_event`: the error and the usage, nothing else of the chunk.
        error.apply(ex);
        apply_usage(ex, chunk.usage, usage_tree, &skim, &CHAT_KEYS);
        return Some(None);
    }
    set(&mut ex.message_id, chunk.id);
    set(&mut ex.model, chunk.model);
    set(&mut ex.service_tier, chunk.service_tier);
    let mut in_order = true;
    let mut last_end = 0;
    for &(start, reasoning) in &chunk.texts[..chunk.n_texts] {
        ex.saw_thinking |= reasoning;
        let end = count_string(data, start, &mut ex.output_text);
        in_order &= start >= last_end && end.is_some();
        if let Some(end) = end {
            holes.note(start, end, Hole::Count);
            last_end = end;
        }
    }
    ex.saw_tool_use |= chunk.tool_call;
    set(&mut ex.stop_reason, chunk.finish_reason);
    // As `tree::read_chunk_usage` reads a usage object.
    let has_usage = chunk.usage.is_some();
    apply_usage(ex, chunk.usage, usage_tree, &skim, &CHAT_KEYS);
    let point = before_choices.filter(|_| resume.is_none());
    if let Some(kept) = point.and_then(|point| Prefix::keep(data, point)) {
        *prefix = Some(kept);
    }
    // Learned: a chunk with text and nothing a chunk's reading sets beyond its identity (no
    // finish reason, no usage), its texts counted in the order they come.
    ex.saw_thinking |= chunk.thinking_part;
    let learnable = chunk.n_texts > 0 && in_order && chunk.finish_reason.is_none() && !has_usage;
    if !learnable {
        return Some(None);
    }
    let reasoning = chunk.thinking_part || chunk.texts[..chunk.n_texts].iter().any(|&(_, r)| r);
    Some(Some(Seen {
        reasoning,
        tool_call: chunk.tool_call,
        names_role: chunk.role,
        identity: [chunk.id, chunk.model, chunk.service_tier].map(|v| v.map(Box::from)),
    }))
}

/// Where `part`, a slice of `whole`, lies in it.
fn span_in(whole: &[u8], part: &str) -> Option<(usize, usize)> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start + part.len();
    // `part` points into `whole` (no byte compare, which calls `memcmp` even when empty).
    (end <= whole.len()).then_some((start, end))
}

fn set(slot: &mut Option<String>, value: Option<&str>) {
    // An empty id or model never replaces a named one (Azure's filter chunks).
    if let Some(v) = value.filter(|v| !v.is_empty() && slot.as_deref() != Some(*v)) {
        *slot = Some(v.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::openai_chat::tree;

    /// A usage object with a provider's own fields (a cost, tools, a tier, unknown names) is
    /// read in place; one with a count to note from its own tree, the rest of the chunk in
    /// place: either way as the tree reads the whole chunk.
    #[test]
    fn usage_with_more_than_openai_names_is_read_as_the_tree() {
        // The chunk, and whether its usage is read in place.
        let chunks: [(&[u8], bool); 4] = [
            (br#"{"id":"s","model":"sonar","usage":{"completion_tokens":1,"cost":{"input_tokens_cost":0.00001,"total_cost":0.00501},"prompt_tokens":6,"total_tokens":7},"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"OK"},"finish_reason":"stop"}]}"#, true),
            (br#"{"id":"g","object":"chat.completion.chunk","model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":"3","cost_in_usd_ticks":1466250,"server_tool_use_details":{"web_search_requests":2}}}"#, false),
            (br#"{"id":"g","object":"chat.completion.chunk","model":"m","choices":[],"usage":{"prompt_tokens":90,"completion_tokens":3,"prompt_cache_hit_tokens":64,"service_tier":"priority"}}"#, true),
            (br#"{"id":"g","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"cost_in_usd_ticks":1466250,"is_byok":false,"server_tool_use":{"web_search_requests":1},"server_tool_use_details":{"x":[1,{"y":2}],"web_search_requests":2},"prompt_tokens_details":{"text_tokens":9,"cached_tokens":4,"cache_write_tokens":2}}}"#, true),
        ];
        // An exponent is serde_json's to read: the whole chunk goes to the tree.
        let exponent =
            br#"{"id":"g","object":"chat.completion.chunk","choices":[],"usage":{"cost":1e-5}}"#;
        let mut facts = Facts::new(Provider::OpenAiChat);
        assert!(fast_path(&mut facts, &mut None, exponent, &mut Holes::default()).is_none());
        for (data, in_place) in chunks {
            let mut fast = Facts::new(Provider::Auto);
            let read = fast_path(&mut fast, &mut None, data, &mut Holes::default());
            assert!(read.is_some(), "{}", String::from_utf8_lossy(data));
            assert_eq!(fast.last_usage_text.is_some(), in_place);
            let mut full = Facts::new(Provider::OpenAiChat);
            tree::on_event(&mut full, &crate::scan::tree::parse(data).unwrap());
            let view = |ex: &Facts| {
                let text = ex.last_usage_text.as_deref();
                let usage = (ex.last_usage.clone())
                    .or_else(|| text.and_then(|t| serde_json::from_str(t).ok()));
                let facts = (&ex.tokens, &ex.billing, &ex.notes, &ex.service_tier);
                format!("{:?}", (facts, usage))
            };
            assert_eq!(
                view(&fast),
                view(&full),
                "{}",
                String::from_utf8_lossy(data)
            );
        }
    }

    /// Mistral's content arrays are read in place, as the tree reads them.
    #[test]
    fn content_arrays_are_read_in_place_as_the_tree() {
        let chunks: [&[u8]; 5] = [
            br#"{"id":"a","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"Okay, the"}],"closed":true}]},"finish_reason":null}]}"#,
            br#"{"id":"a","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"caf\u00e9 \"x\""},{"thinking":"hm","type":"thinking"}]}}]}"#,
            br#"{"id":"a","object":"chat.completion.chunk","model":"m","choices":[{"delta":{"content":[{"type":"thinking","thinking":[]},null,{"type":"image_url"}]}}]}"#,
            br#"{"id":"a","object":"chat.completion.chunk","model":"m","choices":[{"delta":{"content":[{"type":"text","text":"a"}],"reasoning_content":"b"}}]}"#,
            br#"{"id":"a","object":"chat.completion.chunk","model":"m","choices":[{"delta":{"content":[{"type":"thinking","thinking":{"x":1}}]}}]}"#,
        ];
        for data in chunks {
            let mut fast = Facts::new(Provider::Auto);
            let mut prefix = None;
            let read = fast_path(&mut fast, &mut prefix, data, &mut Holes::default());
            assert!(read.is_some(), "{}", String::from_utf8_lossy(data));
            let mut full = Facts::new(Provider::OpenAiChat);
            tree::on_event(&mut full, &crate::scan::tree::parse(data).unwrap());
            assert_eq!(
                (fast.output_text.as_tuple(), fast.saw_thinking),
                (full.output_text.as_tuple(), full.saw_thinking),
                "{}",
                String::from_utf8_lossy(data)
            );
        }
    }
}
