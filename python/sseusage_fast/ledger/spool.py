"""The spool: rows the database could not take, kept on disk (fsync'd) until it can.

Each process appends to a file of its own, `<base>.<pid>`, and holds an exclusive `flock` on it
for as long as it runs: two proxies given the same spool location never write into, truncate or
replay each other's file. A file whose lock can be taken belongs to no living process (the
bare `<base>` included, as older versions wrote it): the next process to look adopts it,
replays it and deletes it.

Replay is streamed: rows are read a chunk at a time from an offset, so a spool of any length
takes bounded memory, and appends may continue behind the reader. A row written to the database
but not yet cut from the spool (a crash in between) is replayed again and skipped there: rows
are keyed by their uuid.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sseusage_fast.ledger.estimates import ranges_from_db, reasons_from_db
from sseusage_fast.ledger.row import COLUMNS, Capture, LedgerRow, row_values

log = logging.getLogger("sseusage_fast.ledger")

Entry = tuple[LedgerRow, Capture | None]

_TIME_FIELDS = ("ts", "backfilled_at")
_DECIMAL_FIELDS = ("cost_usd", "cost_low_usd", "cost_high_usd")
_READ_BLOCK = 1 << 20


def row_to_json(row: LedgerRow, capture: Capture | None = None) -> str:
    data: dict[str, Any] = {}
    for name, value in zip(COLUMNS, row_values(row)):
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        data[name] = value
    if capture is not None:
        data["_capture"] = [
            base64.b64encode(capture.request_body).decode("ascii"),
            base64.b64encode(capture.response_body).decode("ascii"),
        ]
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True)


def row_from_json(line: str | bytes) -> Entry:
    data = json.loads(line)
    coded = data.pop("_capture", None)
    for name in _TIME_FIELDS:
        if data.get(name) is not None:
            data[name] = datetime.fromisoformat(data[name])
    for name in _DECIMAL_FIELDS:
        if data.get(name) is not None:
            data[name] = Decimal(data[name])
    data["estimated"] = tuple(data.get("estimated") or ())
    # Lines spooled by a version before the ledger kept ranges have none.
    data["estimate_ranges"] = ranges_from_db(data.get("estimate_ranges"))
    data["estimate_reasons"] = reasons_from_db(data.get("estimate_reasons"))
    known = {name: data[name] for name in COLUMNS if name in data}
    capture = None
    if coded is not None:
        capture = Capture(base64.b64decode(coded[0]), base64.b64decode(coded[1]))
    return LedgerRow(**known), capture


def encode_entries(entries: Sequence[Entry]) -> bytes:
    return "".join(row_to_json(row, capture) + "\n" for row, capture in entries).encode()


class SpoolFile:
    """One locked spool file, read from `offset` on. Used by one thread at a time."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.offset = 0
        self.rows = _count_lines(fd)

    def read_chunk(self, max_rows: int) -> tuple[list[Entry], int, int]:
        """Up to `max_rows` entries from the offset: (entries, lines consumed, new offset).
        Unreadable lines (only a write cut short can leave one) are logged and skipped."""
        entries: list[Entry] = []
        consumed = 0
        offset = self.offset
        buffer = b""
        while consumed < max_rows:
            block = os.pread(self.fd, _READ_BLOCK, offset + len(buffer))
            if not block:
                if buffer:
                    # A last line without its newline: appends are whole or fenced off, and
                    # no one else appends to this file, so it is a write a crash cut short.
                    log.error("spool %s: a cut line at the end skipped", self.path)
                    offset += len(buffer)
                    consumed += 1
                break
            buffer += block
            start = 0
            while consumed < max_rows:
                end = buffer.find(b"\n", start)
                if end < 0:
                    break
                line = buffer[start:end]
                start = end + 1
                if not line.strip():
                    continue
                consumed += 1
                try:
                    entries.append(row_from_json(line))
                except (ValueError, TypeError, KeyError) as exc:
                    log.error("spool %s: an unreadable line skipped: %s", self.path, exc)
            offset += start
            buffer = buffer[start:]
        return entries, consumed, offset

    def advance(self, offset: int, consumed: int) -> None:
        self.offset = offset
        self.rows = max(0, self.rows - consumed)

    def at_end(self) -> bool:
        return self.offset >= os.fstat(self.fd).st_size

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)  # releases the lock


class Spool:
    """This process's spool under `base`, and the orphaned files beside it. Only the ledger's
    writer thread uses it. Files are mode 0600: they hold what the ledger would (key
    fingerprints, never keys; bodies only when asked)."""

    def __init__(self, base: str | os.PathLike[str]) -> None:
        self.base = Path(base)
        self._own: SpoolFile | None = None
        # A write that failed may have left part of a line: the next append starts on a new line.
        self._torn = False

    @property
    def path(self) -> Path:
        """This process's own file (it exists once something has been spooled)."""
        return self._own.path if self._own is not None else self._own_name(0)

    def _own_name(self, attempt: int) -> Path:
        suffix = f".{os.getpid()}" + (f".{attempt}" if attempt else "")
        return self.base.with_name(self.base.name + suffix)

    def _open_own(self) -> SpoolFile:
        if self._own is not None:
            return self._own
        self.base.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(100):
            path = self._own_name(attempt)
            fd = _lock(path, create=True)
            if fd is not None:
                # A file of a dead process with this pid: its rows become ours to replay.
                self._own = SpoolFile(path, fd)
                return self._own
        raise OSError(f"no spool file under {self.base} could be locked")

    def append(self, entries: Sequence[Entry]) -> None:
        """Write and fsync the entries; they count as delivered only when this returns. On a
        failure nothing counts, and what may have reached the file is fenced off."""
        data = encode_entries(entries)
        own = self._open_own()
        if self._torn:
            data = b"\n" + data
        size = os.fstat(own.fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(own.fd, view)
                view = view[written:]
            os.fsync(own.fd)
        except OSError:
            # Take back what was written; if even that fails, a newline fences it off later.
            try:
                os.ftruncate(own.fd, size)
                self._torn = False
            except OSError:
                self._torn = True
            raise
        self._torn = False
        own.rows += len(entries)

    def own_backlog(self) -> SpoolFile | None:
        """This process's file, when it holds rows not yet replayed."""
        own = self._own
        return own if own is not None and not own.at_end() else None

    def reset_own(self) -> None:
        """Everything in the own file is in the database: empty it (appends are O_APPEND)."""
        own = self._own
        if own is None:
            return
        os.ftruncate(own.fd, 0)
        os.fsync(own.fd)
        own.offset = 0
        own.rows = 0

    def orphans(self) -> Iterator[SpoolFile]:
        """Files under `base` that no living process holds, locked for the caller (who
        replays them, then calls `remove`). The bare `base` path comes first."""
        own = self._own.path if self._own is not None else None
        candidates = [self.base]
        with contextlib.suppress(OSError):
            prefix = self.base.name + "."
            candidates += sorted(p for p in self.base.parent.iterdir() if p.name.startswith(prefix))
        for path in candidates:
            if path == own or not path.is_file():
                continue
            fd = _lock(path, create=False)
            if fd is not None:
                yield SpoolFile(path, fd)

    def remove(self, orphan: SpoolFile) -> None:
        """An adopted file fully replayed: delete it (still locked, so nobody else reads it)."""
        try:
            os.unlink(orphan.path)
        finally:
            orphan.close()

    def count(self) -> int:
        """Rows waiting in this process's own file."""
        return self._own.rows if self._own is not None else 0

    def close(self) -> None:
        """Release the own file; an empty one is deleted first."""
        own, self._own = self._own, None
        if own is None:
            return
        with contextlib.suppress(OSError):
            if own.at_end():
                os.unlink(own.path)
        own.close()


def _lock(path: Path, *, create: bool) -> int | None:
    """An fd of `path` holding its exclusive lock, or None when another process holds it (or
    the file went away). The inode is checked after locking: a file deleted by its adopter
    between our open and our lock must not be written to."""
    flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:
        if create:
            raise
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError:
        os.close(fd)
        raise
    try:
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        os.close(fd)
        return None
    return fd


def _count_lines(fd: int) -> int:
    """Lines in the file, counted a block at a time (an estimate for health: a fenced-off
    write adds a blank line)."""
    count = 0
    offset = 0
    last = b"\n"
    while block := os.pread(fd, _READ_BLOCK, offset):
        count += block.count(b"\n")
        last = block[-1:]
        offset += len(block)
    return count + (last != b"\n")
