"""`sseusage dashboard`: the spend page, served on a local port by the standard library."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sseusage_fast.cli.common import CommandError, add_db_argument, open_for_reading


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "dashboard",
        help="serve a page of spend over time, by model, key and tag, and flagged rows",
        description="A page drawn on the server (SVG, no scripts, nothing loaded from "
        "elsewhere). Listens on loopback unless told otherwise.",
    )
    add_db_argument(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8788)
    p.add_argument(
        "--config", metavar="FILE", help="the proxy's config file, for its [[budget]] tables"
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from sseusage_fast.dashboard.server import serve
    from sseusage_fast.proxy.settings import budgets_in_file

    budgets = None
    if args.config:
        try:
            budgets = budgets_in_file(args.config)
        except ValueError as exc:  # ConfigError: names the file and the budget
            raise CommandError(str(exc)) from None
    open_for_reading(args.db).close()  # a bad --db fails now, not on the first page view
    try:
        server = serve(args.db, host=args.host, port=args.port, budgets=budgets)
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    port = server.server_address[1]
    sys.stderr.write(f"sseusage dashboard on http://{args.host}:{port}/ (Ctrl-C stops it)\n")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
