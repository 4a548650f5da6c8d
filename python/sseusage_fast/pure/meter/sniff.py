"""The body's kind, decided from its first significant byte (twin of meter/sniff.rs): an event
stream is framed, a JSON body is kept (bounded) and read whole at the end, an HTML page or
compressed bytes are reported as not_sse without being kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..scan.tree import parse
from ..sse.framer import BOM

if TYPE_CHECKING:
    from . import UsageCore

_WHITESPACE = b" \t\n\r\x0c"  # what Rust's is_ascii_whitespace accepts
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


# The framing a response's content type names (see `content_type_hint`).
_HINTS = {
    "text/event-stream": "sse",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/vnd.amazon.eventstream": "aws-eventstream",
    "application/json": "json",
}


def content_type_hint(content_type: str | None) -> str | None:
    """What a `Content-Type` value says about the framing (twin of `Hint` in meter/sniff.rs):
    its media type, parameters dropped, ASCII case ignored; a hint where the first bytes leave
    the choice open, never over bytes that decide."""
    if content_type is None:
        return None
    if not isinstance(content_type, str):
        raise TypeError(f"content_type must be str or None, not {type(content_type).__name__}")
    media = content_type.split(";", 1)[0].strip()
    if not media.isascii():
        return None
    media = media.lower()
    if media.startswith("application/") and media.endswith("+json"):
        return "json"
    return _HINTS.get(media)


def sniff(core: UsageCore, chunk: bytes) -> None:
    if core._held:
        # The start of a possible BOM or zstd magic, held back: decide with the next bytes.
        chunk, core._held = core._held + chunk, b""
    # A byte order mark at the very start is text encoding, not content: a JSON body may
    # carry one too. The framer strips it from an event stream itcore.
    skip = 0
    if not core._bom_seen and chunk:
        if len(chunk) < len(BOM) and BOM.startswith(chunk):
            core._held = chunk  # too few bytes to tell: wait for the next read
            return
        core._bom_seen = True
        if chunk.startswith(BOM):
            skip = len(BOM)
    start = len(chunk) - len(chunk[skip:].lstrip(_WHITESPACE))
    if start == len(chunk):
        core._framer.feed(chunk, core._lines)
        return
    core._saw_bytes = True
    head = chunk[start:]
    if len(head) < len(ZSTD_MAGIC) and ZSTD_MAGIC.startswith(head):
        # Too few bytes to tell zstd from anything else: keep them for the next read.
        core._framer.feed(chunk[:start], core._lines)
        core._held = head
        return
    first = head[0]
    provider, hint = core._sink.facts.provider, core._hint
    # A message's total length: its first byte is 0 below 16 MiB, never text.
    if (first == 0 and provider == "auto") or (
        provider == "bedrock" and first not in b"{[" and hint != "sse"
    ):
        start_aws(core, head, provider)
        return
    if first == 0x7B and (provider == "ollama" or hint == "ndjson"):
        core._mode = "ndjson"
        core._sink.facts.framing = "ndjson"
        core._ndjson_lines(head)
        return
    if first == 0x5B:  # [
        core._mode = "json-array"
        core._sink.facts.framing = "json-array"
        core._array_elements(head)
        return
    if first == 0x7B:
        core._mode = "json"
        keep_body(core, head)
        return
    if first == 0x3C:  # '<'
        not_sse(core, "an HTML or XML page, not an event stream (an error page from a proxy?)")
    elif first == 0x1F:
        not_sse(core, "gzip-compressed bytes: the body must be decompressed before metering")
    elif head.startswith(ZSTD_MAGIC):
        not_sse(core, "zstd-compressed bytes: the body must be decompressed before metering")
    elif provider == "auto" and hint == "aws-eventstream":
        # A message of 16 MiB or more starts with a non-zero byte: the label tells.
        start_aws(core, head, provider)
    else:
        core._mode = "sse"
        core._framer.feed(chunk, core._lines)


def start_aws(core: UsageCore, head: bytes, provider: str) -> None:
    core._mode = "aws-eventstream"
    core._aws_sniffed = provider == "auto"
    core._sink.facts.framing = "aws-eventstream"
    core._sink.facts.provider = "bedrock"
    core._aws_messages(head)  # the length's zero bytes are not white space to skip


def not_sse(core: UsageCore, why: str) -> None:
    core._mode = "not_sse"
    core._why_not_sse = why


def keep_body(core: UsageCore, chunk: bytes) -> None:
    # The bytes within the bound first: the NDJSON test may decide within them, as it does
    # when the same bytes come a few at a time (the record must not depend on the reads).
    room = max(core._max_event_bytes - len(core._body), 0)
    within, over = chunk[:room], chunk[room:]
    core._body += within
    check_ndjson(core)
    if not over:
        return
    if core._mode == "ndjson":
        core._ndjson_lines(over)
        return
    not_sse(core, "")
    core._body = bytearray()
    core._sink.facts.set_error(
        "event_too_large", "a JSON body exceeded max_event_bytes and was dropped"
    )


def check_ndjson(core: UsageCore) -> None:
    """A body of several JSON objects, one a line, is newline-delimited JSON: told apart
    from one JSON body at the start of its second line, when its first line is a whole
    object and the second starts another. Until then the body is kept as one JSON body."""
    body = core._body
    if core._json_checked < 0 or body[:1] != b"{":
        return
    nl = body.find(b"\n", core._json_checked)
    if nl < 0:
        core._json_checked = len(body)
        return
    rest = body[nl + 1 :].lstrip(_WHITESPACE)
    if not rest:
        core._json_checked = nl  # the next read decides
        return
    core._json_checked = -1  # decided, either way
    if rest[:1] == b"{" and isinstance(parse(bytes(body[:nl])), dict):
        core._body = bytearray()
        core._mode = "ndjson"
        core._sink.facts.framing = "ndjson"
        core._ndjson_lines(bytes(body))
