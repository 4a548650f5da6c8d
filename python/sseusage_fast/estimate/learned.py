"""What the Estimator learns and how it keeps it: the kinds of figure learned per model, their
limits and the prior weights of learned counts, the window of recent samples, and the checks
that clip a sample or a saved value into its kind's limits."""

from __future__ import annotations

import functools
import math
import os
import threading
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from . import families
from .model_names import calibration_key
from .textstats import COEFFICIENTS

# What is learned per model: billed/visible ratios of input, of plain-text output, of output
# with streamed thinking and of output with tool calls (each its own overheads), and the hidden
# reasoning tokens themselves ("reasoning": an absolute count, not a ratio; the provider's
# reported reasoning_tokens make it observable).
# Providers whose usage says how much reasoning there was whenever there was any: a complete
# record from them without reasoning tokens taught that the model did not reason.
_REPORTS_REASONING = frozenset({"openai", "openai-responses", "gemini"})
# "reasoning:per_token" is that hidden count per base token of the visible reply (learned from
# replies of 5 base tokens or more), which bounds.py prefers to the flat count.
# "reasoning:encrypted" is the reported reasoning over what the encrypted reasoning items
# length says (`families.encrypted_reasoning_tokens`), where the stream carried them.
# "output:offset" is the billed count less the base estimate of a short plain reply (under
# MIN_BASE_TOKENS), learned as it is: such a reply's count is mostly a model's end-of-turn and
# framing tokens, which a ratio cannot learn (and short replies are never learned as ratios).
KINDS = (
    "input",
    "output",
    "output:thinking",
    "output:tools",
    "reasoning",
    "output:offset",
    "reasoning:per_token",
    "input:offset",
    "output:structured",
    "input:tools",
    "reasoning:encrypted",
)
OUTPUT_KINDS = {"text": "output", "thinking": "output:thinking", "tools": "output:tools"}
# Learn only from texts whose base estimate is at least this: a 5-token reply gives a ratio that
# is mostly rounding and framing noise.
MIN_BASE_TOKENS = 50.0
# Learn the encrypted-reasoning ratio only where the items say at least this many tokens: below,
# the fixed part of each item is most of its length.
MIN_SEALED_TOKENS = 20.0
# Use a learned ratio only once this many fair samples agree on it (the median of 1 or 2 is
# just those samples).
MIN_SAMPLES = 3
# A learned spread (the range of the next estimate) needs more samples than a learned middle:
# the extremes of two or three samples are far too narrow.
SPREAD_SAMPLES = 5
# A ratio outside this range is not a tokenizer difference but a mismatch (hidden tokens, a
# truncated stream); clipping keeps one such record from dragging a trimmed statistic.
RATIO_MIN = 0.25
RATIO_MAX = 4.0
# Thinking summaries and tool-call framing are billed at many times what the stream shows.
_LIMITS = {
    "input": (RATIO_MIN, RATIO_MAX),
    "output": (RATIO_MIN, RATIO_MAX),
    "output:thinking": (RATIO_MIN, 20.0),
    "output:tools": (RATIO_MIN, 20.0),
    "reasoning": (0.0, 1_000_000.0),
    "output:offset": (-50.0, 50.0),
    "reasoning:per_token": (0.0, 1000.0),
    "input:offset": (-50.0, 50.0),
    "output:structured": (RATIO_MIN, RATIO_MAX),
    "input:tools": (-10_000.0, 10_000.0),
    "reasoning:encrypted": (RATIO_MIN, RATIO_MAX),
}
_OFFSET_LOW, _OFFSET_HIGH = _LIMITS["output:offset"]
# How many samples the prior of a learned count is worth (`Estimator.offset`): a short reply's
# end-of-turn tokens, one (left one out per model on the real captures, the median output
# error went from 20.0% to 16.5% with it, 17.0% with two); a short prompt's framing, two (its
# offsets are noisier: with one, the seeded held-out input median was 20.0%, with two 16.6%,
# without learning them 16.7%); a Claude model's tool-use prompt beyond the documented one, one
# (with two, the input median left one out was 15.6% against 15.4%; with none 15.4% too, and
# one record would set it). Chosen on those captures: in sample for the choice.
_PRIOR_WEIGHT = {"output:offset": 1, "input:offset": 2, "input:tools": 1}
# Tool calls and thinking summaries are short more often than plain answers: a lower floor.
_MIN_BASE = {"output:thinking": 10.0, "output:tools": 10.0, "output:structured": 10.0}
WINDOW = 64
# Kinds whose ratio a model's family shares: its tokenizer, seen in the input. Output ratios are
# each model's own: how it bills what it streams (end-of-turn tokens, reasoning) differs within
# a family. Measured held out on the real captures (benches/estimate_accuracy.py, calibrated on
# the other source repositories): family output ratios put the median output error at 28.7%,
# without them 19.6%; a family's thinking ratio put Claude 3.7's thinking at 1.7x its bill.
_FAMILY_KINDS = frozenset({"input"})


@functools.lru_cache(maxsize=4096)  # per calibration key: as bounded as `calibration_key`'s
def _family_key(key: str) -> str:
    """The calibration key of a model's family: the letters its name starts with (`claude`,
    `gpt`, `gemini`, `grok`, `o` for o1/o3/o4), under a prefix no model name has."""
    letters = key.split("/")[-1]
    end = 0
    while end < len(letters) and letters[end].isalpha():
        end += 1
    return "family:" + (letters[:end] or letters)


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


class _Windows:
    """What an Estimator learned: a `_Window` per (calibration key, kind), and how many fair
    samples were learned in all. The pure store; where the extension is built, its
    `WindowStore` has the same methods (and learns a parser's usual record in `finish()`
    without a Python call). Each method is one step under the store's own lock, so an
    Estimator shared by threads needs no lock of its own around them."""

    __slots__ = ("_lock", "_size", "_windows", "learned")

    def __init__(self, size: int, key_of: Callable[[str | None], str | None] | None = None) -> None:
        if size < 1:
            raise ValueError("window must be at least 1")
        self._lock = threading.Lock()
        self._size = size
        self._windows: dict[tuple[str, str], _Window] = {}
        self.learned = 0

    @property
    def size(self) -> int:
        return self._size

    def add_all(self, samples: Iterable[tuple[tuple[str, str], float, bool]]) -> None:
        """Each ((key, kind), value, counted) into its window, in order."""
        windows = self._windows
        with self._lock:
            for window_key, value, counted in samples:
                window = windows.get(window_key)
                if window is None:
                    _check_kind(window_key)
                    window = windows[window_key] = _Window(self._size)
                # window.add(value), inlined (one call less per sample)
                recent, ordered = window.recent, window.ordered
                if len(recent) == recent.maxlen:
                    del ordered[bisect_left(ordered, recent[0])]
                recent.append(value)
                insort(ordered, value)
                self.learned += counted

    def count(self, key: tuple[str, str]) -> int:
        """How many values the window of `key` holds (none for a kind never learned)."""
        with self._lock:
            window = self._windows.get(key)
            return len(window.recent) if window is not None else 0

    def median(
        self, key: tuple[str, str], need: int, prior: float = 0.0, weight: int = 0
    ) -> float | None:
        """The window's median with `prior` counted as `weight` values more, once it holds
        `need` values; else None."""
        with self._lock:
            window = self._windows.get(key)
            if window is None or len(window.recent) < need:
                return None
            if not weight:
                return window.median()
            ordered = list(window.ordered)
        return median_with_prior(ordered, prior, weight)

    def spread(self, key: tuple[str, str], need: int) -> tuple[float, float] | None:
        """The window's values at 5% and 95% of its order, once it holds `need`; else None."""
        with self._lock:
            window = self._windows.get(key)
            if window is None or len(window.recent) < need:
                return None
            ordered = window.ordered
            last = len(ordered) - 1
            return ordered[int(0.05 * last)], ordered[-1 - int(0.05 * last)]

    def snapshot(self) -> tuple[list[tuple[tuple[str, str], list[float]]], int]:
        """Every window as ((key, kind), values in arrival order), and the count learned, at
        one moment."""
        with self._lock:
            windows = [(key, list(window.recent)) for key, window in self._windows.items()]
            return windows, self.learned

    def put(self, key: tuple[str, str], values: Iterable[float]) -> None:
        """The window of `key` made anew from `values` (the last `size` of them)."""
        _check_kind(key)
        window = _Window(self._size, values)
        with self._lock:
            self._windows[key] = window

    def merge(self, windows: Iterable[tuple[tuple[str, str], list[float]]], learned: int) -> None:
        """Windows learned before this store's own, and how many samples they counted: each
        goes first in its window."""
        with self._lock:
            for key, values in windows:
                _check_kind(key)
                own = self._windows.get(key)
                made = _Window(self._size, values + (list(own.recent) if own else []))
                self._windows[key] = made
            self.learned += learned

    @staticmethod
    def constants() -> tuple[Any, ...]:
        """What the store learns by (as `WindowStore.constants()` gives its own)."""
        others = (families.ENCRYPTED_ITEM_CHARS, families.ENCRYPTED_CHARS_PER_TOKEN)
        return (
            list(KINDS),
            [_LIMITS[kind] for kind in KINDS],
            [_MIN_BASE.get(kind, MIN_BASE_TOKENS) for kind in KINDS],
            sorted(_REPORTS_REASONING),
            list(COEFFICIENTS),
            (MIN_SEALED_TOKENS, sorted(families._SEALED_FORM.items()), others),
        )


def _check_kind(key: tuple[str, str]) -> None:
    if key[1] not in _LIMITS:
        raise ValueError(f"unknown kind {key[1]!r}")


def new_store(size: int) -> Any:
    """An Estimator's store: the extension's `WindowStore` where it is built (`_NativeStore`),
    else the pure `_Windows`."""
    if _NativeStore is not None:
        return _NativeStore(size, calibration_key)
    return _Windows(size)


_NativeStore: Any = None
if os.environ.get("SSEUSAGE_FAST_PURE") != "1":  # as the package's backend choice
    try:
        from .._native import WindowStore as _NativeStore
    except ImportError:  # the pure backend alone
        pass


def median_with_prior(ordered: list[float], prior: float, weight: int) -> float:
    """The median of sorted `ordered` with `prior` counted as `weight` samples more (`ordered`
    is changed)."""
    for _ in range(weight):
        insort(ordered, prior)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def structured(stats: Sequence[int]) -> bool:
    """Whether a text is mostly markup (JSON, a structured reply): at least one punctuation
    mark per word, where prose has one per five or so. Tokenizers differ most on it."""
    return stats[3] >= stats[0] > 0


def _clean_ratios(values: Iterable[Any], kind: str = "output") -> list[float]:
    low, high = _LIMITS[kind]
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            continue
        out.append(min(high, max(low, float(v))))
    return out


def _ratio(kind: str, ratio: float) -> float:
    # min(high, max(low, ratio)) as those two compare (NaN included), without the calls.
    low, high = _LIMITS[kind]
    if not ratio > low:
        return low
    if not ratio < high:
        return high
    return ratio


def _count(kind: str, count: float) -> float:
    # A count learned as it is (hidden reasoning tokens), within the kind's limits.
    low, high = _LIMITS[kind]
    return min(high, max(low, float(count)))
