"""What the ledger commands share: `--db`, the row filters, and opening a ledger for reading
(one clear line and exit status 2 when it cannot be read, never a traceback)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from sseusage_fast.ledger.reader import LedgerReader, LedgerUnavailable, open_reader
from sseusage_fast.query import Filters, parse_when

DEFAULT_DB = "sseusage.db"


class CommandError(Exception):
    """A usage or input error: the message is printed as `sseusage CMD: message`, status 2."""


def add_db_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=DEFAULT_DB,
        help="ledger: a file path, sqlite:///path or postgresql://... (default: %(default)s)",
    )


def add_window_arguments(p: Any, *, since_default: str | None = None) -> None:
    """`--since` / `--until` on a parser or an argument group (see `window_from`)."""
    default = f" (default {since_default})" if since_default else ""
    p.add_argument(
        "--since",
        metavar="WHEN",
        default=since_default,
        help=f"from: 2026-05-04, 2026-05-04T12:00, 7d, 24h{default}",
    )
    p.add_argument("--until", metavar="WHEN", help="before (a date: up to the end of that day)")


def window_from(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    """The parsed `--since` / `--until` (None when not given); a bad one is a CommandError."""
    try:
        since = parse_when(args.since) if args.since else None
        until = parse_when(args.until, end=True) if args.until else None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return since, until


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("which rows")
    add_window_arguments(g)
    g.add_argument("--model", action="append", default=[], help="only this model (repeatable)")
    g.add_argument("--provider", action="append", default=[], help="only this provider")
    g.add_argument("--key", action="append", default=[], help="only this key fingerprint")
    g.add_argument("--tag", action="append", default=[], help="only rows with tag k=v (or k)")
    g.add_argument("--user", action="append", default=[], help="only this end user")
    g.add_argument("--flagged", action="store_true", help="only rows that need review")


def filters_from(args: argparse.Namespace) -> Filters:
    since, until = window_from(args)
    return Filters(
        since=since,
        until=until,
        models=tuple(args.model),
        providers=tuple(args.provider),
        keys=tuple(args.key),
        users=tuple(args.user),
        tags=tuple(args.tag),
        flagged=args.flagged,
    )


def open_for_reading(db: str, *, write: bool = False) -> LedgerReader:
    try:
        return open_reader(db, write=write)
    except LedgerUnavailable as exc:
        raise CommandError(str(exc)) from None


def fail(command: str, message: Any) -> int:
    sys.stderr.write(f"sseusage {command}: {message}\n")
    return 2
