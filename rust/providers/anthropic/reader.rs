//! The Anthropic events read without a JSON tree, in any JSON layout (keys in any order, any
//! white space, unknown fields anywhere, escapes): one reader per kind of event.
//!
//! - The text, thinking and tool-input deltas, the bulk of a stream, and the quiet events
//!   (`ping`, `content_block_stop`, `message_stop`): [`Cursor`], one pass that checks the
//!   event and counts its text.
//! - The events that carry usage or identity (`message_start`, `message_delta`,
//!   `content_block_start`), a few per stream: [`Skim`]; only a usage object is parsed into a
//!   tree, when it is the stream's last.
//!
//! Each takes exactly the events that `tree::on_event` reads the same way and gives up
//! (having changed nothing) on anything else, which then goes to the full parse.

use super::usage::{apply_usage, usage_fields, UsageFields};
use crate::providers::facts::{Facts, Provider};
use crate::scan::cursor::Cursor;
use crate::scan::holes::Holes;
use crate::scan::skim::{once, Skim};
use crate::scan::strings::count_string;
use crate::textstats::TextStats;

/// What a delta or a quiet event says beside its text: the same for every event of its
/// learned layout (`scan::skeleton`), which changes only in the values the reader skips or
/// counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub thinking: bool,
    pub tool_use: bool,
    /// It tells the provider (a ping does not).
    pub decides: bool,
}

impl Seen {
    /// What reading an event of this layout does beside counting its text.
    #[inline(always)]
    pub fn apply(self, ex: &mut Facts) {
        ex.saw_thinking |= self.thinking;
        ex.saw_tool_use |= self.tool_use;
        if self.decides {
            ex.provider = Provider::Anthropic;
        }
    }
}

/// Handles the events that need no JSON tree: `None` leaves the event to `tree::on_event`.
/// A delta or a ping gives what it says (`Some(Some(seen))`), its skipped and counted values
/// noted in `holes`: its layout may be learned.
pub fn fast_path(ex: &mut Facts, data: &[u8], holes: &mut Holes) -> Option<Option<Seen>> {
    holes.clear();
    let kind = match walk(ex, data, holes) {
        Walk::Read(seen) => return Some(seen),
        Walk::Other(kind) => kind,
        Walk::Declined => return None,
    };
    let read = match kind {
        b"content_block_start" => content_block_start(ex, data),
        b"message_delta" => message_delta(ex, data),
        b"message_start" => message_start(ex, data),
        _ => None,
    };
    read?;
    ex.provider = Provider::Anthropic;
    Some(None)
}

/// What [`walk`] made of an event.
enum Walk<'a> {
    /// Read: a delta or a quiet event, and what it says when its layout is worth learning.
    Read(Option<Seen>),
    /// Valid as far as it went, of this type, for another reader.
    Other(&'a [u8]),
    Declined,
}

/// Which text field of a delta was counted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DeltaText {
    Text,
    Thinking,
    ToolInput,
    Summary,
}

/// The one pass over an event's top level: its type, and a delta's one text field counted
/// into fresh counts, applied only once the event is known to be a whole, valid delta.
#[inline]
fn walk<'a>(ex: &mut Facts, data: &'a [u8], holes: &mut Holes) -> Walk<'a> {
    let mut counted = ex.output_text.continued();
    let mut text = None;
    let (mut kind, mut delta_seen, mut other_fields) = (None, false, false);
    // A content_block_start whose type comes before its block is read on in this walk.
    let (mut block, mut block_start) = (None, false);
    let mut c = Cursor::new(data);
    let walked = (|| -> Option<()> {
        let mut more = c.open()?;
        while more {
            match c.name()? {
                // A type no reader here takes (`error`, a whole `message`, another
                // provider's events while `auto` decides) goes to the tree at once.
                b"type" if kind.is_none() => match c.plain_string()? {
                    t @ (b"content_block_delta"
                    | b"ping"
                    | b"content_block_stop"
                    | b"message_stop") => kind = Some(t),
                    t @ b"content_block_start" if !other_fields => {
                        (kind, block_start) = (Some(t), true);
                    }
                    // Read whole by a reader of its own, which checks all of it again: not
                    // walked further (a message_start's message was checked twice).
                    t @ (b"content_block_start" | b"message_delta" | b"message_start") => {
                        kind = Some(t);
                        return Some(());
                    }
                    _ => return None,
                },
                b"type" => return None, // twice: the tree keeps the last
                b"content_block" if block_start => {
                    if block.is_some() {
                        return None; // twice: the tree keeps the last
                    }
                    block = Some(content_block(&mut c)?);
                }
                // What the block start does not read (a delta included).
                _ if block_start => c.skip_value()?,
                b"delta" if !delta_seen => {
                    delta_seen = true;
                    if c.at_object() {
                        text = delta(&mut c, &mut counted, holes)?;
                    } else {
                        c.skip_value()?;
                    }
                }
                b"delta" => return None,
                // A chat chunk's, never an Anthropic event's: the chunk (a stream's first,
                // while the provider is `auto`) goes to the other readers before it is walked
                // to its end. The tree reads any event that has one.
                b"choices" => return None,
                // What only the other readers (or the tree) read.
                b"message"
                | b"usage"
                | b"content_block"
                | b"error"
                | b"amazon-bedrock-invocationMetrics" => {
                    other_fields = true;
                    c.skip_value()?;
                }
                _ => c.skip_noted(holes)?,
            }
            more = c.next()?;
        }
        c.at_end().then_some(())
    })();
    let Some(kind) = kind.filter(|_| walked.is_some()) else {
        return Walk::Declined;
    };
    if block_start {
        return match start_block(ex, data, block.unwrap_or_default()) {
            Some(()) => Walk::Read(None),
            None => Walk::Declined,
        };
    }
    let mut seen = Seen {
        thinking: false,
        tool_use: false,
        decides: true,
    };
    match kind {
        b"content_block_delta" if !other_fields => {
            ex.output_text.append(&counted);
            seen.thinking = text == Some(DeltaText::Thinking);
            seen.tool_use = text == Some(DeltaText::ToolInput);
            if text.is_none() {
                // No text (a thinking block's signature, once a block): read, not worth
                // learning (thousands of instructions, and a skeleton every later miss tries).
                seen.apply(ex);
                return Walk::Read(None);
            }
        }
        // A ping leaves the provider undecided, as the pure twin's reader does; once a
        // stream, mostly: read, not worth learning.
        b"ping" if !other_fields => {
            seen.decides = false;
            seen.apply(ex);
            return Walk::Read(None);
        }
        // Once a block or a stream: read, not worth learning.
        b"content_block_stop" | b"message_stop" if !other_fields => {
            seen.apply(ex);
            return Walk::Read(None);
        }
        _ => return Walk::Other(kind),
    }
    seen.apply(ex);
    Walk::Read(Some(seen))
}

/// What a content_block_start's block holds that the meter reads: its type, and where its
/// `text`, `thinking` and (a tool's) `name` strings start (`null` and absent alike: `None`).
#[derive(Default)]
struct Block<'a> {
    kind: Option<&'a [u8]>,
    text: Option<usize>,
    thinking: Option<usize>,
    name: Option<usize>,
}

/// A content_block_start's `content_block`, as [`content_block_start`] reads it: any value
/// but an object holds nothing; a field it reads twice gives `None` (left to the tree).
#[inline]
fn content_block<'a>(c: &mut Cursor<'a>) -> Option<Block<'a>> {
    let mut block = Block::default();
    if !c.at_object() {
        c.skip_value()?;
        return Some(block);
    }
    let mut seen = [false; 5];
    let mut more = c.open()?;
    while more {
        match c.name()? {
            b"type" => once(&mut block.kind, &mut seen[0], c.null_or_plain()?)?,
            b"text" => once(&mut block.text, &mut seen[1], c.null_or_string()?)?,
            b"thinking" => once(&mut block.thinking, &mut seen[2], c.null_or_string()?)?,
            b"name" => once(&mut block.name, &mut seen[3], c.null_or_string()?)?,
            // A tool's input: the tree counts a whole one as JSON text; a streamed block's is
            // empty (`{}`), and only that is read here.
            b"input" if c.at_object() => {
                once(&mut None::<()>, &mut seen[4], Some(()))?;
                if c.open()? {
                    return None;
                }
            }
            b"input" => {
                once(&mut None::<()>, &mut seen[4], Some(()))?;
                c.skip_value()?;
            }
            _ => c.skip_value()?,
        }
        more = c.next()?;
    }
    Some(block)
}

/// A content_block_start read whole and valid: its block counted as `count_block` counts it
/// (a tool block: its name; its input is empty). Nothing changes on `None`.
fn start_block(ex: &mut Facts, data: &[u8], block: Block) -> Option<()> {
    let tool = matches!(block.kind, Some(b"tool_use" | b"server_tool_use"));
    let (counted, saw_thinking) = match block.kind {
        _ if tool => (block.name, false),
        Some(b"thinking") => (block.thinking, block.thinking.is_some()),
        Some(b"redacted_thinking") => (None, true),
        _ => (block.text, false),
    };
    let mut stats = ex.output_text;
    if let Some(start) = counted {
        count_string(data, start, &mut stats)?;
    }
    ex.output_text = stats;
    ex.saw_thinking |= saw_thinking;
    ex.saw_tool_use |= tool;
    ex.provider = Provider::Anthropic;
    Some(())
}

/// A delta object: its `text`, `thinking`, `partial_json` or `content` string (the fields the
/// tree counts) counted; `None` when there are two of them (the tree counts them in an order of
/// its own) or one comes twice.
#[inline(always)]
fn delta(c: &mut Cursor, counted: &mut TextStats, holes: &mut Holes) -> Option<Option<DeltaText>> {
    let mut text = None;
    let mut more = c.open()?;
    while more {
        let field = match c.name()? {
            b"text" => DeltaText::Text,
            b"thinking" => DeltaText::Thinking,
            b"partial_json" => DeltaText::ToolInput,
            // A compaction pass's summary (`compaction_delta`), billed as output.
            b"content" => DeltaText::Summary,
            _ => {
                c.skip_noted(holes)?;
                more = c.next()?;
                continue;
            }
        };
        if c.at_string() {
            if text.is_some() {
                return None;
            }
            c.count_noted(counted, holes)?;
            text = Some(field);
        } else {
            // Not a string: not counted, as the tree reads it (but the name twice, the last
            // one winning in the tree, is left to the tree).
            if text == Some(field) {
                return None;
            }
            c.skip_value()?;
        }
        more = c.next()?;
    }
    Some(text)
}

/// Walks the event's top-level object: `type` must be `kind` (once); `field` is called with
/// every other name and consumes its value. The reader, when it read the event whole.
fn event<'a>(
    data: &'a [u8],
    kind: &str,
    mut field: impl FnMut(&mut Skim<'a>, &str) -> Option<()>,
) -> Option<Skim<'a>> {
    let mut skim = Skim::new(data);
    let (mut seen_type, mut event_type) = (false, None);
    skim.object(|skim, key| match key {
        "type" => once(&mut event_type, &mut seen_type, skim.null_or_plain()?),
        _ => field(skim, key),
    })?;
    (skim.at_end() && event_type == Some(kind)).then_some(skim)
}

/// A usage object's text, where it was read in place (`None`, before anything changes, if
/// the text were not UTF-8, which a value the skim read whole always is).
fn usage_text<'a>(skim: &Skim<'a>, span: Option<(usize, usize)>) -> Option<Option<&'a str>> {
    match span {
        Some(span) => Some(Some(skim.text_at(span)?)),
        None => Some(None),
    }
}

/// A usage object read into `fields`: where it is (`None` for a value that is not an object,
/// checked and skipped).
fn usage_into(skim: &mut Skim, fields: &mut UsageFields) -> Option<Option<(usize, usize)>> {
    let span = skim.object_and_span(|skim| usage_fields(skim, fields))?;
    Some(span.map(|((), span)| span))
}

fn message_start(ex: &mut Facts, data: &[u8]) -> Option<()> {
    let (mut id, mut model, mut stop_reason, mut span) = (None, None, None, None);
    let mut fields = UsageFields::default();
    let mut seen = [false; 5];
    let skim = event(data, "message_start", |skim, key| match key {
        "message" => {
            once(&mut None::<()>, &mut seen[0], Some(()))?;
            skim.object_or_skip(|skim, key| match key {
                "id" => once(&mut id, &mut seen[1], skim.null_or_plain()?),
                "model" => once(&mut model, &mut seen[2], skim.null_or_plain()?),
                "stop_reason" => once(&mut stop_reason, &mut seen[3], skim.null_or_plain()?),
                "usage" => once(&mut span, &mut seen[4], usage_into(skim, &mut fields)?),
                _ => skim.skip_value(),
            })
        }
        _ => skim.skip_value(),
    })?;
    let usage = usage_text(&skim, span)?;
    // As `read_message`: identity kept when absent, the usage not final.
    if let Some(id) = id {
        ex.message_id = Some(id.to_owned());
    }
    if let Some(model) = model {
        ex.model = Some(model.to_owned());
    }
    if let Some(reason) = stop_reason {
        ex.stop_reason = Some(reason.to_owned());
    }
    if let Some(text) = usage {
        apply_usage(ex, fields, false);
        ex.set_raw_usage_text(text);
    }
    Some(())
}

fn message_delta(ex: &mut Facts, data: &[u8]) -> Option<()> {
    let (mut stop_reason, mut span) = (None, None);
    let mut fields = UsageFields::default();
    let mut seen = [false; 3];
    let skim = event(data, "message_delta", |skim, key| match key {
        "delta" => {
            once(&mut None::<()>, &mut seen[0], Some(()))?;
            skim.object_or_skip(|skim, key| match key {
                "stop_reason" => once(&mut stop_reason, &mut seen[1], skim.null_or_plain()?),
                _ => skim.skip_value(),
            })
        }
        "usage" => once(&mut span, &mut seen[2], usage_into(skim, &mut fields)?),
        _ => skim.skip_value(),
    })?;
    let usage = usage_text(&skim, span)?;
    if let Some(reason) = stop_reason {
        ex.stop_reason = Some(reason.to_owned());
    }
    if let Some(text) = usage {
        apply_usage(ex, fields, true);
        ex.set_raw_usage_text(text);
    }
    Some(())
}

fn content_block_start(ex: &mut Facts, data: &[u8]) -> Option<()> {
    let (mut kind, mut text, mut thinking) = (None, None, None);
    let mut seen = [false; 4];
    event(data, "content_block_start", |skim, key| match key {
        "content_block" => {
            once(&mut None::<()>, &mut seen[0], Some(()))?;
            skim.object_or_skip(|skim, key| match key {
                "type" => once(&mut kind, &mut seen[1], skim.null_or_plain()?),
                "text" => once(&mut text, &mut seen[2], skim.null_or_string()?),
                "thinking" => once(&mut thinking, &mut seen[3], skim.null_or_string()?),
                _ => skim.skip_value(),
            })
        }
        _ => skim.skip_value(),
    })?;
    // As `count_block`; a tool block (its name and input) is left to the tree.
    let (counted, saw_thinking) = match kind {
        Some("tool_use" | "server_tool_use") => return None,
        Some("thinking") => (thinking, thinking.is_some()),
        Some("redacted_thinking") => (None, true),
        _ => (text, false),
    };
    let mut stats = ex.output_text;
    if let Some(start) = counted {
        count_string(data, start, &mut stats)?;
    }
    ex.output_text = stats;
    ex.saw_thinking |= saw_thinking;
    Some(())
}
