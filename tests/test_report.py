"""`report` and `backfill` over real ledgers (SQLite; PostgreSQL when configured)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from replay_upstream import anthropic_stream
from sseusage_fast.ledger import Capture, Ledger, LedgerRow, open_ledger
from sseusage_fast.pricing import Pricing
from sseusage_fast.proxy.meter import backend
from sseusage_fast.record import UsageRecord
from sseusage_fast.reporting import (
    Progress,
    backfill,
    backfill_from_csv,
    build_report,
    reestimate,
    report,
    row_to_record,
)
from test_ledger import _pg_ledger

DAY = datetime(2026, 5, 4, 12, tzinfo=timezone.utc)
REQUEST = json.dumps(
    {"model": "claude-opus-4-6", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
).encode()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    led = open_ledger(tmp_path / "ledger.db") if request.param == "sqlite" else _pg_ledger()
    yield led
    led.close()


def complete(model: str, request_id: str, **tokens: int) -> LedgerRow:
    record = UsageRecord(
        model=model,
        provider="anthropic",
        status="complete",
        no_usage_data=False,
        requires_manual_review=False,
        **tokens,
    )
    return LedgerRow.from_record(
        record,
        ts=DAY,
        http_status=200,
        request_id=request_id,
        cost_usd=Pricing.default().cost(record),
    )


def flagged(model: str, request_id: str, output: int = 40) -> LedgerRow:
    record = UsageRecord(
        model=model,
        provider="anthropic",
        status="no_usage",
        input_tokens=12,
        output_tokens=output,
        estimated=("input_tokens", "output_tokens"),
    )
    return LedgerRow.from_record(
        record,
        ts=DAY,
        http_status=200,
        request_id=request_id,
        cost_usd=Pricing.default().cost(record),
    )


def fill(ledger: Ledger) -> None:
    ledger.record(
        complete(
            "claude-sonnet-4-5",
            "r1",
            input_tokens=1000,
            cache_creation_input_tokens=2000,
            cache_creation_5m_input_tokens=2000,
            cache_read_input_tokens=5000,
            output_tokens=500,
        )
    )
    ledger.record(complete("claude-sonnet-4-5", "r2", input_tokens=10, output_tokens=5))
    ledger.record(flagged("claude-haiku-4-5", "r3"))
    ledger.record(complete("no-such-model", "r4", input_tokens=1, output_tokens=1))
    ledger.flush()


def test_report_json_has_the_contract_fields(ledger: Ledger) -> None:
    fill(ledger)
    r = build_report(ledger)
    assert r["requests"] == 4
    assert r["input_tokens"] == 1000 + 10 + 12 + 1 and r["output_tokens"] == 500 + 5 + 40 + 1
    assert r["cache_creation_input_tokens"] == 2000 and r["cache_read_input_tokens"] == 5000
    assert r["requires_manual_review"] == 1 and r["estimated_requests"] == 1
    assert r["unpriced_requests"] == 1
    sonnet = r["by_model"]["claude-sonnet-4-5"]
    # The worked example: 1,000 input + 2,000 5-minute write + 5,000 read + 500 output
    # on Sonnet 4.5 is 0.0195 USD; plus 10 input and 5 output.
    assert Decimal(sonnet["cost_usd"]) == Decimal("0.0195") + Decimal("0.000105")
    assert sonnet["requests"] == 2 and sonnet["requires_manual_review"] == 0
    assert r["by_model"]["claude-haiku-4-5"]["estimated_requests"] == 1
    total = sum(Decimal(m["cost_usd"]) for m in r["by_model"].values())
    assert Decimal(r["cost_usd"]) == total and isinstance(r["cost_usd"], str)
    assert list(r["by_day"]) == ["2026-05-04"]


def test_report_command_prints_json_and_a_table(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    led = open_ledger(db)
    fill(led)
    led.close()
    out = io.StringIO()
    assert report(db, as_json=True, out=out) == 0
    parsed = json.loads(out.getvalue())
    for key in (
        "requests",
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "requires_manual_review",
        "estimated_requests",
        "cost_usd",
        "by_model",
    ):
        assert key in parsed
        if key != "by_model":
            assert key in parsed["by_model"]["claude-sonnet-4-5"]
    out = io.StringIO()
    assert report(db, out=out) == 0
    text = out.getvalue()
    assert "claude-sonnet-4-5" in text and "2026-05-04" in text and "need review" in text
    assert "1,023" in text  # input total, with separators


def test_empty_ledger_reports_zeros(tmp_path: Path) -> None:
    out = io.StringIO()
    report(str(tmp_path / "empty.db"), as_json=True, out=out)
    parsed = json.loads(out.getvalue())
    assert parsed["requests"] == 0 and parsed["cost_usd"] == "0" and parsed["by_model"] == {}


def test_backfill_from_billing_csv_is_idempotent(ledger: Ledger, tmp_path: Path) -> None:
    fill(ledger)
    csv_path = tmp_path / "billing.csv"
    csv_path.write_text(
        "request_id,input_tokens,output_tokens,cache_creation_input_tokens,"
        "cache_read_input_tokens\n"
        "r3,30,70,0,0\n"
        "missing,1,1,1,1\n"
    )
    first = backfill_from_csv(ledger, csv_path)
    assert (first.updated, first.unmatched) == (1, 1)
    (row,) = ledger.rows(request_ids=["r3"])
    assert (row.input_tokens, row.output_tokens) == (30, 70)
    assert row.source == "billing_csv" and row.backfilled_at is not None
    assert not row.requires_manual_review and row.estimated == ()
    assert row.cost_usd == Pricing.default().cost(row_to_record(row))
    assert row.no_usage_data  # what the stream said stays recorded
    stamp = row.backfilled_at
    again = backfill_from_csv(ledger, csv_path)
    assert (again.updated, again.unchanged) == (0, 1)
    (same,) = ledger.rows(request_ids=["r3"])
    assert same == row and same.backfilled_at == stamp
    r = build_report(ledger)
    assert r["requires_manual_review"] == 0 and r["estimated_requests"] == 0


def test_backfill_csv_errors_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,input_tokens\nx,1\n")
    assert backfill(str(tmp_path / "l.db"), billing_csv=str(bad)) == 2
    assert "request_id column is required" in capsys.readouterr().err
    bad.write_text("request_id,input_tokens\nx,-4\n")
    assert backfill(str(tmp_path / "l.db"), billing_csv=str(bad)) == 2


def test_reestimate_uses_kept_bodies_and_the_given_estimator(ledger: Ledger) -> None:
    from sseusage_fast.estimate import Estimator

    stream = b"".join(anthropic_stream("claude-opus-4-6-nousage", "msg_9"))
    parse_usage = backend().parse_usage
    original = parse_usage(stream, "anthropic", request=REQUEST)
    assert original.requires_manual_review and "output_tokens" in original.estimated
    row = LedgerRow.from_record(original, ts=DAY, http_status=200, request_id="kept")
    ledger.record(row.with_changes(output_tokens=999), Capture(REQUEST, stream))
    ledger.record(flagged("claude-haiku-4-5", "no-capture"))
    ledger.flush()

    result = reestimate(ledger)
    assert (result.updated, result.skipped) == (1, 1)
    (kept,) = ledger.rows(request_ids=["kept"])
    assert kept.output_tokens == original.output_tokens  # 999 replaced by a fresh estimate
    assert kept.source == "estimate" and kept.backfilled_at is not None
    assert reestimate(ledger).updated == 0  # idempotent

    # A calibrated estimator gives other numbers for the same bodies.
    calibrated = Estimator()
    fresh = parse_usage(stream, "anthropic", request=REQUEST, estimator=calibrated)
    assert reestimate(ledger, calibrated).updated == (fresh.output_tokens != kept.output_tokens)


def test_progress_shows_on_long_runs_only() -> None:
    short, long = io.StringIO(), io.StringIO()
    p = Progress("backfill", 10, short)
    p.step(10)
    p.close()
    assert short.getvalue() == ""
    p = Progress("backfill", 5000, long)
    for _ in range(5000):
        p.step()
    p.close()
    assert "backfill: 5000/5000 rows (100%)" in long.getvalue()
