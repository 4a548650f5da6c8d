"""`sseusage backfill`: fill the flagged rows from a billing export, or re-estimate them."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from sseusage_fast.cli.common import CommandError, add_db_argument, open_for_reading

# Lines listed one by one before the rest is only counted.
SHOWN = 20


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "backfill",
        help="fill flagged ledger rows from a billing export, or re-estimate them",
        description="Only rows flagged for review change (unless --overwrite). Every line "
        "of the CSV is checked before any row is written. Filled rows keep how (source) "
        "and when (backfilled_at).",
    )
    add_db_argument(p)
    p.add_argument(
        "--billing-csv",
        metavar="FILE",
        help="columns request_id and any of input_tokens, output_tokens, "
        "cache_creation_input_tokens, cache_read_input_tokens",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="also replace the figures of rows that were not flagged (the provider's own)",
    )
    p.add_argument(
        "--estimator",
        metavar="FILE",
        help="a saved Estimator state (JSON); default: the one the proxy kept in the ledger",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from sseusage_fast.backfill import (
        BackfillError,
        backfill_from_csv,
        read_billing_csv,
        reestimate,
    )

    out = sys.stdout
    lines = None
    if args.billing_csv is not None:
        try:
            lines = read_billing_csv(args.billing_csv)  # checked whole before the ledger opens
        except BackfillError as exc:
            raise CommandError(str(exc)) from None
    estimator = None
    if args.estimator is not None:
        from sseusage_fast.estimate import Estimator

        try:
            estimator = Estimator.load(args.estimator)
        except (OSError, ValueError) as exc:
            raise CommandError(f"{args.estimator}: not a saved estimator ({exc})") from None
    verb = "would fill" if args.dry_run else "filled"
    with open_for_reading(args.db, write=True) as reader:
        if lines is not None:
            result = backfill_from_csv(
                reader, lines, overwrite=args.overwrite, dry_run=args.dry_run
            )
            _list(out, result.changes, verb)
            for line in result.not_flagged[:SHOWN]:
                out.write(
                    f"line {line.line}: request {line.request_id!r} was not flagged: left "
                    "alone (its figures are the provider's; --overwrite replaces them)\n"
                )
            _more(out, len(result.not_flagged))
            out.write(
                f"billing CSV: {len(result.changes)} row(s) {verb}, {result.unchanged} already "
                f"up to date, {len(result.not_flagged)} not flagged and left alone, "
                f"{len(result.unmatched)} request id(s) not in the ledger\n"
            )
            return 0
        result = reestimate(reader, estimator, dry_run=args.dry_run)
        _list(out, result.changes, verb)
        out.write(
            f"re-estimated: {len(result.changes)} row(s) {verb}, {result.unchanged} unchanged, "
            f"{result.skipped} flagged row(s) without kept bodies (run the proxy with "
            "--keep-flagged-bodies to make them re-estimable)\n"
        )
    return 0


def _list(out: TextIO, changes: Any, verb: str) -> None:
    from sseusage_fast.reporting import term_safe

    for change in changes[:SHOWN]:
        what = ", ".join(
            f"{k} {change.before[k]} -> {v}"
            for k, v in change.after.items()
            if k not in ("estimated", "source", "cost_usd", "requires_manual_review")
        )
        where = f"line {change.line}: " if change.line is not None else ""
        out.write(term_safe(f"{where}{verb} row {change.row_id} ({change.request_id}): {what}"))
        out.write("\n")
    _more(out, len(changes))


def _more(out: TextIO, total: int) -> None:
    if total > SHOWN:
        out.write(f"... and {total - SHOWN} more\n")
