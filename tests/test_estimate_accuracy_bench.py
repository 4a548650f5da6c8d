"""benches/estimate_accuracy.py on the real captures (when tests/captures/ is present): every
estimate lies inside its own range, the ranges are well formed, and calibrating never breaks a
capture that read uncalibrated. The figures themselves are the benchmark's, not asserted here."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
capture_index = pytest.importorskip("capture_index")


def test_estimates_lie_in_their_ranges() -> None:
    sys.path.insert(0, str(TESTS.parent / "benches"))
    try:
        bench = importlib.import_module("estimate_accuracy")
    finally:
        sys.path.remove(str(TESTS.parent / "benches"))
    bench._index = capture_index
    rows = bench.run()
    assert set(rows) == set(bench.MODES)
    plain = rows["uncalibrated"]
    assert plain and all(len(r) == len(plain) for r in rows.values())
    for mode, mode_rows in rows.items():
        # Every mode measures the same captures, in the same order.
        assert [(r.name, r.field) for r in mode_rows] == [(r.name, r.field) for r in plain]
        for row in mode_rows:
            if mode == "uncalibrated":
                assert row.peer is None, row.name
            if mode == "loo_family":
                assert row.peer != "model", row.name  # its own model is left out
            if not row.readable or row.low is None:
                continue
            # Input rows add the reported cache counts to the estimate: only output is compared.
            estimate = row.estimate if row.field == "output_tokens" else None
            assert row.low >= 0, row.name
            assert row.high is None or row.low <= row.high, row.name
            if estimate is not None:
                assert row.low <= estimate and (row.high is None or estimate <= row.high), row.name


def test_the_two_halves_are_disjoint_and_cover_every_capture() -> None:
    sys.path.insert(0, str(TESTS.parent / "benches"))
    try:
        bench = importlib.import_module("estimate_accuracy")
    finally:
        sys.path.remove(str(TESTS.parent / "benches"))
    captures = [c for c in capture_index.load_captures() if bench.usable(c)]
    by_repo, by_seed = bench.halves(captures)
    for split in (by_repo, by_seed):
        assert set(split) == {c.name for c in captures}
        assert set(split.values()) == {0, 1}
    # No source repository on both sides.
    sides: dict[str, set[int]] = {}
    for cap in captures:
        sides.setdefault(bench.repository(cap), set()).add(by_repo[cap.name])
    assert all(len(s) == 1 for s in sides.values())
    assert abs(sum(by_seed.values()) * 2 - len(captures)) <= 1
