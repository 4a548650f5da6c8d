"""A proxy's row is priced by the proxy's own table: the cost and its range from one table."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from decimal import Decimal

from sseusage_fast.pricing import Pricing
from sseusage_fast.proxy.rows import Coster, RequestInfo, build_row
from sseusage_fast.record import UsageRecord

# A model no default table knows, priced only by the proxy's own table (USD per million tokens).
OWN_TABLE = Pricing.from_table({"models": {"house-model-1": {"input": "1", "output": "10"}}})
ESTIMATED = UsageRecord(
    provider="anthropic",
    model="house-model-1",
    status="complete",
    input_tokens=1000,
    output_tokens=2000,
    estimated=("output_tokens",),
    estimate_ranges={"output_tokens": (1000, 4000)},
    estimate_reasons=("no_request",),
)


def _request() -> RequestInfo:
    return RequestInfo(
        started=time.perf_counter(),
        ts=datetime(2026, 12, 5, tzinfo=timezone.utc),
        method="POST",
        path="/v1/messages",
        provider="anthropic",
        model="house-model-1",
        billable=True,
        key_fingerprint=None,
    )


def test_the_cost_range_comes_from_the_table_the_cost_came_from() -> None:
    coster = Coster(OWN_TABLE)
    assert coster.pricing is OWN_TABLE
    cost = coster.cost(ESTIMATED)
    assert cost == Decimal("0.021")  # 1,000 in at 1 USD/M + 2,000 out at 10 USD/M
    row = build_row(
        _request(), ESTIMATED, ended=time.perf_counter(), cost_usd=cost, pricing=coster.pricing
    )
    assert row.cost_usd == Decimal("0.021")
    # 1,000 to 4,000 output tokens at 10 USD/M, plus the 0.001 of input.
    assert row.cost_low_usd == Decimal("0.011")
    assert row.cost_high_usd == Decimal("0.041")


def test_without_the_table_a_model_only_it_knows_gets_no_range() -> None:
    # What the row got before: the default table, which does not know the model.
    row = build_row(_request(), ESTIMATED, ended=time.perf_counter(), cost_usd=Decimal("0.021"))
    assert row.cost_usd == Decimal("0.021")
    assert row.cost_low_usd is None and row.cost_high_usd is None
