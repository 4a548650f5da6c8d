"""Run the proxy under uvicorn, with the ledger opened before and closed after."""

from __future__ import annotations

import logging
import math
import signal
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sseusage_fast.ledger import open_ledger
from sseusage_fast.proxy.app import create_app
from sseusage_fast.proxy.config import ProxyConfig

log = logging.getLogger("sseusage_fast.proxy")


def redact_dsn(dsn: str) -> str:
    """The DSN without its password, for logs."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def run(
    config: ProxyConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8787,
    db: str = "sseusage.db",
    log_level: str = "info",
    spool: str | bool = True,
) -> None:
    """Serve until SIGTERM or SIGINT, then drain: in-flight streams finish (up to
    `config.drain_timeout`), every row is written (database or spool, within a bounded time),
    and the function returns normally. Rows that neither could take are printed to stderr as
    JSON lines, and the function raises SystemExit(3)."""
    import uvicorn

    ledger = open_ledger(db, spool=spool)
    health: dict[str, Any] | None = None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    app = None
    try:
        app = create_app(config, ledger)
        log.info(
            "metering proxy on http://%s:%d -> %s, ledger %s",
            host,
            port,
            config.upstream,
            redact_dsn(db),
        )
        # uvicorn handles the signal (graceful shutdown), then raises it again once done so
        # that the process dies of it; a no-op handler underneath lets the ledger close and
        # the process exit 0 instead.
        for sig in previous:
            signal.signal(sig, _drained)
        # uvicorn's access log would print query strings, where Gemini keys travel (?key=).
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=math.ceil(config.drain_timeout),
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if app is not None:
            # Rows still waiting for their batch when a forced exit skipped the app's shutdown.
            app.state.proxy.write_pending_rows()
        health = ledger.close()
        log.info("ledger closed")
    if health and health.get("stderr_rows"):
        # Neither the database nor the spool took them: they are on stderr as JSON lines.
        count = health["stderr_rows"]
        log.error("%d ledger rows written to stderr; exiting with status 3", count)
        raise SystemExit(3)


def _drained(signum: int, frame: FrameType | None) -> None:
    log.info("shut down on %s", signal.Signals(signum).name)
