"""What the Estimator learns and how it keeps it: the kinds of figure learned per model, their
limits and the prior weights of learned counts, the window of recent samples, and the checks
that clip a sample or a saved value into its kind's limits."""

from __future__ import annotations

import functools
import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

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
