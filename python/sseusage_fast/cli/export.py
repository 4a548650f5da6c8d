"""`sseusage export`: the ledger's rows, CSV or JSON lines, to stdout or a file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sseusage_fast.cli.common import (
    add_db_argument,
    add_filter_arguments,
    filters_from,
    open_for_reading,
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "export",
        help="the ledger's rows as CSV or JSON lines",
        description="Every row (or the filtered ones), oldest first, streamed: memory stays "
        "flat however large the ledger. A progress bar on stderr when it is a terminal.",
    )
    add_db_argument(p)
    add_filter_arguments(p)
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from sseusage_fast.export import Progress, count_rows, export

    filters = filters_from(args)
    with open_for_reading(args.db) as reader:
        progress = None
        if sys.stderr.isatty():
            progress = Progress(count_rows(reader, filters), enabled=True)
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                export(reader, out, fmt=args.format, filters=filters, progress=progress)
        else:
            export(reader, sys.stdout, fmt=args.format, filters=filters, progress=progress)
            sys.stdout.flush()
    return 0
