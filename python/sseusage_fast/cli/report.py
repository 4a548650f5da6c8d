"""`sseusage report`: totals from a ledger, filtered and grouped, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sseusage_fast.cli.common import (
    CommandError,
    add_db_argument,
    add_filter_arguments,
    filters_from,
    open_for_reading,
)
from sseusage_fast.query import DIMENSIONS

# With --flagged: the newest rows listed in JSON, and in the table (`export --flagged`: all).
FLAGGED_LISTED = 100
FLAGGED_SHOWN = 20


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="token and cost totals from a ledger",
        description="Totals of the ledger's rows: by model and by UTC day, or grouped --by "
        "any of " + ", ".join(DIMENSIONS) + ". Never creates a ledger.",
    )
    add_db_argument(p)
    add_filter_arguments(p)
    p.add_argument("--by", metavar="FIELD,...", help="group by " + ", ".join(DIMENSIONS))
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object")
    out.add_argument("--csv", action="store_true", help="one CSV line per group")
    p.set_defaults(func=run)
    return p


def parse_by(text: str | None) -> list[str]:
    if not text:
        return []
    by = [part.strip() for part in text.split(",") if part.strip()]
    for dim in by:
        if dim not in DIMENSIONS:
            raise CommandError(f"--by {dim!r}: one of {', '.join(DIMENSIONS)}")
    return list(dict.fromkeys(by))


def run(args: argparse.Namespace) -> int:
    from sseusage_fast.reporting import build_report, flagged_rows, format_csv, format_report

    by = parse_by(args.by)
    if args.csv and not by:
        by = ["model"]
    filters = filters_from(args)
    with open_for_reading(args.db) as reader:
        result = build_report(reader, filters, by)
        flagged = flagged_rows(reader, filters, FLAGGED_LISTED) if args.flagged else []
    if args.json:
        if args.flagged:
            result["flagged_rows"] = flagged
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    elif args.csv:
        sys.stdout.write(format_csv(result, by))
    else:
        sys.stdout.write(format_report(result, by, flagged[:FLAGGED_SHOWN]))
    return 0
