"""How close estimates are to what was billed, on real recorded responses (issue 17).

    python benches/estimate_accuracy.py [--json] [--rows [--rows-mode MODE]] [--captures DIR]

Every capture under tests/captures/ (real responses from public repositories, see each
`.meta.json`) that completed with a reported output count is read twice: with its usage
removed (`capture_index.strip_usage`: the rest of the stream byte for byte), which makes the
parser estimate, and whole, which is the billed truth (`expected` in its metadata). For output
and for input (uncached + cache writes + cache reads, only where the capture has its request
body), the table gives the median and 90th-percentile relative error of the point estimate and
how often `estimate_ranges` held the billed value:

- uncalibrated: a fresh `Estimator` (its priors were set by hand reading these same captures,
  so these figures are in-sample for the priors);
- calibrated (`MODES`): an `Estimator(min_samples=1)` that first read, whole, a training set
  of captures as complete records, the way a proxy learns from the traffic that does report
  usage: per model, and per family (`claude`, `gpt`...) for the input ratio of a model it has
  not seen. In sample (every capture), held out (the other half, split by source repository or
  by a seeded shuffle), leave one out per model (every other capture) and per family (every
  other capture of other models). "model peer" / "family peer only" count the captures whose
  model / family the training set held, and the last two columns compare those captures'
  median error calibrated and not.

Reads with the default backend (native when built); both backends give the same records.
The clean-text figures (the base estimate against two real tokenizers, no responses) are
`benches/estimate_text_accuracy.py`'s.
`--captures DIR` reads another checkout's `tests/` (its `capture_index.py` and `captures/`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from sseusage_fast import parse_usage
from sseusage_fast.estimate import Estimator, calibration_key
from sseusage_fast.estimate.learned import _family_key
from sseusage_fast.record import UsageRecord

# tests/capture_index.py (load_captures, strip_usage), imported by `main` from --captures.
Capture = Any
_index: Any = None


@dataclass
class Row:
    name: str
    model: str | None
    field: str
    billed: int
    estimate: int | None
    low: int | None
    high: int | None
    reasons: tuple[str, ...]
    # What the learner had read of this capture's kind: "model", "family" (only), or None.
    peer: str | None
    readable: bool

    @property
    def error(self) -> float:
        if self.estimate is None:
            return 1.0
        return abs(self.estimate - self.billed) / self.billed

    @property
    def held(self) -> bool:
        if self.low is None:
            return False
        return self.low <= self.billed and (self.high is None or self.billed <= self.high)


def billed_input(expected: dict[str, Any]) -> int | None:
    parts = [
        expected.get(k)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    ]
    if expected.get("input_tokens") is None:
        return None
    return sum(p or 0 for p in parts)


def usable(cap: Capture) -> bool:
    expected = cap.expected
    return expected.get("status") == "complete" and bool(expected.get("output_tokens"))


def model_of(cap: Capture) -> str | None:
    """The model the response names, else the one its request names (what calibration learns
    under, as the parser does)."""
    model = cap.expected.get("model")
    request = cap.request
    if not model and isinstance(request, dict) and isinstance(request.get("model"), str):
        model = request["model"]
    return model or None


def read(body: bytes, cap: Capture, estimator: Estimator) -> UsageRecord:
    """The record of a body; a provider this build cannot read yet gives an empty record (an
    estimate of nothing: counted as a 100% error, never left out)."""
    try:
        record: UsageRecord = parse_usage(
            body, cap.provider, request=cap.request, estimator=estimator
        )
    except ValueError:
        return UsageRecord()
    return record


def estimate(cap: Capture, estimator: Estimator) -> UsageRecord:
    return read(_index.strip_usage(cap), cap, estimator)


def rows_for(cap: Capture, record: UsageRecord, peer: str | None) -> list[Row]:
    out = []
    for field, billed in (
        ("output_tokens", cap.expected.get("output_tokens")),
        ("input_tokens", billed_input(cap.expected) if cap.request else None),
    ):
        if not billed:
            continue
        low, high = record.estimate_ranges.get(field, (None, None))
        value = getattr(record, field)
        if field == "input_tokens" and value is not None:
            # The estimate covers the whole prompt, cached or not.
            value += (record.cache_creation_input_tokens or 0) + (
                record.cache_read_input_tokens or 0
            )
        out.append(
            Row(
                cap.name,
                model_of(cap),
                field,
                billed,
                value,
                low,
                high,
                record.estimate_reasons,
                peer,
                record.status != "not_sse" and record.provider is not None,
            )
        )
    return out


# How each capture is calibrated: the captures its learner reads whole first. Every mode but
# "uncalibrated" uses an `Estimator(min_samples=1)`, per model, and per family (`claude`,
# `gpt`...: the text and input ratios) for a model it has not read.
MODES = (
    "uncalibrated",  # a fresh Estimator
    "in_sample",  # every capture, this one included: the best it could look
    "held_out_repo",  # the other half by source repository (vercel/ai, or all the others)
    "held_out_seed",  # the other half of a seeded shuffle of the names (SEED)
    "loo_model",  # every other capture
    "loo_family",  # every other capture but this model's: family calibration alone (input)
)
SEED = 17


def repository(cap: Capture) -> str:
    source = cap.meta.get("source")
    return str(source.get("repository")) if isinstance(source, dict) else str(source)


def halves(captures: list[Capture]) -> tuple[dict[str, int], dict[str, int]]:
    """Two 2-fold splits, capture name -> 0 or 1: by source repository (largest first, each into
    the smaller half, so no repository is on both sides) and by a seeded shuffle of the names."""
    sizes: dict[str, int] = defaultdict(int)
    for cap in captures:
        sizes[repository(cap)] += 1
    side: dict[str, int] = {}
    load = [0, 0]
    for repo in sorted(sizes, key=lambda r: (-sizes[r], r)):
        side[repo] = 0 if load[0] <= load[1] else 1
        load[side[repo]] += sizes[repo]
    by_repo = {cap.name: side[repository(cap)] for cap in captures}
    names = sorted(cap.name for cap in captures)
    random.Random(SEED).shuffle(names)
    by_seed = {name: int(i >= len(names) // 2) for i, name in enumerate(names)}
    return by_repo, by_seed


def family_of(cap: Capture) -> str | None:
    key = calibration_key(model_of(cap))
    return None if key is None else _family_key(key)


def learner(training: list[Capture]) -> Estimator:
    estimator = Estimator(min_samples=1)
    for other in training:
        read(other.body, other, estimator)
    return estimator


def run() -> dict[str, list[Row]]:
    """Rows of every mode, in the same capture order."""
    captures = [cap for cap in _index.load_captures() if usable(cap)]
    by_repo, by_seed = halves(captures)
    cached: dict[tuple[str, int], Estimator] = {}
    rows: dict[str, list[Row]] = {mode: [] for mode in MODES}
    everything = learner(captures)
    for cap in captures:
        key, family = calibration_key(model_of(cap)), family_of(cap)
        for mode in MODES:
            if mode == "uncalibrated":
                rows[mode] += rows_for(cap, estimate(cap, Estimator()), None)
                continue
            if mode == "in_sample":
                training, estimator = captures, everything
            elif mode.startswith("held_out"):
                split = by_repo if mode == "held_out_repo" else by_seed
                training = [c for c in captures if split[c.name] != split[cap.name]]
                fold = (mode, split[cap.name])
                if fold not in cached:
                    cached[fold] = learner(training)
                estimator = cached[fold]
            else:
                same_model = mode == "loo_family" and key is not None
                training = [
                    c
                    for c in captures
                    if c is not cap and not (same_model and calibration_key(model_of(c)) == key)
                ]
                estimator = learner(training)
            if key is not None and any(calibration_key(model_of(c)) == key for c in training):
                peer: str | None = "model"
            elif family is not None and any(family_of(c) == family for c in training):
                peer = "family"
            else:
                peer = None
            rows[mode] += rows_for(cap, estimate(cap, estimator), peer)
    for mode_rows in rows.values():
        for row in mode_rows:
            if row.field == "output_tokens" and row.peer == "family":
                row.peer = None  # a family shares its input ratio only (estimator._FAMILY_KINDS)
    return rows


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def summary(rows: list[Row], plain: list[Row]) -> dict[str, Any]:
    """Figures of one mode's rows; `plain` are the uncalibrated rows of the same captures, in
    the same order, so calibration's effect is read on the captures it reached."""
    errors = [r.error for r in rows]
    peered = [r.error for r in rows if r.peer is not None]
    peered_plain = [p.error for r, p in zip(rows, plain, strict=True) if r.peer is not None]
    return {
        "n": len(rows),
        "median_error": statistics.median(errors) if errors else None,
        "p90_error": p90(errors) if errors else None,
        "range_holds": sum(r.held for r in rows) / len(rows) if rows else None,
        "held": sum(r.held for r in rows),
        "within_25pct": sum(e <= 0.25 for e in errors),
        "model_peer": sum(r.peer == "model" for r in rows),
        "family_peer": sum(r.peer == "family" for r in rows),
        "median_error_calibrated": statistics.median(peered) if peered else None,
        "median_error_same_uncalibrated": (
            statistics.median(peered_plain) if peered_plain else None
        ),
    }


# Kinds of response, by what made the uncalibrated estimate uncertain (the first that applies),
# and plain text split at 50 billed tokens: a short reply's error is mostly a token or two of
# framing and rounding (billed 3, estimated 2 is 33%).
KINDS = (
    ("server_tools", "server-side tools"),
    ("hidden_reasoning", "hidden reasoning"),
    ("summarized_thinking", "thinking streamed as a summary"),
    ("tool_calls", "tool calls"),
    ("plain_long", "plain text, billed 50 or more"),
    ("plain_short", "plain text, billed under 50"),
)


def kind_of(row: Row) -> str:
    for name, _ in KINDS[:4]:
        if name in row.reasons:
            return name
    return "plain_long" if row.billed >= 50 else "plain_short"


def by_kind(rows: dict[str, list[Row]], mode: str = "loo_model") -> list[dict[str, Any]]:
    """Output figures per kind of response: uncalibrated and calibrated (`mode`), and on the
    captures that calibration reached (a model peer), calibrated against not."""
    out = []
    pairs = [
        (u, c)
        for u, c in zip(rows["uncalibrated"], rows[mode], strict=True)
        if u.field == "output_tokens"
    ]
    for name, label in KINDS:
        items = [(u, c) for u, c in pairs if kind_of(u) == name]
        if not items:
            continue
        peers = [(u, c) for u, c in items if c.peer == "model"]
        out.append(
            {
                "kind": name,
                "label": label,
                "n": len(items),
                "median_error": statistics.median(u.error for u, _ in items),
                "range_holds": sum(u.held for u, _ in items) / len(items),
                "median_error_calibrated": statistics.median(c.error for _, c in items),
                "range_holds_calibrated": sum(c.held for _, c in items) / len(items),
                "model_peer": len(peers),
                "peers_calibrated": statistics.median(c.error for _, c in peers) if peers else None,
                "peers_uncalibrated": (
                    statistics.median(u.error for u, _ in peers) if peers else None
                ),
            }
        )
    return out


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--rows", action="store_true", help="print every capture's figures")
    parser.add_argument(
        "--rows-mode",
        choices=MODES[1:],
        default="loo_model",
        help="the calibrated estimate that --rows prints beside the uncalibrated one",
    )
    parser.add_argument("--captures", default=str(ROOT / "tests"), help="a tests/ directory")
    args = parser.parse_args()
    global _index
    sys.path.insert(0, args.captures)
    _index = importlib.import_module("capture_index")
    rows = run()
    table = {
        f"{field}/{mode}": summary(
            [r for r in rows[mode] if r.field == field],
            [r for r in rows["uncalibrated"] if r.field == field],
        )
        for field in ("output_tokens", "input_tokens")
        for mode in MODES
    }
    kinds = by_kind(rows)
    if args.json:
        print(json.dumps({**table, "output_tokens/by_kind/loo_model": kinds}, indent=2))
        return
    if args.rows:
        for a, b in zip(rows["uncalibrated"], rows[args.rows_mode], strict=True):
            print(
                f"{a.name:55} {a.field:13} billed {a.billed:6} est {a.estimate!s:>6} "
                f"[{a.low}, {a.high}] {args.rows_mode} {b.estimate!s:>6} [{b.low}, {b.high}] "
                f"{','.join(a.reasons)}"
            )
        print()
    print(
        "| field | calibration | n | median error | p90 error | range holds "
        "| within 25% | model peer | family peer only | median error where calibrated "
        "| the same captures uncalibrated |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, s in table.items():
        field, mode = name.split("/")
        if not s["n"]:
            continue
        print(
            f"| {field} | {mode} | {s['n']} | {percent(s['median_error'])} "
            f"| {percent(s['p90_error'])} | {s['range_holds']:.0%} ({s['held']}) "
            f"| {s['within_25pct']} | {s['model_peer']} | {s['family_peer']} "
            f"| {percent(s['median_error_calibrated'])} "
            f"| {percent(s['median_error_same_uncalibrated'])} |"
        )
    print()
    print(
        "| output, by kind of response | n | median error | range holds "
        "| median error, leave one out per model | range holds | model peer "
        "| median error where calibrated | the same uncalibrated |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k in kinds:
        print(
            f"| {k['label']} | {k['n']} | {percent(k['median_error'])} "
            f"| {k['range_holds']:.0%} | {percent(k['median_error_calibrated'])} "
            f"| {k['range_holds_calibrated']:.0%} | {k['model_peer']} "
            f"| {percent(k['peers_calibrated'])} | {percent(k['peers_uncalibrated'])} |"
        )


if __name__ == "__main__":
    main()
