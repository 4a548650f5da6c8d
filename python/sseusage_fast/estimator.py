"""Token estimates from character statistics, calibrated per model by real usage records.

The parsers never keep streamed text: they count it into a `text_stats` 6-tuple
`(words, alnum, space, punct, cjk, other)`. `Estimator.base_tokens` turns such a tuple into a
token count; `Estimator.observe` learns, per (model, input/output), how far the provider's real
counts are from that base, and `Estimator.estimate` applies the learned ratio.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import os
import re
import tempfile
import threading
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from .record import UsageRecord

Stats = tuple[int, int, int, int, int, int]
# The order of pure.textstats.STAT_FIELDS (a test checks they agree).
STAT_FIELDS = ("words", "alnum", "space", "punct", "cjk", "other")


def text_stats(text: str) -> Stats:
    """The counts of a whole text: the Rust counter when built (30x faster on a long prompt,
    same result: a test checks), else the pure one. Imported on first use: importing the
    `pure` package at module load would run its __init__, which imports this module."""
    global _text_stats_impl
    if _text_stats_impl is None:
        try:
            from ._native import text_stats as impl
        except ImportError:
            from .pure.textstats import text_stats as impl
        _text_stats_impl = impl
    return _text_stats_impl(text)


_text_stats_impl: Callable[[str], Stats] | None = None


# Tokens per unit of each STAT_FIELDS count. Non-negative least squares on relative error, fitted
# to the mean of two real tokenizers (Anthropic's published Claude tokenizer.json from the
# `anthropic` SDK <= 0.38, and OpenAI's cl100k_base) over benches/estimator_samples/ (English
# prose, code, JSON, Chinese, other scripts); `python benches/estimator_accuracy.py --fit`
# recomputes them (fitted 0.788, 0.0346, 0.1546, 0.7835, 1.0632, 0.7324). Reading: a word and
# the space before it cost about one token, plus a little per letter (long words split);
# punctuation is most of a token each; a CJK character about one token. Digits cannot be told
# from letters in the stats, so long numbers (3 digits a token) are underestimated.
COEF_WORDS = 0.788
COEF_ALNUM = 0.0346
COEF_SPACE = 0.155
COEF_PUNCT = 0.784
COEF_CJK = 1.063
COEF_OTHER = 0.732
COEFFICIENTS: tuple[float, ...] = (
    COEF_WORDS,
    COEF_ALNUM,
    COEF_SPACE,
    COEF_PUNCT,
    COEF_CJK,
    COEF_OTHER,
)

KINDS = ("input", "output")
# Learn only from texts whose base estimate is at least this: a 5-token reply gives a ratio that
# is mostly rounding and framing noise.
MIN_BASE_TOKENS = 50.0
# Use a learned ratio only once this many fair samples agree on it (the median of 1 or 2 is
# just those samples).
MIN_SAMPLES = 3
# A ratio outside this range is not a tokenizer difference but a mismatch (hidden tokens, a
# truncated stream); clipping keeps one such record from dragging a trimmed statistic.
RATIO_MIN = 0.25
RATIO_MAX = 4.0
WINDOW = 64

# Framing per message (role markers, separators). OpenAI documents 3 per message plus 3 to
# prime the reply; Anthropic and Gemini frame messages similarly, within a few tokens.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REQUEST = 3
# Anthropic adds a hidden system prompt when tools are given: 346 tokens for tool_choice
# auto/none on Claude 4 and 3.7 models (Anthropic's tool-use pricing table).
ANTHROPIC_TOOLS_SYSTEM_TOKENS = 346
# Images and files are not text: each counts a flat amount. Anthropic: about 1,600 tokens for
# an image at the ~1.15 MP size it scales large images down to (width * height / 750).
# OpenAI: 765 for a 1024x1024 image at high detail. Gemini: 258 per image up to 384 px a side
# (larger ones are tiled in 258-token tiles). Files (PDFs, documents) vary most: 1,500 each, a
# rough figure for a page or two. Records with media are not learned from.
IMAGE_TOKENS = {"anthropic": 1600, "openai": 765, "openai-responses": 765, "gemini": 258}
FILE_TOKENS = 1500

# -20250929, @20250929, -2024-08-06, -0613 (OpenAI's older MMDD snapshots), -preview-05-20.
_DATE_SUFFIX = re.compile(
    r"(?:[-@](?:\d{8}|\d{4}-\d{2}-\d{2})|-(?:0[1-9]|1[0-2])\d{2}|(?<=-preview)-\d{2}-\d{2})$"
)
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_BEDROCK_PREFIX = re.compile(r"^(?:(?:us|eu|apac|global|us-gov)\.)?anthropic\.")


@functools.lru_cache(maxsize=4096)  # called for every record; a deployment has few models
def normalize_model(model: str | None) -> str | None:
    """The calibration key of a model: lower case, without provider prefixes or snapshot dates,
    so that `claude-sonnet-4-5-20250929`, `claude-sonnet-4-5@20250929` and
    `us.anthropic.claude-sonnet-4-5-20250929-v1:0` share one calibration (same tokenizer)."""
    if not model:
        return None
    key = model.strip().lower()
    key = key.removeprefix("models/")
    key = _BEDROCK_PREFIX.sub("", key)
    key = _BEDROCK_VERSION.sub("", key)
    key = _DATE_SUFFIX.sub("", key)
    return key or None


def _check_stats(stats: Sequence[int]) -> Stats:
    if len(stats) != len(STAT_FIELDS):
        raise ValueError(f"stats must have {len(STAT_FIELDS)} counts {STAT_FIELDS}")
    return tuple(map(int, stats))  # type: ignore[return-value]


def _core_base_tokens(stats: Sequence[int]) -> float:
    """`Estimator.base_tokens` of stats that a core counted (`text_stats`, a parser's output
    stats), which are always a 6-tuple of ints: nothing to check, and int() of an int is the
    int, so no conversion. The same products summed by the same sum(), left to right from 0,
    so the same float on every Python (3.12's sum() compensates rounding: an `a + b + ...`
    chain would not always match). A test checks it against `base_tokens`."""
    words, alnum, space, punct, cjk, other = stats
    return sum(
        (
            COEF_WORDS * words,
            COEF_ALNUM * alnum,
            COEF_SPACE * space,
            COEF_PUNCT * punct,
            COEF_CJK * cjk,
            COEF_OTHER * other,
        )
    )


def _has_chars(stats: Sequence[int]) -> bool:
    # words counts runs of alnum, so the characters are everything after it. For ints, the
    # same as any(v > 0 ...), without a generator.
    return max(stats[1:]) > 0


class _Window:
    """The last `size` ratios of one (model, kind), in arrival order and sorted: a sample
    costs a binary search and the median an index, not a sort (`observe` runs once per
    request)."""

    __slots__ = ("ordered", "recent")

    def __init__(self, size: int, values: Iterable[float] = ()) -> None:
        self.recent: deque[float] = deque(values, maxlen=size)
        self.ordered = sorted(self.recent)

    def add(self, ratio: float) -> None:
        recent, ordered = self.recent, self.ordered
        if len(recent) == recent.maxlen:
            del ordered[bisect_left(ordered, recent[0])]
        recent.append(ratio)
        insort(ordered, ratio)

    def median(self) -> float:
        # As statistics.median: the middle value, or the mean of the middle two.
        ordered, mid = self.ordered, len(self.ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

    def __len__(self) -> int:
        return len(self.recent)

    def __iter__(self) -> Iterator[float]:
        return iter(self.recent)


class RequestInfo(NamedTuple):
    """What a request body holds for estimation: the text's stats, the framing and media
    tokens that no text shows, and how many images/files were seen."""

    stats: Stats
    overhead: int
    media: int
    provider: str


class Estimator:
    """Text statistics to tokens, learning each model's real ratio from complete records."""

    def __init__(self, *, window: int = WINDOW) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._window = window
        self._lock = threading.Lock()
        # The learned ratio of a (model, kind) is the median of its window, once the window
        # holds MIN_SAMPLES (worked out when asked: learning is far more common than asking).
        self._ratios: dict[tuple[str, str], _Window] = {}
        self._learned = 0

    def __repr__(self) -> str:
        with self._lock:
            keys = sorted(f"{m}/{k}" for (m, k), w in self._ratios.items() if len(w) >= MIN_SAMPLES)
            return f"Estimator(calibrated={keys}, learned={self._learned})"

    # ---- estimating ------------------------------------------------------------------------

    @staticmethod
    def base_tokens(stats: Sequence[int]) -> float:
        """The uncalibrated estimate of a text's tokens from its `text_stats` tuple."""
        return float(sum(map(operator.mul, COEFFICIENTS, _check_stats(stats))))

    def ratio(self, model: str | None, kind: str = "output") -> float | None:
        """The learned actual/base ratio for the model, or None while not learned."""
        key = normalize_model(model)
        if key is None:
            return None
        with self._lock:
            window = self._ratios.get((key, kind))
            if window is None or len(window.recent) < MIN_SAMPLES:
                return None
            return window.median()  # it ignores up to half the window being odd

    def samples(self, model: str | None, kind: str = "output") -> int:
        """How many ratios the window for (model, kind) holds now."""
        key = normalize_model(model)
        with self._lock:
            window = self._ratios.get((key or "", kind))
            return len(window) if window else 0

    @property
    def learned(self) -> int:
        """How many fair samples were learned in total (including ones since pushed out)."""
        with self._lock:
            return self._learned

    def estimate(
        self, stats: Sequence[int], *, model: str | None = None, kind: str = "output"
    ) -> int:
        """Tokens for a text's stats: the base times the model's learned ratio when there is
        one. At least 1 for any text, 0 for none."""
        return self._estimate(_check_stats(stats), model, kind, self.base_tokens)

    def _estimate(
        self,
        stats: Sequence[int],
        model: str | None,
        kind: str,
        base_of: Callable[[Sequence[int]], float],
    ) -> int:
        # `estimate` of checked stats, positional; `base_of` as in `_observe`.
        if not _has_chars(stats):
            return 0
        value = base_of(stats)
        ratio = self.ratio(model, kind)
        if ratio is not None:
            value *= ratio
        return max(1, round(value))

    def count(self, text: str, *, model: str | None = None, kind: str = "output") -> int:
        """Estimated tokens of a whole text."""
        return self.estimate(text_stats(text), model=model, kind=kind)

    # ---- requests --------------------------------------------------------------------------

    @staticmethod
    def request_info(request: Any, provider: str | None = None) -> RequestInfo | None:
        """Stats, overhead and media count of a request body, parsed once. None when the body
        is absent, not JSON, or of no known shape."""
        body = _load_json(request)
        if body is None:
            return None
        kind = _infer_provider(body) if provider in (None, "", "auto") else provider
        if kind in ("openai-chat", "chat"):
            kind = "openai"
        if kind == "anthropic":
            walk = _walk_anthropic(body)
        elif kind == "openai":
            walk = _walk_openai_chat(body)
        elif kind == "openai-responses":
            walk = _walk_openai_responses(body)
        elif kind == "gemini":
            walk = _walk_gemini(body)
        else:
            return None
        if walk is None:
            return None
        parts, messages, images, files, tools = walk
        stats = text_stats("\n".join(parts))
        overhead = TOKENS_PER_REQUEST + TOKENS_PER_MESSAGE * messages
        overhead += images * IMAGE_TOKENS.get(kind, 1600) + files * FILE_TOKENS
        if kind == "anthropic" and tools:
            overhead += ANTHROPIC_TOOLS_SYSTEM_TOKENS
        return RequestInfo(stats, overhead, images + files, kind)

    @classmethod
    def request_stats(cls, request: Any, provider: str | None = None) -> Stats | None:
        """The stats of the text in a request that the provider will tokenize: system prompt,
        messages, tool calls and results, tool definitions. The parts are joined with a new
        line, so `text_stats("\\n".join(parts))` gives the same tuple."""
        info = cls.request_info(request, provider)
        return info.stats if info is not None else None

    @classmethod
    def request_overhead(cls, request: Any, provider: str | None = None) -> int:
        """Tokens of a request that its text does not show: per-message framing, a flat amount
        per image or file (IMAGE_TOKENS, FILE_TOKENS), Anthropic's tool-use system prompt."""
        info = cls.request_info(request, provider)
        return info.overhead if info is not None else 0

    def estimate_request(
        self, request: Any, provider: str | None = None, *, model: str | None = None
    ) -> int | None:
        """Estimated input tokens of a request body (text estimate plus overhead), or None."""
        info = self.request_info(request, provider)
        if info is None:
            return None
        return self.estimate(info.stats, model=model, kind="input") + info.overhead

    # ---- learning --------------------------------------------------------------------------

    def observe(
        self,
        record: UsageRecord,
        *,
        input_stats: Sequence[int] | None = None,
        output_stats: Sequence[int] | None = None,
        output_has_thinking: bool = False,
        output_has_tools: bool = False,
        input_overhead: int = 0,
        input_has_media: bool = False,
    ) -> None:
        """Learn from one finished record, if it is a fair sample of the model's tokenizer.

        Output is learned only when the streamed text is all that was billed: no thinking
        streamed (Claude 4 bills full thinking but streams a summary), no tool calls, no server
        tools. Unstreamed reasoning that the provider reports apart (OpenAI, Gemini) is taken
        off first. Input is learned from uncached + cache write + cache read tokens, less
        `input_overhead` (what `request_overhead` gave), when the request had no images/files.
        """
        self._observe(
            record,
            input_stats,
            input_overhead,
            input_has_media,
            output_stats,
            output_has_thinking,
            output_has_tools,
            self.base_tokens,
        )

    def _observe(
        self,
        record: UsageRecord,
        input_stats: Sequence[int] | None,
        input_overhead: int,
        input_has_media: bool,
        output_stats: Sequence[int] | None,
        output_has_thinking: bool,
        output_has_tools: bool,
        base_of: Callable[[Sequence[int]], float],
    ) -> None:
        # `observe`, positional (a parser's `finish` calls this once per request), with the
        # function that turns stats into the base: `finish` passes `_core_base_tokens` for
        # the stats its core counted.
        if record.status != "complete":
            return
        key = normalize_model(record.model)
        if key is None:
            return
        if record.web_search_requests or record.web_fetch_requests:
            return  # server tools: neither output nor input is a fair sample
        if output_stats is not None and not (output_has_thinking or output_has_tools):
            # The billed output that the stream showed, when known and a fair sample (`_learn`
            # drops a count that is not positive): reasoning that the provider reports apart
            # and does not stream (OpenAI reasoning, Gemini thoughts) is taken off.
            actual = record.output_tokens
            if actual and "output_tokens" not in record.estimated:
                reasoning = record.reasoning_tokens
                if not reasoning:
                    self._learn(key, "output", actual, output_stats, base_of)
                elif "reasoning_tokens" not in record.estimated:
                    self._learn(key, "output", actual - reasoning, output_stats, base_of)
        if input_stats is not None and not input_has_media and record.input_tokens is not None:
            estimated = record.estimated
            if not (
                "input_tokens" in estimated
                or "cache_creation_input_tokens" in estimated
                or "cache_read_input_tokens" in estimated
            ):
                # As sum() over a generator (the same items: the same result on any Python).
                total = sum(
                    (
                        record.input_tokens or 0,
                        record.cache_creation_input_tokens or 0,
                        record.cache_read_input_tokens or 0,
                    )
                )
                actual = total - max(0, int(input_overhead))
                self._learn(key, "input", actual, input_stats, base_of)

    def _learn(
        self,
        key: str,
        kind: str,
        actual: int,
        stats: Sequence[int],
        base_of: Callable[[Sequence[int]], float],
    ) -> None:
        if actual <= 0:
            return
        base = base_of(stats)
        if base < MIN_BASE_TOKENS:
            return
        # min(RATIO_MAX, max(RATIO_MIN, ratio)) as those two compare (NaN included), without
        # the two calls.
        ratio = actual / base
        if not ratio > RATIO_MIN:
            ratio = RATIO_MIN
        elif not ratio < RATIO_MAX:
            ratio = RATIO_MAX
        window_key = (key, kind)
        lock = self._lock
        lock.acquire()  # as `with`, at half the cost (no __exit__ call)
        try:
            window = self._ratios.get(window_key)
            if window is None:
                window = self._ratios[window_key] = _Window(self._window)
            window.add(ratio)
            self._learned += 1
        finally:
            lock.release()

    # ---- persistence -----------------------------------------------------------------------

    def to_json(self) -> str:
        """The learned state, as JSON (window size and the ratios of each model and kind)."""
        with self._lock:
            models: dict[str, dict[str, list[float]]] = {}
            for (key, kind), window in sorted(self._ratios.items()):
                models.setdefault(key, {})[kind] = list(window)
            state = {
                "version": 1,
                "window": self._window,
                "learned": self._learned,
                "ratios": models,
            }
        return json.dumps(state, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Estimator:
        """An Estimator from `to_json` output. Bad ratios (not numbers, not finite) are
        dropped and others clipped, so a hand-edited file cannot poison estimates."""
        state = json.loads(text)
        if (
            not isinstance(state, dict)
            or state.get("version") != 1
            or not isinstance(state.get("ratios", {}), dict)
        ):
            raise ValueError("not an Estimator state (version 1)")
        window = state.get("window", WINDOW)
        est = cls(window=window if isinstance(window, int) and window >= 1 else WINDOW)
        learned = state.get("learned", 0)
        est._learned = learned if isinstance(learned, int) and learned >= 0 else 0
        for model, kinds in state.get("ratios", {}).items():
            if not isinstance(kinds, dict):
                continue
            for kind, values in kinds.items():
                if kind not in KINDS or not isinstance(values, list):
                    continue
                good = _clean_ratios(values)
                if good:
                    est._ratios[(model, kind)] = _Window(est._window, good)
        return est

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state atomically (a temporary file renamed over), so a crash mid-write
        leaves the previous state."""
        data = self.to_json()
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".estimator-", suffix=".json", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, missing_ok: bool = False) -> Estimator:
        """Read a saved state; with `missing_ok`, a missing file gives a fresh Estimator."""
        try:
            with open(path, encoding="utf-8") as handle:
                return cls.from_json(handle.read())
        except FileNotFoundError:
            if missing_ok:
                return cls()
            raise


_default: Estimator | None = None
_default_lock = threading.Lock()


def default_estimator() -> Estimator:
    """The process-wide Estimator that parsers use when given none (created on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Estimator()
    return _default


# ---- helpers -------------------------------------------------------------------------------


def _clean_ratios(values: Iterable[Any]) -> list[float]:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            continue
        out.append(min(RATIO_MAX, max(RATIO_MIN, float(v))))
    return out


def _load_json(request: Any) -> dict[str, Any] | None:
    if isinstance(request, dict):
        return request
    if isinstance(request, (bytes, bytearray, memoryview)):
        try:
            request = bytes(request).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(request, str):
        return None
    try:
        body = json.loads(request)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _dump(value: Any) -> str:
    # Compact, and CJK kept as characters (the provider sees them, not \\u escapes).
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


_ANTHROPIC_BLOCKS = {"tool_use", "tool_result", "thinking", "redacted_thinking", "document"}


def _infer_provider(body: dict[str, Any]) -> str | None:
    if "contents" in body or "systemInstruction" in body or "system_instruction" in body:
        return "gemini"
    if "messages" not in body:
        if "input" in body or "instructions" in body:
            return "openai-responses"
        return None
    if "system" in body:
        return "anthropic"
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        if message.get("role") in ("system", "developer", "tool") or "tool_calls" in message:
            return "openai"
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                if not isinstance(block, dict):
                    continue
                btype = block.get("type")
                if btype in _ANTHROPIC_BLOCKS or (btype == "image" and "source" in block):
                    return "anthropic"
                if btype in ("image_url", "input_audio", "file"):
                    return "openai"
    tools = body.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[0], dict):
        return "openai" if "function" in tools[0] else "anthropic"
    return "openai"


class _Walk:
    """Collects text parts and counts messages, images, files and tools."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.messages = 0
        self.images = 0
        self.files = 0
        self.tools = 0

    def text(self, value: Any) -> None:
        if isinstance(value, str):
            if value:
                self.parts.append(value)
        elif value is not None:
            self.parts.append(_dump(value))

    def result(self) -> tuple[list[str], int, int, int, int]:
        return self.parts, self.messages, self.images, self.files, self.tools


def _tool_definition(w: _Walk, name: Any, description: Any, schema: Any) -> None:
    w.tools += 1
    w.text(name if isinstance(name, str) else None)
    w.text(description if isinstance(description, str) else None)
    if schema is not None:
        w.text(schema)


def _anthropic_content(w: _Walk, content: Any) -> None:
    if isinstance(content, str):
        w.text(content)
        return
    if not isinstance(content, list):
        return
    for block in content:
        if isinstance(block, str):
            w.text(block)
            continue
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype == "text":
            w.text(block.get("text"))
        elif btype in ("tool_use", "server_tool_use"):
            w.text(block.get("name"))
            w.text(block.get("input", {}))
        elif isinstance(btype, str) and btype.endswith("tool_result"):
            _anthropic_content(w, block.get("content"))
        elif btype == "thinking":
            w.text(block.get("thinking"))
        elif btype == "image":
            w.images += 1
        elif btype == "document":
            source = block.get("source")
            if isinstance(source, dict) and source.get("type") == "text":
                w.text(source.get("data"))
            else:
                w.files += 1


def _walk_anthropic(body: dict[str, Any]) -> tuple[list[str], int, int, int, int] | None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    w = _Walk()
    _anthropic_content(w, body.get("system"))
    for message in messages:
        if isinstance(message, dict):
            w.messages += 1
            _anthropic_content(w, message.get("content"))
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            _tool_definition(w, tool.get("name"), tool.get("description"), tool.get("input_schema"))
    return w.result()


def _openai_parts(w: _Walk, content: Any) -> None:
    if isinstance(content, str):
        w.text(content)
        return
    if not isinstance(content, list):
        return
    for part in content:
        if isinstance(part, str):
            w.text(part)
            continue
        if not isinstance(part, dict):
            continue
        ptype = part.get("type")
        if ptype in ("text", "input_text", "output_text"):
            w.text(part.get("text"))
        elif ptype == "refusal":
            w.text(part.get("refusal"))
        elif ptype in ("image_url", "input_image", "image"):
            w.images += 1
        elif ptype in ("file", "input_file", "input_audio"):
            w.files += 1


def _openai_tools(w: _Walk, tools: Any) -> None:
    for tool in tools or []:
        if not isinstance(tool, dict):
            continue
        inner = tool.get("function")
        fn: dict[str, Any] = inner if isinstance(inner, dict) else tool
        name = fn.get("name") or tool.get("type")
        _tool_definition(w, name, fn.get("description"), fn.get("parameters"))


def _walk_openai_chat(body: dict[str, Any]) -> tuple[list[str], int, int, int, int] | None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    w = _Walk()
    for message in messages:
        if not isinstance(message, dict):
            continue
        w.messages += 1
        _openai_parts(w, message.get("content"))
        for call in message.get("tool_calls") or []:
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                w.text(fn.get("name"))
                w.text(fn.get("arguments"))
        legacy = message.get("function_call")
        if isinstance(legacy, dict):
            w.text(legacy.get("name"))
            w.text(legacy.get("arguments"))
    _openai_tools(w, body.get("tools"))
    _openai_tools(w, body.get("functions"))
    return w.result()


def _walk_openai_responses(body: dict[str, Any]) -> tuple[list[str], int, int, int, int] | None:
    items = body.get("input")
    if items is None and "instructions" not in body:
        return None
    w = _Walk()
    if isinstance(body.get("instructions"), str):
        w.messages += 1
        w.text(body["instructions"])
    if isinstance(items, str):
        w.messages += 1
        w.text(items)
    elif isinstance(items, list):
        for item in items:
            if not isinstance(item, dict):
                continue
            itype = item.get("type", "message")
            w.messages += 1
            if itype == "message":
                _openai_parts(w, item.get("content"))
            elif itype == "function_call":
                w.text(item.get("name"))
                w.text(item.get("arguments"))
            elif itype in ("function_call_output", "custom_tool_call_output"):
                output = item.get("output")
                if isinstance(output, list):
                    _openai_parts(w, output)
                else:
                    w.text(output)
            elif itype == "custom_tool_call":
                w.text(item.get("name"))
                w.text(item.get("input"))
            elif itype == "reasoning":
                for part in item.get("summary") or []:
                    if isinstance(part, dict):
                        w.text(part.get("text"))
    _openai_tools(w, body.get("tools"))
    return w.result()


def _gemini_parts(w: _Walk, content: Any) -> None:
    if isinstance(content, str):
        w.text(content)
        return
    if not isinstance(content, dict):
        return
    for part in content.get("parts") or []:
        if not isinstance(part, dict):
            continue
        if "text" in part:
            w.text(part.get("text"))
        call = part.get("functionCall") or part.get("function_call")
        if isinstance(call, dict):
            w.text(call.get("name"))
            w.text(call.get("args", {}))
        response = part.get("functionResponse") or part.get("function_response")
        if isinstance(response, dict):
            w.text(response.get("name"))
            w.text(response.get("response", {}))
        blob = part.get("inlineData") or part.get("inline_data")
        blob = blob or part.get("fileData") or part.get("file_data")
        if isinstance(blob, dict):
            mime = str(blob.get("mimeType") or blob.get("mime_type") or "")
            if mime.startswith("image/"):
                w.images += 1
            else:
                w.files += 1


def _walk_gemini(body: dict[str, Any]) -> tuple[list[str], int, int, int, int] | None:
    contents = body.get("contents")
    if isinstance(contents, (str, dict)):
        contents = [contents]
    if not isinstance(contents, list):
        return None
    w = _Walk()
    system = body.get("systemInstruction") or body.get("system_instruction")
    if system:
        w.messages += 1
        _gemini_parts(w, system)
    for content in contents:
        w.messages += 1
        _gemini_parts(w, content)
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        decls = tool.get("functionDeclarations") or tool.get("function_declarations") or []
        for decl in decls:
            if isinstance(decl, dict):
                schema = decl.get("parameters") or decl.get("parametersJsonSchema")
                _tool_definition(w, decl.get("name"), decl.get("description"), schema)
    return w.result()
