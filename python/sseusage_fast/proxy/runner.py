"""Run the proxy under uvicorn: the port bound first, then the ledger opened, then served; the
ledger closed after. Every expected failure is a `StartupError` with one line to print."""

from __future__ import annotations

import errno
import functools
import ipaddress
import logging
import math
import signal
import socket
from types import FrameType
from typing import Any

from sseusage_fast.ledger import Ledger, open_ledger
from sseusage_fast.ledger.reader import redact
from sseusage_fast.proxy.config import ProxyConfig

log = logging.getLogger("sseusage_fast.proxy")


class StartupError(Exception):
    """The proxy cannot start; the message says why in one line."""


def is_loopback(host: str) -> bool:
    """True when `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (not yet listening), or StartupError saying why not."""
    if not 0 < port < 65536:
        raise StartupError(f"port must be 1-65535, not {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} on {host} is already in use") from None
        if exc.errno == errno.EACCES:
            raise StartupError(f"not allowed to listen on port {port} (below 1024?)") from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def run(
    config: ProxyConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8787,
    db: str = "sseusage.db",
    log_level: str = "info",
    spool: str | bool = True,
    workers: int = 1,
) -> None:
    """Serve until SIGTERM or SIGINT, then drain: in-flight streams finish (up to
    `config.drain_timeout`), every row is written, and the function returns normally.
    Raises StartupError (and creates no ledger) when the routes, the port or the ledger
    cannot work. Rows that neither the database nor the spool could take at the end are
    printed to stderr as JSON lines, and the function raises SystemExit(3).

    With `workers` > 1, that many forked processes serve the one bound socket, each with its
    own ledger writer and spool (see `proxy/workers.py`)."""
    try:
        config.all_routes()
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    sock = bind(host, port)
    if workers <= 1:
        try:
            serve_on(sock, config, host=host, port=port, db=db, log_level=log_level, spool=spool)
        finally:
            sock.close()
        return
    from sseusage_fast.proxy.workers import supervise

    try:
        # Said once, before any fork: a ledger that cannot open, and its schema made once.
        _open(db, spool).close()
        log.info("%d worker processes on http://%s:%d", workers, host, port)
        code = supervise(
            workers,
            lambda: serve_on(
                sock, config, host=host, port=port, db=db, log_level=log_level, spool=spool
            ),
        )
    finally:
        sock.close()
    if code:
        raise SystemExit(code)


def _open(db: str, spool: str | bool) -> Ledger:
    try:
        return open_ledger(db, spool=spool)
    except Exception as exc:  # noqa: BLE001 - any failure to open is said in one line
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise StartupError(f"cannot open the ledger {redact(db)}: {detail}") from None


def serve_on(
    sock: socket.socket,
    config: ProxyConfig,
    *,
    host: str,
    port: int,
    db: str,
    log_level: str,
    spool: str | bool,
) -> None:
    """One server process on a bound socket: the ledger opened, served until a signal, drained,
    the ledger closed (SystemExit(3) when rows went to stderr). The socket stays open."""
    import uvicorn

    from sseusage_fast.proxy.app import create_app
    from sseusage_fast.proxy.server import settle_gc, speedups_note, uvicorn_options

    try:
        routes = config.all_routes()
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    ledger = _open(db, spool)
    restore_estimator(ledger)
    health: dict[str, Any] | None = None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    app = None
    try:
        app = create_app(config, ledger, loopback_only=is_loopback(host))
        for route in routes:
            log.info(
                "route %s -> %s (%s%s)",
                route.prefix or "/",
                route.upstream,
                route.provider,
                ", ensure_usage" if route.ensure_usage else "",
            )
        log.info("metering proxy on http://%s:%d, ledger %s", host, port, redact(db))
        note = speedups_note()
        if note is not None:
            log.warning("%s", note)
        if config.meter:
            app.state.proxy.coster.load()  # now, to be frozen with the rest
        settle_gc()
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level=log_level,
                log_config=None,
                timeout_graceful_shutdown=math.ceil(config.drain_timeout),
                **uvicorn_options(config),
            )
        )
        # uvicorn handles the signal (graceful shutdown), then raises it again once done so
        # that the process dies of it; this handler underneath lets the ledger close and the
        # process exit 0 instead. A signal that comes before uvicorn has taken its handlers
        # over (a supervisor stopping a worker still starting) is not lost: the server stops
        # as soon as its startup is done.
        for sig in previous:
            signal.signal(sig, functools.partial(_drained, server))
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if app is not None:
            # Rows still waiting for their batch when a forced exit skipped the app's shutdown.
            app.state.proxy.write_pending_rows()
        keep_estimator(ledger)
        health = ledger.close()
        log.info("ledger closed")
    if health and health.get("stderr_rows"):
        # Neither the database nor the spool took them: they are on stderr as JSON lines.
        count = health["stderr_rows"]
        log.error("%d ledger rows written to stderr; exiting with status 3", count)
        raise SystemExit(3)


def _drained(server: Any, signum: int, frame: FrameType | None) -> None:
    server.should_exit = True
    log.info("shut down on %s", signal.Signals(signum).name)


def restore_estimator(ledger: Ledger) -> None:
    """Give the process's estimator what an earlier run of the proxy learned (kept in the
    ledger by `keep_estimator`), so estimates do not start from the defaults again."""
    from sseusage_fast.estimate import default_estimator
    from sseusage_fast.ledger.base import SQLLedger
    from sseusage_fast.ledger.estimator_store import load_saved_estimator

    if not isinstance(ledger, SQLLedger):
        return
    try:
        saved = load_saved_estimator(ledger)
    except Exception as exc:  # noqa: BLE001 - a lost calibration must not stop the start
        log.warning("estimator state in the ledger not restored: %s", exc)
        return
    if saved is not None:
        default_estimator().merge(saved)
        log.info("estimator restored from the ledger: %d samples learned", saved.learned)


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
