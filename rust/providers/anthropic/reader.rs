//! Anthropic events read with [`Skim`] instead of a JSON tree, in any JSON layout (the
//! canonical text delta has a faster reader still, `layouts`): only a usage object, when
//! there is one, is parsed into a tree (it is kept as the raw usage). Each reader takes exactly
//! the events that `tree::on_event` would read the same way and gives up (returns `None`,
//! having changed nothing) on anything else, which then goes to the full parse.

use super::layouts::{self, DeltaKind};
use super::usage::{apply_usage, usage_fields};
use crate::providers::facts::{Facts, Provider};
use crate::scan::skim::{once, Skim};
use crate::scan::strings::count_string;

/// Handles the events that need no JSON tree; `false` leaves the event to `on_event`.
pub fn fast_path(ex: &mut Facts, data: &[u8]) -> bool {
    if data.starts_with(br#"{"type":"content_block_delta""#) {
        if let Some(kind) = layouts::anthropic_delta(data, &mut ex.output_text) {
            ex.provider = Provider::Anthropic;
            ex.saw_thinking |= kind == DeltaKind::Thinking;
            ex.saw_tool_use |= kind == DeltaKind::ToolInput;
            return true;
        }
    }
    // Any other event, or a delta laid out otherwise (white space, other key order).
    if read(ex, data) {
        return true;
    }
    data.starts_with(br#"{"type":"ping"}"#) || data.starts_with(br#"{"type": "ping"}"#)
}

/// Reads `data` if it is one of these events; `false` leaves it to the full parse.
pub fn read(ex: &mut Facts, data: &[u8]) -> bool {
    let read = match leading_type(data) {
        Some(b"content_block_delta") => content_block_delta(ex, data),
        Some(b"content_block_start") => content_block_start(ex, data),
        Some(b"message_delta") => message_delta(ex, data),
        Some(b"message_start") => message_start(ex, data),
        Some(b"content_block_stop") => no_op(data, "content_block_stop"),
        Some(b"message_stop") => no_op(data, "message_stop"),
        _ => None,
    };
    if read.is_some() {
        ex.provider = Provider::Anthropic;
    }
    read.is_some()
}

/// The value of a `type` field that opens the object, with any JSON white space around
/// (`{"type":"x"` or `{ "type": "x"`): where every Anthropic event says what it is. Only a
/// guide to the reader to try; the reader checks the whole event.
fn leading_type(data: &[u8]) -> Option<&[u8]> {
    let blank = |at: usize| {
        at + data[at.min(data.len())..]
            .iter()
            .take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
            .count()
    };
    let after = |at: usize, lit: &[u8]| data.get(at..)?.starts_with(lit).then_some(at + lit.len());
    let at = after(blank(0), b"{")?;
    let at = after(blank(at), b"\"type\"")?;
    let at = after(blank(at), b":")?;
    let at = after(blank(at), b"\"")?;
    let len = memchr::memchr(b'"', &data[at..])?;
    Some(&data[at..at + len])
}

/// Walks the event's top-level object: `type` must be `kind` (once); `field` is called with
/// every other name and consumes its value. The event's text, when it was read whole.
fn event<'a>(
    data: &'a [u8],
    kind: &str,
    mut field: impl FnMut(&mut Skim<'a>, &str) -> Option<()>,
) -> Option<&'a str> {
    let text = std::str::from_utf8(data).ok()?;
    let mut skim = Skim::new(text);
    let (mut seen_type, mut event_type) = (false, None);
    skim.object(|skim, key| match key {
        "type" => once(&mut event_type, &mut seen_type, skim.null_or_plain()?),
        _ => field(skim, key),
    })?;
    (skim.at_end() && event_type == Some(kind)).then_some(text)
}

fn message_start(ex: &mut Facts, data: &[u8]) -> Option<()> {
    let (mut id, mut model, mut stop_reason, mut usage) = (None, None, None, None);
    let mut seen = [false; 5];
    let text = event(data, "message_start", |skim, key| match key {
        "message" => {
            once(&mut None::<()>, &mut seen[0], Some(()))?;
            skim.object_or_skip(|skim, key| match key {
                "id" => once(&mut id, &mut seen[1], skim.null_or_plain()?),
                "model" => once(&mut model, &mut seen[2], skim.null_or_plain()?),
                "stop_reason" => once(&mut stop_reason, &mut seen[3], skim.null_or_plain()?),
                "usage" => once(
                    &mut usage,
                    &mut seen[4],
                    skim.object_and_span(usage_fields)?,
                ),
                _ => skim.skip_value(),
            })
        }
        _ => skim.skip_value(),
    })?;
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
    if let Some((fields, (start, end))) = usage {
        apply_usage(ex, fields, false);
        ex.set_raw_usage_text(&text[start..end]);
    }
    Some(())
}

fn message_delta(ex: &mut Facts, data: &[u8]) -> Option<()> {
    let (mut stop_reason, mut usage) = (None, None);
    let mut seen = [false; 3];
    let text = event(data, "message_delta", |skim, key| match key {
        "delta" => {
            once(&mut None::<()>, &mut seen[0], Some(()))?;
            skim.object_or_skip(|skim, key| match key {
                "stop_reason" => once(&mut stop_reason, &mut seen[1], skim.null_or_plain()?),
                _ => skim.skip_value(),
            })
        }
        "usage" => once(
            &mut usage,
            &mut seen[2],
            skim.object_and_span(usage_fields)?,
        ),
        _ => skim.skip_value(),
    })?;
    if let Some(reason) = stop_reason {
        ex.stop_reason = Some(reason.to_owned());
    }
    if let Some((fields, (start, end))) = usage {
        apply_usage(ex, fields, true);
        ex.set_raw_usage_text(&text[start..end]);
    }
    Some(())
}

fn content_block_delta(ex: &mut Facts, data: &[u8]) -> Option<()> {
    let (mut text, mut thinking, mut partial) = (None, None, None);
    let mut seen = [false; 4];
    event(data, "content_block_delta", |skim, key| match key {
        "delta" => {
            once(&mut None::<()>, &mut seen[0], Some(()))?;
            skim.object_or_skip(|skim, key| match key {
                "text" => once(&mut text, &mut seen[1], skim.null_or_string()?),
                "thinking" => once(&mut thinking, &mut seen[2], skim.null_or_string()?),
                "partial_json" => once(&mut partial, &mut seen[3], skim.null_or_string()?),
                _ => skim.skip_value(),
            })
        }
        _ => skim.skip_value(),
    })?;
    // As `count_delta`: the text, the thinking, the tool input, in that order.
    let mut stats = ex.output_text;
    for start in [text, thinking, partial].into_iter().flatten() {
        count_string(data, start, &mut stats)?;
    }
    ex.output_text = stats;
    ex.saw_thinking |= thinking.is_some();
    ex.saw_tool_use |= partial.is_some();
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

/// `content_block_stop`, and a `message_stop` without Bedrock metrics, carry nothing the meter
/// reads: the data must still be valid JSON of that one type, as the full parse would check.
fn no_op(data: &[u8], kind: &str) -> Option<()> {
    event(data, kind, |skim, key| match key {
        "amazon-bedrock-invocationMetrics" => None,
        _ => skim.skip_value(),
    })
    .map(drop)
}
