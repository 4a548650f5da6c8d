"""The `proxy`, `report` and `backfill` subcommands of `sseusage` (registered by cli.py)."""

from __future__ import annotations

import argparse
from typing import Any

from sseusage_fast.proxy.command import DESCRIPTION, add_arguments, run_command

DEFAULT_DB = "sseusage.db"


def add_proxy_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "proxy",
        help="run a metering reverse proxy in front of a provider API",
        description=DESCRIPTION,
    )

    add_arguments(p)
    p.set_defaults(func=_run_proxy)
    return p


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "report", help="token and cost totals from a ledger, by model and by day"
    )
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=_run_report)
    return p


def add_backfill_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "backfill",
        help="fill flagged ledger rows from a billing export, or re-estimate them",
    )
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument(
        "--billing-csv",
        metavar="FILE",
        help="columns request_id,input_tokens,output_tokens,"
        "cache_creation_input_tokens,cache_read_input_tokens",
    )
    p.add_argument(
        "--estimator", metavar="FILE", help="a saved Estimator state (JSON) to re-estimate with"
    )
    p.set_defaults(func=_run_backfill)
    return p


def _run_proxy(args: argparse.Namespace) -> int:
    return run_command(args)


def _run_report(args: argparse.Namespace) -> int:
    from sseusage_fast.reporting import report

    return report(args.db, as_json=args.json)


def _run_backfill(args: argparse.Namespace) -> int:
    from sseusage_fast.reporting import backfill

    return backfill(args.db, billing_csv=args.billing_csv, estimator_path=args.estimator)
