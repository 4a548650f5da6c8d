//! Responses events read with [`Skim`] instead of a JSON tree, in any JSON layout (keys in any
//! order, any white space, unknown fields anywhere): the deltas that `delta::read_delta`
//! leaves (a field only this reader reads), the events around them that say nothing the meter reads (`output_item.added`,
//! `content_part.done`, ...), and the events that carry a `response` (its identity, status and
//! error read in place; its usage object too, by the OpenAI usage reader, or parsed alone when
//! that reader declines it), and `error` events (their code and message). An event it
//! declines goes to `tree::on_event`, which gives the same result: a name twice, escapes where
//! a value is kept, invalid JSON.

use super::usage::RESPONSES_KEYS;
use crate::providers::facts::{Facts, Provider};
use crate::providers::openai_chat::usage::{apply_usage, declined_tree, usage_or_span, UsageAt};
use crate::scan::skim::{once, Skim};
use crate::scan::strings::count_string;
use crate::scan::tree;

/// What an event's `response` object says, as `tree::read_response` reads it: each string
/// only where it is one (`None` for `null`; anything else, or escapes, declines the event).
#[derive(Default)]
struct Response<'a> {
    id: Option<&'a str>,
    model: Option<&'a str>,
    tier: Option<&'a str>,
    /// `incomplete_details.reason`.
    reason: Option<&'a str>,
    status: Option<&'a str>,
    /// An `error` object: its code and message.
    error: Option<(Option<&'a str>, Option<&'a str>)>,
    /// The usage object, when there is one.
    usage: Option<UsageAt>,
}

fn read_response<'a>(skim: &mut Skim<'a>) -> Option<Response<'a>> {
    let mut r = Response::default();
    let mut seen = [false; 7];
    skim.object(|skim, name| match name {
        "id" => once(&mut r.id, &mut seen[0], skim.null_or_plain()?),
        "model" => once(&mut r.model, &mut seen[1], skim.null_or_plain()?),
        "service_tier" => once(&mut r.tier, &mut seen[2], skim.null_or_plain()?),
        "incomplete_details" => {
            once(&mut None::<()>, &mut seen[3], Some(()))?;
            let mut seen = false;
            skim.object_or_skip(|skim, name| match name {
                "reason" => once(&mut r.reason, &mut seen, skim.null_or_plain()?),
                _ => skim.skip_value(),
            })
        }
        "status" => once(&mut r.status, &mut seen[4], skim.null_or_plain()?),
        "error" => once(&mut r.error, &mut seen[5], skim.object_or_null(read_error)?),
        "usage" => once(
            &mut r.usage,
            &mut seen[6],
            usage_or_span(skim, &RESPONSES_KEYS)?,
        ),
        _ => skim.skip_value(),
    })?;
    Some(r)
}

/// An `error` object's code and message.
fn read_error<'a>(skim: &mut Skim<'a>) -> Option<(Option<&'a str>, Option<&'a str>)> {
    let (mut code, mut message, mut seen) = (None, None, [false; 2]);
    skim.object(|skim, name| match name {
        "code" => once(&mut code, &mut seen[0], skim.null_or_plain()?),
        "message" => once(&mut message, &mut seen[1], skim.null_or_plain()?),
        _ => skim.skip_value(),
    })?;
    Some((code, message))
}

/// An output item's `type` and `encrypted_content`, each where it is a string (escapes decline).
fn read_item<'a>(skim: &mut Skim<'a>) -> Option<(Option<&'a str>, Option<&'a str>)> {
    let (mut kind, mut sealed, mut seen) = (None, None, [false; 2]);
    skim.object(|skim, name| match name {
        "type" => once(&mut kind, &mut seen[0], skim.null_or_plain()?),
        "encrypted_content" => once(&mut sealed, &mut seen[1], skim.null_or_plain()?),
        _ => skim.skip_value(),
    })?;
    Some((kind, sealed))
}

/// What a delta event of this type does: (reasoning, tool input); `None` for another type.
pub(super) fn delta_kind(kind: &[u8]) -> Option<(bool, bool)> {
    match kind {
        b"response.output_text.delta" | b"response.refusal.delta" => Some((false, false)),
        b"response.reasoning_summary_text.delta" | b"response.reasoning_text.delta" => {
            Some((true, false))
        }
        b"response.function_call_arguments.delta" | b"response.custom_tool_call_input.delta" => {
            Some((false, true))
        }
        _ => None,
    }
}

/// Reads one Responses event as `tree::on_event` would; `None` (nothing changed) leaves it to
/// the tree. With the provider still `Auto`, only an event whose type starts with `response.`
/// (which `providers::detect` calls Responses), and it says so.
pub fn fast_path(ex: &mut Facts, data: &[u8]) -> Option<()> {
    let mut skim = Skim::new(data);
    let (mut kind, mut delta, mut response) = (None, None, None);
    // An output item's type and encrypted reasoning (`output_item.done`), where it has them.
    let mut item = None;
    // An `error` event's code and message (at its top level), where they are strings.
    let (mut code, mut message) = (None, None);
    let mut seen = [false; 6];
    skim.object(|skim, name| match name {
        "type" => once(&mut kind, &mut seen[0], skim.null_or_plain()?),
        // A string (where its body starts), or `null` (nothing to count).
        "delta" => once(&mut delta, &mut seen[1], skim.null_or_string()?),
        "response" => once(
            &mut response,
            &mut seen[2],
            skim.object_or_null(read_response)?,
        ),
        "item" => once(&mut item, &mut seen[3], skim.object_or_null(read_item)?),
        "code" => once(&mut code, &mut seen[4], skim.plain_or_skip()?),
        "message" => once(&mut message, &mut seen[5], skim.plain_or_skip()?),
        _ => skim.skip_value(),
    })?;
    if !skim.at_end() {
        return None;
    }
    // An event without a type: the tree.
    let kind = kind?;
    if ex.provider == Provider::Auto && !kind.starts_with("response.") {
        return None;
    }
    if kind == "error" {
        // As `tree::on_event`: the top-level code (else the type, `error`) and message.
        ex.set_error(
            code.unwrap_or("error"),
            message.map_or_else(|| "the stream reported an error".to_owned(), str::to_owned),
        );
        return Some(());
    }
    if let Some((reasoning, tool)) = delta_kind(kind.as_bytes()) {
        let mut stats = ex.output_text;
        if let Some(start) = delta {
            count_string(data, start, &mut stats)?;
        }
        ex.output_text = stats;
        ex.saw_thinking |= reasoning;
        ex.saw_tool_use |= tool;
    } else if let Some(response) = response {
        // A usage object the reader declined: its own tree, parsed before anything changes.
        let usage = declined_tree(&response.usage, data)?;
        apply_response(ex, response, kind, usage, &skim);
    }
    if let Some((Some("reasoning"), Some(sealed))) = item {
        if kind == "response.output_item.done" {
            ex.encrypted_reasoning.add(sealed);
        }
    }
    ex.provider = Provider::OpenAiResponses;
    Some(())
}

/// `tree::read_response`, from what [`read_response`] read.
fn apply_response(
    ex: &mut Facts,
    r: Response,
    kind: &str,
    usage: Option<tree::Object>,
    skim: &Skim,
) {
    if let Some(id) = r.id {
        ex.message_id = Some(id.to_owned());
    }
    if let Some(model) = r.model {
        ex.model = Some(model.to_owned());
    }
    if let Some(tier) = r.tier {
        ex.service_tier = Some(tier.to_owned());
    }
    // `in_progress` / `queued` on response.created are not a stop.
    let status = r.status.filter(|s| !matches!(*s, "in_progress" | "queued"));
    if let Some(reason) = r.reason.or(status) {
        ex.stop_reason = Some(reason.to_owned());
    }
    if kind == "response.failed" || r.error.is_some() {
        let (code, message) = r.error.unwrap_or_default();
        ex.set_error(
            code.unwrap_or("response_failed"),
            message.map_or_else(|| "the response failed".to_owned(), str::to_owned),
        );
    }
    apply_usage(ex, r.usage, usage, skim, &RESPONSES_KEYS);
}
