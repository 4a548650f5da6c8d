"""Serving the dashboard: `respond()` answers one request (any server can call it: the proxy
mounts it under its admin prefix), `serve()` runs it on http.server (standard library only, so
the base install serves it)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sseusage_fast.dashboard.page import CSP, render_page
from sseusage_fast.ledger.reader import LedgerUnavailable, open_reader
from sseusage_fast.proxy.config import Budget
from sseusage_fast.query import Filters, parse_when

log = logging.getLogger("sseusage_fast.dashboard")

Response = tuple[int, list[tuple[str, str]], bytes]


def _headers(content_type: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", content_type),
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]


def ledger_dsn(ledger: object) -> str:
    """The DSN of an open `Ledger` (a proxy's), for `respond`."""
    dsn = getattr(ledger, "dsn", None) or getattr(ledger, "path", None)
    if not isinstance(dsn, str):
        raise TypeError(f"not a ledger with a DSN: {type(ledger).__name__}")
    return dsn


def respond(db: str, query: str = "", *, budgets: Sequence[Budget] | None = None) -> Response:
    """The page for `db` (status, headers, body): what a server returns for GET. `query` may
    hold `since`/`until` (as the report's options) and `model`, `provider`, `key`, `tag`,
    `user` filters. The proxy mounts it as `respond(ledger_dsn(ledger), query)` behind its
    admin token; the page refers to nothing else, so any path prefix works."""
    params = parse_qs(query)
    try:
        since = params.get("since", [None])[0]
        until = params.get("until", [None])[0]
        filters = Filters(
            since=parse_when(since) if since else None,
            until=parse_when(until, end=True) if until else None,
            models=tuple(params.get("model", ())),
            providers=tuple(params.get("provider", ())),
            keys=tuple(params.get("key", ())),
            tags=tuple(params.get("tag", ())),
            users=tuple(params.get("user", ())),
        )
    except ValueError as exc:
        return 400, _headers("text/plain; charset=utf-8"), f"{exc}\n".encode()
    try:
        reader = open_reader(db)
    except LedgerUnavailable as exc:
        return 503, _headers("text/plain; charset=utf-8"), f"{exc}\n".encode()
    try:
        html = render_page(reader, filters=filters, budgets=budgets)
    finally:
        reader.close()
    return 200, _headers("text/html; charset=utf-8"), html.encode()


def serve(
    db: str, *, host: str = "127.0.0.1", port: int = 8788, budgets: Sequence[Budget] | None = None
) -> ThreadingHTTPServer:
    """A bound server (not yet serving: call `serve_forever()`); port 0 picks a free one."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "sseusage-dashboard"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path not in ("/", "/index.html"):
                self._send(404, _headers("text/plain; charset=utf-8"), b"not found\n")
                return
            try:
                self._send(*respond(db, parts.query, budgets=budgets))
            except Exception:
                log.exception("dashboard page failed")
                self._send(500, _headers("text/plain; charset=utf-8"), b"page failed\n")

        def do_HEAD(self) -> None:
            self.do_GET()

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
