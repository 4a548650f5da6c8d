"""Chart labels: ticks and tooltips of small spends are told apart, not all printed as $0.01."""

from __future__ import annotations

import re

from sseusage_fast.dashboard.svg import bar_chart


def _axis_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end"[^>]*>([^<]+)</text>', svg)


def test_axis_ticks_a_fraction_of_a_cent_apart_print_apart() -> None:
    svg = bar_chart(["a", "b"], [("spend", [0.0195, 0.0012])], title="t", unit="$")
    assert _axis_labels(svg) == ["$0.000", "$0.005", "$0.010", "$0.015", "$0.020"]


def test_axis_ticks_of_dollars_keep_cents() -> None:
    svg = bar_chart(["a"], [("spend", [7.3])], title="t", unit="$")
    assert _axis_labels(svg) == ["$0.00", "$2.50", "$5.00", "$7.50", "$10.00"]
    svg = bar_chart(["a"], [("spend", [420.0])], title="t", unit="$")
    assert _axis_labels(svg) == ["$0.00", "$125", "$250", "$375", "$500"]


def test_tooltips_show_small_spend_to_two_significant_digits() -> None:
    svg = bar_chart(["day"], [("spend", [0.000212])], title="t", unit="$")
    assert "day | spend: $0.00021" in svg
    svg = bar_chart(["day"], [("spend", [12.345])], title="t", unit="$")
    assert "day | spend: $12.35" in svg or "day | spend: $12.34" in svg


def test_token_axes_unchanged() -> None:
    svg = bar_chart(["a"], [("in", [8000.0]), ("out", [600.0])], title="t")
    assert _axis_labels(svg) == ["0", "2.5k", "5k", "7.5k", "10k"]
