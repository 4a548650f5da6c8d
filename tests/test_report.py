"""`sseusage report`: the contract's totals, time ranges, grouping, filters, the three output
formats, and reading that never creates a ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import socket
import sqlite3
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_data import DAY, NEXT_DAY, fill, flagged, report_json
from sseusage_fast.cli import main
from sseusage_fast.ledger import open_ledger
from sseusage_fast.query import parse_tags, parse_when
from sseusage_fast.reporting import decimal_str

CONTRACT = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "requires_manual_review",
    "estimated_requests",
    "cost_usd",
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_json_has_the_contract_fields(dsn: str) -> None:
    fill(dsn)
    r = report_json(dsn)
    for key in CONTRACT:
        assert key in r and key in r["by_model"]["claude-sonnet-4-5"]
    assert r["requests"] == 5
    assert r["input_tokens"] == 1000 + 10 + 12 + 1 + 200
    assert r["output_tokens"] == 500 + 5 + 40 + 1 + 100
    assert r["cache_creation_input_tokens"] == 2000 and r["cache_read_input_tokens"] == 5000
    assert r["requires_manual_review"] == 1 and r["estimated_requests"] == 1
    assert r["unpriced_requests"] == 1
    sonnet = r["by_model"]["claude-sonnet-4-5"]
    # 1,000 input + 2,000 5-minute write + 5,000 read + 500 output on Sonnet 4.5 is 0.0195 USD;
    # plus 10 input and 5 output.
    assert Decimal(sonnet["cost_usd"]) == Decimal("0.0195") + Decimal("0.000105")
    assert isinstance(r["cost_usd"], str)
    assert Decimal(r["cost_usd"]) == sum(Decimal(m["cost_usd"]) for m in r["by_model"].values())
    assert list(r["by_day"]) == ["2026-05-04", "2026-05-05"]


def test_since_and_until(dsn: str) -> None:
    fill(dsn)
    assert report_json(dsn, "--since", "2026-05-05")["requests"] == 2
    assert report_json(dsn, "--until", "2026-05-04")["requests"] == 3  # the whole day
    assert report_json(dsn, "--since", "2026-05-04T13:00")["requests"] == 2
    assert report_json(dsn, "--since", "2026-05-04", "--until", "2026-05-04")["requests"] == 3
    assert report_json(dsn, "--since", "7d")["requests"] == 0  # these rows are older


def test_group_by_each_dimension(dsn: str) -> None:
    fill(dsn)

    def groups(by: str) -> dict[tuple[str, ...], int]:
        r = report_json(dsn, "--by", by)
        dims = by.split(",")
        return {tuple(g[d] for d in dims): g["requests"] for g in r["groups"]}

    assert groups("provider") == {("anthropic",): 4, ("openai",): 1}
    assert groups("key") == {("key-a",): 1, ("key-b",): 1, ("(none)",): 3}
    assert groups("user") == {("alice",): 2, ("bob",): 1, ("(none)",): 2}
    # r1 has two tags and counts under each; r5's tags are an older writer's k=v text.
    assert groups("tag") == {
        ("env=prod",): 1,
        ("team=search",): 2,
        ("team=ads",): 1,
        ("(none)",): 2,
    }
    assert groups("day") == {("2026-05-04",): 3, ("2026-05-05",): 2}
    assert groups("hour") == {("2026-05-04T12:00",): 3, ("2026-05-05T15:00",): 2}
    assert groups("model,day")[("claude-sonnet-4-5", "2026-05-04")] == 2
    assert groups("provider,user") == {
        ("anthropic", "alice"): 2,
        ("anthropic", "bob"): 1,
        ("anthropic", "(none)"): 1,
        ("openai", "(none)"): 1,
    }
    # Grouping by tags never double counts the totals.
    assert report_json(dsn, "--by", "tag")["requests"] == 5


def test_filters(dsn: str) -> None:
    fill(dsn)
    assert report_json(dsn, "--model", "gpt-4o")["requests"] == 1
    assert report_json(dsn, "--model", "gpt-4o", "--model", "no-such-model")["requests"] == 2
    assert report_json(dsn, "--provider", "anthropic")["requests"] == 4
    assert report_json(dsn, "--key", "key-a")["input_tokens"] == 1000
    assert report_json(dsn, "--user", "alice")["requests"] == 2
    assert report_json(dsn, "--tag", "team=search")["requests"] == 2
    assert report_json(dsn, "--tag", "team")["requests"] == 3
    assert report_json(dsn, "--tag", "team=nobody")["requests"] == 0
    flagged_only = report_json(dsn, "--flagged")
    assert flagged_only["requests"] == 1 and list(flagged_only["by_model"]) == ["claude-haiku-4-5"]
    both = report_json(dsn, "--user", "alice", "--tag", "env=prod", "--by", "model")
    assert [g["model"] for g in both["groups"]] == ["claude-sonnet-4-5"]


def test_older_ledger_without_attribution_columns(dsn: str) -> None:
    fill(dsn, attribution=False)
    r = report_json(dsn, "--by", "tag,user")
    assert [(g["tag"], g["user"], g["requests"]) for g in r["groups"]] == [("(none)", "(none)", 5)]
    assert report_json(dsn, "--tag", "team=search")["requests"] == 0
    assert report_json(dsn, "--user", "alice")["requests"] == 0


def test_table_and_csv(dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    fill(dsn)
    code, out, _ = run(capsys, "report", "--db", dsn)
    assert code == 0
    assert "claude-sonnet-4-5" in out and "2026-05-04" in out and "need review" in out
    assert "1,223" in out  # input total, with separators
    code, out, _ = run(capsys, "report", "--db", dsn, "--flagged")
    assert code == 0 and "flagged rows" in out and "r3" in out and "estimated: input_tokens" in out
    code, out, _ = run(capsys, "report", "--db", dsn, "--by", "tag", "--csv")
    assert code == 0
    lines = list(csv.DictReader(io.StringIO(out)))
    assert {r["tag"]: int(r["requests"]) for r in lines}["team=search"] == 2
    assert sum(Decimal(r["cost_usd"]) for r in lines if r["tag"] != "env=prod") == Decimal(
        report_json(dsn)["cost_usd"]
    )
    code, out, _ = run(capsys, "report", "--db", dsn, "--csv")
    assert out.splitlines()[0].startswith("model,requests,")


def test_control_characters_are_escaped_on_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "l.db")
    fill(db, [flagged("evil\x1b]0;pwned\x07\x1b[2J", "r\x1b[31m")], attribution=False)
    code, out, _ = run(capsys, "report", "--db", db, "--flagged")
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J" in out
    code, out, _ = run(capsys, "report", "--db", db, "--by", "model")
    assert "\x1b" not in out
    assert next(iter(report_json(db)["by_model"])).startswith("evil\x1b")  # JSON keeps it


def test_empty_ledger_reports_zeros(dsn: str) -> None:
    r = report_json(dsn)
    assert r["requests"] == 0 and r["cost_usd"] == "0" and r["by_model"] == {}


# -- reading never creates a ledger ---------------------------------------------------------


def test_missing_file_is_one_line_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for db in (tmp_path / "tyop.db", tmp_path / "no" / "such" / "dir" / "l.db"):
        for command in ("report", "export", "backfill"):
            code, out, err = run(capsys, command, "--db", str(db))
            assert code == 2 and out == ""
            assert err.count("\n") == 1 and "does not exist" in err, err
        assert not db.exists() and not (tmp_path / "no").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    billing = tmp_path / "billing.csv"
    billing.write_text("request_id,input_tokens\nr1,5\n")
    before = billing.read_bytes()
    code, _, err = run(capsys, "report", "--db", str(billing))
    assert code == 2 and err.count("\n") == 1 and "is not a ledger" in err
    assert billing.read_bytes() == before
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    code, _, err = run(capsys, "report", "--db", str(other))
    assert code == 2 and "no requests table" in err
    with sqlite3.connect(other) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    conn.close()
    assert names == ["t"]  # no schema was added
    code, _, err = run(capsys, "report", "--db", str(tmp_path))
    assert code == 2 and "not a file" in err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("psycopg")
    dsn = f"postgresql://u:secret@127.0.0.1:{_closed_port()}/db"
    for command in ("report", "export"):
        code, out, err = run(capsys, command, "--db", dsn)
        assert code == 2 and out == "" and err.count("\n") == 1
        assert "cannot reach the PostgreSQL ledger" in err and "secret" not in err
        assert "spool" not in err


def test_a_database_without_a_ledger(capsys: pytest.CaptureFixture[str]) -> None:
    from ledger_data import pg_dsn

    dsn = pg_dsn()  # a fresh, empty schema
    code, _, err = run(capsys, "report", "--db", dsn)
    assert code == 2 and "holds no ledger" in err


def test_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "l.db")
    open_ledger(db, spool=False).close()
    code, _, err = run(capsys, "report", "--db", db, "--since", "last tuesday")
    assert code == 2 and "is not a date" in err
    code, _, err = run(capsys, "report", "--db", db, "--by", "colour")
    assert code == 2 and "--by 'colour'" in err


def test_parse_when() -> None:
    now = datetime(2026, 5, 10, 15, 30, tzinfo=timezone.utc)
    assert parse_when("7d", now=now) == datetime(2026, 5, 3, 15, 30, tzinfo=timezone.utc)
    assert parse_when("24h", now=now) == datetime(2026, 5, 9, 15, 30, tzinfo=timezone.utc)
    assert parse_when("30m", now=now).minute == 0
    assert parse_when("2w", now=now).day == 26
    assert parse_when("2026-05-04") == DAY.replace(hour=0)
    assert parse_when("2026-05-04", end=True) == datetime(2026, 5, 5, tzinfo=timezone.utc)
    assert parse_when("2026-05-05T15:00Z") == NEXT_DAY
    assert parse_when("2026-05-05T17:00+02:00") == NEXT_DAY
    for bad in ("", "yesterday", "7y", "2026-13-01", "-3d"):
        with pytest.raises(ValueError):
            parse_when(bad)


def test_parse_tags() -> None:
    assert parse_tags('{"team": "search", "n": 3}') == {"team": "search", "n": "3"}
    assert parse_tags("team=search, env=prod") == {"team": "search", "env": "prod"}
    assert parse_tags(None) == {} and parse_tags("") == {} and parse_tags("{not json") == {}
    assert parse_tags("[1, 2]") == {} and parse_tags('"team"') == {}


def test_flagged_rows_in_json(dsn: str) -> None:
    fill(dsn)
    r = report_json(dsn, "--flagged")
    (row,) = r["flagged_rows"]
    assert row["request_id"] == "r3" and row["model"] == "claude-haiku-4-5"
    assert row["reason"] == (
        "no_usage; no usage reported; estimated: input_tokens, output_tokens; uncertain: tool_calls"
    )
    assert row["estimate"] == {"input_tokens": 12, "output_tokens": 40}
    assert row["estimate_ranges"] == {"input_tokens": [10, 15], "output_tokens": [30, 60]}
    assert row["estimate_reasons"] == ["tool_calls"]
    r3 = flagged("claude-haiku-4-5", "r3")
    assert [Decimal(row[n]) for n in ("cost_usd", "cost_low_usd", "cost_high_usd")] == [
        r3.cost_usd,
        r3.cost_low_usd,
        r3.cost_high_usd,
    ]
    assert row["end_user"] == "alice" and row["tags"] is None
    assert "flagged_rows" not in report_json(dsn)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def test_estimated_spend_is_a_range_beside_its_point(dsn: str) -> None:
    """The flagged (estimated) spend in every level of the report: its point figure, and the
    range its rows' cost ranges add up to; the whole cost as a range too."""
    fill(dsn)
    r3 = flagged("claude-haiku-4-5", "r3")
    assert r3.cost_usd and r3.cost_low_usd and r3.cost_high_usd
    assert r3.cost_low_usd < r3.cost_usd < r3.cost_high_usd
    r = report_json(dsn)
    assert _dec(r["estimated_cost_usd"]) == r3.cost_usd
    assert _dec(r["estimated_cost_low_usd"]) == r3.cost_low_usd
    assert _dec(r["estimated_cost_high_usd"]) == r3.cost_high_usd
    cost = Decimal(r["cost_usd"])
    assert _dec(r["cost_low_usd"]) == cost - r3.cost_usd + r3.cost_low_usd
    assert _dec(r["cost_high_usd"]) == cost - r3.cost_usd + r3.cost_high_usd
    assert r["open_range_requests"] == 0 and r["unranged_requests"] == 0
    haiku, sonnet = r["by_model"]["claude-haiku-4-5"], r["by_model"]["claude-sonnet-4-5"]
    assert _dec(haiku["estimated_cost_high_usd"]) == r3.cost_high_usd
    # A model with nothing estimated: its cost is exact, a range of one point.
    assert sonnet["estimated_cost_usd"] == "0" and sonnet["cost_low_usd"] == sonnet["cost_usd"]
    assert sonnet["cost_high_usd"] == sonnet["cost_usd"]


def test_an_open_range_and_a_row_from_before_ranges(
    dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    open_above = flagged("claude-sonnet-4-5", "r6", high=None)
    unranged = flagged("claude-haiku-4-5", "r7", ts=NEXT_DAY, ranges=False)
    assert open_above.cost_low_usd is not None and open_above.cost_high_usd is None
    assert unranged.cost_usd is not None and unranged.cost_low_usd is None
    fill(dsn, [flagged("claude-haiku-4-5", "r3"), open_above, unranged], attribution=False)
    r3 = flagged("claude-haiku-4-5", "r3")
    assert r3.cost_usd and r3.cost_low_usd and open_above.cost_usd
    r = report_json(dsn)
    assert r["estimated_requests"] == 3
    assert r["open_range_requests"] == 1 and r["unranged_requests"] == 1
    point = r3.cost_usd + open_above.cost_usd + unranged.cost_usd
    assert _dec(r["estimated_cost_usd"]) == point == Decimal(r["cost_usd"])
    # The row from before ranges counts at its point at both ends; the open row leaves the
    # high end open.
    low = r3.cost_low_usd + open_above.cost_low_usd + unranged.cost_usd
    assert _dec(r["estimated_cost_low_usd"]) == low == _dec(r["cost_low_usd"])
    assert r["estimated_cost_high_usd"] is None and r["cost_high_usd"] is None
    by_day = r["by_day"]
    assert by_day["2026-05-04"]["estimated_cost_high_usd"] is None
    assert _dec(by_day["2026-05-05"]["estimated_cost_high_usd"]) == unranged.cost_usd
    code, out, _ = run(capsys, "report", "--db", dsn)
    assert code == 0
    assert "of it estimated" in out and "estimated range" in out
    assert f"{r['estimated_cost_low_usd']} or more" in out
    assert "1 estimated request(s) have billed work the stream never shows" in out
    assert "1 estimated request(s) were recorded before the ledger kept ranges" in out
    code, out, _ = run(capsys, "report", "--db", dsn, "--flagged")
    assert open_above.cost_low_usd is not None
    low_text = decimal_str(open_above.cost_low_usd)
    assert f"cost {decimal_str(open_above.cost_usd)} ({low_text} or more)" in out
    code, out, _ = run(capsys, "report", "--db", dsn, "--csv")
    lines = {line["model"]: line for line in csv.DictReader(io.StringIO(out))}
    haiku = lines["claude-haiku-4-5"]
    assert _dec(haiku["estimated_cost_high_usd"]) == r3.cost_high_usd + unranged.cost_usd
    assert lines["claude-sonnet-4-5"]["estimated_cost_high_usd"] == ""


def test_a_ledger_from_before_ranges_reports_them_at_their_point(tmp_path: Path) -> None:
    """A version 4 SQLite ledger (no range columns), read as it is: reading migrates nothing."""
    path = tmp_path / "old.db"
    fill(str(path), [flagged("claude-haiku-4-5", "r3")], attribution=False)
    with sqlite3.connect(path) as conn:
        for column in ("estimate_ranges", "estimate_reasons", "cost_low_usd", "cost_high_usd"):
            conn.execute(f"ALTER TABLE requests DROP COLUMN {column}")
        conn.execute("DELETE FROM schema_version WHERE version > 4")
    r = report_json(str(path), "--flagged")
    assert r["unranged_requests"] == 1 and r["open_range_requests"] == 0
    assert r["estimated_cost_low_usd"] == r["estimated_cost_usd"] == r["cost_usd"]
    assert r["flagged_rows"][0]["estimate_ranges"] == {}
    assert r["flagged_rows"][0]["cost_low_usd"] is None
    with sqlite3.connect(path) as conn:
        columns = [c[1] for c in conn.execute("PRAGMA table_info(requests)")]
    assert "cost_low_usd" not in columns
