"""End of stream (twin of meter/finish.rs): what a cut stream left unfinished, a JSON body read
whole, and the raw record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...record import TOKEN_COUNT_FIELDS, TOKEN_FIELDS
from ..providers import detect
from ..providers.error import read_error
from ..scan.tree import note, parse

if TYPE_CHECKING:
    from . import UsageCore


def finish_raw(core: UsageCore) -> tuple[Any, ...]:
    """End of stream: reads what a cut stream left unfinished, and says what the body was."""
    if core._raw is None:
        if core._held:
            # A body too short to be zstd: read as what it is, bytes of an event stream.
            core._framer.feed(core._held, core._lines)
            core._held = b""
        mode, core._mode = core._mode, "sniff"
        if mode in ("sse", "sniff"):
            kind = finish_stream(core)
        elif mode == "json":
            kind = finish_json(core)
        elif mode == "ndjson":
            kind = finish_ndjson(core)
        elif mode == "aws-eventstream":
            kind = finish_aws(core)
        elif mode == "json-array":
            kind = finish_array(core)
        else:
            kind = mark_not_sse(core, core._why_not_sse)
        core._raw = raw_record(core, kind)
    return core._raw


def finish_stream(core: UsageCore) -> str:
    # The spec drops an unfinished event; for metering, its data is still read when it is
    # complete JSON (a cut before the blank line loses nothing then).
    if core._framer.in_overlong_line():
        core._events.overlong_line()
    tail = core._framer.take_tail()
    if tail is not None:
        core._events.line(tail, core._sink)
    # An event cut inside after it outgrew the bound says so, as a finished one would.
    core._events.end_oversized(core._sink)
    pending = core._events.pending()
    if pending is not None and parse(pending[1]) is not None:
        core._sink.handle(*pending)
    ex = core._sink.facts
    if core._sink.saw_sse_line or ex.events > 0:
        return "sse"
    if not core._saw_bytes:
        # Nothing arrived (a client that went away at once): no usage, not a bad body.
        ex.error_message = "empty body: no bytes arrived"
        return "sse"
    if ex.error_type is not None:
        return "not_sse"
    return mark_not_sse(core, "neither an event stream nor a JSON body (no SSE fields found)")


def finish_array(core: UsageCore) -> str:
    # A cut inside the last element: read if it is whole JSON (it rarely is).
    tail = core._array.take_tail()
    if tail is not None and parse(tail) is not None:
        core._sink.handle(b"", tail)
    ex = core._sink.facts
    if ex.provider == "auto" and ex.error_type is None:
        return mark_not_sse(core, "a JSON body that is not a provider response")
    return "json"


def finish_aws(core: UsageCore) -> str:
    left = core._aws.unfinished()
    ex = core._sink.facts
    if left and ex.error_type is None:
        why = f"AWS event stream: the stream ended inside a message ({left} bytes)"
        if ex.final_usage:
            note(ex.notes, why)
        else:
            ex.set_error("truncated_event_stream", why)
    return "sse"


def finish_ndjson(core: UsageCore) -> str:
    # The last line, when the body did not end with a newline, and is whole JSON.
    tail = core._ndjson.take_tail()
    if tail is not None and parse(tail) is not None:
        core._sink.handle(b"", tail)
    ex = core._sink.facts
    if ex.events == 0 and ex.error_type is None:
        return mark_not_sse(core, "a body that starts like JSON but does not parse")
    if ex.events == 1:
        ex.framing = "json"  # one value: a whole JSON body, as auto reads it
        return "json"
    return "sse"


def finish_json(core: UsageCore) -> str:
    body, core._body = bytes(core._body), bytearray()
    value = parse(body)
    if value is None:
        return mark_not_sse(core, "a body that starts like JSON but does not parse")
    ex = core._sink.facts
    if ex.provider == "auto":
        ex.provider = detect(value)
    if ex.provider != "auto":
        known = core._sink.on_body(value)
    elif isinstance(value, dict) and isinstance(value.get("error"), dict):
        read_error(ex, value)
        known = True
    else:
        known = False
    if known:
        return "json"
    return mark_not_sse(core, "a JSON body that is not a provider response")


def mark_not_sse(core: UsageCore, why: str) -> str:
    ex = core._sink.facts
    if ex.error_type is None:
        ex.error_message = why or "empty body"
    return "not_sse"


def raw_record(core: UsageCore, body_kind: str) -> tuple[Any, ...]:
    ex = core._sink.facts
    tokens = ex.tokens
    if ex.invalid_events:
        ex.notes.append(f"ignored {ex.invalid_events} event(s) whose data is not valid JSON")
    if body_kind == "not_sse" and ex.error_type is None:
        status = "not_sse"
    elif ex.error_type is not None:
        status = "error"
    elif ex.final_usage:
        status = "complete"
    elif any(tokens[k] is not None for k in TOKEN_COUNT_FIELDS):
        status = "partial"
    else:
        status = "no_usage"
    tier = ex.service_tier
    if tier is not None and tier.isascii():
        tier = tier.lower()  # whatever the provider's spelling (ASCII only, as Rust)
    # RAW_FIELDS order.
    return (
        *(tokens[name] for name in TOKEN_FIELDS),
        tier,
        ex.speed,
        None if ex.provider == "auto" else ex.provider,
        ex.model,
        ex.message_id,
        ex.stop_reason,
        status,
        ex.error_type,
        ex.error_message,
        ex.last_usage,
        tuple(ex.notes),
        body_kind,
        ex.output_final,
        ex.output_text.as_tuple(),
        ex.saw_thinking,
        ex.saw_tool_use,
        tuple(ex.encrypted_reasoning),
        ex.events,
        ex.audio_input,
        ex.audio_output,
        tuple(ex.iterations),
        ex.provider_cost,
        ex.inference_geo,
        ex.framing or (None if body_kind == "not_sse" else body_kind),
    )
