"""`sseusage reconcile`: the ledger against the provider's usage report.

Exit status: 0 every line within tolerance, 1 some line out of it (cron can alert on that),
2 it could not run (no ledger, no admin key, the API refused, a bad file or option).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sseusage_fast.cli.common import (
    add_db_argument,
    add_window_arguments,
    fail,
    window_from,
)
from sseusage_fast.reconcile.match import DEFAULT_MIN_TOKENS


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "reconcile",
        help="the ledger against the provider's usage report",
        description="Compare the ledger's tokens per time bucket with the provider's usage "
        "report (Anthropic Admin API or OpenAI organization usage API). The admin key comes "
        "from ANTHROPIC_ADMIN_API_KEY / OPENAI_ADMIN_KEY. Exit 1 when a line is out of "
        "tolerance.",
    )
    add_db_argument(p)
    p.add_argument("--provider", required=True, choices=["anthropic", "openai"])
    # As the report's: a date --until includes that day; both are floored to --bucket.
    add_window_arguments(p, since_default="7d")
    p.add_argument("--bucket", default="1d", choices=["1d", "1h", "1m"], help="(default 1d)")
    p.add_argument(
        "--model", action="append", default=[], help="only this model, both sides (repeatable)"
    )
    p.add_argument(
        "--by", default="model", help="comma list of model, key, service_tier (default model)"
    )
    p.add_argument(
        "--tolerance", default="1", metavar="PCT", help="allowed drift in percent (default 1)"
    )
    p.add_argument(
        "--min-tokens",
        type=int,
        default=DEFAULT_MIN_TOKENS,
        metavar="N",
        help="a line whose tokens differ by at most N is within tolerance, whatever its share "
        "(default %(default)s)",
    )
    p.add_argument(
        "--count-at",
        default="end",
        choices=["end", "start"],
        help="which bucket a ledger row counts in: its request's end (default) or start",
    )
    p.add_argument("--api-base", metavar="URL", help="another host for the usage API")
    p.add_argument("--from-file", metavar="F", help="a usage report saved earlier (JSON)")
    p.add_argument(
        "--key-map",
        metavar="FILE",
        help='JSON {"<provider API key id>": "<ledger key fingerprint>"}; implies --by key',
    )
    p.add_argument(
        "--cost-report",
        action="store_true",
        help="anthropic, daily: also read the cost report (what was billed, in USD)",
    )
    p.add_argument("--cost-file", metavar="F", help="a cost report saved earlier (JSON)")
    p.add_argument(
        "--include-batch",
        action="store_true",
        help="also compare Batch API usage (never metered by the proxy; left out by default)",
    )
    p.add_argument("--no-store", action="store_true", help="do not keep this result")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    p.set_defaults(func=run)
    return p


def _fail(message: str) -> int:
    return fail("reconcile", message)


def _key_map(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{path}: expected a JSON object of API key id -> key fingerprint")
    return data


def run(args: argparse.Namespace) -> int:
    from sseusage_fast.ledger.reader import LedgerUnavailable
    from sseusage_fast.reconcile import output
    from sseusage_fast.reconcile.buckets import floor
    from sseusage_fast.reconcile.fetch import ProviderError
    from sseusage_fast.reconcile.report import api_for
    from sseusage_fast.reconcile.run import Options, reconcile
    from sseusage_fast.reconcile.totals import DIMENSIONS

    start, end = window_from(args)  # a bad one: CommandError, status 2
    now = datetime.now(timezone.utc)
    since = floor(start or now, args.bucket)
    until = floor(end or now, args.bucket)
    if args.min_tokens < 0:
        return _fail(f"--min-tokens must be 0 or more, not {args.min_tokens}")
    try:
        tolerance = Decimal(args.tolerance)
        if not tolerance.is_finite() or tolerance < 0:
            raise ValueError(f"--tolerance must be a percentage >= 0, not {args.tolerance}")
        by = [name.strip() for name in args.by.split(",") if name.strip()]
        unknown = set(by) - set(DIMENSIONS)
        if unknown:
            raise ValueError(f"--by takes {', '.join(DIMENSIONS)}, not {', '.join(unknown)}")
        key_map = _key_map(args.key_map) if args.key_map else None
    except (ValueError, InvalidOperation, OSError) as exc:
        return _fail(str(exc))
    if key_map is not None and "key" not in by:
        by.append("key")
    if "key" in by and key_map is None:
        return _fail("--by key needs --key-map (provider API key ids -> ledger fingerprints)")
    costs = args.cost_report or args.cost_file
    if costs and (args.provider != "anthropic" or args.bucket != "1d" or "key" in by):
        return _fail(
            "the cost report is Anthropic's, daily, and not split by API key: use it with "
            "--provider anthropic --bucket 1d and without key grouping"
        )
    if since >= until:
        return _fail(f"empty window: --since {since:%Y-%m-%dT%H:%MZ} is not before --until")
    api = api_for(args.provider)
    options = Options(
        db=args.db,
        provider=args.provider,
        since=since,
        until=until,
        width=args.bucket,
        by=tuple(name for name in DIMENSIONS if name in by),
        tolerance_pct=tolerance,
        min_tokens=args.min_tokens,
        models=tuple(args.model),
        count_at=args.count_at,
        api_base=args.api_base,
        from_file=args.from_file,
        key_map=key_map,
        store=not args.no_store,
        cost_report=args.cost_report,
        cost_file=args.cost_file,
        include_batch=args.include_batch,
    )
    try:
        result = reconcile(options, admin_key=os.environ.get(api.ENV_VAR) or None)
    except LedgerUnavailable as exc:
        return _fail(f"{exc} (reconcile reads a ledger, it never creates one)")
    except ProviderError as exc:
        return _fail(f"the usage report could not be read: {exc}")
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - a database that refuses: one line, not a trace
        return _fail(f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    if args.json:
        sys.stdout.write(output.as_json(result.to_dict()))
    elif args.csv:
        sys.stdout.write(output.as_csv(result.lines, options.by))
    else:
        header = (
            f"{args.provider} usage {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC, "
            f"{args.bucket} buckets, ledger rows counted at request {args.count_at}, "
            f"tolerance {tolerance}% or {args.min_tokens} tokens: "
            f"{result.out_of_tolerance} of {len(result.lines)} "
            "lines out of tolerance"
        )
        sys.stdout.write(output.as_table(result.lines, options.by, header))
    return 0 if result.ok else 1
