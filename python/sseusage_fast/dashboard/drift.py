"""The dashboard's "Last reconciliation" section: what `sseusage reconcile` stored last, as a
day x model table, each cell coloured by its verdict and showing the drift in percent and the
ledger's tokens beside the provider's (`reconcile.last_drift`)."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from sseusage_fast.ledger.reader import LedgerReader

DAYS_SHOWN = 31
# Verdict -> (cell colour, the word in the cell: colour is never the only sign).
VERDICT_STYLE = {
    "within_tolerance": ("#c6f6d5", "ok"),
    "under_metered": ("#fed7d7", "under"),
    "over_metered": ("#feebc8", "over"),
    "missing_in_ledger": ("#feb2b2", "not metered"),
    "missing_at_provider": ("#e9d8fd", "not billed"),
}
STYLE = (
    "td.drift,th.drift{text-align:center;font-size:12px;line-height:1.25}"
    "td.drift b{display:block;font-size:13px}td.drift small{display:block;color:#4a5568}"
    "#reconcile td.day{white-space:nowrap}"
    ".swatch{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;"
    "vertical-align:middle;border:1px solid #cbd5e0}"
)
ALL_MODELS = "(all models)"


def percent(drift: str | None) -> str:
    """The drift as a percentage ("0.362416" is "36.24%"); "" for None (the provider billed
    nothing: no share)."""
    if drift is None:
        return ""
    return f"{(Decimal(drift) * 100).quantize(Decimal('0.01'))}%"


def shown(drift: str | None, verdict: str) -> str:
    """What a cell says in bold: the drift and the verdict's word ("27.78% under")."""
    word = VERDICT_STYLE.get(verdict, ("", verdict))[1]
    return " ".join(part for part in (percent(drift), word) if part)


def _cell(day: dict[str, Any]) -> str:
    colour = VERDICT_STYLE.get(day["verdict"], ("#edf2f7", ""))[0]
    model = day["model"] or ALL_MODELS
    data = (
        f'data-day="{escape(day["day"])}" data-provider="{escape(day["provider"])}" '
        f'data-model="{escape(model)}" data-verdict="{escape(day["verdict"])}" '
        f'data-drift="{escape(day["drift"] or "")}" '
        f'data-ledger-tokens="{day["ledger_tokens"]}" '
        f'data-provider-tokens="{day["provider_tokens"]}"'
    )
    title = (
        f"{day['verdict']}: ledger {day['ledger_tokens']:,} / provider {day['provider_tokens']:,}"
    )
    return (
        f'<td class="drift" style="background:{colour}" title="{escape(title)}" {data}>'
        f"<b>{escape(shown(day['drift'], day['verdict']))}</b>"
        f"<small>{day['ledger_tokens']:,} / {day['provider_tokens']:,}</small></td>"
    )


def _legend() -> str:
    return "".join(
        f'<span class="swatch" style="background:{colour}"></span>{escape(verdict)}'
        for verdict, (colour, _) in VERDICT_STYLE.items()
    )


def drift_section(reader: LedgerReader) -> str:
    from sseusage_fast.reconcile.store import last_drift

    days = last_drift(reader)
    head = '<section class="wide" id="reconcile"><h2>Last reconciliation</h2>'
    if not days:
        return (
            f'{head}<p class="note">Never reconciled: <code>sseusage reconcile --db ... '
            "--provider anthropic|openai</code> compares the ledger with the provider's usage "
            "report and keeps its result here.</p></section>"
        )
    columns = sorted({(d["provider"], d["model"] or ALL_MODELS) for d in days})
    dates = sorted({d["day"] for d in days})
    shown = dates[-DAYS_SHOWN:]
    cells = {(d["day"], d["provider"], d["model"] or ALL_MODELS): d for d in days}
    several = len({provider for provider, _ in columns}) > 1
    header = "".join(
        f'<th class="drift">{escape(model)}'
        + (f" <small>({escape(provider)})</small>" if several else "")
        + "</th>"
        for provider, model in columns
    )
    rows = []
    for date in reversed(shown):  # the newest day first
        tds = "".join(
            _cell(cells[(date, provider, model)])
            if (date, provider, model) in cells
            else '<td class="drift"></td>'
            for provider, model in columns
        )
        rows.append(f'<tr><td class="day">{escape(date)}</td>{tds}</tr>')
    runs = sorted({(d["provider"], d["run_at"]) for d in days})
    when = "; ".join(
        f"{escape(p)} at {escape(r.replace('T', ' ').rstrip('Z'))} UTC" for p, r in runs
    )
    capped = f" The newest {DAYS_SHOWN} of {len(dates)} days." if len(dates) > DAYS_SHOWN else ""
    return (
        f'{head}<p class="note">Run {when}. Drift: the tokens the ledger and the provider '
        "disagree on, per token bucket, as a share of what the provider billed; each cell: "
        f"ledger / provider tokens (UTC days).{capped}</p>"
        f'<div class="scroll"><table><tr><th>day</th>{header}</tr>{"".join(rows)}</table></div>'
        f'<p class="legend">{_legend()}</p></section>'
    )
