"""Meter a captured stream two ways: the plain `feed()` loop, and `tap()` around an iterator.

    python examples/stream_loop.py [examples/anthropic_stream.sse] [--provider auto]

The file is read in small chunks, as a network read would deliver them; both ways print the
same record.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from sseusage_fast import BACKEND, UsageParser, UsageRecord, tap

DEFAULT = Path(__file__).with_name("anthropic_stream.sse")


def read_chunks(path: Path, size: int = 1024) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


def show(title: str, record: UsageRecord) -> None:
    print(f"-- {title}")
    print(json.dumps(record.to_dict(), indent=2, default=str))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("path", nargs="?", type=Path, default=DEFAULT, help="a captured SSE body")
    ap.add_argument("--provider", default="auto")
    args = ap.parse_args()
    if not args.path.is_file():
        ap.error(f"{args.path}: no such file (pass a captured stream, e.g. from curl -N)")
    print(f"backend: {BACKEND}")

    # 1. The plain loop: feed every read, finish once at the end.
    parser = UsageParser(args.provider)
    for chunk in read_chunks(args.path):
        parser.feed(chunk)
    show("feed loop", parser.finish())

    # 2. tap(): the chunks flow on to whoever consumes them (here, a byte counter); the record
    #    arrives through the callback, exactly once, even if the consumer stops early.
    records: list[UsageRecord] = []
    relayed = 0
    for chunk in tap(read_chunks(args.path), records.append, provider=args.provider):
        relayed += len(chunk)  # e.g. write to the client socket
    show(f"tap ({relayed} bytes relayed)", records[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
