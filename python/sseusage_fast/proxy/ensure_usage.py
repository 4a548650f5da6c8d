"""`ensure_usage`: an OpenAI-compatible chat stream always carries its usage upstream, and the
client still gets the stream it asked for.

A Chat Completions stream reports usage only when the request sets
`stream_options.include_usage`; then every chunk also carries `"usage": null` and one extra
chunk (`"choices": []`) carries the figures. For a client that did not ask, the proxy asks
(`with_usage_requested`), meters the stream as it comes, and gives the client each event as
it would have been without the option (`HideUsage`): the usage chunk dropped, the `usage`
key taken out of the others, every other byte as the upstream sent it.
"""

from __future__ import annotations

import json
import re
from typing import Any

_OPTION = b'"stream_options":{"include_usage":true},'
# The event separators an SSE stream may use (WHATWG: a blank line after CRLF, LF or CR).
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
# The `usage` key with a null value and the comma before it (or after it, when it comes first).
_NULL_USAGE = re.compile(rb',\s*"usage"\s*:\s*null(?=\s*[,}])|"usage"\s*:\s*null\s*,\s*')


def needs_usage(path: str, body: dict[str, Any] | None) -> bool:
    """A Chat Completions stream request that does not ask for usage."""
    if body is None or body.get("stream") is not True:
        return False
    if not path.rstrip("/").endswith("/chat/completions"):
        return False
    options = body.get("stream_options")
    if options is None:
        return True
    return isinstance(options, dict) and options.get("include_usage") is not True


def with_usage_requested(raw: bytes, body: dict[str, Any]) -> bytes:
    """The request body asking for usage: the option spliced in after the opening brace (every
    other byte unchanged) when the body has no `stream_options`, else re-serialised."""
    if "stream_options" not in body:
        start = raw.index(b"{")
        rest = raw[start + 1 :]
        # `{}` cannot be a stream request, but the splice must not leave a trailing comma.
        option = _OPTION[:-1] if rest.strip().startswith(b"}") else _OPTION
        return raw[: start + 1] + option + rest
    changed = dict(body)
    changed["stream_options"] = {**body["stream_options"], "include_usage": True}
    return json.dumps(changed, ensure_ascii=False, separators=(",", ":")).encode()


def _hidden(event: bytes) -> bytes:
    """One event (its blank line included) as the client would have had it: b"" for the usage
    chunk, the `usage` key taken out of a chunk that has it null, else unchanged."""
    start = event.find(b"data:")
    if start < 0 or b'"usage"' not in event:
        return event
    head, payload = event[: start + 5], event[start + 5 :]
    end = _EVENT_END.search(payload)
    tail = payload[end.start() :] if end else b""
    payload = payload[: end.start()] if end else payload
    try:
        data = json.loads(payload)
    except ValueError:
        return event
    if not isinstance(data, dict) or "usage" not in data:
        return event
    if data.get("usage") is not None:
        if data.get("choices") == []:
            return b""  # the chunk that exists only because usage was asked for
        return event  # usage in a content chunk: a server's own habit, kept
    matches = list(_NULL_USAGE.finditer(payload))
    for match in reversed(matches):  # the top-level key comes last in OpenAI's chunks
        candidate = payload[: match.start()] + payload[match.end() :]
        try:
            if json.loads(candidate) == {k: v for k, v in data.items() if k != "usage"}:
                return head + candidate + tail
        except ValueError:
            continue
    return event


class HideUsage:
    """A relay transform: whole events through `_hidden`, an event's bytes held back only
    until its blank line has arrived."""

    def __init__(self) -> None:
        self._pending = b""

    def __call__(self, chunk: bytes) -> bytes:
        if not chunk:  # the end of the stream: what is left, unchanged
            rest, self._pending = self._pending, b""
            return rest
        data = self._pending + chunk if self._pending else chunk
        out: list[bytes] = []
        at = 0
        for match in _EVENT_END.finditer(data):
            out.append(_hidden(data[at : match.end()]))
            at = match.end()
        self._pending = data[at:]
        return b"".join(out)
