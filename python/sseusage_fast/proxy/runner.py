"""Run the proxy under uvicorn, with the ledger opened before and closed after."""

from __future__ import annotations

import logging
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
) -> None:
    import uvicorn

    ledger = open_ledger(db)
    try:
        app = create_app(config, ledger)
        log.info(
            "metering proxy on http://%s:%d -> %s, ledger %s",
            host,
            port,
            config.upstream,
            redact_dsn(db),
        )
        # uvicorn's access log would print query strings, where Gemini keys travel (?key=).
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        ledger.close()
