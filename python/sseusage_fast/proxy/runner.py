"""Run the proxy under uvicorn, with the ledger opened before and closed after."""

from __future__ import annotations

import logging
import math
import signal
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

from sseusage_fast.ledger import Ledger, open_ledger
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
    `config.drain_timeout`), every row is written, and the function returns normally."""
    import uvicorn

    ledger = open_ledger(db, spool=spool)
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
        keep_estimator(ledger)
        ledger.close()
        log.info("ledger closed")


def _drained(signum: int, frame: FrameType | None) -> None:
    log.info("shut down on %s", signal.Signals(signum).name)


def keep_estimator(ledger: Ledger) -> None:
    """Store what the process's estimator learned in the ledger, for `backfill` to use."""
    from sseusage_fast.estimate import default_estimator
    from sseusage_fast.ledger.base import SQLLedger
    from sseusage_fast.ledger.estimator_store import save_estimator

    if not isinstance(ledger, SQLLedger):
        return
    try:
        save_estimator(ledger, default_estimator())
    except Exception as exc:  # noqa: BLE001 - a lost calibration must not fail the shutdown
        log.warning("estimator state not kept in the ledger: %s", exc)
