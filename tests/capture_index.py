"""The real recorded provider responses under `tests/captures/`, with their metadata.

Each capture is `tests/captures/<provider>/<name>.<ext>` (the exact response body bytes, as the
client received them) beside `<name>.meta.json` (source, licence, request, `provider=` value,
framing, expected record fields); `tests/captures/README.md` describes the fields.

    from capture_index import load_captures, strip_usage
    for cap in load_captures():
        cap.body, cap.provider, cap.framing, cap.expected, cap.request
        strip_usage(cap)  # the same response with every usage figure taken out

Used by `test_conformance.py`, and meant for benchmarks (speed on real traffic) and for
estimate evaluation (strip the usage, estimate, compare with `cap.expected`).
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

CAPTURES_DIR = Path(__file__).parent / "captures"

# Keys that hold usage figures in some provider's format; `strip_usage` deletes them wherever
# they occur in a JSON value (Anthropic/OpenAI `usage`, Gemini `usageMetadata`, Bedrock
# `amazon-bedrock-invocationMetrics`, Cohere `billed_units`/`tokens`, Ollama's counts).
USAGE_KEYS = frozenset(
    {
        "usage",
        "usageMetadata",
        "usage_metadata",
        "amazon-bedrock-invocationMetrics",
        "billed_units",
        "tokens",
        "prompt_eval_count",
        "eval_count",
        "prompt_eval_duration",
        "eval_duration",
        "cost",
        "cost_in_usd_ticks",
    }
)


@dataclass(frozen=True)
class Capture:
    """One recorded response and what it should read as."""

    path: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        """`<provider folder>/<file name>`, e.g. `anthropic/compaction_stream.sse`."""
        return self.meta["capture"]

    @cached_property
    def body(self) -> bytes:
        return self.path.read_bytes()

    @property
    def provider(self) -> str:
        """The `provider=` value to read it with."""
        return str(self.meta["provider"])

    @property
    def framing(self) -> str:
        """`sse`, `json`, `json-array`, `ndjson` or `aws-eventstream`."""
        return str(self.meta["framing"])

    @property
    def request(self) -> Any:
        """The request body as the cassette recorded it, or None."""
        return self.meta.get("request")

    @property
    def expected(self) -> dict[str, Any]:
        """Record fields of the first-round contract, read by the provider's documented rules."""
        return dict(self.meta["expected"])

    @property
    def expected_additions(self) -> dict[str, Any]:
        """Record fields of the contract's "Additions" (framing, iterations, provider_cost, ...)."""
        return dict(self.meta.get("expected_additions") or {})

    @property
    def gaps(self) -> list[str]:
        """Known misreads of the current code that the expectation relies on being fixed."""
        return list(self.meta.get("gaps") or [])


def load_captures(root: Path = CAPTURES_DIR) -> list[Capture]:
    """Every capture with its metadata, sorted by name."""
    out = []
    for meta_path in sorted(root.glob("*/*.meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        path = meta_path.parent / Path(meta["capture"]).name
        if not path.is_file():
            raise FileNotFoundError(f"{meta_path} names {path}, which is missing")
        out.append(Capture(path, meta))
    return out


# --------------------------------------------------------------------------------------------
# strip_usage: the same response without its usage figures


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in USAGE_KEYS:
                continue
            if key == "x_groq" and isinstance(item, dict):
                item = {k: v for k, v in item.items() if k != "usage"}
            out[key] = _strip(item)
        return out
    if isinstance(value, list):
        return [_strip(item) for item in value]
    return value


def _strip_json_text(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return json.dumps(_strip(value), ensure_ascii=False, separators=(",", ":"))


def _strip_lines(body: bytes, prefix: bytes) -> bytes:
    """Rewrite every line that starts with `prefix` and holds JSON; keep every other byte."""
    out = []
    for line in body.splitlines(keepends=True):
        content = line.rstrip(b"\r\n")
        end = line[len(content) :]
        if content.startswith(prefix):
            head = prefix
            rest = content[len(prefix) :]
            if prefix and rest.startswith(b" "):
                head, rest = head + b" ", rest[1:]
            text = rest.decode("utf-8", "replace")
            content = head + _strip_json_text(text).encode("utf-8")
        out.append(content + end)
    return b"".join(out)


def _eventstream_messages(body: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(headers bytes, payload) of each AWS event stream message (CRCs already checked)."""
    i = 0
    while i + 12 <= len(body):
        total, header_len = struct.unpack(">II", body[i : i + 8])
        message = body[i : i + total]
        yield message[12 : 12 + header_len], message[12 + header_len : -4]
        i += total


def _eventstream_message(headers: bytes, payload: bytes) -> bytes:
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _strip_eventstream(body: bytes) -> bytes:
    out = []
    for headers, payload in _eventstream_messages(body):
        try:
            value = json.loads(payload)
        except ValueError:
            out.append(_eventstream_message(headers, payload))
            continue
        if isinstance(value, dict) and isinstance(value.get("bytes"), str):
            inner = base64.b64decode(value["bytes"]).decode("utf-8")
            value["bytes"] = base64.b64encode(_strip_json_text(inner).encode()).decode("ascii")
        else:
            value = _strip(value)
        new_payload = json.dumps(value, separators=(",", ":")).encode("utf-8")
        out.append(_eventstream_message(headers, new_payload))
    return b"".join(out)


def strip_usage(capture: Capture) -> bytes:
    """The capture's body with every usage figure removed, framing kept (SSE lines, NDJSON
    lines, JSON bodies, AWS event stream messages with fresh CRCs). JSON values that hold no
    usage are re-serialised compactly; non-JSON lines are kept byte for byte."""
    body = capture.body
    framing = capture.framing
    if framing == "sse":
        return _strip_lines(body, b"data:")
    if framing == "ndjson":
        return _strip_lines(body, b"")
    if framing in ("json", "json-array"):
        return _strip_json_text(body.decode("utf-8")).encode("utf-8")
    if framing == "aws-eventstream":
        return _strip_eventstream(body)
    raise ValueError(f"unknown framing {framing!r}")


def estimated_on_both(backends: tuple[Any, Any], capture: Capture) -> Any:
    """The record of `capture` with its usage removed, estimated uncalibrated (a fresh
    `Estimator`) from its request on each backend: the same on both, the first returned."""
    from sseusage_fast.estimate import Estimator

    body = strip_usage(capture)
    first, second = (
        b.parse_usage(body, capture.provider, request=capture.request, estimator=Estimator())
        for b in backends
    )
    assert first == second, capture.name
    return first
