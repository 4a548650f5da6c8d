"""`sseusage export`: the ledger's rows as CSV or JSON lines, streamed in constant memory.

Every column the ledger has is written (older ledgers have fewer, newer ones more), with
plain JSON types: times in ISO 8601 UTC, `cost_usd` (and its range, `cost_low_usd` /
`cost_high_usd`) a decimal string, flags true/false, `estimated` and `estimate_reasons` lists,
`estimate_ranges` an object (`{field: [low, high]}`) and `tags` an object in JSON lines (their
JSON text in CSV).
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TextIO

from sseusage_fast.ledger.estimates import ranges_from_db, reasons_from_db
from sseusage_fast.ledger.reader import LedgerReader
from sseusage_fast.query import Filters, parse_tags

FORMATS = ("csv", "jsonl")
_BOOLS = ("no_usage_data", "requires_manual_review", "refused")
_TIMES = ("ts", "backfilled_at")
_DECIMALS = ("cost_usd", "cost_low_usd", "cost_high_usd")


class Progress:
    """A bar on stderr, redrawn at most five times a second; nothing unless `enabled` (a
    terminal), so a pipe or a file gets only the data."""

    def __init__(self, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.stream = stream or sys.stderr
        self._last = 0.0

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.enabled and (now := time.monotonic()) - self._last >= 0.2:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        share = self.done / self.total if self.total else 1.0
        filled = int(30 * min(share, 1.0))
        bar = "#" * filled + "-" * (30 - filled)
        self.stream.write(f"\r[{bar}] {self.done:,}/{self.total:,} rows {share:4.0%}")
        self.stream.flush()

    def close(self) -> None:
        self.total = self.done  # the count is taken before tag filters: the end is exact
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()


def export_columns(reader: LedgerReader) -> list[str]:
    return ["id", *(c for c in reader.column_order if c != "id")]


def _converter(reader: LedgerReader, columns: list[str], jsonl: bool) -> Callable[[Any], list]:
    """A function from a database row to output values, converting only the columns that
    need it (most are already plain ints and strings)."""
    steps: list[tuple[int, Callable[[Any], Any]]] = []
    for at, name in enumerate(columns):
        if name in _BOOLS:
            steps.append((at, lambda v: None if v is None else bool(v)))
        elif name in _TIMES and reader.dialect != "sqlite":
            steps.append((at, _iso))
        elif name in _DECIMALS and reader.dialect != "sqlite":
            steps.append((at, lambda v: None if v is None else _decimal(v)))
        elif name == "estimated" and jsonl:
            steps.append((at, lambda v: json.loads(v) if v else []))
        elif name == "estimate_ranges" and jsonl:
            steps.append((at, _ranges))
        elif name == "estimate_reasons" and jsonl:
            steps.append((at, lambda v: list(reasons_from_db(v))))
        elif name == "tags" and jsonl:
            steps.append((at, lambda v: parse_tags(v) if v not in (None, "") else None))

    def convert(values: Any) -> list:
        out = list(values)
        for at, fn in steps:
            out[at] = fn(out[at])
        return out

    return convert


def _ranges(value: Any) -> dict[str, list[int | None]]:
    return {k: [low, high] for k, (low, high) in ranges_from_db(value).items()}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def _decimal(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def count_rows(reader: LedgerReader, filters: Filters) -> int:
    where, params = filters.where(reader)
    found = reader.fetchall(f"SELECT COUNT(*) FROM requests{where}", params)
    if reader.dialect != "sqlite":
        reader.conn.rollback()
    return int(found[0][0])


def iter_rows(reader: LedgerReader, filters: Filters, columns: list[str]) -> Iterator[Any]:
    """Raw database rows, oldest first, tags filtered here (the only filter SQL cannot do)."""
    where, params = filters.where(reader)
    sql = f"SELECT {', '.join(columns)} FROM requests{where} ORDER BY id"
    rows = reader.stream(sql, params)
    if not filters.tags:
        yield from rows
        return
    at = columns.index("tags") if "tags" in columns else None
    for values in rows:
        if filters.tags_match(parse_tags(values[at] if at is not None else None)):
            yield values


def export(
    reader: LedgerReader,
    out: TextIO,
    *,
    fmt: str = "csv",
    filters: Filters | None = None,
    progress: Progress | None = None,
) -> int:
    """Write the rows to `out`; the number written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    filters = filters or Filters()
    columns = export_columns(reader)
    convert = _converter(reader, columns, fmt == "jsonl")
    written = 0
    step = progress.step if progress is not None else None
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for values in iter_rows(reader, filters, columns):
            writer.writerow(convert(values))
            written += 1
            if step is not None and not written % 1000:
                step(1000)
    elif reader.dialect == "sqlite" and _has_json1(reader):
        for line in _sqlite_jsonl(reader, filters, columns):
            out.write(line)
            written += 1
            if step is not None and not written % 1000:
                step(1000)
    else:
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        for values in iter_rows(reader, filters, columns):
            out.write(dumps(dict(zip(columns, convert(values)))) + "\n")
            written += 1
            if step is not None and not written % 1000:
                step(1000)
    if progress is not None:
        progress.step(written % 1000)
        progress.close()
    return written


# -- JSON lines made by SQLite itself -----------------------------------------------------------
# SQLite's json_object() writes each line in C, about three times the pace of building a dict
# per row and encoding it in Python. Only tags written as `k=v` text (not JSON) come back to
# Python, through a second column that is NULL for every other row.


def _has_json1(reader: LedgerReader) -> bool:
    try:
        reader.fetchall("SELECT json_object('a', 1)")
    except Exception:  # noqa: BLE001 - an SQLite built without JSON: the Python path
        return False
    return True


def _json_expr(name: str) -> str:
    if name in _BOOLS:
        return f"CASE WHEN {name} IS NULL THEN NULL WHEN {name} THEN json('true') ELSE json('false') END"
    if name == "estimated" or name == "estimate_reasons":
        return f"CASE WHEN json_valid({name}) THEN json({name}) ELSE json_array() END"
    if name == "estimate_ranges":
        return f"CASE WHEN json_valid({name}) THEN json({name}) ELSE json_object() END"
    if name == "tags":
        return f"CASE WHEN {_TAGS_ARE_JSON} THEN json(tags) END"
    return name


_TAGS_ARE_JSON = "json_valid(tags) AND substr(ltrim(tags), 1, 1) = '{'"


def _sqlite_jsonl(reader: LedgerReader, filters: Filters, columns: list[str]) -> Iterator[str]:
    pairs = ", ".join(f"'{name}', {_json_expr(name)}" for name in columns)
    odd_tags = (
        f"CASE WHEN tags <> '' AND NOT ({_TAGS_ARE_JSON}) THEN tags END"
        if "tags" in columns
        else "NULL"
    )
    where, params = filters.where(reader)
    sql = f"SELECT json_object({pairs}), {odd_tags}, {reader.column('tags')} FROM requests{where} ORDER BY id"
    for line, kv_tags, tags in reader.stream(sql, params):
        if filters.tags and not filters.tags_match(parse_tags(tags)):
            continue
        if kv_tags is not None:
            data = json.loads(line)
            data["tags"] = parse_tags(kv_tags)
            line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        yield line + "\n"
