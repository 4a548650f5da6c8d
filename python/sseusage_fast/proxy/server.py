"""The HTTP server under the proxy: uvicorn, with what it lacks against hostile clients.

- A header deadline: uvicorn times out idle keep-alive connections, but a client that sends
  its request headers a byte at a time (slowloris) holds a connection for ever. Each
  connection's protocol here closes it when a request's headers are not complete in time.
- Out of file descriptors, asyncio logs every failed accept with a traceback (hundreds of MB
  a minute under load): one line per interval instead, with the count.
- The server adds no `Date` or `Server` header: the upstream's pass through once (the proxy's
  own answers carry a Date of their own).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sseusage_fast.proxy.config import ProxyConfig
from sseusage_fast.proxy.relay import UpstreamCut

log = logging.getLogger("sseusage_fast.proxy")


def _with_header_deadline(base: type[Any], seconds: float) -> type[Any]:
    """`base` (a uvicorn HTTP protocol class) that closes a connection whose request headers
    do not arrive within `seconds` of the connection, of the end of the previous response, or
    of the first byte after an idle spell."""

    class HeaderDeadline(base):  # type: ignore[misc, valid-type]
        _deadline: asyncio.TimerHandle | None = None
        _armed_cycle: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not self._armed_cycle:
                self._disarm()  # a request's headers are in
            if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
                self._arm()  # the first bytes of the next request on this connection

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # The next request's first bytes may have come before this response ended.
            if not self.transport.is_closing():
                self._disarm()
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._armed_cycle = self.cycle
            self._deadline = asyncio.get_running_loop().call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            # Never cuts a request in progress: only a connection still waiting for headers.
            idle = self.cycle is None or self.cycle.response_complete
            if self.cycle is self._armed_cycle and idle and not self.transport.is_closing():
                self.transport.close()

    HeaderDeadline.__name__ = f"HeaderDeadline{base.__name__}"
    return HeaderDeadline


def http_protocol(config: ProxyConfig) -> type[Any]:
    """httptools when installed (uvicorn's `standard` extra), else h11, with the deadline."""
    try:
        import httptools  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base: type[Any] = HttpToolsProtocol
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol
    return _with_header_deadline(base, config.limits.header_timeout)


class RateLimitedAccept(logging.Filter):
    """asyncio's "socket.accept() out of system resource" at most once per `interval` s."""

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__()
        self.interval = interval
        self._last = -float("inf")
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "out of system resource" not in str(record.msg):
            return True
        now = time.monotonic()
        if now - self._last < self.interval:
            self._dropped += 1
            return False
        self._last = now
        record.msg = (
            "out of file descriptors: new connections wait (%d more such errors since the last "
            "line); raise `ulimit -n` or lower limits.max_connections"
        )
        record.args = (self._dropped,)
        record.exc_info = None
        record.exc_text = None
        self._dropped = 0
        return True


class OneLineCuts(logging.Filter):
    """uvicorn logs an exception that ends a response with its traceback: a cut upstream is
    expected, and says what happened in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, UpstreamCut):
            record.msg, record.args = "response cut short: %s", (str(exc),)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_ACCEPT_FILTER = RateLimitedAccept()
_CUT_FILTER = OneLineCuts()


def install_server_log_filters() -> None:
    """Idempotent."""
    for name, flt in (("asyncio", _ACCEPT_FILTER), ("uvicorn.error", _CUT_FILTER)):
        logger = logging.getLogger(name)
        if flt not in logger.filters:
            logger.addFilter(flt)


# The garbage collector's first threshold for the proxy process (Python's default: 700). At
# 1,000 streams (`bench_proxy.py --latency`, 2 runs each, interleaved, 2026-12-05 07:10-07:12
# UTC, load 4-5) the defaults spent 0.96-1.63 s per run in collections, 5-6 of them full ones
# pausing every stream for up to 131-206 ms; with 10,000 and the startup's objects frozen
# (`settle_gc`), 0.41-0.86 s, 2 full collections of at most 12-20 ms.
GC_THRESHOLD = 10_000


def settle_gc() -> None:
    """For a server process, once its startup is done: what exists now (modules, the price
    table, the app) lives as long as the process, so the collector stops scanning it
    (`gc.freeze`), and collects young objects less often."""
    import gc

    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, second, third)


def missing_speedups() -> list[str]:
    """Which of uvloop and httptools (the `proxy` extra installs both) this process lacks."""
    import importlib.util
    import sys

    missing = []
    if sys.platform != "win32" and importlib.util.find_spec("uvloop") is None:
        missing.append("uvloop")
    if importlib.util.find_spec("httptools") is None:
        missing.append("httptools")
    return missing


def speedups_note() -> str | None:
    """The line the proxy logs at startup when it runs without uvloop or httptools."""
    missing = missing_speedups()
    if not missing:
        return None
    what = {"uvloop": "uvloop (the event loop is asyncio's)", "httptools": "httptools (h11 parses)"}
    return (
        f"running without {' and '.join(what[m] for m in missing)}: at a few hundred concurrent "
        "streams the event loop saturates and every event waits; "
        'pip install "sseusage-fast[proxy]" installs both'
    )


def uvicorn_options(config: ProxyConfig) -> dict[str, Any]:
    """What `uvicorn.Config` needs for this proxy, besides the app and the socket."""
    import importlib.util

    install_server_log_filters()
    options: dict[str, Any] = {
        "http": http_protocol(config),
        "server_header": False,
        "date_header": False,
        # Beyond this many connections (and requests) at once, uvicorn answers 503 at once.
        "limit_concurrency": config.limits.max_connections,
        "backlog": 2048,
        # uvicorn's access log would print query strings, where Gemini keys travel (?key=).
        "access_log": False,
        "lifespan": "on",
    }
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    return options
