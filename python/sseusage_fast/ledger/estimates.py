"""How a ledger row keeps the uncertainty of its estimates: the record's `estimate_ranges` and
`estimate_reasons` as JSON text (NULL when there are none, as for most rows), and the range of
its cost, `cost_low_usd` / `cost_high_usd`.

The cost range is stored only for a row whose cost holds estimates: `cost_low_usd` is then set
and `cost_high_usd` is NULL when the range is open above (billed work the stream never shows).
Both NULL: the cost has no range (exact, unknown, or written before the ledger kept ranges).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sseusage_fast.record import UsageRecord

log = logging.getLogger("sseusage_fast.ledger")

Ranges = dict[str, tuple[int, int | None]]


def estimated_to_db(value: Sequence[str] | None) -> str:
    return json.dumps(list(value)) if value else "[]"  # most rows: nothing estimated


def estimated_from_db(value: str | None) -> tuple[str, ...]:
    if not value or value == "[]":  # most rows: nothing estimated, no JSON to parse
        return ()
    return tuple(json.loads(value))


def ranges_to_db(value: Ranges | None) -> str | None:
    if not value:
        return None
    return json.dumps({k: [low, high] for k, (low, high) in value.items()}, separators=(",", ":"))


def ranges_from_db(value: Any) -> Ranges:
    """The stored text (or an already-decoded object) as `{field: (low, high)}`; anything
    unreadable as none (a read never fails on one odd cell)."""
    if value is None or value == "":
        return {}
    try:
        data = json.loads(value) if isinstance(value, str | bytes) else value
        return {
            str(name): (int(bounds[0]), None if bounds[1] is None else int(bounds[1]))
            for name, bounds in data.items()
        }
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        return {}


def reasons_to_db(value: tuple[str, ...] | None) -> str | None:
    return json.dumps(list(value)) if value else None


def reasons_from_db(value: Any) -> tuple[str, ...]:
    if value is None or value == "" or value == "[]":
        return ()
    try:
        data = json.loads(value) if isinstance(value, str | bytes) else value
    except ValueError:
        return ()
    return tuple(str(v) for v in data) if isinstance(data, list | tuple) else ()


# The estimate columns, kept as JSON text on every database: (to the database, from it).
JSON_COLUMNS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "estimated": (estimated_to_db, estimated_from_db),
    "estimate_ranges": (ranges_to_db, ranges_from_db),
    "estimate_reasons": (reasons_to_db, reasons_from_db),
}


def cost_bounds(
    record: UsageRecord, cost: Decimal | None, pricing: Any = None
) -> tuple[Decimal | None, Decimal | None]:
    """(cost_low_usd, cost_high_usd) of a row whose cost is `cost`: `pricing.cost_range` (the
    default table when None), moved onto `cost` when the table priced the record otherwise (a
    row priced by another table keeps that table's point and this one's spread). (None, None)
    when the record has no ranges or a price is missing."""
    if cost is None or not record.estimate_ranges:
        return None, None
    try:
        if pricing is None:
            from sseusage_fast.pricing import Pricing

            pricing = Pricing.default()
        point = pricing.cost(record)
        span = pricing.cost_range(record) if point is not None else None
    except Exception:  # a pricing failure must never lose the row
        log.exception("cost range failed for model %r", record.model)
        return None, None
    if span is None or point is None:
        return None, None
    low, high = span
    low = max(cost - (point - low), Decimal(0))
    return low, (None if high is None else cost + (high - point))
