"""`sseusage report` and `sseusage backfill`: totals from a ledger, and repairs of its rows."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from sseusage_fast.ledger import GroupTotals, Ledger, LedgerRow, open_ledger
from sseusage_fast.ledger.row import utcnow
from sseusage_fast.record import TOKEN_FIELDS, UsageRecord

# The figures every report level carries, in display order.
SUMMED = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)
CSV_TOKEN_COLUMNS = SUMMED
UNKNOWN_MODEL = "(unknown)"


def decimal_str(value: Decimal) -> str:
    """Plain notation without trailing zeros: "0.0195", "12", never "1.2E+1"."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


# -- report -----------------------------------------------------------------------------------


def _empty() -> dict[str, Any]:
    return {
        "requests": 0,
        **{name: 0 for name in TOKEN_FIELDS},
        "requires_manual_review": 0,
        "estimated_requests": 0,
        "cost_usd": Decimal(0),
        "unpriced_requests": 0,
    }


def _add(into: dict[str, Any], group: GroupTotals) -> None:
    into["requests"] += group.requests
    for name in TOKEN_FIELDS:
        into[name] += group.tokens.get(name, 0)
    into["requires_manual_review"] += group.requires_manual_review
    into["estimated_requests"] += group.estimated_requests
    into["cost_usd"] += group.cost_usd
    into["unpriced_requests"] += group.requests - group.priced_requests


def _finalise(totals: dict[str, Any]) -> dict[str, Any]:
    return {**totals, "cost_usd": decimal_str(totals["cost_usd"])}


def build_report(ledger: Ledger) -> dict[str, Any]:
    """Totals, and the same figures by model and by UTC day. `cost_usd` sums the priced rows;
    `unpriced_requests` says how many rows had no price (unknown model)."""
    overall = _empty()
    by_model: dict[str, dict[str, Any]] = {}
    by_day: dict[str, dict[str, Any]] = {}
    for group in ledger.totals():
        _add(overall, group)
        _add(by_model.setdefault(group.model or UNKNOWN_MODEL, _empty()), group)
        _add(by_day.setdefault(group.day, _empty()), group)
    return {
        **_finalise(overall),
        "by_model": {k: _finalise(v) for k, v in sorted(by_model.items())},
        "by_day": {k: _finalise(v) for k, v in sorted(by_day.items())},
    }


_TABLE_COLUMNS = (
    ("requests", "requests"),
    ("input_tokens", "input"),
    ("output_tokens", "output"),
    ("cache_creation_input_tokens", "cache write"),
    ("cache_read_input_tokens", "cache read"),
    ("requires_manual_review", "review"),
    ("estimated_requests", "estimated"),
    ("cost_usd", "cost USD"),
)


def _table(title: str, rows: dict[str, dict[str, Any]], total: dict[str, Any]) -> list[str]:
    header = [title] + [label for _, label in _TABLE_COLUMNS]
    body = [[name] + [_cell(v[key]) for key, _ in _TABLE_COLUMNS] for name, v in rows.items()]
    body.append(["total"] + [_cell(total[key]) for key, _ in _TABLE_COLUMNS])
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:]))
        return "  ".join([first, *rest])

    return [line(header), "  ".join("-" * w for w in widths), *map(line, body)]


def _cell(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def format_report(report: dict[str, Any]) -> str:
    lines = _table("model", report["by_model"], report)
    lines.append("")
    lines += _table("day (UTC)", report["by_day"], report)
    notes = []
    if report["requires_manual_review"]:
        notes.append(
            f"{report['requires_manual_review']} request(s) need review: their figures are "
            "estimated or unknown (see `sseusage backfill`)."
        )
    if report["unpriced_requests"]:
        notes.append(
            f"{report['unpriced_requests']} request(s) have no price (unknown model or error); "
            "the cost excludes them."
        )
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def report(db: str, *, as_json: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    ledger = open_ledger(db)
    try:
        result = build_report(ledger)
    finally:
        ledger.close()
    if as_json:
        out.write(json.dumps(result, indent=2) + "\n")
    else:
        out.write(format_report(result))
    return 0


# -- backfill ---------------------------------------------------------------------------------


@dataclass(slots=True)
class BackfillResult:
    examined: int = 0
    updated: int = 0
    unchanged: int = 0
    unmatched: int = 0  # CSV lines whose request id is not in the ledger
    skipped: int = 0  # flagged rows that cannot be re-estimated (no capture kept)


class Progress:
    """One line on stderr, rewritten at most a few times a second; silent for short runs."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self._last = 0.0
        self._shown = False

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= 0.2 and self.total >= 1000:
            self._last = now
            self._shown = True
            pct = 100 * self.done / self.total if self.total else 100
            self.stream.write(f"\r{self.label}: {self.done}/{self.total} rows ({pct:.0f}%)")
            self.stream.flush()

    def close(self) -> None:
        if self._shown:
            self.stream.write(f"\r{self.label}: {self.done}/{self.total} rows (100%)\n")
            self.stream.flush()


def row_to_record(row: LedgerRow) -> UsageRecord:
    """The usage record a row stands for (what pricing needs)."""
    return UsageRecord(
        **row.tokens(),
        service_tier=row.service_tier,
        speed=row.speed,
        provider=row.provider,
        model=row.model,
        message_id=row.message_id,
        stop_reason=row.stop_reason,
        status=row.status,
        error_type=row.error_type,
        no_usage_data=row.no_usage_data,
        requires_manual_review=row.requires_manual_review,
        estimated=row.estimated,
        interrupted=row.interrupted,
    )


def _price(record: UsageRecord) -> Decimal | None:
    from sseusage_fast.pricing import Pricing

    return Pricing.default().cost(record)


def _changes(row: LedgerRow, values: dict[str, Any]) -> dict[str, Any]:
    """Only the columns that actually change (so a second run changes nothing)."""
    return {k: v for k, v in values.items() if getattr(row, k) != v}


def _csv_lines(path: Path) -> Iterator[dict[str, int | str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or "request_id" not in reader.fieldnames:
            raise ValueError(f"{path}: a request_id column is required")
        for line_no, raw in enumerate(reader, start=2):
            request_id = (raw.get("request_id") or "").strip()
            if not request_id:
                continue
            parsed: dict[str, int | str] = {"request_id": request_id}
            for name in CSV_TOKEN_COLUMNS:
                cell = (raw.get(name) or "").strip()
                if cell:
                    try:
                        parsed[name] = int(cell)
                    except ValueError:
                        raise ValueError(f"{path}:{line_no}: {name} is not an integer") from None
                    if parsed[name] < 0:  # type: ignore[operator]
                        raise ValueError(f"{path}:{line_no}: {name} is negative")
            yield parsed


def _billing_values(row: LedgerRow, billed: dict[str, int | str]) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in billed.items() if k != "request_id"}
    cache_total = values.get("cache_creation_input_tokens")
    split = (row.cache_creation_5m_input_tokens or 0) + (row.cache_creation_1h_input_tokens or 0)
    if cache_total is not None and split and split != cache_total:
        # The stream's TTL split no longer adds up to the billed total: drop it, not guess it.
        values["cache_creation_5m_input_tokens"] = None
        values["cache_creation_1h_input_tokens"] = None
    estimated = tuple(name for name in row.estimated if name not in values)
    values["estimated"] = estimated
    if all(name in values for name in CSV_TOKEN_COLUMNS):
        values["requires_manual_review"] = bool(estimated) and row.requires_manual_review
    values["source"] = "billing_csv"
    record = row_to_record(row.with_changes(**values))
    values["cost_usd"] = _price(record)
    return values


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def backfill_from_csv(
    ledger: Ledger, path: Path, *, progress: Progress | None = None
) -> BackfillResult:
    lines = list(_csv_lines(path))
    result = BackfillResult()
    progress = progress or Progress("backfill", len(lines))
    for batch in _chunks(lines, 500):
        by_id = {str(line["request_id"]): line for line in batch}
        found: set[str] = set()
        updates = []
        for row in ledger.rows(request_ids=list(by_id)):
            assert row.id is not None and row.request_id is not None
            found.add(row.request_id)
            result.examined += 1
            changes = _changes(row, _billing_values(row, by_id[row.request_id]))
            if changes:
                changes["backfilled_at"] = utcnow()
                updates.append((row.id, changes))
                result.updated += 1
            else:
                result.unchanged += 1
        ledger.update_rows(updates)
        result.unmatched += len(set(by_id) - found)
        progress.step(len(batch))
    progress.close()
    return result


def reestimate(
    ledger: Ledger, estimator: Any = None, *, progress: Progress | None = None
) -> BackfillResult:
    """Re-run the meter over the kept bodies of flagged rows with `estimator` (the process
    default when None): provider-reported figures stay, estimated ones are replaced."""
    from sseusage_fast.proxy.meter import backend

    parse_usage = backend().parse_usage
    result = BackfillResult()
    progress = progress or Progress("backfill", ledger.count(flagged_only=True))
    updates: list[tuple[int, dict[str, Any]]] = []
    for row in ledger.rows(flagged_only=True):
        assert row.id is not None
        progress.step()
        result.examined += 1
        capture = ledger.capture(row.id) if row.source != "billing_csv" else None
        if capture is None:
            result.skipped += 1
            continue
        kwargs: dict[str, Any] = {"request": capture.request_body or None}
        if estimator is not None:
            kwargs["estimator"] = estimator
        fresh = parse_usage(capture.response_body, row.provider or "auto", **kwargs)
        values: dict[str, Any] = {
            name: getattr(fresh, name) for name in fresh.estimated if name in TOKEN_FIELDS
        }
        values["estimated"] = tuple(fresh.estimated)
        values["source"] = "estimate" if fresh.estimated else "provider"
        values["cost_usd"] = _price(row_to_record(row.with_changes(**values)))
        changes = _changes(row, values)
        if changes:
            changes["backfilled_at"] = utcnow()
            updates.append((row.id, changes))
            result.updated += 1
        else:
            result.unchanged += 1
        if len(updates) >= 500:
            ledger.update_rows(updates)
            updates = []
    ledger.update_rows(updates)
    progress.close()
    return result


def backfill(
    db: str,
    *,
    billing_csv: str | None = None,
    estimator_path: str | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    ledger = open_ledger(db)
    try:
        if billing_csv is not None:
            try:
                result = backfill_from_csv(ledger, Path(billing_csv))
            except (OSError, ValueError) as exc:
                sys.stderr.write(f"sseusage backfill: {exc}\n")
                return 2
            out.write(
                f"billing CSV: {result.updated} row(s) updated, {result.unchanged} already "
                f"up to date, {result.unmatched} request id(s) not in the ledger\n"
            )
            return 0
        estimator = None
        if estimator_path is not None:
            from sseusage_fast.estimate import Estimator

            estimator = Estimator.load(estimator_path)
        result = reestimate(ledger, estimator)
        out.write(
            f"re-estimated: {result.updated} row(s) updated, {result.unchanged} unchanged, "
            f"{result.skipped} flagged row(s) without kept bodies (run the proxy with "
            "--keep-flagged-bodies to make them re-estimable)\n"
        )
        return 0
    finally:
        ledger.close()
