"""Totals from a ledger: overall, by model and day, by any combination of dimensions, and the
rows that wait for review. Formatting as a table or CSV. Used by `report` and the dashboard.

The database does the grouping (one GROUP BY over the plain dimensions plus the tags text);
Python only splits tags into their `k=v` pairs and merges. A row with several tags counts once
in the totals and once under each of its tags.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sseusage_fast.ledger.estimates import ranges_from_db, reasons_from_db
from sseusage_fast.ledger.reader import LedgerReader
from sseusage_fast.query import COLUMN_OF, DIMENSIONS, NONE_LABEL, Filters, parse_tags, tag_pairs
from sseusage_fast.record import TOKEN_FIELDS

UNKNOWN_MODEL = "(unknown)"
# The columns of a ledger row summed in every report level, in display order.
SUMMED = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def decimal_str(value: Decimal) -> str:
    """Plain notation without trailing zeros: "0.0195", "12", never "1.2E+1"."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def empty_figures() -> dict[str, Any]:
    return {
        "requests": 0,
        **{name: 0 for name in TOKEN_FIELDS},
        "requires_manual_review": 0,
        "estimated_requests": 0,
        "cost_usd": Decimal(0),
        "unpriced_requests": 0,
        **{name: Decimal(0) for name in _ESTIMATED_COSTS},
        "open_range_requests": 0,
        "unranged_requests": 0,
    }


# The spend of priced rows whose figures hold estimates, at the point estimate and at both
# ends of the rows' cost ranges (the high end counts open rows at their point: see
# `open_range_requests`).
_ESTIMATED_COSTS = ("estimated_cost_usd", "estimated_cost_low_usd", "estimated_cost_high_usd")


def _add(into: dict[str, Any], other: dict[str, Any]) -> None:
    for name, value in other.items():
        into[name] += value


def _finalise(figures: dict[str, Any]) -> dict[str, Any]:
    """Decimal strings, and the ranges: `estimated_cost_low_usd` / `_high_usd` (high None when a
    row's range is open above) and `cost_low_usd` / `cost_high_usd`, the whole cost with the
    estimated part as a range."""
    cost = figures["cost_usd"]
    point = figures["estimated_cost_usd"]
    low = figures["estimated_cost_low_usd"]
    high = None if figures["open_range_requests"] else figures["estimated_cost_high_usd"]
    return {
        **figures,
        "cost_usd": decimal_str(cost),
        "cost_low_usd": decimal_str(cost - point + low),
        "cost_high_usd": None if high is None else decimal_str(cost - point + high),
        "estimated_cost_usd": decimal_str(point),
        "estimated_cost_low_usd": decimal_str(low),
        "estimated_cost_high_usd": None if high is None else decimal_str(high),
    }


def _estimated_cost_sql(reader: LedgerReader) -> str:
    """The SELECT terms of `_ESTIMATED_COSTS`, then the counts of estimated rows whose range is
    open above and of priced estimated rows without a stored range (written before ranges)."""
    # SQLite sums its decimal text exactly with the ledger's own aggregate.
    total = ("decimal_sum" if reader.dialect == "sqlite" else "SUM") + "({})"
    low, high = reader.column("cost_low_usd"), reader.column("cost_high_usd")
    est = "estimated <> '[]'"
    terms = [
        total.format(f"CASE WHEN {est} THEN cost_usd END"),
        total.format(f"CASE WHEN {est} THEN COALESCE({low}, cost_usd) END"),
        total.format(f"CASE WHEN {est} THEN COALESCE({high}, cost_usd) END"),
        f"SUM(CASE WHEN {est} AND {low} IS NOT NULL AND {high} IS NULL THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {est} AND cost_usd IS NOT NULL AND {low} IS NULL THEN 1 ELSE 0 END)",
    ]
    return ", ".join(terms)


def _group_sql(reader: LedgerReader, filters: Filters, dims: Sequence[str]) -> tuple[str, list]:
    exprs = []
    for dim in dims:
        if dim == "day":
            exprs.append(reader.day_expr())
        elif dim == "hour":
            exprs.append(reader.hour_expr())
        else:
            exprs.append(reader.column(COLUMN_OF[dim]))
    sums = ", ".join(f"SUM(COALESCE({reader.column(n)}, 0))" for n in TOKEN_FIELDS)
    where, params = filters.where(reader)
    select = ", ".join(f"{e} AS g{i}" for i, e in enumerate(exprs))
    group = ", ".join(f"g{i}" for i in range(len(exprs)))
    sql = (
        f"SELECT {select}, COUNT(*), {sums}, "
        "SUM(CASE WHEN requires_manual_review THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN estimated <> '[]' THEN 1 ELSE 0 END), "
        f"{reader.cost_sum_expr()}, COUNT(cost_usd), {_estimated_cost_sql(reader)} "
        f"FROM requests{where} GROUP BY {group}"
    )
    return sql, params


def _figures(values: Sequence[Any]) -> dict[str, Any]:
    n = len(TOKEN_FIELDS)
    requests = int(values[0])
    return {
        "requests": requests,
        **{name: int(v) for name, v in zip(TOKEN_FIELDS, values[1 : 1 + n])},
        "requires_manual_review": int(values[1 + n]),
        "estimated_requests": int(values[2 + n]),
        "cost_usd": Decimal(values[3 + n]) if values[3 + n] is not None else Decimal(0),
        "unpriced_requests": requests - int(values[4 + n]),
        **{
            name: Decimal(v) if v is not None else Decimal(0)
            for name, v in zip(_ESTIMATED_COSTS, values[5 + n : 8 + n])
        },
        "open_range_requests": int(values[8 + n] or 0),
        "unranged_requests": int(values[9 + n] or 0),
    }


def _label(dim: str, value: Any) -> str:
    if value is None or value == "":
        return UNKNOWN_MODEL if dim == "model" else NONE_LABEL
    return str(value)


def build_report(
    reader: LedgerReader, filters: Filters | None = None, by: Sequence[str] = ()
) -> dict[str, Any]:
    """The contract's totals (`requests`, the token fields, `requires_manual_review`,
    `estimated_requests`, `cost_usd` as a decimal string, `unpriced_requests`), `by_model`
    and `by_day`; with `by`, also `groups`: one object per combination, the dimensions' values
    under their names. `cost_usd` sums the priced rows."""
    filters = filters or Filters()
    for dim in by:
        if dim not in DIMENSIONS:
            raise ValueError(f"cannot group by {dim!r}: one of {', '.join(DIMENSIONS)}")
    # The database groups by model, day, the asked dimensions and (when tags matter) the tags.
    needs_tags = "tag" in by or bool(filters.tags)
    sql_dims = list(dict.fromkeys(["model", "day", *[d for d in by if d != "tag"]]))
    if needs_tags:
        sql_dims.append("tag")
    sql, params = _group_sql(reader, filters, sql_dims)
    overall = empty_figures()
    by_model: dict[str, dict[str, Any]] = {}
    by_day: dict[str, dict[str, Any]] = {}
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for values in reader.fetchall(sql, params):
        keys = dict(zip(sql_dims, values[: len(sql_dims)]))
        figures = _figures(values[len(sql_dims) :])
        tags = parse_tags(keys.get("tag"))
        if not filters.tags_match(tags):
            continue
        _add(overall, figures)
        _add(by_model.setdefault(_label("model", keys["model"]), empty_figures()), figures)
        _add(by_day.setdefault(_label("day", keys["day"]), empty_figures()), figures)
        if not by:
            continue
        for tag in (tag_pairs(tags) or [NONE_LABEL]) if "tag" in by else [""]:
            key = tuple(tag if d == "tag" else _label(d, keys[d]) for d in by)
            _add(groups.setdefault(key, empty_figures()), figures)
    if reader.dialect != "sqlite":
        reader.conn.rollback()
    result: dict[str, Any] = {
        **_finalise(overall),
        "by_model": {k: _finalise(v) for k, v in sorted(by_model.items())},
        "by_day": {k: _finalise(v) for k, v in sorted(by_day.items())},
    }
    if by:
        result["groups"] = [
            {**dict(zip(by, key)), **_finalise(v)} for key, v in sorted(groups.items())
        ]
    return result


# -- the rows waiting for review --------------------------------------------------------------

FLAGGED_COLUMNS = (
    "id",
    "ts",
    "request_id",
    "provider",
    "model",
    "status",
    "error_type",
    "interrupted",
    "no_usage_data",
    "estimated",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "key_fingerprint",
    "tags",
    "end_user",
    "estimate_ranges",
    "estimate_reasons",
    "cost_low_usd",
    "cost_high_usd",
)


def flagged_rows(
    reader: LedgerReader, filters: Filters | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest flagged rows (up to `limit`), each with `reason` (why it is flagged),
    `estimate` (the estimated fields and their values), `estimate_ranges` (`{field: [low,
    high]}`, high None when open above), `estimate_reasons`, and `cost_low_usd` /
    `cost_high_usd` (None both when the cost has no range; high None when open above)."""
    filters = filters or Filters()
    flagged = replace(filters, flagged=True)
    where, params = flagged.where(reader)
    select = ", ".join(reader.column(c) for c in FLAGGED_COLUMNS)
    sql = f"SELECT {select} FROM requests{where} ORDER BY ts DESC, id DESC"
    if not filters.tags:
        sql += f" LIMIT {int(limit)}"
    out: list[dict[str, Any]] = []
    rows = reader.stream(sql, params)
    for values in rows:
        row = dict(zip(FLAGGED_COLUMNS, values))
        if not filters.tags_match(parse_tags(row["tags"])):
            continue
        estimated = _estimated(row["estimated"])
        row["estimated"] = estimated
        row["ts"] = str(row["ts"])
        row["no_usage_data"] = bool(row["no_usage_data"])
        for name in ("cost_usd", "cost_low_usd", "cost_high_usd"):
            row[name] = None if row[name] is None else decimal_str(Decimal(row[name]))
        ranges = ranges_from_db(row["estimate_ranges"])
        row["estimate_ranges"] = {k: [low, high] for k, (low, high) in ranges.items()}
        row["estimate_reasons"] = list(reasons_from_db(row["estimate_reasons"]))
        row["reason"] = flag_reason(row)
        row["estimate"] = {name: row.get(name) for name in estimated}
        out.append(row)
        if len(out) >= limit:
            break
    rows.close()  # the cursor, at once, when the limit stopped the loop early
    return out


def _estimated(value: Any) -> list[str]:
    if not value:
        return []
    try:
        names = json.loads(value)
    except ValueError:
        return []
    return [str(n) for n in names] if isinstance(names, list) else []


def flag_reason(row: dict[str, Any]) -> str:
    """Why a row needs review, in a few words."""
    parts = []
    if row.get("status") not in (None, "complete"):
        parts.append(str(row["status"]))
    if row.get("interrupted"):
        parts.append(f"interrupted ({row['interrupted']})")
    if row.get("error_type"):
        parts.append(f"error {row['error_type']}")
    if row.get("no_usage_data"):
        parts.append("no usage reported")
    if row.get("estimated"):
        parts.append("estimated: " + ", ".join(row["estimated"]))
    if row.get("estimate_reasons"):
        parts.append("uncertain: " + ", ".join(row["estimate_reasons"]))
    return "; ".join(parts) or "figures unknown"


def cost_text(row: dict[str, Any]) -> str:
    """A row's (or a total's) cost as text: `0.0123`, with its range when it has one
    (`0.0123 (0.0101-0.0150)`, `0.0123 (0.0101 or more)`); `-` when unknown."""
    cost = row.get("cost_usd")
    if cost is None:
        return "-"
    low, high = row.get("cost_low_usd"), row.get("cost_high_usd")
    if low is None:
        return str(cost)
    return f"{cost} ({range_text(low, high)})"


def range_text(low: str, high: str | None) -> str:
    """`low-high`, or `low or more` when the range is open above."""
    return f"{low} or more" if high is None else f"{low}-{high}"


# -- output -----------------------------------------------------------------------------------

TABLE_COLUMNS = (
    ("requests", "requests"),
    ("input_tokens", "input"),
    ("output_tokens", "output"),
    ("cache_creation_input_tokens", "cache write"),
    ("cache_read_input_tokens", "cache read"),
    ("requires_manual_review", "review"),
    ("estimated_requests", "estimated"),
    ("cost_usd", "cost USD"),
    ("estimated_cost_usd", "of it estimated"),
    ("estimated_cost_range", "estimated range"),
)


def term_safe(text: str) -> str:
    """Control and other unprintable characters escaped, so a stored string cannot move the
    cursor, clear the screen or retitle the terminal."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


def _cell(figures: dict[str, Any], name: str) -> str:
    if name == "estimated_cost_range":
        # The flagged spend as a range beside its point figure; "-" when nothing is estimated.
        if not figures["estimated_requests"]:
            return "-"
        return range_text(figures["estimated_cost_low_usd"], figures["estimated_cost_high_usd"])
    value = figures[name]
    return f"{value:,}" if isinstance(value, int) else term_safe(str(value))


def table(
    titles: Sequence[str], rows: Iterable[tuple[Sequence[str], dict[str, Any]]], total: dict
) -> list[str]:
    header = [*titles, *(label for _, label in TABLE_COLUMNS)]
    body = [
        [*(term_safe(k) for k in keys), *(_cell(v, c) for c, _ in TABLE_COLUMNS)]
        for keys, v in rows
    ]
    body.append(["total", *[""] * (len(titles) - 1), *(_cell(total, c) for c, _ in TABLE_COLUMNS)])
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    n = len(titles)

    def line(cells: list[str]) -> str:
        left = (c.ljust(w) for c, w in zip(cells[:n], widths[:n]))
        right = (c.rjust(w) for c, w in zip(cells[n:], widths[n:]))
        return "  ".join([*left, *right]).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *map(line, body)]


def format_report(
    report: dict[str, Any], by: Sequence[str] = (), flagged: Sequence[dict] = ()
) -> str:
    if by:
        rows = [([g[d] for d in by], g) for g in report["groups"]]
        lines = table([("day (UTC)" if d == "day" else d) for d in by], rows, report)
    else:
        lines = table(["model"], [([k], v) for k, v in report["by_model"].items()], report)
        lines.append("")
        lines += table(["day (UTC)"], [([k], v) for k, v in report["by_day"].items()], report)
    if flagged:
        lines += ["", "flagged rows (newest first):"]
        for row in flagged:
            lines.append(
                "  "
                + term_safe(
                    f"{row['ts']}  {row['request_id'] or '-'}  {row['model'] or '-'}  "
                    f"{row['reason']}  cost {cost_text(row)}"
                )
            )
    notes = []
    if report["requires_manual_review"]:
        notes.append(
            f"{report['requires_manual_review']} request(s) need review: their figures are "
            "estimated or unknown (see `sseusage report --flagged`, `sseusage backfill`)."
        )
    if report["estimated_requests"]:
        notes.append(
            f"Estimated spend: {cost_text(_estimated_cost(report))} USD of the "
            f"{cost_text(report)} total; the range is expected to hold what was billed."
        )
    if report["open_range_requests"]:
        notes.append(
            f"{report['open_range_requests']} estimated request(s) have billed work the stream "
            "never shows (hidden reasoning, server tools): their cost has no upper bound."
        )
    if report["unranged_requests"]:
        notes.append(
            f"{report['unranged_requests']} estimated request(s) were recorded before the ledger "
            "kept ranges: the range counts them at their point estimate."
        )
    if report["unpriced_requests"]:
        notes.append(
            f"{report['unpriced_requests']} request(s) have no price (unknown model or error); "
            "the cost excludes them."
        )
    if "tag" in by:
        notes.append("A request with several tags is counted under each of them.")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def _estimated_cost(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "cost_usd": report["estimated_cost_usd"],
        "cost_low_usd": report["estimated_cost_low_usd"],
        "cost_high_usd": report["estimated_cost_high_usd"],
    }


CSV_FIGURES = (
    "requests",
    *TOKEN_FIELDS,
    "requires_manual_review",
    "estimated_requests",
    "cost_usd",
    "unpriced_requests",
    "cost_low_usd",
    "cost_high_usd",
    "estimated_cost_usd",
    "estimated_cost_low_usd",
    "estimated_cost_high_usd",
    "open_range_requests",
    "unranged_requests",
)


def format_csv(report: dict[str, Any], by: Sequence[str]) -> str:
    """One line per group (by model when no dimension is given)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*by, *CSV_FIGURES])
    for group in report["groups"]:
        writer.writerow([*(group[d] for d in by), *(group[f] for f in CSV_FIGURES)])
    return out.getvalue()
