"""How close estimates are to what was billed, on real recorded responses (issue 17).

    python benches/estimate_accuracy.py [--json] [--rows] [--captures DIR]

Every capture under tests/captures/ (real responses from public repositories, see each
`.meta.json`) that completed with a reported output count is read twice: with its usage
removed (`capture_index.strip_usage`: the rest of the stream byte for byte), which makes the
parser estimate, and whole, which is the billed truth (`expected` in its metadata). For output
and for input (uncached + cache writes + cache reads, only where the capture has its request
body), the table gives the median and 90th-percentile relative error of the point estimate and
how often `estimate_ranges` held the billed value:

- uncalibrated: a fresh `Estimator`;
- calibrated (leave one out): an `Estimator(min_samples=1)` that first read, whole, every
  *other* capture as complete records, the way a proxy learns from the traffic that does report
  usage: per model, and per family (`claude`, `gpt`, `gemini`...) for a model it has not seen.
  "had a peer" counts the captures whose model has another capture.

Reads with the default backend (native when built); both backends give the same records.
`--captures DIR` reads another checkout's `tests/` (its `capture_index.py` and `captures/`).
"""

from __future__ import annotations

import argparse
import importlib
import json
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
    calibrated: bool
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
    return cap.expected.get("model")


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


def rows_for(cap: Capture, record: UsageRecord, calibrated: bool) -> list[Row]:
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
                calibrated,
                record.status != "not_sse" and record.provider is not None,
            )
        )
    return out


def run() -> tuple[list[Row], list[Row]]:
    captures = [cap for cap in _index.load_captures() if usable(cap)]
    by_key: dict[str | None, list[Capture]] = defaultdict(list)
    for cap in captures:
        by_key[calibration_key(model_of(cap))].append(cap)
    plain: list[Row] = []
    loo: list[Row] = []
    for cap in captures:
        plain += rows_for(cap, estimate(cap, Estimator()), False)
        key = calibration_key(model_of(cap))
        peers = [c for c in by_key[key] if c is not cap] if key is not None else []
        learner = Estimator(min_samples=1)
        for other in captures:
            if other is not cap:
                read(other.body, other, learner)
        loo += rows_for(cap, estimate(cap, learner), bool(peers))
    return plain, loo


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def summary(rows: list[Row]) -> dict[str, Any]:
    errors = [r.error for r in rows]
    return {
        "n": len(rows),
        "median_error": statistics.median(errors) if errors else None,
        "p90_error": p90(errors) if errors else None,
        "range_holds": sum(r.held for r in rows) / len(rows) if rows else None,
        "within_25pct": sum(e <= 0.25 for e in errors),
        "calibrated": sum(r.calibrated for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--rows", action="store_true", help="print every capture's figures")
    parser.add_argument("--captures", default=str(ROOT / "tests"), help="a tests/ directory")
    args = parser.parse_args()
    global _index
    sys.path.insert(0, args.captures)
    _index = importlib.import_module("capture_index")
    plain, loo = run()
    table = {
        f"{field}/{mode}/{subset}": summary(
            [r for r in rows if r.field == field and (subset == "all" or r.readable)]
        )
        for field in ("output_tokens", "input_tokens")
        for subset in ("all", "read")
        for mode, rows in (("uncalibrated", plain), ("calibrated_loo", loo))
    }
    if args.json:
        print(json.dumps(table, indent=2))
        return
    if args.rows:
        for a, b in zip(plain, loo):
            print(
                f"{a.name:55} {a.field:13} billed {a.billed:6} est {a.estimate!s:>6} "
                f"[{a.low}, {a.high}] loo {b.estimate!s:>6} [{b.low}, {b.high}] "
                f"{','.join(a.reasons)}"
            )
        print()
    print(
        "| field | captures | mode | n | median error | p90 error | range holds "
        "| within 25% | had a peer |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, s in table.items():
        field, mode, subset = name.split("/")
        if not s["n"]:
            continue
        which = "all" if subset == "all" else "read by this build"
        print(
            f"| {field} | {which} | {mode} | {s['n']} | {s['median_error']:.1%} "
            f"| {s['p90_error']:.1%} | {s['range_holds']:.0%} | {s['within_25pct']} "
            f"| {s['calibrated']} |"
        )


if __name__ == "__main__":
    main()
