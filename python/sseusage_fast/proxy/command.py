"""`sseusage proxy`: its arguments and its start, for the command line to call. Imports
nothing from the `proxy` extra until it runs, so that a missing extra is one clear line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

DESCRIPTION = (
    "Forward every request to its route's upstream (or --upstream) unchanged, streams "
    "included, and record one ledger row per request. Settings from --config FILE (TOML), "
    "SSEUSAGE_* variables and these flags, later ones winning."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Every flag defaults to None: unset flags leave the config file's and environment's
    settings (SSEUSAGE_<NAME>) in place; see `settings.py`."""
    from sseusage_fast.ledger.writer import RowWriter

    p.add_argument(
        "--config",
        metavar="FILE",
        help="TOML: db, [admin] token, [[route]], [[budget]], [limits], [logging] "
        "(also SSEUSAGE_CONFIG)",
    )
    p.add_argument("--upstream", help="one upstream for every path, e.g. https://api.anthropic.com")
    p.add_argument("--host", help="default: 127.0.0.1")
    p.add_argument("--port", type=int, help="default: 8787")
    p.add_argument(
        "--db",
        help="ledger: a file path, sqlite:///path or postgresql://... (default: sseusage.db)",
    )
    p.add_argument("--connect-timeout", type=float, help="seconds (default: 10)")
    p.add_argument(
        "--read-timeout", type=float, help="seconds between two reads from the upstream (600)"
    )
    p.add_argument("--write-timeout", type=float, help="seconds (default: 60)")
    p.add_argument(
        "--pool-timeout", type=float, help="seconds to wait for a free upstream connection (30)"
    )
    p.add_argument(
        "--drain-timeout",
        type=float,
        help="on SIGTERM/SIGINT, seconds in-flight streams get to finish (default: 300)",
    )
    p.add_argument("--max-body-bytes", type=int, help="larger request bodies get 413 (32 MiB)")
    p.add_argument(
        "--max-connections", type=int, help="client connections at once; beyond, 503 (4096)"
    )
    spool = p.add_mutually_exclusive_group()
    spool.add_argument(
        "--spool",
        metavar="FILE",
        help="where rows wait while the ledger database is unavailable (JSON lines; default: "
        "next to a SQLite file, or under $XDG_STATE_HOME/sseusage for PostgreSQL)",
    )
    spool.add_argument(
        "--no-spool",
        action="store_true",
        help=f"no spool file: while the database is down, rows wait in memory (up to "
        f"{RowWriter.queue_limit:,}; beyond that, and any still waiting at exit, go to stderr "
        "as JSON lines, and the exit status is 3)",
    )
    p.add_argument(
        "--keep-flagged-bodies",
        action="store_true",
        default=None,
        help="store request and response bodies of flagged requests so that "
        "`backfill` can re-estimate them (bodies may hold sensitive data)",
    )
    p.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="debug also logs every stream event, truncated (default: info)",
    )
    p.add_argument("--log-format", choices=["text", "json"], help="default: text")
    p.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port, each with its own ledger writer (default: 1)",
    )


def run_command(args: argparse.Namespace) -> int:
    """Start the proxy from parsed arguments; 0 after a clean shutdown, 2 when it cannot
    start (one line on stderr, never a traceback)."""
    try:
        from sseusage_fast.proxy.config import ConfigError
        from sseusage_fast.proxy.settings import load_settings
    except ImportError as exc:  # pragma: no cover - the stdlib only
        return _fail(str(exc))
    flags: dict[str, Any] = {
        name: getattr(args, name, None)
        for name in (
            "config",
            "upstream",
            "host",
            "port",
            "db",
            "connect_timeout",
            "read_timeout",
            "write_timeout",
            "pool_timeout",
            "drain_timeout",
            "max_body_bytes",
            "max_connections",
            "spool",
            "keep_flagged_bodies",
            "log_level",
            "log_format",
            "workers",
        )
    }
    if getattr(args, "no_spool", False):
        flags["spool"] = "false"
    try:
        config, serve = load_settings(flags)
    except ConfigError as exc:
        return _fail(str(exc))
    try:
        from sseusage_fast.proxy.logs import setup_logging
        from sseusage_fast.proxy.runner import StartupError, run
    except ImportError as exc:
        return _fail(f"needs the proxy extra: pip install 'sseusage-fast[proxy]' ({exc})")
    setup_logging(serve.log_level, serve.log_format)
    try:
        run(
            config,
            host=serve.host,
            port=serve.port,
            db=serve.db,
            log_level=serve.log_level,
            spool=serve.spool,
            workers=serve.workers,
        )
    except StartupError as exc:
        return _fail(str(exc))
    return 0


def _fail(message: str) -> int:
    sys.stderr.write(f"sseusage proxy: {message}\n")
    return 2
