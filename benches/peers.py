"""What a user would otherwise run to meter a stream: each peer, written out as a function.

Every usage peer takes one stream's chunks and returns the usage it found, normalised to the
contract's disjoint buckets (`CORE_FIELDS`) so that tests can check it against our parser: a peer
that skipped the work would be faster and wrong. The peers are given the benefit of the doubt:

- they stop at `json.loads` (the anthropic SDK would go on to build pydantic models per event);
- they read Anthropic and OpenAI usage alike (the SDK's own loop drops events without a name,
  which is every OpenAI chunk).

Benchmark-only dependencies: `pip install anthropic httpx httpx-sse sseclient-py`. A peer whose
package is missing is left out of `available_peers()`.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable
from typing import Any

from corpus import CORE_FIELDS

Usage = dict[str, int]
UsagePeer = Callable[[Iterable[bytes]], "Usage | None"]
EventPeer = Callable[[Iterable[bytes]], int]


# --- shared: keep the last value of each usage field, then normalise -----------------------------


class _UsageAcc:
    """Last-wins merge of the usage objects seen: provider numbers are cumulative."""

    __slots__ = ("raw",)

    def __init__(self) -> None:
        self.raw: dict[str, Any] = {}

    def take(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        usage = obj.get("usage")
        if usage is None:
            # Anthropic's first usage is in the message, Responses' in the response (tested
            # only where the top level has none: the other lines cost what they did).
            kind = obj.get("type")
            if kind == "message_start":
                usage = (obj.get("message") or {}).get("usage")
            elif kind == "response.completed":
                usage = (obj.get("response") or {}).get("usage")
        if isinstance(usage, dict):
            self.raw.update(usage)

    def result(self) -> Usage | None:
        return normalize(self.raw)


def normalize(raw: dict[str, Any]) -> Usage | None:
    """A provider usage object in the contract's buckets (OpenAI prompt and Responses input
    counts include cache).

    Buckets the provider does not report (OpenAI cache writes) are left out, as in
    `corpus.Stream.expected`.
    """
    if not raw:
        return None
    if "prompt_tokens" in raw or "completion_tokens" in raw:
        details = raw.get("prompt_tokens_details") or {}
        cached = details.get("cached_tokens") or 0
        return {
            "input_tokens": (raw.get("prompt_tokens") or 0) - cached,
            "cache_read_input_tokens": cached,
            "output_tokens": raw.get("completion_tokens") or 0,
        }
    if "input_tokens_details" in raw:
        # OpenAI Responses: input_tokens includes the cached part, as prompt_tokens does.
        cached = (raw.get("input_tokens_details") or {}).get("cached_tokens") or 0
        return {
            "input_tokens": (raw.get("input_tokens") or 0) - cached,
            "cache_read_input_tokens": cached,
            "output_tokens": raw.get("output_tokens") or 0,
        }
    if "promptTokenCount" in raw or "candidatesTokenCount" in raw:
        # Gemini: the prompt includes the cached part, the tool-use prompt is billed as input,
        # thoughts as output.
        cached = raw.get("cachedContentTokenCount") or 0
        return {
            "input_tokens": (raw.get("promptTokenCount") or 0)
            - cached
            + (raw.get("toolUsePromptTokenCount") or 0),
            "cache_read_input_tokens": cached,
            "output_tokens": (raw.get("candidatesTokenCount") or 0)
            + (raw.get("thoughtsTokenCount") or 0),
        }
    return {f: raw.get(f) or 0 for f in CORE_FIELDS}


def _loads_data(data: str) -> Any:
    # OpenAI ends with a non-JSON sentinel; every client special-cases it rather than failing.
    if data.startswith("[DONE]"):
        return None
    return json.loads(data)


# --- (1) the anthropic SDK's decoder + json.loads ------------------------------------------------


def anthropic_sdk(chunks: Iterable[bytes]) -> Usage | None:
    """`anthropic._streaming.SSEDecoder.iter_bytes`, as `Stream` drives it, then `json.loads`."""
    from anthropic._streaming import SSEDecoder

    acc = _UsageAcc()
    for sse in SSEDecoder().iter_bytes(iter(chunks)):
        if sse.event == "ping" or not sse.data:
            continue
        acc.take(_loads_data(sse.data))
    return acc.result()


# --- (2) httpx-sse over httpx's text decoding ----------------------------------------------------


def _httpx_sse_events(chunks: Iterable[bytes]) -> Iterable[Any]:
    """What `EventSource.iter_sse` does with a response: decode text, split lines, decode SSE."""
    from httpx._decoders import TextDecoder
    from httpx_sse._decoders import SSEDecoder

    try:
        # httpx-sse >= 0.4.1 splits on CR/LF/CRLF only, with its own line decoder.
        from httpx_sse._decoders import SSELineDecoder as LineDecoder
    except ImportError:  # older httpx-sse reads `response.iter_lines()`
        from httpx._decoders import LineDecoder  # type: ignore[assignment]

    text = TextDecoder("utf-8")
    lines = LineDecoder()
    sse = SSEDecoder()
    for chunk in chunks:
        for line in lines.decode(text.decode(chunk)):
            event = sse.decode(line.rstrip("\n"))
            if event is not None:
                yield event
    for line in lines.decode(text.flush()) + lines.flush():
        event = sse.decode(line.rstrip("\n"))
        if event is not None:
            yield event


def httpx_sse(chunks: Iterable[bytes]) -> Usage | None:
    """httpx-sse events + `json.loads` of each event's data."""
    acc = _UsageAcc()
    for event in _httpx_sse_events(chunks):
        if event.data:
            acc.take(_loads_data(event.data))
    return acc.result()


def httpx_sse_events(chunks: Iterable[bytes]) -> int:
    """httpx-sse framing alone (no JSON): the like-for-like peer of `SSEDecoder`."""
    n = 0
    for _ in _httpx_sse_events(chunks):
        n += 1
    return n


# --- (3) sseclient-py ----------------------------------------------------------------------------


def sseclient_py(chunks: Iterable[bytes]) -> Usage | None:
    """`sseclient.SSEClient` over an iterator of chunks (it wants a file-like event source)."""
    import sseclient

    acc = _UsageAcc()
    for event in sseclient.SSEClient(iter(chunks)).events():
        if event.event != "ping":
            acc.take(_loads_data(event.data))
    return acc.result()


# --- (4) the split-on-newline loop of JavaScript relays, in Python -------------------------------


def js_relay(chunks: Iterable[bytes]) -> Usage | None:
    """`buffer += decoder.decode(chunk, {stream: true}); lines = buffer.split('\\n'); ...`.

    The pattern most Node proxies and edge relays use: keep the last partial line, parse every
    `data: ` line with JSON.parse in a try/catch. (It ignores bare-CR line ends and multi-line
    data; the corpus has neither, so it still gets the right numbers.)
    """
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    acc = _UsageAcc()
    buffer = ""
    for chunk in chunks:
        buffer += decoder.decode(chunk)
        lines = buffer.split("\n")
        buffer = lines.pop()
        for line in lines:
            if line.startswith("data: "):
                try:
                    obj = _loads_data(line[6:])
                except ValueError:
                    obj = None
                acc.take(obj)
    return acc.result()


# --- (5) a tuned pure-Python extractor -----------------------------------------------------------


class TunedExtractor:
    """The best a careful pure-Python implementation does: bytes in, JSON only where usage is.

    Work per chunk: one `rfind` for the last LF, one substring test for `"usage"` over the
    completed lines, and only then a split and `json.loads` of the lines that contain it (the
    issue's definition; OpenAI's `"usage":null` chunks are therefore all parsed).
    """

    __slots__ = ("_acc", "_tail")
    # What a line with usage holds: Anthropic's and OpenAI's `"usage"` key (Gemini's below).
    NEEDLE = b'"usage"'

    def __init__(self) -> None:
        self._tail = b""
        self._acc = _UsageAcc()

    def feed(self, chunk: bytes) -> None:
        nl = chunk.rfind(b"\n")
        if nl < 0:
            self._tail += chunk
            return
        region = self._tail + chunk[:nl] if self._tail else chunk[:nl]
        self._tail = chunk[nl + 1 :]
        self._scan(region)

    def _scan(self, region: bytes) -> None:
        needle = self.NEEDLE
        if needle not in region:
            return
        for line in region.split(b"\n"):
            # A CR before the LF is JSON whitespace: json.loads ignores it.
            if needle in line and line.startswith(b"data:"):
                try:
                    obj = json.loads(line[5:])
                except ValueError:
                    obj = None
                self._acc.take(obj)

    def finish(self) -> Usage | None:
        # A last line without LF is incomplete in SSE: discarded, like any decoder does.
        return self._acc.result()


def tuned(chunks: Iterable[bytes]) -> Usage | None:
    """`TunedExtractor` over one stream."""
    ex = TunedExtractor()
    for chunk in chunks:
        ex.feed(chunk)
    return ex.finish()


class TunedGeminiExtractor(TunedExtractor):
    """`TunedExtractor` for Gemini's `streamGenerateContent?alt=sse`: the lines holding
    `"usageMetadata"` (every chunk's, in most recordings) parsed, the last snapshot's counts
    kept field by field."""

    __slots__ = ()
    NEEDLE = b'"usageMetadata"'

    def __init__(self) -> None:
        super().__init__()
        self._acc = _GeminiAcc()


class _GeminiAcc(_UsageAcc):
    __slots__ = ()

    def take(self, obj: Any) -> None:
        if isinstance(obj, dict) and isinstance(obj.get("usageMetadata"), dict):
            self.raw.update(obj["usageMetadata"])


def tuned_gemini(chunks: Iterable[bytes]) -> Usage | None:
    """`TunedGeminiExtractor` over one stream."""
    ex = TunedGeminiExtractor()
    for chunk in chunks:
        ex.feed(chunk)
    return ex.finish()


# --- registry --------------------------------------------------------------------------------------

# (key, label, function, module it needs or None)
USAGE_PEERS: tuple[tuple[str, str, UsagePeer, str | None], ...] = (
    ("anthropic_sdk", "anthropic SDK SSEDecoder + json", anthropic_sdk, "anthropic"),
    ("httpx_sse", "httpx-sse + json", httpx_sse, "httpx_sse"),
    ("sseclient", "sseclient-py + json", sseclient_py, "sseclient"),
    ("js_relay", "JS-relay split('\\n') + json", js_relay, None),
    ("tuned", "tuned pure-Python extractor", tuned, None),
)
EVENT_PEERS: tuple[tuple[str, str, EventPeer, str | None], ...] = (
    ("httpx_sse_events", "httpx-sse events only", httpx_sse_events, "httpx_sse"),
)


def _importable(module: str | None) -> bool:
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def available_peers() -> list[tuple[str, str, Callable[[Iterable[bytes]], Any]]]:
    """(key, label, function) for every peer whose package is installed."""
    return [
        (key, label, fn)
        for key, label, fn, module in (*USAGE_PEERS, *EVENT_PEERS)
        if _importable(module)
    ]
