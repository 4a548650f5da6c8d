"""`sseusage backfill`: only flagged rows are filled, every CSV line is checked before any row
changes, filled rows say how and when, and re-estimation uses the estimator kept in the
ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ledger_data import DAY, fill, report_json
from replay_upstream import anthropic_stream
from sseusage_fast import parse_usage
from sseusage_fast.backfill import reestimate, row_to_record
from sseusage_fast.cli import main
from sseusage_fast.estimate import Estimator, normalize_model
from sseusage_fast.ledger import Capture, LedgerRow, open_ledger
from sseusage_fast.ledger.estimates import cost_bounds, ranges_from_db
from sseusage_fast.ledger.estimator_store import load_estimator, save_estimator
from sseusage_fast.ledger.reader import open_reader
from sseusage_fast.pricing import Pricing

RANGE_COST = ("cost_low_usd", "cost_high_usd")
HEADER = "request_id,input_tokens,output_tokens,cache_creation_input_tokens,cache_read_input_tokens"
REQUEST = json.dumps(
    {"model": "claude-opus-4-6", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
).encode()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(dsn: str) -> dict[str, dict[str, Any]]:
    """Every row by request id, as `export --format jsonl` gives it."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["export", "--db", dsn, "--format", "jsonl"]) == 0
    return {r["request_id"]: r for r in map(json.loads, out.getvalue().splitlines())}


def write_csv(tmp_path: Path, *lines: str, name: str = "billing.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return str(path)


def test_fills_flagged_rows_only(
    dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(dsn)
    before = rows(dsn)
    billing = write_csv(tmp_path, "r3,30,70,0,0", "r1,99999,99999,0,0", "missing,1,1,1,1")
    code, out, err = run(capsys, "backfill", "--db", dsn, "--billing-csv", billing)
    assert code == 0 and err == ""
    assert "line 3: request 'r1' was not flagged: left alone" in out
    assert "1 row(s) filled" in out and "1 request id(s) not in the ledger" in out
    after = rows(dsn)
    assert after["r1"] == before["r1"]  # the provider's own figures stay
    r3 = after["r3"]
    assert (r3["input_tokens"], r3["output_tokens"]) == (30, 70)
    assert r3["source"] == "billing_csv" and r3["backfilled_at"] is not None
    assert r3["requires_manual_review"] is False and r3["estimated"] == []
    assert r3["no_usage_data"] is True  # what the stream said stays recorded
    # Billed figures have no range left, nor has the cost.
    assert r3["estimate_ranges"] == {} and r3["estimate_reasons"] == []
    assert r3["cost_low_usd"] is None and r3["cost_high_usd"] is None
    assert Decimal(r3["cost_usd"]) == Pricing.default().cost(row_to_record(_as_row(r3)))
    assert report_json(dsn)["requires_manual_review"] == 0
    # A second run changes nothing, the stamp included.
    code, out, _ = run(capsys, "backfill", "--db", dsn, "--billing-csv", billing)
    assert "0 row(s) filled, 1 already up to date" in out
    assert rows(dsn)["r3"]["backfilled_at"] == r3["backfilled_at"]


def test_a_partial_fill_keeps_the_range_of_what_is_still_estimated(
    dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(dsn)
    path = tmp_path / "output.csv"
    path.write_text("request_id,output_tokens\nr3,70\n")
    assert run(capsys, "backfill", "--db", dsn, "--billing-csv", str(path))[0] == 0
    r3 = rows(dsn)["r3"]
    assert r3["output_tokens"] == 70 and r3["estimated"] == ["input_tokens"]
    assert r3["estimate_ranges"] == {"input_tokens": [10, 15]}
    assert r3["estimate_reasons"] == ["tool_calls"]
    record = row_to_record(_as_row(r3))
    assert record.estimate_ranges == {"input_tokens": (10, 15)}
    span = Pricing.default().cost_range(record)
    assert span is not None and span[1] is not None
    assert (Decimal(r3["cost_low_usd"]), Decimal(r3["cost_high_usd"])) == span
    assert Decimal(r3["cost_low_usd"]) < Decimal(r3["cost_usd"]) < Decimal(r3["cost_high_usd"])


def _as_row(data: dict[str, Any]) -> dict[str, Any]:
    row = dict(data)
    row["estimated"] = tuple(row["estimated"])
    row["estimate_ranges"] = ranges_from_db(row.get("estimate_ranges"))
    row["estimate_reasons"] = tuple(row.get("estimate_reasons") or ())
    return row


def test_overwrite_and_dry_run(
    dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(dsn)
    before = rows(dsn)
    billing = write_csv(tmp_path, "r1,1532,58,0,0", "r3,30,70,0,0")
    code, out, _ = run(
        capsys, "backfill", "--db", dsn, "--billing-csv", billing, "--overwrite", "--dry-run"
    )
    assert code == 0 and "2 row(s) would fill" in out
    assert "input_tokens 1000 -> 1532" in out and "output_tokens 40 -> 70" in out
    assert rows(dsn) == before  # a dry run writes nothing
    code, out, _ = run(capsys, "backfill", "--db", dsn, "--billing-csv", billing, "--overwrite")
    assert "2 row(s) filled" in out
    r1 = rows(dsn)["r1"]
    assert (r1["input_tokens"], r1["output_tokens"], r1["source"]) == (1532, 58, "billing_csv")
    assert r1["cache_creation_5m_input_tokens"] is None  # the split no longer adds up


HOSTILE = [
    (
        "field",
        lambda: 'r3,"' + "9" * 140_000 + '",1,0,0',
        "billing.csv:2: field larger than field limit",
    ),
    ("past 2^63", lambda: "r3,9223372036854775808,1,0,0", "holds (2^63-1)"),
    ("digits", lambda: "r3,1,1,0,0\nr1," + "1" * 5000 + ",1,0,0", "billing.csv:3: input_tokens"),
    ("negative", lambda: "r3,-4,1,0,0", "is not a whole number"),
    ("text", lambda: "r3,12abc,1,0,0", "billing.csv:2: input_tokens '12abc'"),
    (
        "duplicate",
        lambda: "r3,1,1,0,0\nr2,1,1,0,0\nr3,2,2,0,0",
        "billing.csv:4: request id 'r3' repeats line 2",
    ),
    ("nul", lambda: "r3,1\x00,1,0,0", "billing.csv:2: input_tokens"),
    ("empty id", lambda: " ,1,1,0,0", "billing.csv:2: request_id is empty"),
]


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_csv_is_one_line_and_changes_nothing(
    case: tuple[str, Any, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "l.db")
    fill(db)
    before = rows(db)
    _, make, message = case
    billing = write_csv(tmp_path, make())
    code, out, err = run(capsys, "backfill", "--db", db, "--billing-csv", billing)
    assert code == 2 and out == "" and err.count("\n") == 1, err[:300]
    assert message in err and "Traceback" not in err and len(err) < 400
    assert rows(db) == before


def test_non_utf8_and_bad_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "l.db")
    fill(db)
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(HEADER.encode() + b"\nr3,1,1,0,0\nr\xe9sum\xe9,1,1,0,0\n")
    code, _, err = run(capsys, "backfill", "--db", db, "--billing-csv", str(bad))
    assert code == 2 and "latin1.csv:3: not UTF-8 (byte 0xe9 at column 2)" in err
    bad.write_text("id,input_tokens\nx,1\n")
    code, _, err = run(capsys, "backfill", "--db", db, "--billing-csv", str(bad))
    assert code == 2 and ":1: a request_id column is required" in err
    bad.write_text("request_id,colour\nx,1\n")
    code, _, err = run(capsys, "backfill", "--db", db, "--billing-csv", str(bad))
    assert code == 2 and "no token column" in err
    bad.write_bytes(b"request_id,input_tokens\n" + b"r" * (1 << 21))
    code, _, err = run(capsys, "backfill", "--db", db, "--billing-csv", str(bad))
    assert code == 2 and ":2: line longer than" in err
    code, _, err = run(capsys, "backfill", "--db", db, "--billing-csv", str(tmp_path / "none.csv"))
    assert code == 2 and "none.csv" in err and err.count("\n") == 1


def test_reestimate_uses_the_estimator_kept_in_the_ledger(dsn: str) -> None:
    stream = b"".join(anthropic_stream("claude-opus-4-6-nousage", "msg_9"))
    original = parse_usage(stream, "anthropic", request=REQUEST)
    assert original.requires_manual_review and "output_tokens" in original.estimated
    ledger = open_ledger(dsn, spool=False)
    row = LedgerRow.from_record(original, ts=DAY, http_status=200, request_id="kept")
    ledger.record(row.with_changes(output_tokens=999), Capture(REQUEST, stream))
    ledger.record(LedgerRow.from_record(original, ts=DAY, request_id="no-capture"))
    ledger.flush()
    # A calibrated estimator: this model's real output runs at twice the text's estimate.
    model = normalize_model(original.model)
    calibrated = Estimator.from_json(
        json.dumps({"version": 1, "ratios": {model: {"output": [2.0] * 5, "input": [1.5] * 5}}})
    )
    save_estimator(ledger, calibrated)  # type: ignore[arg-type]
    ledger.close()

    with open_reader(dsn, write=True) as reader:
        kept = load_estimator(reader)
        assert kept is not None and kept.to_json() == calibrated.to_json()
        dry = reestimate(reader, dry_run=True)
        assert (len(dry.changes), dry.skipped) == (1, 1)
        result = reestimate(reader)
        assert len(result.changes) == 1
    expected = parse_usage(stream, "anthropic", request=REQUEST, estimator=calibrated)
    fresh = rows(dsn)["kept"]
    assert fresh["output_tokens"] == expected.output_tokens != original.output_tokens
    # The ranges and the cost's range are the new estimate's.
    assert fresh["estimate_ranges"] == expected.to_dict()["estimate_ranges"] != {}
    assert fresh["estimate_reasons"] == list(expected.estimate_reasons)
    cost = None if fresh["cost_usd"] is None else Decimal(fresh["cost_usd"])
    low, high = cost_bounds(expected, cost)
    stored = [None if fresh[n] is None else Decimal(fresh[n]) for n in RANGE_COST]
    assert stored == [low, high]
    assert fresh["source"] == "estimate" and fresh["backfilled_at"] is not None
    with open_reader(dsn, write=True) as reader:
        assert reestimate(reader).changes == []  # idempotent


def test_backfill_needs_only_the_base_install(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    fill(db)
    billing = write_csv(tmp_path, "r3,30,70,0,0")
    code = (
        "import sys\n"
        "for name in ('anyio', 'starlette', 'uvicorn', 'httpx', 'psycopg'):\n"
        "    sys.modules[name] = None  # as if not installed\n"
        "from sseusage_fast.cli import main\n"
        f"assert main(['backfill', '--db', {db!r}, '--billing-csv', {billing!r}]) == 0\n"
        f"assert main(['backfill', '--db', {db!r}]) == 0\n"
        f"assert main(['report', '--db', {db!r}, '--json']) == 0\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 row(s) filled" in proc.stdout and "re-estimated: 0 row(s) filled" in proc.stdout


def test_the_proxy_keeps_its_estimator_in_the_ledger(dsn: str) -> None:
    from sseusage_fast.estimate import default_estimator
    from sseusage_fast.proxy.runner import keep_estimator

    ledger = open_ledger(dsn, spool=False)
    with open_reader(dsn) as reader:
        assert load_estimator(reader) is None  # nothing kept yet, and no table made by reading
        assert not reader.has_table("estimator_state")
    keep_estimator(ledger)
    keep_estimator(ledger)  # a second stop replaces the first
    ledger.close()
    with open_reader(dsn) as reader:
        kept = load_estimator(reader)
    assert kept is not None and kept.to_json() == default_estimator().to_json()


def test_a_restarted_proxy_estimates_with_what_it_learned(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sseusage_fast.estimate import estimator as estimator_module
    from sseusage_fast.proxy.runner import keep_estimator, restore_estimator
    from sseusage_fast.pure.textstats import text_stats
    from sseusage_fast.record import UsageRecord

    stats = text_stats("The proxy learns how many tokens this model spends on text. " * 4)
    model = "claude-opus-4-6"

    def fresh_process() -> Estimator:
        # The process-wide estimator as a new process has it: nothing learned.
        monkeypatch.setattr(estimator_module, "_default", None)
        return estimator_module.default_estimator()

    first = fresh_process()
    untaught = first.estimate(stats, model=model)
    for _ in range(10):
        actual = round(first.base_tokens(stats) * 1.6)
        record = UsageRecord(
            status="complete", model=model, provider="anthropic", output_tokens=actual
        )
        first.observe(record, output_stats=stats)
    taught = first.estimate(stats, model=model)
    assert taught > untaught * 1.4
    ledger = open_ledger(dsn, spool=False)
    keep_estimator(ledger)  # the first run stops
    ledger.close()

    second = fresh_process()
    assert second.estimate(stats, model=model) == untaught
    ledger = open_ledger(dsn, spool=False)
    try:
        restore_estimator(ledger)  # the second run starts
    finally:
        ledger.close()
    assert estimator_module.default_estimator() is second  # parsers holding it see the change
    assert second.estimate(stats, model=model) == taught
    assert second.samples(model) == 10 and second.learned == first.learned


def test_a_proxy_starting_on_a_ledger_without_a_kept_estimator_starts_fresh(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sseusage_fast.estimate import estimator as estimator_module
    from sseusage_fast.proxy.runner import restore_estimator

    monkeypatch.setattr(estimator_module, "_default", None)
    ledger = open_ledger(dsn, spool=False)
    try:
        restore_estimator(ledger)
    finally:
        ledger.close()
    assert estimator_module.default_estimator().learned == 0


def test_merge_puts_the_saved_samples_before_the_new_ones() -> None:
    older, newer = Estimator(window=3), Estimator(window=3)
    for est, ratios in ((older, [1.1, 1.2]), (newer, [1.5, 1.6])):
        for ratio in ratios:
            est._add("m", "output", ratio)
    newer.merge(older)
    assert json.loads(newer.to_json())["ratios"] == {"m": {"output": [1.2, 1.5, 1.6]}}
    assert newer.learned == 4


def test_a_proxy_starting_with_its_database_down_restores_nothing_and_waits_for_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("psycopg")
    from sseusage_fast.estimate import estimator as estimator_module
    from sseusage_fast.ledger import base
    from sseusage_fast.proxy.runner import restore_estimator

    monkeypatch.setattr(estimator_module, "_default", None)
    # Port 9 (discard) on loopback: nothing listens, the ledger starts on its spool.
    ledger = open_ledger("postgresql://u:p@127.0.0.1:9/none", spool=str(tmp_path / "spool"))
    connects: list[int] = []
    try:
        with monkeypatch.context() as patch:
            patch.setattr(
                base.SQLLedger, "_connect_migrated", lambda self: connects.append(1) or None
            )
            restore_estimator(ledger)
    finally:
        ledger.close()
    assert connects == []  # no second connect attempt holding the start up
    assert estimator_module.default_estimator().learned == 0


def test_a_ledger_from_before_ranges_is_filled_without_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    db = str(tmp_path / "old.db")
    fill(db)
    with sqlite3.connect(db) as conn:
        for column in ("estimate_ranges", "estimate_reasons", *RANGE_COST):
            conn.execute(f"ALTER TABLE requests DROP COLUMN {column}")
    billing = write_csv(tmp_path, "r3,30,70,0,0")
    code, out, err = run(capsys, "backfill", "--db", db, "--billing-csv", billing)
    assert code == 0 and err == "" and "1 row(s) filled" in out
    r3 = rows(db)["r3"]
    assert r3["output_tokens"] == 70 and "cost_low_usd" not in r3
