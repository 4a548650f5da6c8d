"""Anthropic's Admin API cost report: `GET /v1/organizations/cost_report`, what was billed.

Daily buckets only (`bucket_width` 1d); grouped by `description`, each result names its
`model`, `service_tier`, `cost_type` and `token_type`. `amount` is a decimal string in the
currency's lowest unit: "123.45" USD is $1.23. The report leaves out Priority Tier costs.
Same envelope and paging as the usage report (`data`, `has_more`, `next_page`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sseusage_fast.reconcile import anthropic_report
from sseusage_fast.reconcile.buckets import rfc3339
from sseusage_fast.reconcile.totals import ReportFormatError, report_time, text_or_none

PATH = "/v1/organizations/cost_report"


@dataclass(frozen=True, slots=True)
class CostResult:
    bucket_start: datetime
    model: str | None
    service_tier: str | None
    amount_usd: Decimal


def headers(key: str) -> dict[str, str]:
    return anthropic_report.headers(key)


def query(
    since: datetime, until: datetime, width: str, group_by: list[str], page: str | None
) -> list[tuple[str, str]]:
    params = [
        ("starting_at", rfc3339(since)),
        ("ending_at", rfc3339(until)),
        ("bucket_width", "1d"),
        ("group_by[]", "description"),
        ("limit", "31"),
    ]
    if page is not None:
        params.append(("page", page))
    return params


def _amount(result: dict[str, Any], where: str) -> Decimal:
    currency = result.get("currency", "USD")
    if currency != "USD":
        raise ReportFormatError(f"{where}: currency {currency!r}, only USD is read")
    try:
        cents = Decimal(str(result.get("amount")))
    except InvalidOperation:
        raise ReportFormatError(f"{where}: amount is not a decimal string") from None
    if not cents.is_finite():
        raise ReportFormatError(f"{where}: amount is not a decimal string")
    return cents / 100


def parse_page(page: Any) -> list[CostResult]:
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise ReportFormatError("not an Anthropic cost report page (no `data` list)")
    out = []
    for at, bucket in enumerate(page["data"]):
        where = f"data[{at}]"
        when = report_time(bucket, "starting_at", where=where)
        for n, result in enumerate(bucket.get("results") or ()):
            if not isinstance(result, dict):
                raise ReportFormatError(f"{where}.results[{n}] is not an object")
            tier = text_or_none(result, "service_tier")
            out.append(
                CostResult(
                    bucket_start=when,
                    model=text_or_none(result, "model"),
                    service_tier=tier.lower() if tier else None,
                    amount_usd=_amount(result, f"{where}.results[{n}]"),
                )
            )
    return out
