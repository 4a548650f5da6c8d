"""The spool: one locked file per process under a shared location, streamed reads, and writes
that fail part-way never spoil the rows around them."""

from __future__ import annotations

import errno
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from sseusage_fast.ledger import Capture, LedgerRow
from sseusage_fast.ledger.spool import Entry, Spool, row_from_json, row_to_json


def _entries(prefix: str, n: int) -> list[Entry]:
    return [(LedgerRow(request_id=f"{prefix}_{i:04d}", status="complete"), None) for i in range(n)]


def _read_all(spool: Spool) -> list[str | None]:
    own = spool.own_backlog()
    assert own is not None
    ids: list[str | None] = []
    while not own.at_end():
        entries, consumed, offset = own.read_chunk(7)
        own.advance(offset, consumed)
        ids += [row.request_id for row, _ in entries]
    return ids


def test_two_spools_on_one_location_keep_their_own_locked_files(tmp_path: Path) -> None:
    a, b = Spool(tmp_path / "spool.jsonl"), Spool(tmp_path / "spool.jsonl")
    a.append(_entries("a", 3))
    b.append(_entries("b", 2))
    assert a.path != b.path and a.path.parent == b.path.parent == tmp_path
    assert oct(a.path.stat().st_mode & 0o777) == "0o600"
    # Each file is held: neither can be adopted while its owner lives.
    assert list(a.orphans()) == [] and list(b.orphans()) == []
    assert a.count() == 3 and b.count() == 2
    left = b.path
    b.close()  # its owner is gone, rows still in it: it stays, unlocked, for someone to adopt
    (orphan,) = list(a.orphans())
    assert orphan.path == left and orphan.rows == 2
    entries, consumed, offset = orphan.read_chunk(100)
    assert [r.request_id for r, _ in entries] == ["b_0000", "b_0001"] and consumed == 2
    orphan.advance(offset, consumed)
    assert orphan.at_end()
    a.remove(orphan)
    assert not left.exists()
    a.close()
    assert a.path.exists()  # rows not replayed: kept


def test_reads_are_chunked_and_appends_behind_the_reader_are_seen(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.jsonl")
    spool.append(_entries("x", 10))
    own = spool.own_backlog()
    assert own is not None
    entries, consumed, offset = own.read_chunk(4)
    assert len(entries) == consumed == 4
    own.advance(offset, consumed)
    spool.append(_entries("y", 3))  # traffic continues while the spool is replayed
    rest = _read_all(spool)
    assert rest == [f"x_{i:04d}" for i in range(4, 10)] + [f"y_{i:04d}" for i in range(3)]
    spool.reset_own()
    assert spool.own_backlog() is None and spool.path.stat().st_size == 0
    spool.close()
    assert not spool.path.exists()  # empty at close: removed


def test_a_write_that_fails_part_way_is_fenced_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path / "s.jsonl")
    spool.append(_entries("before", 2))
    real_write = os.write

    def half_then_full(fd: int, data: bytes | memoryview) -> int:
        monkeypatch.setattr(os, "write", full)
        return real_write(fd, bytes(data)[: len(data) // 2])

    def full(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def no_truncate(fd: int, size: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    # The disk fills part-way through a write, and the half-line cannot even be taken back.
    monkeypatch.setattr(os, "write", half_then_full)
    monkeypatch.setattr(os, "ftruncate", no_truncate)
    with pytest.raises(OSError):
        spool.append(_entries("lost", 4))  # not delivered: the caller keeps these rows
    monkeypatch.undo()
    assert spool.count() == 2
    spool.append(_entries("after", 2))  # starts on a new line
    ids = _read_all(spool)
    # The whole lines that reached the file are read (the writer's retry appends them again
    # and the database keeps one of each, by uuid); the cut one is skipped; the rows after it
    # are intact.
    assert ids == [
        "before_0000",
        "before_0001",
        "lost_0000",
        "lost_0001",
        "after_0000",
        "after_0001",
    ]


def test_a_torn_last_line_is_skipped_not_spun_on(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.jsonl")
    spool.append(_entries("ok", 2))
    with open(spool.path, "ab") as f:
        f.write(b'{"request_id": "cut-by-a-cra')  # a crash mid-write, no newline
    assert _read_all(spool) == ["ok_0000", "ok_0001"]


def test_captures_survive_the_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.jsonl")
    capture = Capture(b'{"q": "\\u00e9"}', b"data: \xff\x00\n\n")
    spool.append([(LedgerRow(request_id="c"), capture)])
    own = spool.own_backlog()
    assert own is not None
    ((row, got),) = own.read_chunk(10)[0]
    assert row.request_id == "c" and got == capture


def test_estimate_ranges_and_cost_range_survive_the_spool() -> None:
    row = LedgerRow(
        request_id="r",
        estimated=("output_tokens",),
        output_tokens=40,
        estimate_ranges={"output_tokens": (35, None), "input_tokens": (10, 15)},
        estimate_reasons=("hidden_reasoning",),
        cost_usd=Decimal("0.0002"),
        cost_low_usd=Decimal("0.000185"),
    )
    back, _ = row_from_json(row_to_json(row))
    assert back == row
    assert back.estimate_ranges["output_tokens"] == (35, None)
    assert back.cost_low_usd == Decimal("0.000185") and back.cost_high_usd is None


def test_a_line_spooled_before_ranges_reads_with_none() -> None:
    line = json.loads(row_to_json(LedgerRow(request_id="old", cost_usd=Decimal("1.5"))))
    for name in ("estimate_ranges", "estimate_reasons", "cost_low_usd", "cost_high_usd"):
        del line[name]
    back, _ = row_from_json(json.dumps(line))
    assert back.request_id == "old" and back.cost_usd == Decimal("1.5")
    assert (back.estimate_ranges, back.estimate_reasons, back.cost_low_usd) == ({}, (), None)
