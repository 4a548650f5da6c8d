"""The dashboard page: one HTML document with inline CSS and server-drawn SVG, no script and
no external request (a Content-Security-Policy of `default-src 'none'` holds).

`render_page(reader)` is all a server needs: `sseusage dashboard` serves it with http.server,
and the proxy can serve the same under its admin prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from html import escape
from typing import Any

from sseusage_fast.dashboard import drift
from sseusage_fast.dashboard.budgets import budget_label, budget_use
from sseusage_fast.dashboard.svg import bar_chart
from sseusage_fast.ledger.reader import LedgerReader
from sseusage_fast.proxy.config import Budget
from sseusage_fast.query import Filters
from sseusage_fast.reporting import build_report, flagged_rows

# The header a server sends with the page: nothing but the page itself may load.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"
DAYS_SHOWN = 30
HOURS_SHOWN = 48
FLAGGED_SHOWN = 20
BREAKDOWNS = (
    ("model", "By model"),
    ("provider", "By provider"),
    ("key", "By key"),
    ("tag", "By tag"),
)
TOTALS = (
    ("cost_usd", "Spend (USD)"),
    ("estimated_cost_usd", "Of it estimated (USD)"),
    ("requests", "Requests"),
    ("input_tokens", "Input tokens"),
    ("output_tokens", "Output tokens"),
    ("cache_creation_input_tokens", "Cache writes"),
    ("cache_read_input_tokens", "Cache reads"),
    ("requires_manual_review", "Need review"),
    ("estimated_requests", "Estimated"),
)

STYLE = """
*{box-sizing:border-box}
body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f4f6f9;color:#1a202c}
header{background:#1a365d;color:#fff;padding:12px 16px}
header h1{font-size:20px;margin:0}header p{margin:2px 0 0;opacity:.8;font-size:13px}
main{max-width:1240px;margin:0 auto;padding:12px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:10px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 12px}
.card.money{grid-column:span 2}
.card b{display:block;font-size:17px;overflow-wrap:anywhere}.card span{font-size:12px;color:#4a5568}
.card small.range{display:block;font-size:12px;color:#4a5568}small.range{color:#4a5568}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr));gap:12px;
margin-top:12px}
.charts{grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr))}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 12px;
min-width:0}
section.wide{grid-column:1/-1}
h2{font-size:16px;margin:0 0 8px}
.chart{width:100%;height:auto;display:block}
.legend{font-size:12px;color:#4a5568}.key{margin-right:12px}
.key i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 6px;border-bottom:1px solid #edf2f7;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal;overflow-wrap:anywhere;
min-width:7em}
td.bar{width:30%;min-width:60px}
@media (max-width:600px){main{padding:8px}table{font-size:12px}th,td{padding:3px 4px}
th:first-child,td:first-child{min-width:6em}}
th.reason,td.reason{text-align:left;white-space:normal;min-width:160px}
.note{color:#4a5568;font-size:13px}
.meter{height:10px;background:#edf2f7;border-radius:5px;overflow:hidden}
.meter i{display:block;height:100%;background:#2f855a}.meter i.over{background:#c53030}
"""


MONEY = ("cost_usd", "estimated_cost_usd")


def _money(value: str | Decimal) -> str:
    return f"${value}"


def _money_range(low: str | None, high: str | None) -> str:
    """`$low–$high`, or `$low or more` when open above (billed work no stream shows)."""
    if low is None:
        return ""
    return f"{_money(low)} or more" if high is None else f"{_money(low)}\u2013{_money(high)}"


def _range_html(low: str | None, high: str | None, what: str) -> str:
    """The range of an estimated spend, beside its point figure (nothing when there is none)."""
    if low is None:
        return ""
    return (
        f' <small class="range" data-range="{what}" data-low="{escape(low)}" '
        f'data-high="{escape(high or "")}">({escape(_money_range(low, high))})</small>'
    )


def _card(key: str, label: str, totals: dict[str, Any]) -> str:
    money = key in MONEY
    shown = _money(totals[key]) if money else _num(totals[key])
    extra = ""
    if key == "estimated_cost_usd" and totals["estimated_requests"]:
        extra = _range_html(
            totals["estimated_cost_low_usd"], totals["estimated_cost_high_usd"], key
        )
    elif key == "cost_usd" and totals["estimated_requests"]:
        extra = _range_html(totals["cost_low_usd"], totals["cost_high_usd"], key)
    return (
        f'<div class="card{" money" if money else ""}"><b data-figure="{key}">{shown}</b>'
        f"{extra}<span>{label}</span></div>"
    )


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _latest(reader: LedgerReader, filters: Filters) -> datetime | None:
    where, params = filters.where(reader)
    found = reader.fetchall(f"SELECT MAX(ts) FROM requests{where}", params)
    if reader.dialect != "sqlite":
        reader.conn.rollback()
    value = found[0][0]
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc)


def _series_chart(
    groups: Sequence[dict[str, Any]], dim: str, keys: list[str], title: str, tokens: bool
) -> str:
    by_key = {g[dim]: g for g in groups}
    every = max(1, len(keys) // 8)
    labels = [k[5:] if dim == "day" else k[11:16] for k in keys]  # "05-04" / "13:00"
    if tokens:
        series = [
            (
                "input (incl. cache)",
                [
                    float(
                        by_key[k]["input_tokens"]
                        + by_key[k]["cache_creation_input_tokens"]
                        + by_key[k]["cache_read_input_tokens"]
                    )
                    if k in by_key
                    else 0.0
                    for k in keys
                ],
            ),
            ("output", [float(by_key[k]["output_tokens"]) if k in by_key else 0.0 for k in keys]),
        ]
        return bar_chart(labels, series, title=title, label_every=every)
    spend = [float(Decimal(by_key[k]["cost_usd"])) if k in by_key else 0.0 for k in keys]
    return bar_chart(labels, [("spend", spend)], title=title, unit="$", label_every=every)


def _from(filters: Filters, start: datetime) -> Filters:
    """The filters, from `start` on (or from their own `since`, if later)."""
    return replace(filters, since=max(start, filters.since) if filters.since else start)


def _time_sections(reader: LedgerReader, filters: Filters, latest: datetime | None) -> str:
    if latest is None:
        return '<section class="wide"><h2>Over time</h2><p class="note">No rows yet.</p></section>'
    first_day = (latest - timedelta(days=DAYS_SHOWN - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    days = [(first_day + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(DAYS_SHOWN)]
    day_filters = _from(filters, first_day)
    by_day = build_report(reader, day_filters, ["day"])["groups"]
    last_hour = latest.replace(minute=0, second=0, microsecond=0)
    first_hour = last_hour - timedelta(hours=HOURS_SHOWN - 1)
    hours = [
        (first_hour + timedelta(hours=i)).strftime("%Y-%m-%dT%H:00") for i in range(HOURS_SHOWN)
    ]
    hour_filters = _from(filters, first_hour)
    by_hour = build_report(reader, hour_filters, ["hour"])["groups"]
    out = []
    for title, groups, dim, keys, tokens in (
        (f"Spend by day (UTC, {DAYS_SHOWN} days to {days[-1]})", by_day, "day", days, False),
        (f"Spend by hour (UTC, {HOURS_SHOWN} h to {hours[-1]})", by_hour, "hour", hours, False),
        ("Tokens by day", by_day, "day", days, True),
        ("Tokens by hour", by_hour, "hour", hours, True),
    ):
        chart = _series_chart(groups, dim, keys, title, tokens)
        out.append(f"<section><h2>{escape(title)}</h2>{chart}</section>")
    return "".join(out)


def _breakdown(reader: LedgerReader, filters: Filters, dim: str, title: str) -> str:
    groups = build_report(reader, filters, [dim])["groups"]
    groups.sort(key=lambda g: Decimal(g["cost_usd"]), reverse=True)
    top = max((Decimal(g["cost_usd"]) for g in groups), default=Decimal(0))
    rows = []
    for g in groups:
        share = float(Decimal(g["cost_usd"]) / top * 100) if top else 0.0
        tokens = g["input_tokens"] + g["output_tokens"]
        # The row's share of the top spend, as a bar behind its name.
        bar = f"background:linear-gradient(90deg,#dbeafe {share:.1f}%,transparent {share:.1f}%)"
        estimated = "-"
        if g["estimated_requests"]:
            estimated = _money(g["estimated_cost_usd"]) + _range_html(
                g["estimated_cost_low_usd"], g["estimated_cost_high_usd"], "estimated_cost_usd"
            )
        rows.append(
            f'<tr data-{dim}="{escape(g[dim])}"><td style="{bar}">{escape(g[dim])}</td>'
            f"<td>{g['requests']:,}</td><td>{tokens:,}</td>"
            f'<td data-cost="{escape(g["cost_usd"])}">{_money(g["cost_usd"])}</td>'
            f"<td>{estimated}</td></tr>"
        )
    body = "".join(rows) or '<tr><td colspan="5" class="note">No rows.</td></tr>'
    note = (
        '<p class="note">A request with several tags counts under each.</p>' if dim == "tag" else ""
    )
    return (
        f'<section id="by-{dim}"><h2>{escape(title)}</h2><div class="scroll"><table>'
        f"<tr><th>{escape(dim)}</th><th>requests</th><th>tokens in+out</th><th>spend</th>"
        f"<th>of it estimated</th></tr>{body}</table></div>{note}</section>"
    )


def _estimate_text(name: str, value: Any, ranges: dict[str, list[int | None]]) -> str:
    """`output_tokens 40 (30–60)`: an estimated field, its value and its range."""
    text = f"{name} {value:,}" if isinstance(value, int) else f"{name} ?"
    if name in ranges:
        low, high = ranges[name]
        text += f" ({low:,} or more)" if high is None else f" ({low:,}\u2013{high:,})"
    return text


def _flagged(reader: LedgerReader, filters: Filters, total: int) -> str:
    rows = flagged_rows(reader, filters, FLAGGED_SHOWN)
    cells = []
    for r in rows:
        estimate = (
            ", ".join(_estimate_text(k, v, r["estimate_ranges"]) for k, v in r["estimate"].items())
            or "-"
        )
        cost = _money(r["cost_usd"]) if r["cost_usd"] is not None else "-"
        if r["cost_usd"] is not None:
            cost += _range_html(r["cost_low_usd"], r["cost_high_usd"], "cost_usd")
        cells.append(
            f"<tr><td>{escape(r['ts'][:19])}</td><td>{escape(str(r['request_id'] or '-'))}</td>"
            f"<td>{escape(str(r['model'] or '-'))}</td>"
            f'<td class="reason">{escape(r["reason"])}</td>'
            f'<td class="reason">{escape(estimate)}</td><td>{cost}</td></tr>'
        )
    body = "".join(cells) or '<tr><td colspan="6" class="note">Nothing waits for review.</td></tr>'
    more = (
        f'<p class="note">The newest {len(rows)} of {total:,}; all of them: '
        "<code>sseusage export --flagged</code>.</p>"
        if total > len(rows)
        else ""
    )
    return (
        '<section class="wide" id="flagged"><h2>Flagged for review</h2><div class="scroll">'
        '<table><tr><th>time (UTC)</th><th>request</th><th>model</th><th class="reason">reason</th>'
        f'<th class="reason">estimate</th><th>cost</th></tr>{body}</table></div>{more}</section>'
    )


def _budgets(reader: LedgerReader, budgets: Sequence[Budget] | None, now: datetime) -> str:
    if not budgets:
        return (
            '<section class="wide" id="budgets"><h2>Budgets</h2><p class="note">No budgets '
            "configured (the proxy config's <code>[[budget]]</code> tables; "
            "<code>sseusage dashboard --config FILE</code>).</p></section>"
        )
    rows = []
    for budget, spent in budget_use(reader, budgets, now):
        share = float(spent / budget.usd * 100) if budget.usd else 100.0
        over = ' class="over"' if spent > budget.usd else ""
        rows.append(
            f"<tr><td>{escape(budget_label(budget))}</td><td>{_money(spent)}</td>"
            f"<td>{_money(budget.usd)}</td><td>{share:.0f}%</td>"
            f'<td class="bar"><div class="meter"><i{over} style="width:{min(share, 100):.1f}%">'
            "</i></div></td></tr>"
        )
    return (
        '<section class="wide" id="budgets"><h2>Budgets</h2><div class="scroll"><table>'
        "<tr><th>budget</th><th>spent</th><th>limit</th><th>used</th><th></th></tr>"
        f"{''.join(rows)}</table></div></section>"
    )


def render_page(
    reader: LedgerReader,
    *,
    filters: Filters | None = None,
    budgets: Sequence[Budget] | None = None,
    now: datetime | None = None,
    title: str = "sseusage: spend",
) -> str:
    """The whole page as HTML text."""
    filters = filters or Filters()
    now = now or datetime.now(timezone.utc)
    totals = build_report(reader, filters)
    cards = "".join(_card(key, label, totals) for key, label in TOTALS)
    latest = _latest(reader, filters)
    sections = [
        *(_breakdown(reader, filters, dim, t) for dim, t in BREAKDOWNS),
        _flagged(reader, filters, totals["requires_manual_review"]),
        _budgets(reader, budgets, now),
        drift.drift_section(reader),
    ]
    notes = []
    if totals["unpriced_requests"]:
        notes.append(
            f"{totals['unpriced_requests']:,} request(s) have no price (unknown model or "
            "error); the spend excludes them."
        )
    if totals["estimated_requests"]:
        notes.append(
            "Estimated spend is shown with the range expected to hold what was billed."
            + (
                f" {totals['open_range_requests']:,} estimated request(s) have billed work "
                "the stream never shows: no upper bound."
                if totals["open_range_requests"]
                else ""
            )
            + (
                f" {totals['unranged_requests']:,} were recorded before the ledger kept "
                "ranges and count at their point estimate."
                if totals["unranged_requests"]
                else ""
            )
        )
    note_html = "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{STYLE}{drift.STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>Ledger totals; charts end at the newest row. "
        f"Drawn {now.strftime('%Y-%m-%d %H:%M')} UTC.</p></header><main>"
        f'<div class="cards">{cards}</div>{note_html}'
        f'<div class="grid charts">{_time_sections(reader, filters, latest)}</div>'
        f'<div class="grid">{"".join(sections)}</div></main></body></html>'
    )
