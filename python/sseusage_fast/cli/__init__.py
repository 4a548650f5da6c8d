"""The `sseusage` command line: one module per command, registered here.

A command whose module fails to import (a broken install) is registered as a stub that says
why, so the others still work.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

# Command -> (module under sseusage_fast.cli, help when the module cannot be imported).
COMMANDS = {
    "inspect": "show the events, the usage record and a diagnosis of a captured stream",
    "proxy": "run a metering reverse proxy in front of a provider API",
    "report": "token and cost totals from a ledger",
    "export": "the ledger's rows as CSV or JSON lines",
    "backfill": "fill flagged ledger rows from a billing export, or re-estimate them",
    "dashboard": "serve a page of spend over time, by model, key and tag",
    "reconcile": "the ledger against the provider's own usage report",
}


def _version() -> str:
    from sseusage_fast import BACKEND, __version__

    return f"sseusage {__version__} ({BACKEND} backend)"


def _unavailable(name: str, reason: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        sys.stderr.write(f"sseusage {name}: not available in this install ({reason})\n")
        return 2

    return handler


def _add_command(subparsers: Any, name: str, help_text: str) -> None:
    module_name = f"sseusage_fast.cli.{name}"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - one broken command must not take the others down
        reason = f"{module_name} failed to import: {type(exc).__name__}: {exc}"
        p = subparsers.add_parser(name, help=f"{help_text} (unavailable)", add_help=False)
        p.set_defaults(func=_unavailable(name, reason), accepts_any=True)
        return
    module.add_parser(subparsers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sseusage",
        description="Token usage from LLM event streams: inspect captures, meter traffic, "
        "report, export and look at spend.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        _add_command(subparsers, name, help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from sseusage_fast.cli.common import CommandError

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
    except CommandError as exc:
        sys.stderr.write(f"sseusage {args.command}: {exc}\n")
        return 2
    except BrokenPipeError:  # `sseusage export ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
