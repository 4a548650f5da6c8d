"""Bar charts drawn on the server as SVG: no script, no library, nothing fetched."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

# Series colours (two at most per chart), readable on white and for common colour blindness.
COLOURS = ("#2b6cb0", "#dd6b20")


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _decimals(value: float) -> int:
    """Decimals that show `value` (> 0) to two significant digits, at least two (cents)."""
    return max(2, 1 - math.floor(math.log10(value)))


def _step_decimals(step: float) -> int:
    """The fewest decimals, at least two, that print an axis step (a nice number) exactly."""
    for decimals in range(2, 10):
        if abs(round(step, decimals) - step) <= step * 1e-9:
            return decimals
    return _decimals(step)


def _fmt(value: float, unit: str, step: float | None = None) -> str:
    """A figure for a label; on an axis, `step` (the distance between ticks) sets the
    decimals, so that ticks a fraction of a cent apart do not print alike."""
    if unit == "$":
        if value >= 100:
            return f"${value:,.0f}"
        if step is not None and step > 0:
            return f"${value:,.{_step_decimals(step)}f}"
        return f"${value:,.{_decimals(value)}f}" if value > 0 else "$0.00"
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    unit: str = "",
    label_every: int = 1,
    width: int = 600,
    height: int = 220,
) -> str:
    """Stacked bars, one per label; `series` is (name, values) with one value per label.
    Scales to its container's width (viewBox); every bar has a tooltip with its figures."""
    left, right, top, bottom = 56, 8, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(vals[i] for _, vals in series) for i in range(len(labels))]
    top_value = nice_max(max(totals, default=0))
    parts = [
        (
            f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        ),
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):  # grid lines and y labels
        v = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e2e8f0" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#4a5568">{escape(_fmt(v, unit, top_value / 4))}</text>'
        )
    n = max(len(labels), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.8, 1.0)
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar_w) / 2
        base = float(top + plot_h)
        tip = [label] + [f"{name}: {_fmt(vals[i], unit)}" for name, vals in series]
        parts.append(f"<g><title>{escape(' | '.join(tip))}</title>")
        for (_name, vals), colour in zip(series, COLOURS):
            h = plot_h * vals[i] / top_value if top_value else 0.0
            if h > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
                    f'height="{h:.1f}" fill="{colour}"/>'
                )
                base -= h
        parts.append("</g>")
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
                f'text-anchor="middle" fill="#4a5568">{escape(label)}</text>'
            )
    parts.append("</svg>")
    if len(series) > 1:
        legend = "".join(
            f'<span class="key"><i style="background:{c}"></i>{escape(name)}</span>'
            for (name, _), c in zip(series, COLOURS)
        )
        parts.append(f'<div class="legend">{legend}</div>')
    return "".join(parts)
