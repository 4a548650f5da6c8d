"""`sseusage backfill`: fill the rows flagged for review, from a billing export or by
re-estimating their kept bodies. It cannot hurt:

- only flagged rows change; a CSV line for a row that was not flagged (its figures are the
  provider's own) is reported and left alone unless `overwrite`;
- the whole CSV is checked before anything is written: any bad line stops the run with one
  message that names the line, and the ledger stays as it was;
- a filled row keeps how (`source`: `billing_csv` or `estimate`) and when (`backfilled_at`);
- `dry_run` reports the same changes and writes none.

Needs only the base install (no proxy extra): re-estimation uses the estimator the proxy
stored in the ledger, else the process default.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sseusage_fast.ledger.estimates import (
    JSON_COLUMNS,
    cost_bounds,
    ranges_from_db,
    reasons_from_db,
)
from sseusage_fast.ledger.reader import LedgerReader
from sseusage_fast.record import TOKEN_FIELDS, UsageRecord

# The billed figures a CSV may give, and the largest count a ledger column holds (BIGINT).
CSV_TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)
MAX_COUNT = 2**63 - 1
# A line longer than this is refused before the csv module sees it (its own field limit is
# 128 KiB; a billing line is a few hundred bytes).
MAX_LINE_BYTES = 1 << 20
BATCH = 500
_DIGITS = re.compile(r"\d+")
# How sure a row's estimates are (ledger/estimates.py); kept in step with its figures.
RANGE_COLUMNS = ("estimate_ranges", "estimate_reasons", "cost_low_usd", "cost_high_usd")
# What a row needs for pricing and for deciding what to change.
_ROW_COLUMNS = (
    "id",
    "request_id",
    *TOKEN_FIELDS,
    "requires_manual_review",
    "estimated",
    "source",
    "provider",
    "model",
    "service_tier",
    "speed",
    "status",
    "error_type",
    "no_usage_data",
    "interrupted",
    "message_id",
    "stop_reason",
    "cost_usd",
    *RANGE_COLUMNS,
)


class BackfillError(Exception):
    """A bad input; the message is one line naming the file and line."""


@dataclass(frozen=True, slots=True)
class BillingLine:
    line: int
    request_id: str
    values: dict[str, int]


@dataclass
class Change:
    row_id: int
    request_id: str | None
    line: int | None
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass
class BackfillResult:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    unmatched: list[BillingLine] = field(default_factory=list)
    # CSV lines for rows not flagged, left alone (without `overwrite`).
    not_flagged: list[BillingLine] = field(default_factory=list)
    # Flagged rows that cannot be re-estimated (no bodies kept).
    skipped: int = 0


# -- reading a billing CSV, every line checked before any row changes --------------------------


def read_billing_csv(path: str | Path) -> list[BillingLine]:
    """The lines of a billing export (`request_id` plus any of the token columns). Raises
    BackfillError naming the first bad line: not UTF-8, too long, a csv error, a count that is
    not a whole number or past 2^63-1, a request id given twice."""
    path = Path(path)
    try:
        _check_encoding(path)
        with path.open(newline="", encoding="utf-8-sig") as f:
            return list(_parse(path, f))
    except OSError as exc:
        raise BackfillError(f"{path}: {exc.strerror or exc}") from None


def _check_encoding(path: Path) -> None:
    with path.open("rb") as f:
        number = 0
        while True:
            raw = f.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise BackfillError(f"{path}:{number}: line longer than {MAX_LINE_BYTES} bytes")
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BackfillError(
                    f"{path}:{number}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column "
                    f"{exc.start + 1})"
                ) from None


def _parse(path: Path, f: io.TextIOBase) -> Iterator[BillingLine]:
    reader = csv.reader(f)
    try:
        header = [h.strip() for h in next(reader, [])]
        if "request_id" not in header:
            raise BackfillError(f"{path}:1: a request_id column is required")
        known = [c for c in CSV_TOKEN_COLUMNS if c in header]
        if not known:
            raise BackfillError(
                f"{path}:1: no token column (one of {', '.join(CSV_TOKEN_COLUMNS)})"
            )
        at = {name: header.index(name) for name in ("request_id", *known)}
        seen: dict[str, int] = {}
        for cells in reader:
            number = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) < len(header):
                cells = cells + [""] * (len(header) - len(cells))
            request_id = cells[at["request_id"]].strip()
            if not request_id:
                raise BackfillError(f"{path}:{number}: request_id is empty")
            if request_id in seen:
                raise BackfillError(
                    f"{path}:{number}: request id {_show(request_id)} repeats line "
                    f"{seen[request_id]}"
                )
            seen[request_id] = number
            values = {}
            for name in known:
                cell = cells[at[name]].strip()
                if cell:
                    values[name] = _count(path, number, name, cell)
            yield BillingLine(number, request_id, values)
    except csv.Error as exc:
        raise BackfillError(f"{path}:{reader.line_num}: {exc}") from None


def _count(path: Path, number: int, name: str, cell: str) -> int:
    if not _DIGITS.fullmatch(cell):
        raise BackfillError(f"{path}:{number}: {name} {_show(cell)} is not a whole number >= 0")
    # Checked by length first: int() of a huge digit string is slow, and refused past 4300.
    if len(cell.lstrip("0")) > 19 or int(cell) > MAX_COUNT:
        raise BackfillError(
            f"{path}:{number}: {name} {_show(cell)} is past the largest count a ledger "
            "holds (2^63-1)"
        )
    return int(cell)


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


# -- the rows ------------------------------------------------------------------------------


def _select(reader: LedgerReader) -> str:
    return ", ".join(reader.column(c) for c in _ROW_COLUMNS)


def _row(reader: LedgerReader, values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(_ROW_COLUMNS, values))
    row["requires_manual_review"] = bool(row["requires_manual_review"])
    row["no_usage_data"] = bool(row["no_usage_data"])
    row["estimated"] = tuple(json.loads(row["estimated"])) if row["estimated"] else ()
    for name in ("cost_usd", "cost_low_usd", "cost_high_usd"):
        if row[name] is not None:
            row[name] = Decimal(row[name])
    row["estimate_ranges"] = ranges_from_db(row["estimate_ranges"])
    row["estimate_reasons"] = reasons_from_db(row["estimate_reasons"])
    return row


def row_to_record(row: dict[str, Any]) -> UsageRecord:
    """The usage record a row stands for (what pricing needs)."""
    return UsageRecord(
        **{name: row[name] for name in TOKEN_FIELDS},
        service_tier=row["service_tier"],
        speed=row["speed"],
        provider=row["provider"],
        model=row["model"],
        message_id=row["message_id"],
        stop_reason=row["stop_reason"],
        status=row["status"] or "no_usage",
        error_type=row["error_type"],
        no_usage_data=row["no_usage_data"],
        requires_manual_review=row["requires_manual_review"],
        estimated=row["estimated"],
        estimate_ranges=row.get("estimate_ranges") or {},
        estimate_reasons=row.get("estimate_reasons") or (),
        interrupted=row["interrupted"],
    )


def _price(row: dict[str, Any]) -> Decimal | None:
    from sseusage_fast.pricing import Pricing

    return Pricing.default().cost(row_to_record(row))


def _ranges(reader: LedgerReader, row: dict[str, Any], values: dict[str, Any]) -> None:
    """Set the range columns of `values` to match its new figures: the ranges of the fields
    still estimated, and the cost's range. Nothing on a ledger from before ranges (reading
    never migrates)."""
    if not set(RANGE_COLUMNS) <= reader.columns:
        return
    merged = {**row, **values}
    kept = set(merged["estimated"])
    merged["estimate_ranges"] = {k: v for k, v in merged["estimate_ranges"].items() if k in kept}
    if not kept:
        merged["estimate_reasons"] = ()
    low, high = cost_bounds(row_to_record(merged), merged["cost_usd"])
    values["estimate_ranges"] = merged["estimate_ranges"]
    values["estimate_reasons"] = tuple(merged["estimate_reasons"])
    values["cost_low_usd"], values["cost_high_usd"] = low, high


def _diff(row: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Only the columns that change (so a second run changes nothing)."""
    return {k: v for k, v in values.items() if row[k] != v}


def _billing_values(
    reader: LedgerReader, row: dict[str, Any], billed: dict[str, int]
) -> dict[str, Any]:
    values: dict[str, Any] = dict(billed)
    cache_total = values.get("cache_creation_input_tokens")
    split = (row["cache_creation_5m_input_tokens"] or 0) + (
        row["cache_creation_1h_input_tokens"] or 0
    )
    if cache_total is not None and split and split != cache_total:
        # The stream's TTL split no longer adds up to the billed total: drop it, not guess it.
        values["cache_creation_5m_input_tokens"] = None
        values["cache_creation_1h_input_tokens"] = None
    estimated = tuple(name for name in row["estimated"] if name not in values)
    values["estimated"] = estimated
    if all(name in values for name in CSV_TOKEN_COLUMNS):
        values["requires_manual_review"] = bool(estimated) and row["requires_manual_review"]
    values["source"] = "billing_csv"
    values["cost_usd"] = _price({**row, **values})
    _ranges(reader, row, values)
    return values


def _to_db(reader: LedgerReader, name: str, value: Any) -> Any:
    codec = JSON_COLUMNS.get(name)
    if codec is not None:
        return codec[0](value)
    if reader.dialect != "sqlite" or value is None:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _write(reader: LedgerReader, changes: Sequence[Change]) -> None:
    """All changes in one transaction: a failure leaves the ledger as it was."""
    if not changes:
        return
    p = reader.placeholder
    stamp = datetime.now(timezone.utc)
    if reader.dialect == "sqlite":
        reader.conn.execute("BEGIN IMMEDIATE")
    try:
        for change in changes:
            values = {**change.after, "backfilled_at": stamp}
            sets = ", ".join(f"{name} = {p}" for name in values)
            params = [_to_db(reader, k, v) for k, v in values.items()]
            reader.conn.execute(
                f"UPDATE requests SET {sets} WHERE id = {p}", [*params, change.row_id]
            )
    except BaseException:
        if reader.dialect == "sqlite":
            reader.conn.execute("ROLLBACK")
        else:
            reader.conn.rollback()
        raise
    if reader.dialect == "sqlite":
        reader.conn.execute("COMMIT")
    else:
        reader.conn.commit()


# -- the two ways of filling ----------------------------------------------------------------


def backfill_from_csv(
    reader: LedgerReader,
    lines: Sequence[BillingLine],
    *,
    overwrite: bool = False,
    dry_run: bool = False,
) -> BackfillResult:
    result = BackfillResult()
    p = reader.placeholder
    for start in range(0, len(lines), BATCH):
        batch = lines[start : start + BATCH]
        by_id = {line.request_id: line for line in batch}
        sql = (
            f"SELECT {_select(reader)} FROM requests "
            f"WHERE request_id IN ({', '.join([p] * len(by_id))}) ORDER BY id"
        )
        found: set[str] = set()
        for values in reader.fetchall(sql, list(by_id)):
            row = _row(reader, values)
            line = by_id[row["request_id"]]
            found.add(line.request_id)
            changes = _diff(row, _billing_values(reader, row, line.values))
            if not changes:
                result.unchanged += 1
            elif not row["requires_manual_review"] and not overwrite:
                result.not_flagged.append(line)
            else:
                before = {k: row[k] for k in changes}
                result.changes.append(
                    Change(row["id"], line.request_id, line.line, before, changes)
                )
        result.unmatched.extend(line for line in batch if line.request_id not in found)
    if reader.dialect != "sqlite":
        reader.conn.rollback()
    if not dry_run:
        _write(reader, result.changes)
    return result


def reestimate(
    reader: LedgerReader, estimator: Any = None, *, dry_run: bool = False
) -> BackfillResult:
    """Re-run the meter over the kept bodies of flagged rows, with `estimator` (else the one
    stored in the ledger, else the process default): figures the provider reported stay,
    estimated ones are replaced."""
    from sseusage_fast import parse_usage
    from sseusage_fast.ledger.estimator_store import load_estimator

    if estimator is None:
        estimator = load_estimator(reader)
    result = BackfillResult()
    if not reader.has_table("captures"):
        result.skipped = _count_flagged(reader)
        return result
    p = reader.placeholder
    sql = (
        f"SELECT {', '.join('r.' + c if c in reader.columns else 'NULL' for c in _ROW_COLUMNS)}, "
        "c.request_body, c.response_body FROM requests r "
        "LEFT JOIN captures c ON c.request_row_id = r.id "
        f"WHERE r.requires_manual_review = {p} AND r.id > {p} ORDER BY r.id LIMIT 200"
    )
    n = len(_ROW_COLUMNS)
    for values in _pages(reader, sql, [reader.true()]):
        row = _row(reader, values[:n])
        request_body, response_body = values[n], values[n + 1]
        if response_body is None or row["source"] == "billing_csv":
            result.skipped += 1
            continue
        kwargs: dict[str, Any] = {"request": bytes(request_body or b"") or None}
        if estimator is not None:
            kwargs["estimator"] = estimator
        fresh = parse_usage(bytes(response_body), row["provider"] or "auto", **kwargs)
        new: dict[str, Any] = {
            name: getattr(fresh, name) for name in fresh.estimated if name in TOKEN_FIELDS
        }
        new["estimated"] = tuple(fresh.estimated)
        new["source"] = "estimate" if fresh.estimated else "provider"
        new["estimate_ranges"] = dict(fresh.estimate_ranges)
        new["estimate_reasons"] = tuple(fresh.estimate_reasons)
        new["cost_usd"] = _price({**row, **new})
        _ranges(reader, row, new)
        for name in RANGE_COLUMNS:
            if name not in reader.columns:
                new.pop(name, None)
        changes = _diff(row, new)
        if changes:
            before = {k: row[k] for k in changes}
            result.changes.append(Change(row["id"], row["request_id"], None, before, changes))
        else:
            result.unchanged += 1
    if reader.dialect != "sqlite":
        reader.conn.rollback()
    if not dry_run:
        _write(reader, result.changes)
    return result


def _count_flagged(reader: LedgerReader) -> int:
    p = reader.placeholder
    sql = f"SELECT COUNT(*) FROM requests WHERE requires_manual_review = {p}"
    found = reader.fetchall(sql, [reader.true()])
    if reader.dialect != "sqlite":
        reader.conn.rollback()
    return int(found[0][0])


def _pages(reader: LedgerReader, sql: str, params: list[Any]) -> Iterator[Sequence[Any]]:
    """Rows of `sql` (which ends in `id > ? ORDER BY id LIMIT n`), a page at a time: kept
    bodies can be large, so never all at once."""
    last = 0
    while True:
        page = reader.fetchall(sql, [*params, last])
        if reader.dialect != "sqlite":
            reader.conn.rollback()
        if not page:
            return
        yield from page
        last = page[-1][0]
