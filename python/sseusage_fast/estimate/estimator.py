"""The Estimator: text statistics to tokens, calibrated per model by real usage records.

`Estimator.observe` learns, per (model, input/output), how far the provider's real counts are
from the base estimate of `textstats`, and `Estimator.estimate` applies the learned ratio.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..record import UsageRecord
from . import families
from . import requests as _requests
from .learned import (
    _FAMILY_KINDS,
    _LIMITS,
    _MIN_BASE,
    _OFFSET_HIGH,
    _OFFSET_LOW,
    _PRIOR_WEIGHT,
    _REPORTS_REASONING,
    KINDS,
    MIN_BASE_TOKENS,
    MIN_SAMPLES,
    MIN_SEALED_TOKENS,
    SPREAD_SAMPLES,
    WINDOW,
    _clean_ratios,
    _count,
    _family_key,
    _ratio,
    new_store,
    structured,
)
from .model_names import calibration_key
from .requests import RequestInfo
from .textstats import Stats, check_stats, has_chars, text_stats
from .textstats import base_tokens as _base_tokens


class Estimator:
    """Text statistics to tokens, learning each model's real ratio from complete records."""

    def __init__(self, *, window: int = WINDOW, min_samples: int = MIN_SAMPLES) -> None:
        """`window`: how many recent samples of each (model, kind) are kept; `min_samples`: how
        many a learned figure needs before it is used (fewer: a deployment that wants its first
        records of a model to count at once, at the risk of one odd record steering)."""
        if window < 1:
            raise ValueError("window must be at least 1")
        self._window = window
        self._min_samples = max(1, min_samples)
        # The learned ratio of a (model, kind) is the median of its window, once the window
        # holds MIN_SAMPLES (worked out when asked: learning is far more common than asking).
        # The windows and the count of samples learned are in a store (`learned._Windows`,
        # or the extension's `WindowStore`, which a parser's `finish()` teaches directly):
        # each of its methods is one step under its own lock.
        self._ratios = new_store(window)

    def __repr__(self) -> str:
        windows, learned = self._ratios.snapshot()
        keys = sorted(f"{m}/{k}" for (m, k), w in windows if len(w) >= self._min_samples)
        return f"Estimator(calibrated={keys}, learned={learned})"

    # ---- estimating ------------------------------------------------------------------------

    @staticmethod
    def base_tokens(stats: Sequence[int]) -> float:
        """The uncalibrated estimate of a text's tokens from its `text_stats` tuple."""
        return _base_tokens(stats)

    def _window_key(self, model: str | None, kind: str, family: bool) -> tuple[str, str] | None:
        # The model's window, or with `family` its family's while the model's is not learned.
        key = calibration_key(model)
        if key is None:
            return None
        if family and kind in _FAMILY_KINDS and self.ratio(model, kind) is None:
            key = _family_key(key)
        return key, kind

    def ratio(
        self,
        model: str | None,
        kind: str = "output",
        *,
        family: bool = False,
        prior: float | None = None,
    ) -> float | None:
        """The learned actual/base ratio for the model, or None while not learned. With
        `family`, a model not learned yet gets its family's input ratio (`claude`, `gpt`,
        `gemini`...: the same tokenizer, mostly), once that is learned. With `prior`, the
        median counts the prior as one sample more, so the first record or two move the ratio
        only part of the way (what the estimates use; a full window hardly notices it)."""
        key = self._window_key(model, kind, family)
        if key is None:
            return None
        if prior is None:
            return self._ratios.median(key, self._min_samples)  # type: ignore[no-any-return]
        return self._ratios.median(key, self._min_samples, float(prior), 1)  # type: ignore[no-any-return]

    def offset(self, model: str | None, kind: str, prior: float) -> float | None:
        """A learned count (`output:offset`, `input:offset`) shrunk towards `prior`: the median
        of the model's window with the prior counted as `_PRIOR_WEIGHT[kind]` more samples, so
        one odd record moves the estimate halfway or not at all. None while not learned."""
        key = self._window_key(model, kind, False)
        if key is None:
            return None
        weight = _PRIOR_WEIGHT.get(kind, 1)
        return self._ratios.median(key, self._min_samples, float(prior), weight)  # type: ignore[no-any-return]

    def spread(
        self, model: str | None, kind: str = "output", *, family: bool = False
    ) -> tuple[float, float] | None:
        """The learned (low, high) of the model's ratios (5th and 95th percentile of the
        window: its least and greatest while it holds 20 or fewer), or None while the window
        holds fewer than SPREAD_SAMPLES. An estimate's range is its base times these."""
        key = self._window_key(model, kind, family)
        if key is None:
            return None
        return self._ratios.spread(key, max(self._min_samples, SPREAD_SAMPLES))  # type: ignore[no-any-return]

    def samples(self, model: str | None, kind: str = "output") -> int:
        """How many ratios the window for (model, kind) holds now."""
        key = calibration_key(model)
        return self._ratios.count((key or "", kind))  # type: ignore[no-any-return]

    @property
    def learned(self) -> int:
        """How many fair samples were learned in total (including ones since pushed out)."""
        return self._ratios.learned  # type: ignore[no-any-return]

    def estimate(
        self, stats: Sequence[int], *, model: str | None = None, kind: str = "output"
    ) -> int:
        """Tokens for a text's stats: the base times the model's learned ratio when there is
        one. At least 1 for any text, 0 for none."""
        return self._estimate(check_stats(stats), model, kind, self.base_tokens)

    def _estimate(
        self,
        stats: Sequence[int],
        model: str | None,
        kind: str,
        base_of: Callable[[Sequence[int]], float],
    ) -> int:
        # `estimate` of checked stats, positional; `base_of` as in `_observe`.
        if not has_chars(stats):
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
    def request_info(
        request: Any, provider: str | None = None, model: str | None = None
    ) -> RequestInfo | None:
        """Stats, overhead and media count of a request body, parsed once. None when the body
        is absent, not JSON, or of no known shape. `model` (the response's) picks the message
        framing where the body names none or another spelling."""
        return _requests.request_info(request, provider, model)

    @classmethod
    def request_stats(cls, request: Any, provider: str | None = None) -> Stats | None:
        """The stats of the text in a request that the provider will tokenize: system prompt,
        messages, tool calls and results, tool definitions. The parts are joined with a new
        line, so `text_stats("\\n".join(parts))` gives the same tuple."""
        info = cls.request_info(request, provider)
        return info.stats if info is not None else None

    @classmethod
    def request_overhead(
        cls, request: Any, provider: str | None = None, *, model: str | None = None
    ) -> int:
        """Tokens of a request that its text does not show: per-message framing (the model
        family's where it has its own), a flat amount per image or file (IMAGE_TOKENS,
        FILE_TOKENS), Anthropic's tool-use system prompt."""
        info = cls.request_info(request, provider, model)
        return info.overhead if info is not None else 0

    def estimate_request(
        self, request: Any, provider: str | None = None, *, model: str | None = None
    ) -> int | None:
        """Estimated input tokens of a request body (text estimate plus overhead), or None."""
        info = self.request_info(request, provider, model)
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
        server_tools: bool = False,
        model: str | None = None,
        output_schema: bool = False,
        encrypted_reasoning: tuple[int, int] | None = None,
    ) -> None:
        """Learn from one finished record, if it is a fair sample of the model's tokenizer.

        Output is learned only when the streamed text is all that was billed: no thinking
        streamed (Claude 4 bills full thinking but streams a summary), no tool calls, no server
        tools. Unstreamed reasoning that the provider reports apart (OpenAI, Gemini) is taken
        off first. Input is learned from uncached + cache write + cache read tokens, less
        `input_overhead` (what `request_overhead` gave), when the request had no images/files.
        `server_tools`: the request offered server-side tools (code execution, search): their
        output is not learned as a ratio (hidden reasoning still is). `model`: what to learn
        under when the record names no model (the request's model). `output_schema`: the
        request asked for a reply that follows a JSON schema, whose decoding bills a few
        tokens more (`families.schema_output_tokens`), taken off before learning.
        `encrypted_reasoning`: the (characters, items) of encrypted reasoning the stream
        carried, against which reported reasoning is learned as a ratio.
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
            server_tools,
            model,
            output_schema,
            encrypted_reasoning,
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
        server_tools_offered: bool = False,
        model: str | None = None,
        output_schema: bool = False,
        encrypted: tuple[int, int] | None = None,
    ) -> None:
        # `observe`, positional (a parser's `finish` calls this once per request), with the
        # function that turns stats into the base: `finish` passes `core_base_tokens` for
        # the stats its core counted. What the record teaches is worked out first (the base
        # once per stats), then added under one lock (`_learn` and `_learn_count`, inlined:
        # their calls were most of the cost of a record that teaches one sample).
        if record.status != "complete":
            return
        key = calibration_key(record.model or model)
        if key is None:
            return
        estimated = record.estimated
        server_tools = bool(record.web_search_requests or record.web_fetch_requests)
        # (window, value, counted) of each sample: what `_add` takes.
        samples: list[tuple[tuple[str, str], float, bool]] = []
        actual = record.output_tokens
        # Several billed passes (compaction, an advisor's turn): the output is theirs together,
        # and the stream need not show each pass's text (a compaction summary taught Claude
        # Sonnet 4.6 an offset of 50 tokens a reply, which put its short replies at 33 for 10).
        if (
            output_stats is not None
            and actual
            and "output_tokens" not in estimated
            and len(record.iterations) <= 1
        ):
            # The billed output against what the stream showed, per kind of response: tool
            # calls (server tools too), streamed thinking, else plain text (a count that is not
            # positive teaches nothing). Reasoning that the provider reports apart and does
            # not stream (OpenAI reasoning, Gemini thoughts, xAI) is learned as its own count
            # and taken off the text.
            reasoning = None if "reasoning_tokens" in estimated else record.reasoning_tokens
            hidden = 0 if output_has_thinking else (reasoning or 0)
            if output_has_tools or server_tools:
                kind, min_base = "output:tools", _MIN_BASE["output:tools"]
            elif output_has_thinking:
                kind, min_base = "output:thinking", _MIN_BASE["output:thinking"]
            elif structured(output_stats):
                kind, min_base = "output:structured", _MIN_BASE["output:structured"]
            else:
                kind, min_base = "output", MIN_BASE_TOKENS
            billed = actual - hidden
            if output_schema:
                billed -= families.schema_output_tokens(key)
            base: float | None = None
            # With server-side tools offered, the bill holds work the stream shows in part or
            # not at all (code run, results read): a ratio learned from it put Claude's plain
            # tool calls and server-tool replies far off, held out.
            if billed > 0 and not server_tools_offered:
                base = base_of(output_stats)
                if not base < min_base:
                    # As `_learn`: min(high, max(low, ratio)) by comparisons (NaN included).
                    ratio = billed / base
                    low, high = _LIMITS[kind]
                    if not ratio > low:
                        ratio = low
                    elif not ratio < high:
                        ratio = high
                    samples.append(((key, kind), ratio, True))
                elif kind == "output" and 0 < base:  # a short plain reply: its offset
                    # As `_count`: min(high, max(low, ...)) of a float made from an int (never
                    # NaN or -0.0), which those two comparisons give without the calls.
                    offset = float(round(billed - base))
                    if offset < _OFFSET_LOW:
                        offset = _OFFSET_LOW
                    elif offset > _OFFSET_HIGH:
                        offset = _OFFSET_HIGH
                    samples.append(((key, "output:offset"), offset, False))
            if not output_has_thinking and (
                reasoning is not None or record.provider in _REPORTS_REASONING
            ):
                samples.append(((key, "reasoning"), _count("reasoning", hidden), False))
                if base is None:
                    base = base_of(output_stats)
                if base >= 5:
                    per_token = _count("reasoning:per_token", hidden / base)
                    samples.append(((key, "reasoning:per_token"), per_token, False))
            # Read only where there is reasoning to learn against (None without items).
            sealed = (
                families.encrypted_reasoning_tokens(encrypted, record.provider)
                if reasoning
                else None
            )
            if reasoning and sealed is not None and sealed >= MIN_SEALED_TOKENS:
                ratio = _ratio("reasoning:encrypted", reasoning / sealed)
                samples.append(((key, "reasoning:encrypted"), ratio, False))
        if (
            not server_tools  # the search results are input the request body does not show
            and input_stats is not None
            and not input_has_media
            and record.input_tokens is not None
            and not (
                "input_tokens" in estimated
                or "cache_creation_input_tokens" in estimated
                or "cache_read_input_tokens" in estimated
            )
        ):
            # As sum() over a generator (the same items: the same result on any Python).
            total = sum(
                (
                    record.input_tokens or 0,
                    record.cache_creation_input_tokens or 0,
                    record.cache_read_input_tokens or 0,
                )
            )
            billed = total - max(0, int(input_overhead))
            if billed > 0:
                base = base_of(input_stats)
                if not base < MIN_BASE_TOKENS:
                    ratio = _ratio("input", billed / base)
                    samples.append(((key, "input"), ratio, True))
                    # Its family's window too (`_FAMILY_KINDS`), not counted twice.
                    samples.append(((_family_key(key), "input"), ratio, False))
                elif 0 < base:
                    # A short prompt: its framing tokens as a count, as a short reply's.
                    offset = _count("input:offset", round(billed - base))
                    samples.append(((key, "input:offset"), offset, False))
        if samples:
            self._add_all(samples)

    def observe_tool_prompt(
        self, record: UsageRecord, request: RequestInfo, *, model: str | None = None
    ) -> None:
        """Learn from a complete record of an Anthropic request with tools how many input
        tokens the model's tool-use system prompt adds beyond the estimate (`input:tools`):
        a count per model (the documented 346 is in the estimate already; Claude Sonnet 4.6
        billed about 220 more). Nothing is learned where the request cannot show its whole
        input (stored turns, server-side or provider-defined tools, media, opaque runs), nor
        from other providers, whose tool framing depends on each schema."""
        if (
            record.status != "complete"
            or request.provider != "anthropic"
            or not request.tools
            or request.stored_context
            or request.server_tools
            or request.hidden_tools
            or request.media
            or request.opaque_chars
            or record.web_search_requests
            or record.web_fetch_requests
            or record.input_tokens is None
            or "input_tokens" in record.estimated
        ):
            return
        key = calibration_key(record.model or model)
        if key is None:
            return
        billed = (
            record.input_tokens
            + (record.cache_creation_input_tokens or 0)
            + (record.cache_read_input_tokens or 0)
        )
        extra = billed - (self.base_tokens(request.stats) + request.overhead)
        self._add_all((((key, "input:tools"), _count("input:tools", round(extra)), False),))

    def _add_all(self, samples: Iterable[tuple[tuple[str, str], float, bool]]) -> None:
        # `_add` of each (window, value, counted), in one step of the store.
        self._ratios.add_all(samples)

    def _learn(
        self,
        key: str,
        kind: str,
        actual: int,
        stats: Sequence[int],
        base_of: Callable[[Sequence[int]], float],
    ) -> None:
        # One ratio (`_observe` does the same inline, for all it learns under one lock).
        if actual <= 0:
            return
        base = base_of(stats)
        if base < _MIN_BASE.get(kind, MIN_BASE_TOKENS):
            return
        ratio = _ratio(kind, actual / base)
        self._add(key, kind, ratio)
        if kind in _FAMILY_KINDS:
            self._add(_family_key(key), kind, ratio, counted=False)

    def _learn_count(self, key: str, kind: str, count: float) -> None:
        # A count learned as it is (hidden reasoning tokens), within the kind's limits.
        self._add(key, kind, _count(kind, count), counted=False)

    def _add(self, key: str, kind: str, ratio: float, *, counted: bool = True) -> None:
        self._add_all((((key, kind), ratio, counted),))

    # ---- persistence -----------------------------------------------------------------------

    def to_json(self) -> str:
        """The learned state, as JSON (window size and the ratios of each model and kind)."""
        windows, learned = self._ratios.snapshot()
        models: dict[str, dict[str, list[float]]] = {}
        for (key, kind), values in sorted(windows):
            models.setdefault(key, {})[kind] = values
        state = {"version": 1, "window": self._window, "learned": learned, "ratios": models}
        return json.dumps(state, sort_keys=True)

    def merge(self, older: Estimator) -> None:
        """Take in what `older` learned (a state saved by an earlier process) as if it had
        come first: its samples go before this estimator's own in each window."""
        if older is self:
            return
        saved, learned = older._ratios.snapshot()
        self._ratios.merge(saved, learned)

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
        good_count = isinstance(learned, int) and not isinstance(learned, bool)
        # (Under 2**63: what the extension's store keeps.)
        est._ratios.learned = learned if good_count and 0 <= learned < 1 << 63 else 0
        for model, kinds in state.get("ratios", {}).items():
            if not isinstance(kinds, dict):
                continue
            for kind, values in kinds.items():
                if kind not in KINDS or not isinstance(values, list):
                    continue
                good = _clean_ratios(values, kind)
                if good:
                    est._ratios.put((model, kind), good)
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
