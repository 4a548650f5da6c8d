"""`sseusage proxy`: its options and its start from the command line (the CLI registers them;
nothing here imports Starlette until the command runs)."""

from __future__ import annotations

import argparse
import logging
import sys

DEFAULT_DB = "sseusage.db"
DESCRIPTION = (
    "Forward every request to --upstream unchanged (streams included) and record one ledger "
    "row per request."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `sseusage proxy`."""
    p.add_argument("--upstream", required=True, help="e.g. https://api.anthropic.com")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787)
    p.add_argument(
        "--db",
        default=DEFAULT_DB,
        help="ledger: a file path, sqlite:///path or postgresql://... (default: %(default)s)",
    )
    p.add_argument("--connect-timeout", type=float, default=10.0, help="seconds (default: 10)")
    p.add_argument(
        "--read-timeout",
        type=float,
        default=600.0,
        help="seconds between two reads from the upstream (default: 600)",
    )
    p.add_argument("--write-timeout", type=float, default=60.0, help="seconds (default: 60)")
    p.add_argument(
        "--pool-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for a free upstream connection (default: 30)",
    )
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=300.0,
        help="on SIGTERM/SIGINT, seconds in-flight streams get to finish (default: 300)",
    )
    spool = p.add_mutually_exclusive_group()
    spool.add_argument(
        "--spool",
        metavar="FILE",
        help="where rows wait while the ledger database is unavailable (JSON lines; default: "
        "next to a SQLite file, or under $XDG_STATE_HOME/sseusage for PostgreSQL)",
    )
    spool.add_argument(
        "--no-spool", action="store_true", help="no spool: rows are lost if the database is down"
    )
    p.add_argument(
        "--keep-flagged-bodies",
        action="store_true",
        help="store request and response bodies of flagged requests so that "
        "`backfill` can re-estimate them (bodies may hold sensitive data)",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="debug also logs every stream event, truncated",
    )


def run_command(args: argparse.Namespace) -> int:
    """Start the proxy from parsed options; returns when it has drained."""
    try:
        from sseusage_fast.proxy import ProxyConfig, run
    except ImportError as exc:
        sys.stderr.write(
            f"sseusage proxy needs the proxy extra: pip install 'sseusage-fast[proxy]' ({exc})\n"
        )
        return 2
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = ProxyConfig(
        upstream=args.upstream,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        write_timeout=args.write_timeout,
        pool_timeout=args.pool_timeout,
        drain_timeout=args.drain_timeout,
        keep_flagged_bodies=args.keep_flagged_bodies,
    )
    spool: str | bool = False if args.no_spool else (args.spool or True)
    run(
        config,
        host=args.host,
        port=args.port,
        db=args.db,
        log_level=args.log_level,
        spool=spool,
    )
    return 0
