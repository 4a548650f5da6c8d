"""`sseusage reconcile` against local fakes of both providers' usage APIs, on SQLite and
PostgreSQL ledgers that match, that miss rows, and that hold estimates."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ledger_data import pg_dsn
from sseusage_fast import Pricing, UsageRecord
from sseusage_fast.cli import main as sseusage
from sseusage_fast.ledger import LedgerRow, open_ledger
from sseusage_fast.ledger.reader import open_reader
from sseusage_fast.reconcile import last_drift
from usage_api_fake import FakeUsageApi, anthropic_result, saved_report, serve

KEY = "admin-key-for-tests"
SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"
GPT = "gpt-4o-2024-08-06"
MINI = "gpt-4o-mini-2024-07-18"
D1, D2, D3 = (datetime(2026, 11, day, tzinfo=timezone.utc) for day in (1, 2, 3))
# As the report's window: a date --until includes that day.
WINDOW = ["--since", "2026-11-01", "--until", "2026-11-03"]
PRICING = Pricing.default()


# -- ledgers ---------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The DSN of an empty place for a ledger (nothing created yet)."""
    return str(tmp_path / "usage.db") if request.param == "sqlite" else pg_dsn()


def row(
    when: datetime,
    model: str,
    *,
    provider: str = "anthropic",
    key: str | None = "fp-a",
    latency_ms: float = 1500.0,
    estimated: tuple[str, ...] = (),
    **tokens: int,
) -> LedgerRow:
    record = UsageRecord(
        provider=provider,
        model=model,
        status="complete",
        no_usage_data=False,
        requires_manual_review=bool(estimated),
        estimated=estimated,
        **tokens,  # type: ignore[arg-type]
    )
    return LedgerRow.from_record(
        record,
        ts=when,
        latency_ms=latency_ms,
        key_fingerprint=key,
        cost_usd=PRICING.cost(record),
        http_status=200,
    )


def write(dsn: str, rows: list[LedgerRow]) -> None:
    ledger = open_ledger(dsn, spool=False)
    try:
        for r in rows:
            ledger.record(r)
        assert ledger.flush(timeout=30)
    finally:
        ledger.close()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = sseusage(["reconcile", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code, out, err = run([*argv, "--json"], capsys)
    assert out, err
    return code, json.loads(out)


def by_line(document: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(line["bucket_start"][:10], line["model"]): line for line in document["lines"]}


# -- Anthropic -------------------------------------------------------------------------------


def anthropic_report() -> dict[datetime, list[dict[str, Any]]]:
    # Day 2 is an empty bucket; day 3 has one model.
    return {
        D1: [
            anthropic_result(
                SONNET, "apikey_A", input=1000, cc5=200, cc1=50, cr=3000, out=500, ws=1
            ),
            anthropic_result(SONNET, "apikey_B", input=2000, out=700),
            anthropic_result(HAIKU, "apikey_A", input=400, out=100),
        ],
        D3: [anthropic_result(SONNET, "apikey_A", input=5000, out=1000)],
    }


def anthropic_ledger() -> list[LedgerRow]:
    """Rows that add up to `anthropic_report()` exactly."""
    noon = timedelta(hours=12)
    return [
        row(
            D1 + noon,
            SONNET,
            input_tokens=600,
            cache_creation_input_tokens=250,
            cache_creation_5m_input_tokens=200,
            cache_creation_1h_input_tokens=50,
            cache_read_input_tokens=3000,
            output_tokens=300,
            web_search_requests=1,
        ),
        row(D1 + noon, SONNET, input_tokens=400, output_tokens=200),
        row(D1 + noon, SONNET, key="fp-b", input_tokens=2000, output_tokens=700),
        row(D1 + noon, HAIKU, input_tokens=400, output_tokens=100),
        row(D3 + noon, SONNET, input_tokens=5000, output_tokens=1000),
        # Never billed: an upstream error with no usage, and a row of another provider.
        LedgerRow(ts=D1 + noon, provider="anthropic", model=SONNET, http_status=529),
        row(D1 + noon, GPT, provider="openai", input_tokens=999, output_tokens=9),
    ]


def test_anthropic_matching_ledger_is_within_tolerance(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(db, anthropic_ledger())
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    with serve(FakeUsageApi("anthropic", anthropic_report())) as api:
        code, doc = run_json(
            ["--db", db, "--provider", "anthropic", *WINDOW, "--api-base", api.base_url], capsys
        )
    assert code == 0, doc
    lines = by_line(doc)
    assert set(lines) == {("2026-11-01", SONNET), ("2026-11-01", HAIKU), ("2026-11-03", SONNET)}
    assert {line["verdict"] for line in doc["lines"]} == {"within_tolerance"}
    sonnet = lines[("2026-11-01", SONNET)]
    assert sonnet["bucket_start"] == "2026-11-01T00:00:00Z"
    for side in ("ledger", "provider"):
        assert sonnet[side]["input_tokens"] == 3000
        assert sonnet[side]["cache_creation_input_tokens"] == 250
        assert sonnet[side]["cache_creation_1h_input_tokens"] == 50
        assert sonnet[side]["cache_read_input_tokens"] == 3000
        assert sonnet[side]["output_tokens"] == 1200
        assert sonnet[side]["web_search_requests"] == 1
    assert sonnet["ledger"]["requests"] == 4  # the error row is a request that billed nothing
    assert sonnet["provider"]["requests"] is None  # Anthropic's report counts no requests
    assert sonnet["drift"] == "0.000000"
    # Same tokens, same price table: the provider's tokens cost what the ledger's rows did.
    assert sonnet["ledger"]["cost_usd"] == sonnet["provider"]["cost_usd"]
    assert Decimal(sonnet["diff"]["cost_usd"]) == 0
    # Three days over pages of two buckets, each asked for with the documented parameters.
    assert len(api.requests) == 2
    first = api.requests[0]
    assert first["query"]["group_by[]"] == ["model", "service_tier"]
    assert first["query"]["bucket_width"] == ["1d"]
    assert first["query"]["starting_at"] == ["2026-11-01T00:00:00Z"]
    assert first["query"]["ending_at"] == ["2026-11-04T00:00:00Z"]
    assert "page" not in first["query"] and "page" in api.requests[1]["query"]
    assert first["headers"]["anthropic-version"] == "2023-06-01"


def test_anthropic_ledger_missing_rows_and_groups(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = anthropic_ledger()
    # Day 1: the fp-b sonnet request (2,700 tokens) and the only haiku request went around
    # the meter.
    del rows[2:4]
    # A model the provider never billed in that window.
    rows.append(row(D3 + timedelta(hours=2), HAIKU, input_tokens=10, output_tokens=5))
    write(db, rows)
    report = anthropic_report()
    # A group the ledger lacks entirely, in the otherwise empty day 2.
    report[D2] = [anthropic_result("claude-opus-4-1-20250805", "apikey_C", input=70, out=7)]
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    with serve(FakeUsageApi("anthropic", report)) as api:
        code, doc = run_json(
            ["--db", db, "--provider", "anthropic", *WINDOW, "--api-base", api.base_url], capsys
        )
    assert code == 1
    lines = by_line(doc)
    sonnet = lines[("2026-11-01", SONNET)]
    assert sonnet["verdict"] == "under_metered"
    assert sonnet["diff"]["input_tokens"] == -2000 and sonnet["diff"]["output_tokens"] == -700
    assert Decimal(sonnet["drift"]) == (Decimal(2700) / Decimal(7450)).quantize(Decimal("1e-6"))
    assert lines[("2026-11-01", HAIKU)]["verdict"] == "missing_in_ledger"
    assert lines[("2026-11-02", "claude-opus-4-1-20250805")]["verdict"] == "missing_in_ledger"
    assert lines[("2026-11-03", HAIKU)]["verdict"] == "missing_at_provider"
    assert lines[("2026-11-03", HAIKU)]["drift"] is None
    assert lines[("2026-11-03", SONNET)]["verdict"] == "within_tolerance"
    assert doc["summary"]["verdicts"] == {
        "under_metered": 1,
        "missing_in_ledger": 2,
        "missing_at_provider": 1,
        "within_tolerance": 1,
    }


def test_over_metered_and_the_tolerance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "usage.db")
    rows = anthropic_ledger()
    rows.append(row(D3 + timedelta(hours=1), SONNET, output_tokens=90))  # 1.5% of 6,000
    write(db, rows)
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    with serve(FakeUsageApi("anthropic", anthropic_report())) as api:
        argv = ["--db", db, "--provider", "anthropic", *WINDOW, "--api-base", api.base_url]
        code, doc = run_json(argv, capsys)
        assert code == 1
        assert by_line(doc)[("2026-11-03", SONNET)]["verdict"] == "over_metered"
        assert by_line(doc)[("2026-11-03", SONNET)]["drift"] == "0.015000"
        code, doc = run_json([*argv, "--tolerance", "2"], capsys)
        assert code == 0
        assert by_line(doc)[("2026-11-03", SONNET)]["verdict"] == "within_tolerance"


def test_a_token_floor_for_tiny_lines(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A share flags a tiny line over a few tokens (5 of 200 is 2.5%): up to --min-tokens
    (default 10) apart, a line is within tolerance whatever its share or side."""
    write(
        db,
        [
            row(D1 + timedelta(hours=3), HAIKU, input_tokens=150, output_tokens=45),
            row(D2 + timedelta(hours=3), HAIKU, input_tokens=3),  # the provider has none
            row(D3 + timedelta(hours=3), SONNET, input_tokens=5000, output_tokens=989),
        ],
    )
    report = {
        D1: [anthropic_result(HAIKU, "apikey_A", input=150, out=50)],
        D3: [anthropic_result(SONNET, "apikey_A", input=5000, out=1000)],
    }
    path = save_pages(FakeUsageApi("anthropic", report), tmp_path)
    base = ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", path, "--no-store"]
    code, doc = run_json(base, capsys)
    assert code == 0 and doc["min_tokens"] == 10
    lines = by_line(doc)
    tiny = lines[("2026-11-01", HAIKU)]
    assert (tiny["verdict"], tiny["drift"]) == ("within_tolerance", "0.025000")
    assert lines[("2026-11-02", HAIKU)]["verdict"] == "within_tolerance"
    # 11 of 6,000 is under 1% anyway.
    assert lines[("2026-11-03", SONNET)]["verdict"] == "within_tolerance"
    code, doc = run_json([*base, "--min-tokens", "4"], capsys)
    assert code == 1
    lines = by_line(doc)
    assert lines[("2026-11-01", HAIKU)]["verdict"] == "under_metered"
    assert lines[("2026-11-02", HAIKU)]["verdict"] == "within_tolerance"  # 3 <= 4
    code, doc = run_json([*base, "--min-tokens", "0"], capsys)
    assert code == 1
    assert by_line(doc)[("2026-11-02", HAIKU)]["verdict"] == "missing_at_provider"
    # The floor is tokens, the tolerance a share: a large line is judged by its share.
    code, doc = run_json([*base, "--min-tokens", "0", "--tolerance", "0.1"], capsys)
    assert by_line(doc)[("2026-11-03", SONNET)]["verdict"] == "under_metered"
    code, doc = run_json([*base, "--min-tokens", "11", "--tolerance", "0.1"], capsys)
    assert by_line(doc)[("2026-11-03", SONNET)]["verdict"] == "within_tolerance"
    code, _out, err = run([*base, "--min-tokens", "-1"], capsys)
    assert code == 2 and "--min-tokens must be 0 or more" in err
    code, out, _ = run(base, capsys)
    assert "tolerance 1% or 10 tokens: 0 of 3 lines out of tolerance" in out


def test_model_filter_applies_to_both_sides(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = anthropic_ledger()
    del rows[2:4]  # day 1: fp-b's sonnet and the only haiku request went around the meter
    write(db, rows)
    path = save_pages(FakeUsageApi("anthropic", anthropic_report()), tmp_path)
    base = ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", path]
    code, doc = run_json([*base, "--model", HAIKU], capsys)
    assert code == 1 and doc["models"] == [HAIKU]
    assert list(by_line(doc)) == [("2026-11-01", HAIKU)]
    assert by_line(doc)[("2026-11-01", HAIKU)]["verdict"] == "missing_in_ledger"
    code, doc = run_json([*base, "--model", SONNET, "--by", "service_tier"], capsys)
    assert code == 1
    # Grouped without the model, the filter still keeps haiku out of both sides.
    assert [(line["model"], line["verdict"]) for line in doc["lines"]] == [
        (None, "under_metered"),
        (None, "within_tolerance"),
    ]
    assert doc["lines"][0]["provider"]["input_tokens"] == 3000


def test_estimated_rows_are_shown_and_weighed(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = anthropic_ledger()
    # Day 3's request was cut off: its output was estimated at 900 where 1,000 were billed.
    rows[4] = row(
        D3 + timedelta(hours=12),
        SONNET,
        estimated=("output_tokens",),
        input_tokens=5000,
        output_tokens=900,
    )
    write(db, rows)
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    with serve(FakeUsageApi("anthropic", anthropic_report())) as api:
        code, doc = run_json(
            ["--db", db, "--provider", "anthropic", *WINDOW, "--api-base", api.base_url], capsys
        )
    assert code == 1  # estimates count at face value: a miss is still out of tolerance
    line = by_line(doc)[("2026-11-03", SONNET)]
    assert line["verdict"] == "under_metered"
    assert line["ledger"]["estimated_requests"] == 1
    assert line["ledger"]["estimated_tokens"] == 900
    assert line["estimated_share"] == str((Decimal(900) / 5900).quantize(Decimal("1e-6")))
    assert line["estimates_may_explain"] is True
    assert by_line(doc)[("2026-11-01", SONNET)]["ledger"]["estimated_requests"] == 0
    code, out, _ = run(
        ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", save_pages(api, tmp_path)],
        capsys,
    )
    assert code == 1
    assert "1 estimated (15.3% of tokens); within the estimates" in out


# -- OpenAI ----------------------------------------------------------------------------------


def openai_result(model: str, key: str, **fields: int) -> dict[str, Any]:
    """The documented shape: input_tokens includes the cached tokens."""
    return {
        "object": "organization.usage.completions.result",
        "model": model,
        "api_key_id": key,
        "project_id": "proj_1",
        "user_id": None,
        "batch": bool(fields.get("batch", 0)),
        "input_tokens": fields.get("input", 0),
        "input_cached_tokens": fields.get("cached", 0),
        "output_tokens": fields.get("out", 0),
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "num_model_requests": fields.get("requests", 1),
    }


def openai_report() -> dict[datetime, list[dict[str, Any]]]:
    return {
        D1: [
            openai_result(GPT, "key_A", input=5000, cached=4000, out=300, requests=2),
            openai_result(MINI, "key_B", input=800, out=80),
        ],
        D2: [openai_result(GPT, "key_A", input=100, out=10)],
    }


def openai_ledger() -> list[LedgerRow]:
    noon = timedelta(hours=12)
    return [
        row(
            D1 + noon,
            GPT,
            provider="openai",
            input_tokens=600,
            cache_read_input_tokens=2000,
            output_tokens=100,
        ),
        row(
            D1 + noon,
            GPT,
            provider="openai-responses",
            input_tokens=400,
            cache_read_input_tokens=2000,
            output_tokens=200,
        ),
        row(D1 + noon, MINI, provider="openai", key="fp-b", input_tokens=800, output_tokens=80),
        row(D2 + noon, GPT, provider="openai", input_tokens=100, output_tokens=10),
        row(D1 + noon, SONNET, input_tokens=5, output_tokens=5),  # Anthropic: not OpenAI's
    ]


def test_openai_matching_ledger(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(db, openai_ledger())
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    with serve(FakeUsageApi("openai", openai_report(), page_size=1)) as api:
        code, doc = run_json(
            ["--db", db, "--provider", "openai", *WINDOW, "--api-base", api.base_url], capsys
        )
    assert code == 0, doc
    gpt = by_line(doc)[("2026-11-01", GPT)]
    # input_tokens 5,000 with 4,000 cached: 1,000 uncached, as the record counts them.
    assert gpt["provider"]["input_tokens"] == 1000 == gpt["ledger"]["input_tokens"]
    assert gpt["provider"]["cache_read_input_tokens"] == 4000
    assert gpt["provider"]["requests"] == 2 == gpt["ledger"]["requests"]
    assert gpt["ledger"]["cost_usd"] == gpt["provider"]["cost_usd"]
    assert len(api.requests) == 3  # one bucket a page
    first = api.requests[0]
    assert first["query"]["start_time"] == [str(int(D1.timestamp()))]
    assert first["query"]["group_by"] == ["model", "batch"]
    assert first["headers"]["authorization"] == f"Bearer {KEY}"


def test_openai_missing_rows(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(db, openai_ledger()[:3])  # day 2's request never reached the ledger
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    with serve(FakeUsageApi("openai", openai_report())) as api:
        code, doc = run_json(
            ["--db", db, "--provider", "openai", *WINDOW, "--api-base", api.base_url], capsys
        )
    assert code == 1
    assert by_line(doc)[("2026-11-02", GPT)]["verdict"] == "missing_in_ledger"
    assert by_line(doc)[("2026-11-01", MINI)]["verdict"] == "within_tolerance"


# -- from a file -----------------------------------------------------------------------------


def save_pages(api: FakeUsageApi, folder: Path, *, width: str = "1d") -> str:
    """The fake's report for the three days of WINDOW, saved as the API returned them."""
    return saved_report(api, folder, since=D1, until=D1 + timedelta(days=3), width=width)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_from_file_gives_what_the_api_gives(
    provider: str,
    db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = anthropic_ledger() if provider == "anthropic" else openai_ledger()
    write(db, rows[1:])  # one request missing, so there is drift to agree on
    monkeypatch.delenv("ANTHROPIC_ADMIN_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    results = anthropic_report() if provider == "anthropic" else openai_report()
    api = FakeUsageApi(provider, results, page_size=1)
    path = save_pages(api, tmp_path)
    base = ["--db", db, "--provider", provider, *WINDOW, "--no-store"]
    code, from_file = run_json([*base, "--from-file", path], capsys)
    assert code == 1
    monkeypatch.setenv(
        "ANTHROPIC_ADMIN_API_KEY" if provider == "anthropic" else "OPENAI_ADMIN_KEY", KEY
    )
    with serve(FakeUsageApi(provider, results)) as live:
        code, from_api = run_json([*base, "--api-base", live.base_url], capsys)
    assert code == 1
    assert from_file["lines"] == from_api["lines"]
    assert from_file["source"] == "file" and from_api["source"] == "api"


def test_from_file_in_finer_buckets_adds_up_and_wider_ones_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "usage.db")
    write(db, anthropic_ledger())
    hourly = {
        D1 + timedelta(hours=h): [anthropic_result(SONNET, "apikey_A", input=10)] for h in (3, 20)
    }
    api = FakeUsageApi("anthropic", hourly, page_size=500)
    path = save_pages(api, tmp_path, width="1h")
    code, doc = run_json(
        ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", path], capsys
    )
    assert by_line(doc)[("2026-11-01", SONNET)]["provider"]["input_tokens"] == 20
    code, _out, err = run(
        ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", path, "--bucket", "1m"],
        capsys,
    )
    assert code == 2 and "wider than --bucket 1m" in err


def test_from_file_that_is_not_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "usage.db")
    write(db, anthropic_ledger())
    bad = tmp_path / "bad.json"
    for text in ('{"data": [{"starting_at": 5}]}', "<html>", '{"error": {}}'):
        bad.write_text(text)
        code, out, err = run(
            ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", str(bad)], capsys
        )
        assert code == 2 and err.startswith("sseusage reconcile: ") and not out
        assert "Error" not in err  # said in words, not an exception's name
    for bucket, says in (
        ({"starting_at": 5}, "data[0].starting_at is not an RFC 3339 time: 5"),
        ({"starting_at": "2026-11-01T00:00:00"}, "data[0].starting_at is not an RFC 3339"),
        (
            {"starting_at": "2026-11-01T00:00:00Z", "ending_at": ["x"]},
            "data[0].ending_at is not an RFC 3339 time: ['x']",
        ),
    ):
        bad.write_text(json.dumps({"data": [bucket]}))
        code, out, err = run(
            ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", str(bad)], capsys
        )
        assert code == 2 and says in err and not out
    bad.write_text(
        json.dumps(
            {"data": [{"starting_at": "2026-11-01T00:00:00Z", "results": [{"output_tokens": -5}]}]}
        )
    )
    code, _, err = run(
        ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", str(bad)], capsys
    )
    assert code == 2 and "output_tokens is not a token count" in err


@pytest.mark.parametrize("start", [5, None, "yesterday", "2026-11-01T00:00:00"])
def test_report_times_that_are_not_rfc_3339_name_the_field(start: object) -> None:
    from sseusage_fast.reconcile import anthropic_cost, anthropic_report
    from sseusage_fast.reconcile.totals import ReportFormatError

    page = {"data": [{"starting_at": start, "results": []}]}
    for parser in (anthropic_report.parse_page, anthropic_cost.parse_page):
        with pytest.raises(ReportFormatError, match=r"^data\[0\]\.starting_at is not an RFC"):
            parser(page)


@pytest.mark.parametrize("start", [-1, 10**20, True, 1.5, "1761955200", None])
def test_openai_start_time_out_of_range_names_the_field(start: object) -> None:
    from sseusage_fast.reconcile import openai_report
    from sseusage_fast.reconcile.totals import ReportFormatError

    page = {"data": [{"start_time": start, "end_time": 1762041600, "results": []}]}
    with pytest.raises(ReportFormatError, match=r"^data\[0\]: start_time is not Unix seconds"):
        openai_report.parse_page(page)


@pytest.mark.parametrize("end", [10**20, -1, 1761955200, None, "x"])
def test_openai_end_time_out_of_range_leaves_the_bucket_open(end: object) -> None:
    from sseusage_fast.reconcile import openai_report

    page = {
        "data": [
            {
                "start_time": 1761955200,  # 2025-11-01
                "end_time": end,
                "results": [{"model": GPT, "input_tokens": 3, "output_tokens": 2}],
            }
        ]
    }
    (result,) = openai_report.parse_page(page)
    assert result.bucket_start == datetime(2025, 11, 1, tzinfo=timezone.utc)
    assert result.bucket_end is None
    assert result.tokens["output_tokens"] == 2


# -- the API politely, and its failures ------------------------------------------------------


def test_retries_429_and_5xx_then_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "usage.db")
    write(db, anthropic_ledger())
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    with serve(FakeUsageApi("anthropic", anthropic_report(), fail_with=[429, 529, 503])) as api:
        code, out, err = run(
            ["--db", db, "--provider", "anthropic", *WINDOW, "--api-base", api.base_url], capsys
        )
    assert code == 0, err
    assert len(api.requests) == 5  # three refusals, then two pages
    assert KEY not in out + err


def test_gives_up_after_bounded_retries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "usage.db")
    write(db, anthropic_ledger())
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    with serve(FakeUsageApi("openai", openai_report(), fail_with=[503] * 10)) as api:
        code, out, err = run(
            ["--db", db, "--provider", "openai", *WINDOW, "--api-base", api.base_url], capsys
        )
    assert code == 2 and not out
    assert "HTTP 503" in err and "gave up after 5 attempts" in err
    assert len(api.requests) == 5


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_refused_key_is_one_line_without_the_key(
    provider: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = str(tmp_path / "usage.db")
    write(db, anthropic_ledger())
    wrong = "sk-ant-admin01-WRONG-do-not-print"
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", wrong)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", wrong)
    with serve(FakeUsageApi(provider, {})) as api:
        code, out, err = run(
            ["--db", db, "--provider", provider, *WINDOW, "--api-base", api.base_url], capsys
        )
    assert code == 2 and not out
    assert "HTTP 401" in err and wrong not in err
    assert len(err.strip().splitlines()) == 1
    assert len(api.requests) == 1  # a 401 is not retried


def test_pagination_that_loops_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sseusage_fast.reconcile import anthropic_report as api_module
    from sseusage_fast.reconcile.fetch import ProviderError
    from sseusage_fast.reconcile.report import fetch_results

    page = {"data": [], "has_more": True, "next_page": "same"}
    with pytest.raises(ProviderError, match="without a new next_page"):
        fetch_results(
            api_module,
            base="http://127.0.0.1:1",
            key=KEY,
            since=D1,
            until=D2,
            width="1d",
            group_by=["model"],
            get=lambda url, headers: page,
        )


def test_no_admin_key_and_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "usage.db")
    write(db, anthropic_ledger())
    monkeypatch.delenv("ANTHROPIC_ADMIN_API_KEY", raising=False)
    code, _out, err = run(["--db", db, "--provider", "anthropic", *WINDOW], capsys)
    assert code == 2 and "set ANTHROPIC_ADMIN_API_KEY" in err


def test_the_admin_key_is_not_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert sseusage(["reconcile", "--provider", "anthropic", "--admin-key", "x"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


# -- the ledger side -------------------------------------------------------------------------


def test_a_missing_sqlite_ledger_is_never_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    missing = tmp_path / "nothing-here.db"
    code, out, err = run(["--db", str(missing), "--provider", "anthropic", *WINDOW], capsys)
    assert code == 2 and not out
    assert (
        err == f"sseusage reconcile: no ledger at {missing}: the file does not exist "
        "(reconcile reads a ledger, it never creates one)\n"
    )
    assert not missing.exists() and list(tmp_path.iterdir()) == []


def test_a_postgres_database_without_a_ledger_is_left_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = pg_dsn()
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    code, _out, err = run(["--db", dsn, "--provider", "anthropic", *WINDOW], capsys)
    assert code == 2 and "no requests table" in err
    import psycopg

    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('requests')").fetchone() == (None,)


def test_count_at_end_or_start_for_a_stream_across_midnight(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Started 23:59:30 on day 1, ended 00:00:30 on day 2.
    late = row(
        D2 - timedelta(seconds=30), SONNET, latency_ms=60_000, input_tokens=10, output_tokens=1
    )
    write(db, [late])
    report = {D2: [anthropic_result(SONNET, "apikey_A", input=10, out=1)]}
    path = save_pages(FakeUsageApi("anthropic", report), tmp_path)
    base = ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", path]
    code, doc = run_json(base, capsys)
    assert code == 0 and doc["count_at"] == "end"
    line = by_line(doc)[("2026-11-02", SONNET)]
    assert line["ledger"]["edge_requests"] == 1
    code, doc = run_json([*base, "--count-at", "start"], capsys)
    assert code == 1
    assert by_line(doc)[("2026-11-01", SONNET)]["verdict"] == "missing_at_provider"
    assert by_line(doc)[("2026-11-02", SONNET)]["verdict"] == "missing_in_ledger"


def test_hourly_buckets_align_with_the_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "usage.db")
    write(
        db,
        [
            row(
                D1 + timedelta(hours=5, minutes=59, seconds=45),
                SONNET,
                latency_ms=30_000,
                input_tokens=7,
            )
        ],
    )
    report = {D1 + timedelta(hours=6): [anthropic_result(SONNET, "apikey_A", input=7)]}
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    with serve(FakeUsageApi("anthropic", report, page_size=168)) as api:
        code, doc = run_json(
            [
                "--db",
                db,
                "--provider",
                "anthropic",
                "--bucket",
                "1h",
                "--since",
                "2026-11-01T03:30:00Z",
                "--until",
                "2026-11-01T09:00:00Z",
                "--api-base",
                api.base_url,
            ],
            capsys,
        )
    assert code == 0, doc
    assert [line["bucket_start"] for line in doc["lines"]] == ["2026-11-01T06:00:00Z"]
    assert api.requests[0]["query"]["starting_at"] == ["2026-11-01T03:00:00Z"]
    assert api.requests[0]["query"]["limit"] == ["168"]


def test_key_map_reconciles_per_key(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(db, anthropic_ledger())
    key_map = tmp_path / "keys.json"
    key_map.write_text(json.dumps({"apikey_A": "fp-a"}))  # apikey_B left unmapped
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    with serve(FakeUsageApi("anthropic", anthropic_report())) as api:
        code, doc = run_json(
            [
                "--db",
                db,
                "--provider",
                "anthropic",
                *WINDOW,
                "--api-base",
                api.base_url,
                "--key-map",
                str(key_map),
            ],
            capsys,
        )
    assert code == 1
    assert doc["by"] == ["model", "key"]
    assert api.requests[0]["query"]["group_by[]"] == ["model", "service_tier", "api_key_id"]
    found = {
        (line["bucket_start"][:10], line["model"], line["key"]): line["verdict"]
        for line in doc["lines"]
    }
    assert found[("2026-11-01", SONNET, "fp-a")] == "within_tolerance"
    assert found[("2026-11-01", SONNET, "unmapped:apikey_B")] == "missing_in_ledger"
    assert found[("2026-11-01", SONNET, "fp-b")] == "missing_at_provider"
    code, _out, err = run(
        ["--db", db, "--provider", "anthropic", *WINDOW, "--by", "model,key"], capsys
    )
    assert code == 2 and "--key-map" in err


# -- output and the stored result ------------------------------------------------------------


def test_csv_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "usage.db")
    rows = anthropic_ledger()
    del rows[3]
    write(db, rows)
    path = save_pages(FakeUsageApi("anthropic", anthropic_report()), tmp_path)
    base = ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", path]
    code, out, _ = run([*base, "--csv"], capsys)
    assert code == 1
    table = list(csv.DictReader(io.StringIO(out)))
    assert [(r["bucket_start"][:10], r["model"], r["verdict"]) for r in table] == [
        ("2026-11-01", HAIKU, "missing_in_ledger"),
        ("2026-11-01", SONNET, "within_tolerance"),
        ("2026-11-03", SONNET, "within_tolerance"),
    ]
    assert table[0]["provider_output_tokens"] == "100" and table[0]["ledger_output_tokens"] == "0"
    code, out, _ = run(base, capsys)
    assert code == 1
    assert "1 of 3 lines out of tolerance" in out.splitlines()[0]
    assert "missing_in_ledger" in out and "100.00%" in out


def test_the_last_result_is_stored_for_the_dashboard(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = anthropic_ledger()
    del rows[2]
    write(db, rows)
    assert last_drift(db) == []  # never reconciled
    path = save_pages(FakeUsageApi("anthropic", anthropic_report()), tmp_path)
    base = ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", path]
    # --no-store only reads: the ledger is opened read-only and gains no table.
    assert run([*base, "--no-store"], capsys)[0] == 1
    with open_reader(db) as reader:
        assert not reader.has_table("reconcile_lines")
    assert run(base, capsys)[0] == 1
    days = {(d["day"], d["model"]): d for d in last_drift(db)}
    assert set(days) == {("2026-11-01", SONNET), ("2026-11-01", HAIKU), ("2026-11-03", SONNET)}
    sonnet = days[("2026-11-01", SONNET)]
    assert sonnet["provider"] == "anthropic"
    assert (sonnet["ledger_tokens"], sonnet["provider_tokens"]) == (4750, 7450)
    assert sonnet["drift"] == str((Decimal(2700) / 7450).quantize(Decimal("1e-6")))
    assert sonnet["verdict"] == "under_metered"
    assert days[("2026-11-03", SONNET)]["verdict"] == "within_tolerance"
    # A later run replaces the stored one; --no-store leaves it.
    assert run([*base, "--since", "2026-11-03"], capsys)[0] == 0
    assert [(d["day"], d["model"]) for d in last_drift(db)] == [("2026-11-03", SONNET)]
    assert run([*base, "--no-store"], capsys)[0] == 1
    assert [(d["day"], d["model"]) for d in last_drift(db)] == [("2026-11-03", SONNET)]


# -- units -----------------------------------------------------------------------------------


def test_bucket_floors() -> None:
    from sseusage_fast.reconcile.buckets import floor

    now = datetime(2026, 12, 4, 17, 30, 15, tzinfo=timezone.utc)
    assert floor(now, "1d") == datetime(2026, 12, 4, tzinfo=timezone.utc)
    assert floor(now, "1h") == datetime(2026, 12, 4, 17, tzinfo=timezone.utc)
    assert floor(now, "1m") == datetime(2026, 12, 4, 17, 30, tzinfo=timezone.utc)
    # An offset is a UTC instant: 01:30+02:00 is the day before in UTC.
    offset = datetime.fromisoformat("2026-11-02T01:30:00+02:00")
    assert floor(offset, "1d") == D1


def test_the_window_is_the_reports_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--since/--until are read as `sseusage report` reads them (relative times, a date
    --until including that day, ISO times with an offset), then floored to the bucket."""
    db = str(tmp_path / "usage.db")
    write(db, anthropic_ledger())
    path = save_pages(FakeUsageApi("anthropic", anthropic_report()), tmp_path)
    base = ["--db", db, "--provider", "anthropic", "--from-file", path, "--no-store"]
    before = datetime.now(timezone.utc)
    _, doc = run_json([*base, "--since", "3d"], capsys)
    after = datetime.now(timezone.utc)
    assert doc["since"] in {
        (when - timedelta(days=3)).strftime("%Y-%m-%dT00:00:00Z") for when in (before, after)
    }
    assert doc["until"] in {when.strftime("%Y-%m-%dT00:00:00Z") for when in (before, after)}
    _, doc = run_json(
        [*base, "--since", "2026-11-01T05:00:00+02:00", "--until", "2026-11-01"], capsys
    )
    assert (doc["since"], doc["until"]) == ("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")
    assert [line["bucket_start"][:10] for line in doc["lines"]] == ["2026-11-01"] * 2
    code, out, err = run([*base, "--since", "last tuesday"], capsys)
    assert code == 2 and not out and "relative time (7d, 24h, 30m, 2w)" in err


def test_bad_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "usage.db")
    for extra in (
        ["--since", "yesterday"],
        ["--tolerance", "-1"],
        ["--tolerance", "lots"],
        ["--by", "colour"],
        ["--since", "2026-11-03", "--until", "2026-11-02"],
        ["--key-map", str(tmp_path / "absent.json")],
    ):
        code, _out, err = run(["--db", db, "--provider", "anthropic", *extra], capsys)
        assert code == 2 and err.startswith("sseusage reconcile: "), extra
    assert not Path(db).exists()


def cost_row(model: str, token_type: str, cents: str) -> dict[str, Any]:
    """A cost report result grouped by description, in the documented shape."""
    return {
        "currency": "USD",
        "amount": cents,
        "workspace_id": None,
        "description": f"{model} {token_type}",
        "cost_type": "tokens",
        "context_window": "0-200k",
        "model": model,
        "service_tier": "standard",
        "token_type": token_type,
    }


def test_the_cost_report_shows_what_was_billed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "usage.db")
    write(db, anthropic_ledger())
    # Day 3's sonnet: 5,000 input at $3/M = 1.5 cents, 1,000 output at $15/M = 1.5 cents;
    # the provider billed 3.3 cents in all (a price our table does not know).
    costs = {
        D3: [
            cost_row(SONNET, "uncached_input_tokens", "1.5"),
            cost_row(SONNET, "output_tokens", "1.8"),
        ]
    }
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    fake = FakeUsageApi("anthropic", anthropic_report(), costs=costs)
    with serve(fake) as api:
        base = ["--db", db, "--provider", "anthropic", *WINDOW, "--api-base", api.base_url]
        code, doc = run_json([*base, "--cost-report"], capsys)
    assert code == 0  # tokens agree: the verdict is about tokens
    line = by_line(doc)[("2026-11-03", SONNET)]
    assert line["provider"]["cost_usd"] == line["ledger"]["cost_usd"] == "0.03"
    assert line["provider"]["billed_cost_usd"] == "0.033"
    assert line["diff"]["billed_cost_usd"] == "-0.003"
    assert by_line(doc)[("2026-11-01", SONNET)]["provider"]["billed_cost_usd"] is None
    cost_calls = [r for r in fake.requests if r["path"] == "/v1/organizations/cost_report"]
    assert cost_calls and cost_calls[0]["query"]["group_by[]"] == ["description"]
    # Saved earlier, the same; and only where it can apply.
    saved = tmp_path / "costs.json"
    saved.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "starting_at": "2026-11-03T00:00:00Z",
                        "ending_at": "2026-11-04T00:00:00Z",
                        "results": costs[D3],
                    }
                ],
                "has_more": False,
                "next_page": None,
            }
        )
    )
    path = save_pages(FakeUsageApi("anthropic", anthropic_report()), tmp_path)
    argv = ["--db", db, "--provider", "anthropic", *WINDOW, "--from-file", path]
    code, doc = run_json([*argv, "--cost-file", str(saved)], capsys)
    assert by_line(doc)[("2026-11-03", SONNET)]["provider"]["billed_cost_usd"] == "0.033"
    code, out, _ = run([*argv, "--cost-file", str(saved)], capsys)
    assert "billed $0.0330" in out
    code, _, err = run([*argv, "--cost-file", str(saved), "--bucket", "1h"], capsys)
    assert code == 2 and "daily" in err


def test_network_errors_back_off_and_give_up() -> None:
    from sseusage_fast.reconcile.fetch import ProviderError, get_json

    waits: list[float] = []
    with pytest.raises(ProviderError, match="gave up after 5 attempts") as caught:
        get_json("http://127.0.0.1:1/v1/x?secret=no", {"x-api-key": KEY}, sleep=waits.append)
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert KEY not in str(caught.value) and "secret" not in str(caught.value)


def test_an_unreachable_postgres_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    dsn = "postgresql://user:hunter2@127.0.0.1:1/ledger"  # nothing listens on port 1
    code, out, err = run(["--db", dsn, "--provider", "anthropic", *WINDOW], capsys)
    assert code == 2 and not out
    assert err.startswith("sseusage reconcile: ") and len(err.splitlines()) == 1
    assert "hunter2" not in err


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_batch_usage_is_left_out_unless_asked_for(
    provider: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = str(tmp_path / "usage.db")
    if provider == "anthropic":
        write(db, anthropic_ledger())
        results = anthropic_report()
        batch = anthropic_result(SONNET, "apikey_A", input=900, out=90)
        batch["service_tier"] = "batch"
        results[D3].append(batch)
        model = SONNET
    else:
        write(db, openai_ledger())
        results = openai_report()
        results[D3] = [openai_result(GPT, "key_A", input=900, out=90, batch=1)]
        model = GPT
    monkeypatch.setenv("ANTHROPIC_ADMIN_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    with serve(FakeUsageApi(provider, results)) as api:
        argv = ["--db", db, "--provider", provider, *WINDOW, "--api-base", api.base_url]
        code, doc = run_json(argv, capsys)
        assert code == 0, doc
        assert ("2026-11-03", GPT) not in by_line(doc)
        code, doc = run_json([*argv, "--include-batch"], capsys)
    assert code == 1
    line = by_line(doc)[("2026-11-03", model)]
    assert line["verdict"] == ("under_metered" if provider == "anthropic" else "missing_in_ledger")
    assert line["provider"]["output_tokens"] - line["ledger"]["output_tokens"] == 90
