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
    plain, loo = bench.run()
    assert plain and len(plain) == len(loo)
    for row in plain + loo:
        if not row.readable or row.low is None:
            continue
        # Input rows add the reported cache counts to the estimate: only output is compared.
        estimate = row.estimate if row.field == "output_tokens" else None
        assert row.low >= 0, row.name
        assert row.high is None or row.low <= row.high, row.name
        if estimate is not None:
            assert row.low <= estimate and (row.high is None or estimate <= row.high), row.name
    assert sum(r.readable for r in plain) == sum(r.readable for r in loo)
