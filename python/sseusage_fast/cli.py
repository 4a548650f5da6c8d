"""The `sseusage` command line: `inspect`, and `proxy`, `report`, `backfill` from cli_ledger."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

LEDGER_COMMANDS = {
    "proxy": "run a metering reverse proxy in front of a provider API",
    "report": "token and cost totals from a ledger",
    "backfill": "fill flagged ledger rows from a billing export, or re-estimate them",
}


def _version() -> str:
    from . import BACKEND, __version__

    return f"sseusage {__version__} ({BACKEND} backend)"


def _unavailable(name: str, reason: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        sys.stderr.write(f"sseusage {name}: not available in this install ({reason})\n")
        return 2

    return handler


def _add_ledger_commands(subparsers: Any) -> None:
    """Register proxy/report/backfill; if cli_ledger cannot be imported, stubs that say why."""
    try:
        from .cli_ledger import add_backfill_parser, add_proxy_parser, add_report_parser

        adders = (add_proxy_parser, add_report_parser, add_backfill_parser)
    except Exception as exc:  # noqa: BLE001 - a broken cli_ledger must not take `inspect` down
        reason = f"sseusage_fast.cli_ledger failed to import: {type(exc).__name__}: {exc}"
        for name, help_text in LEDGER_COMMANDS.items():
            p = subparsers.add_parser(name, help=f"{help_text} (unavailable)", add_help=False)
            p.set_defaults(func=_unavailable(name, reason), accepts_any=True)
        return
    for add in adders:
        add(subparsers)


def build_parser() -> argparse.ArgumentParser:
    from .inspect_cmd import add_inspect_parser

    parser = argparse.ArgumentParser(
        prog="sseusage",
        description="Token usage from LLM event streams: inspect captures, meter traffic, "
        "report totals.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_inspect_parser(subparsers)
    _add_ledger_commands(subparsers)
    from .reconcile.cli import add_reconcile_parser

    add_reconcile_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "accepts_any", False):
            parser.parse_args(argv)  # the usual "unrecognized arguments" error
    except SystemExit as exc:  # --help, --version, usage errors: return the code, not raise
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `sseusage inspect x | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
