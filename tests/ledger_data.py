"""A small ledger with known figures, on SQLite or PostgreSQL, for report, export, backfill
and dashboard tests. Rows carry the gateway's attribution columns (`tags` as a JSON object
text, `end_user` as text), added here when the schema does not have them yet."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sseusage_fast.ledger import LedgerRow, open_ledger
from sseusage_fast.ledger.reader import open_reader
from sseusage_fast.pricing import Pricing
from sseusage_fast.record import UsageRecord

PG_DSN = os.environ.get("SSEUSAGE_TEST_PG_DSN")
DAY = datetime(2026, 5, 4, 12, tzinfo=timezone.utc)
NEXT_DAY = DAY + timedelta(days=1, hours=3)


def pg_dsn() -> str:
    """A fresh schema of the test server, so runs never see each other's rows."""
    if not PG_DSN:
        pytest.skip("PostgreSQL tests need SSEUSAGE_TEST_PG_DSN (e.g. postgresql://...)")
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_DSN else "?"
    return f"{PG_DSN}{sep}options=-csearch_path%3D{schema}"


def new_dsn(kind: str, tmp_path: Path) -> str:
    return str(tmp_path / "ledger.db") if kind == "sqlite" else pg_dsn()


@pytest.fixture(params=["sqlite", "postgres"])
def dsn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty ledger (schema made) on each database."""
    text = new_dsn(request.param, tmp_path)
    open_ledger(text, spool=False).close()
    yield text


def complete(model: str, request_id: str, *, ts: datetime = DAY, **tokens: Any) -> LedgerRow:
    meta = {k: tokens.pop(k) for k in ("key_fingerprint", "provider") if k in tokens}
    record = UsageRecord(
        model=model,
        provider=meta.pop("provider", "anthropic"),
        status="complete",
        no_usage_data=False,
        requires_manual_review=False,
        **tokens,
    )
    return LedgerRow.from_record(
        record,
        ts=ts,
        http_status=200,
        request_id=request_id,
        cost_usd=Pricing.default().cost(record),
        **meta,
    )


def flagged(
    model: str,
    request_id: str,
    *,
    output: int = 40,
    ts: datetime = DAY,
    high: int | None = -1,
    ranges: bool = True,
) -> LedgerRow:
    """An estimated row whose output range is (output * 3 // 4, output * 3 // 2), or open above
    with `high=None`, and whose cost range is priced from it; `ranges=False`: a row as written
    before the ledger kept ranges."""
    record = UsageRecord(
        model=model,
        provider="anthropic",
        status="no_usage",
        input_tokens=12,
        output_tokens=output,
        estimated=("input_tokens", "output_tokens"),
        estimate_ranges={
            "input_tokens": (10, 15),
            "output_tokens": (output * 3 // 4, output * 3 // 2 if high == -1 else high),
        }
        if ranges
        else {},
        estimate_reasons=("tool_calls",) if ranges else (),
    )
    return LedgerRow.from_record(
        record,
        ts=ts,
        http_status=200,
        request_id=request_id,
        cost_usd=Pricing.default().cost(record),
    )


ROWS = [
    complete(
        "claude-sonnet-4-5",
        "r1",
        input_tokens=1000,
        cache_creation_input_tokens=2000,
        cache_creation_5m_input_tokens=2000,
        cache_read_input_tokens=5000,
        output_tokens=500,
        key_fingerprint="key-a",
    ),
    complete("claude-sonnet-4-5", "r2", input_tokens=10, output_tokens=5, key_fingerprint="key-b"),
    flagged("claude-haiku-4-5", "r3"),
    complete("no-such-model", "r4", input_tokens=1, output_tokens=1, ts=NEXT_DAY),
    complete("gpt-4o", "r5", input_tokens=200, output_tokens=100, provider="openai", ts=NEXT_DAY),
]
# The attribution the gateway records: tags (JSON object text) and end user, by request id.
ATTRIBUTION = {
    "r1": ('{"team": "search", "env": "prod"}', "alice"),
    "r2": ('{"team": "ads"}', "bob"),
    "r3": (None, "alice"),
    "r5": ("team=search", None),  # an older writer's k=v text
}


def add_attribution(dsn: str, attribution: dict[str, tuple[str | None, str | None]]) -> None:
    """Set tags and end_user by request id, adding the columns when the schema lacks them."""
    with open_reader(dsn, write=True) as reader:
        conn = reader.conn
        for column in ("tags", "end_user"):
            if column not in reader.columns:
                conn.execute(f"ALTER TABLE requests ADD COLUMN {column} TEXT")
        p = reader.placeholder
        for request_id, (tags, user) in attribution.items():
            conn.execute(
                f"UPDATE requests SET tags = {p}, end_user = {p} WHERE request_id = {p}",
                (tags, user, request_id),
            )
        if reader.dialect != "sqlite":
            conn.commit()


def fill(dsn: str, rows: list[LedgerRow] | None = None, *, attribution: bool = True) -> None:
    ledger = open_ledger(dsn, spool=False)
    for row in ROWS if rows is None else rows:
        ledger.record(row)
    ledger.flush()
    ledger.close()
    if attribution:
        add_attribution(dsn, ATTRIBUTION)


def report_json(dsn: str, *args: str) -> dict[str, Any]:
    """`sseusage report --json` in this process."""
    import contextlib
    import io

    from sseusage_fast.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["report", "--db", dsn, "--json", *args]) == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


# What Anthropic's usage report says of ROWS' anthropic requests: day 1's sonnet requests
# match, the haiku request's estimated output was 20 short, an opus request on day 2 went
# around the meter; r4's two tokens are nowhere (within the token floor).
START = DAY.replace(hour=0)


def anthropic_usage() -> dict[datetime, list[dict[str, Any]]]:
    from usage_api_fake import anthropic_result

    return {
        START: [
            anthropic_result(
                "claude-sonnet-4-5", "apikey_A", input=1010, cc5=2000, cr=5000, out=505
            ),
            anthropic_result("claude-haiku-4-5", "apikey_A", input=12, out=60),
        ],
        START + timedelta(days=1): [
            anthropic_result("claude-opus-4-1", "apikey_A", input=500, out=50),
        ],
    }


def reconcile_json(dsn: str, folder: Path) -> dict[str, Any]:
    """`sseusage reconcile --json` of the anthropic rows over DAY and NEXT_DAY, from a saved
    report of `anthropic_usage()`, in this process; its result is stored in the ledger."""
    import contextlib
    import io

    from sseusage_fast.cli import main
    from usage_api_fake import FakeUsageApi, saved_report

    until = START + timedelta(days=2)
    path = saved_report(
        FakeUsageApi("anthropic", anthropic_usage()), folder, since=START, until=until
    )
    out = io.StringIO()
    argv = ["reconcile", "--db", dsn, "--provider", "anthropic", "--from-file", path, "--json"]
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--since", START.date().isoformat(), "--until", "2026-05-05"])
    result: dict[str, Any] = json.loads(out.getvalue())
    assert code == (0 if result["summary"]["ok"] else 1)
    return result
