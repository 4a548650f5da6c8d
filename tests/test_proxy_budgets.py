"""Budgets: spend per key or tag in a day, month or rolling window, enforced before a request
is forwarded (429 in the provider's error shape, a row marked refused), on one proxy and on two
proxies sharing one PostgreSQL ledger."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import anyio
import httpx
import openai
import pytest
from proxy_harness import wait_rows
from replay_upstream import CACHE_READ, INPUT_TOKENS, OUTPUT_TOKENS, serve
from sseusage_fast.ledger import Ledger, LedgerRow, open_ledger
from sseusage_fast.pricing import Pricing
from sseusage_fast.proxy import ProxyConfig, create_app
from sseusage_fast.proxy.budgets import BudgetBook, seconds_to_reset, window_start
from sseusage_fast.proxy.config import Budget
from sseusage_fast.proxy.headers import fingerprint
from sseusage_fast.proxy.server import uvicorn_options
from sseusage_fast.record import UsageRecord
from starlette.applications import Starlette

PG_DSN = os.environ.get("SSEUSAGE_TEST_PG_DSN")
MODEL = "claude-opus-4-6"
MESSAGES = [{"role": "user", "content": "Say hello to the world."}]
# What one replayed request costs.
COST = Pricing.default().cost(
    UsageRecord(
        model=MODEL,
        provider="anthropic",
        input_tokens=INPUT_TOKENS,
        cache_read_input_tokens=CACHE_READ,
        cache_creation_input_tokens=0,
        output_tokens=OUTPUT_TOKENS,
    )
)
assert COST is not None and COST > 0


def test_windows_are_utc_days_months_or_rolling_hours() -> None:
    now = datetime(2026, 3, 31, 22, 30, tzinfo=timezone.utc)
    day, month, rolling = (
        Budget(Decimal(1), "day", tag="a=b"),
        Budget(Decimal(1), "month", tag="a=b"),
        Budget(Decimal(1), "6h", tag="a=b"),
    )
    assert window_start(day, now) == datetime(2026, 3, 31, tzinfo=timezone.utc)
    assert window_start(month, now) == datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert window_start(rolling, now) == datetime(2026, 3, 31, 16, 30, tzinfo=timezone.utc)
    assert seconds_to_reset(day, now) == 90 * 60
    assert seconds_to_reset(month, now) == 90 * 60
    assert seconds_to_reset(rolling, now) is None


def test_holds_of_running_requests_count_and_settle_to_their_cost() -> None:
    book = BudgetBook((Budget(Decimal(10), "day", key="k"),), None)

    async def go() -> None:
        first, over, _ = await book.admit("k", {}, Decimal(6))
        assert first is not None and over is None
        second, over, _ = await book.admit("k", {}, Decimal(6))
        assert second is not None  # 6 < 10: admitted, the spend now 12
        third, over, spend = await book.admit("k", {}, Decimal(1))
        assert third is None and over is not None and spend == 12
        assert (await book.admit("other", {}, Decimal(100)))[:2] == (None, None)  # no budget
        book.settle(first, Decimal(1), "u1")
        book.settle(second, None, "u2")  # no cost recorded: its estimate stays
        assert book.spend(0) == 7
        ok, over, _ = await book.admit("k", {}, Decimal(1))
        assert ok is not None and over is None

    anyio.run(go)


def test_settled_holds_are_folded_into_recorded_spend_and_dropped() -> None:
    now = [0.0]
    book = BudgetBook((Budget(Decimal(10), "day", key="k"),), None, clock=lambda: now[0])

    async def go() -> None:
        for n in range(300):
            hold, over, _ = await book.admit("k", {}, Decimal("0.01"))
            assert hold is not None and over is None
            book.settle(hold, Decimal("0.01"), f"u{n}")
            now[0] += 0.1  # 30 s in all: reads every second fold what settled 2 s before
        assert book.spend(0) == 3 and len(book._holds) < 40
        assert (await book.admit("k", {}, Decimal(0)))[1] is None

    anyio.run(go)


def test_tag_budgets_match_whole_tags() -> None:
    book = BudgetBook((Budget(Decimal(1), tag="team=search"),), None)
    assert book.matching(None, {"team": "search", "env": "prod"}) == (0,)
    assert book.matching(None, {"team": "search-ops"}) == ()


def _proxy(upstream: str, ledger: Any, *budgets: Budget) -> Any:
    config = ProxyConfig(upstream=upstream, budgets=budgets, trust_env=False)
    return serve(create_app(config, ledger, loopback_only=True), **uvicorn_options(config))


def test_a_tag_over_budget_gets_429_in_each_providers_shape(
    upstream: tuple[str, Starlette], ledger: Ledger
) -> None:
    seen = upstream[1].state.seen
    budget = Budget(COST * Decimal("2.5"), "day", tag="team=search")
    tagged = {"x-sseusage-tags": "team=search,env=prod"}
    with _proxy(upstream[0], ledger, budget) as url:
        claude = anthropic.Anthropic(base_url=url, api_key="sk-ant-b", max_retries=0)
        for n in range(3):  # 0, 1 and 2 requests' worth spent: under 2.5
            claude.messages.create(
                model=MODEL, max_tokens=1, messages=MESSAGES, extra_headers=tagged
            )
            wait_rows(ledger, n + 1)  # its row written: its hold holds its cost
        before = len(seen)
        with pytest.raises(anthropic.RateLimitError) as info:
            claude.messages.create(
                model=MODEL, max_tokens=1, messages=MESSAGES, extra_headers=tagged
            )
        assert "budget exceeded for tag team=search" in str(info.value)
        assert 0 < int(info.value.response.headers["retry-after"]) <= 86400
        gpt = openai.OpenAI(base_url=url + "/v1", api_key="sk-o", max_retries=0)
        with pytest.raises(openai.RateLimitError) as oinfo:
            gpt.chat.completions.create(
                model="gpt-4o",
                messages=MESSAGES,  # type: ignore[arg-type]
                extra_headers={"x-sseusage-tags": "team=search"},
            )
        assert oinfo.value.code == "budget_exceeded"
        assert len(seen) == before  # never forwarded
        # Other tags and untagged requests are not limited.
        claude.messages.create(
            model=MODEL,
            max_tokens=1,
            messages=MESSAGES,
            extra_headers={"x-sseusage-tags": "team=ads"},
        )
    rows = wait_rows(ledger, 6)
    refused = [r for r in rows if r.refused]
    assert [(r.http_status, r.refused, r.cost_usd) for r in refused] == [
        (429, "budget_exceeded", None)
    ] * 2
    assert sum((r.cost_usd or 0) for r in rows if r.tags and "team=search" in r.tags) == 3 * COST


def test_a_key_budget_counts_recorded_rows_of_the_window(
    upstream: tuple[str, Starlette], tmp_path: Path
) -> None:
    key = "sk-ant-key-budget"
    led = open_ledger(tmp_path / "l.db")
    try:
        # Spend already recorded today (another process, earlier), and some from yesterday.
        led.record(LedgerRow(key_fingerprint=fingerprint(key), cost_usd=5 - COST / 2))
        old = datetime(2020, 1, 1, tzinfo=timezone.utc)
        led.record(LedgerRow(key_fingerprint=fingerprint(key), cost_usd=Decimal(50), ts=old))
        led.flush()
        budget = Budget(Decimal(5), "month", key=fingerprint(key))
        with _proxy(upstream[0], led, budget) as url:
            claude = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
            claude.messages.create(model=MODEL, max_tokens=1, messages=MESSAGES)
            wait_rows(led, 3)
            with pytest.raises(anthropic.RateLimitError):
                claude.messages.create(model=MODEL, max_tokens=1, messages=MESSAGES)
        assert led.flush()
        assert [r.refused for r in led.rows()][-2:] == [None, "budget_exceeded"]
    finally:
        led.close()


@pytest.mark.skipif(not PG_DSN, reason="needs SSEUSAGE_TEST_PG_DSN (a PostgreSQL server)")
def test_two_proxies_racing_one_budget_on_one_postgres(upstream: tuple[str, Starlette]) -> None:
    """Two proxies, each with 4 clients sending requests as fast as they can, share a budget
    of 20 requests' cost. The overshoot is at most what the other proxy has in flight unseen
    (its 4 running requests) plus the request that crosses the limit, per proxy."""
    import psycopg

    assert PG_DSN is not None
    tag = f"race=r{os.getpid()}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS requests CASCADE")
        conn.execute("DROP TABLE IF EXISTS captures, schema_version CASCADE")
    limit = COST * 20
    budget = Budget(limit, "day", tag=tag)
    ledgers = [open_ledger(PG_DSN, spool=False) for _ in range(2)]
    results: list[int] = []
    lock = threading.Lock()
    try:
        with (
            _proxy(upstream[0], ledgers[0], budget) as a,
            _proxy(upstream[0], ledgers[1], budget) as b,
        ):

            def client(url: str) -> None:
                with httpx.Client(timeout=30) as http:
                    for _ in range(20):
                        r = http.post(
                            url + "/v1/messages",
                            json={"model": MODEL, "max_tokens": 64, "messages": MESSAGES},
                            headers={"x-sseusage-tags": tag, "x-api-key": "sk-ant-race"},
                        )
                        with lock:
                            results.append(r.status_code)

            threads = [threading.Thread(target=client, args=(u,)) for u in (a, b) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        for led in ledgers:
            assert led.flush(timeout=10)
        rows = list(ledgers[0].rows())
    finally:
        for led in ledgers:
            led.close()
    assert len(results) == 160 and set(results) <= {200, 429}
    assert len(rows) == 160  # every request a row, refused ones included
    spent = sum((r.cost_usd or Decimal(0)) for r in rows if r.refused is None)
    admitted = sum(1 for r in rows if r.refused is None)
    assert admitted == results.count(200) and spent == admitted * COST
    assert spent >= limit  # the budget was used up, not refused early
    # Worst case: per proxy, the request that crosses the limit, plus what the other proxy has
    # admitted unseen: its four running requests and those whose rows are not yet committed
    # (rows near a limit skip the batch: tens of ms, more on a loaded machine). Measured: 5 to
    # 8 over, 13 with a benchmark running beside; the bound asserted leaves room for a slow CI.
    print(f"budget race: {admitted} admitted for a limit of 20 ({spent / limit:.2f}x)")
    assert spent <= limit + 24 * COST, (admitted, spent / COST)
