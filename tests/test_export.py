"""`sseusage export`: every row, CSV or JSON lines, filtered as the report is, streamed; a
progress bar on a terminal only (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_data import complete, fill, report_json
from sseusage_fast.cli import main
from sseusage_fast.export import Progress, export
from sseusage_fast.ledger import COLUMNS
from sseusage_fast.ledger.reader import open_reader
from sseusage_fast.query import Filters


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_jsonl_has_every_row_with_plain_types(dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    fill(dsn)
    code, out, err = run(capsys, "export", "--db", dsn, "--format", "jsonl")
    assert code == 0 and err == ""  # a pipe gets no progress bar
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["request_id"] for r in rows] == ["r1", "r2", "r3", "r4", "r5"]
    assert set(COLUMNS) | {"id", "tags", "end_user"} == set(rows[0])
    r1, _, r3, _, r5 = rows
    assert r1["ts"].startswith("2026-05-04T12:00:00") and r1["ts"].endswith("+00:00")
    assert r1["tags"] == {"team": "search", "env": "prod"} and r1["end_user"] == "alice"
    assert r5["tags"] == {"team": "search"}  # k=v text read as an object
    assert r3["tags"] is None and r3["requires_manual_review"] is True
    assert r3["estimated"] == ["input_tokens", "output_tokens"] and r1["estimated"] == []
    # How sure the estimates are: ranges, reasons and the cost's range, plain JSON.
    assert r3["estimate_ranges"] == {"input_tokens": [10, 15], "output_tokens": [30, 60]}
    assert r3["estimate_reasons"] == ["tool_calls"]
    assert r1["estimate_ranges"] == {} and r1["estimate_reasons"] == []
    assert r1["cost_low_usd"] is None and r1["cost_high_usd"] is None
    flagged_cost = report_json(dsn, "--flagged")
    assert isinstance(r3["cost_low_usd"], str) and isinstance(r3["cost_high_usd"], str)
    assert Decimal(r3["cost_low_usd"]) == Decimal(flagged_cost["estimated_cost_low_usd"])
    assert Decimal(r3["cost_high_usd"]) == Decimal(flagged_cost["estimated_cost_high_usd"])
    assert r1["no_usage_data"] is False and r1["cache_read_input_tokens"] == 5000
    assert (
        isinstance(r1["cost_usd"], str)
        and r1["cost_usd"] == report_json(dsn, "--key", "key-a")["cost_usd"]
    )


def test_csv_and_filters(dsn: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fill(dsn)
    code, out, _ = run(capsys, "export", "--db", dsn, "--tag", "team=search")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["request_id"] for r in rows] == ["r1", "r5"]
    assert rows[0]["requires_manual_review"] == "False" and rows[0]["input_tokens"] == "1000"
    assert json.loads(rows[0]["tags"]) == {"team": "search", "env": "prod"}
    assert rows[1]["end_user"] == ""  # NULL
    assert rows[0]["estimate_ranges"] == "" and rows[0]["cost_low_usd"] == ""
    target = tmp_path / "flagged.csv"
    code, out, _ = run(
        capsys, "export", "--db", dsn, "--flagged", "--since", "2026-05-04", "-o", str(target)
    )
    assert code == 0 and out == ""
    (r3,) = csv.DictReader(target.open())
    assert r3["request_id"] == "r3"
    assert json.loads(r3["estimate_ranges"]) == {
        "input_tokens": [10, 15],
        "output_tokens": [30, 60],
    }
    assert json.loads(r3["estimate_reasons"]) == ["tool_calls"]
    low = report_json(dsn, "--flagged")["estimated_cost_low_usd"]
    assert Decimal(r3["cost_low_usd"]) == Decimal(low)
    code, out, _ = run(capsys, "export", "--db", dsn, "--model", "gpt-4o", "--format", "jsonl")
    assert [json.loads(x)["request_id"] for x in out.splitlines()] == ["r5"]


def test_progress_bar_on_a_terminal_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "l.db")
    fill(db, [complete("gpt-4o", f"r{i}", input_tokens=i) for i in range(2500)])
    code, out, err = run(capsys, "export", "--db", db)
    assert code == 0 and err == "" and len(out.splitlines()) == 2501
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    code, out, err = run(capsys, "export", "--db", db)
    assert code == 0 and len(out.splitlines()) == 2501
    assert "2,500/2,500 rows 100%" in err and "[####" in err and err.endswith("\n")


def test_progress_draws_nothing_when_disabled() -> None:
    stream = io.StringIO()
    p = Progress(10, enabled=False, stream=stream)
    p.step(10)
    p.close()
    assert stream.getvalue() == ""


def test_memory_stays_flat(tmp_path: Path) -> None:
    """Ten times the rows, about the same peak: rows are streamed, never gathered."""
    peaks = []
    for n in (4_000, 40_000):
        db = str(tmp_path / f"l{n}.db")
        fill(db, [complete("gpt-4o", f"r{i}", input_tokens=i) for i in range(n)], attribution=False)
        with open_reader(db) as reader:
            sink = _Sink()
            tracemalloc.start()
            assert export(reader, sink, fmt="jsonl", filters=Filters()) == n  # type: ignore[arg-type]
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        assert sink.lines == n
    assert peaks[1] < 1.5 * peaks[0], peaks


class _Sink:
    """A file that counts lines and keeps nothing."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)
