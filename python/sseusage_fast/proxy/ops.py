"""The proxy's own endpoints under `/_sseusage/`: never forwarded, never a ledger row.

- `health`: liveness (200 while the process serves); `health?ready` is readiness: 503 when the
  ledger cannot take rows (its writer stopped, its spool failing). Both say the ledger's state.
- `metrics`: Prometheus text.
Everything but `health` needs `Authorization: Bearer <admin token>`, unless the proxy listens
on loopback only.
"""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from sseusage_fast.proxy.config import OPS_PREFIX
from sseusage_fast.proxy.metrics import CONTENT_TYPE, ledger_health
from sseusage_fast.proxy.relay import http_date

if TYPE_CHECKING:
    from sseusage_fast.proxy.app import Proxy


def is_ops_path(path: str) -> bool:
    return path == OPS_PREFIX or path.startswith(OPS_PREFIX + "/")


async def _answer(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"date", http_date().encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, payload: dict[str, Any]) -> None:
    await _answer(send, status, json.dumps(payload).encode(), "application/json")


def authorized(proxy: Proxy, scope: Scope) -> tuple[bool, str]:
    if proxy.loopback_only:
        return True, ""
    token = proxy.config.admin_token
    if not token:
        return False, "set an admin token ([admin] token or SSEUSAGE_ADMIN_TOKEN)"
    for name, value in scope["headers"]:
        if name.lower() == b"authorization":
            scheme, _, given = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), token.encode()
            ):
                return True, ""
    return False, "needs Authorization: Bearer <admin token>"


async def handle_ops(proxy: Proxy, scope: Scope, receive: Receive, send: Send) -> None:
    path = scope["path"][len(OPS_PREFIX) :].strip("/")
    method = scope["method"]
    if method not in ("GET", "HEAD"):
        await _json(send, 405, {"error": "the proxy's own endpoints answer GET only"})
        return
    if path == "health":
        state = ledger_health(proxy.ledger)
        state["in_flight"] = proxy.in_flight
        ready = bool(state.get("ready", True))
        wants_ready = b"ready" in scope.get("query_string", b"")
        status = 503 if wants_ready and not ready else 200
        await _json(send, status, {"status": "ok" if ready else "degraded", **state})
        return
    allowed, why = authorized(proxy, scope)
    if not allowed:
        await _json(send, 401, {"error": why})
        return
    if path == "metrics":
        await _answer(send, 200, proxy.metrics.render(), CONTENT_TYPE)
        return
    if path == "dashboard" and proxy.ledger is not None:
        await _dashboard(proxy, scope, send)
        return
    await _json(send, 404, {"error": f"no such endpoint: {OPS_PREFIX}/{path}"})


async def _dashboard(proxy: Proxy, scope: Scope, send: Send) -> None:
    """The spend page of `sseusage dashboard`, for this proxy's ledger and budgets (read in a
    worker thread: the page queries the database)."""
    import anyio

    from sseusage_fast.dashboard.server import ledger_dsn, respond

    budgets = proxy.config.budgets
    query = scope.get("query_string", b"").decode("latin-1")
    status, headers, body = await anyio.to_thread.run_sync(
        lambda: respond(ledger_dsn(proxy.ledger), query, budgets=budgets)
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers]
            + [(b"content-length", str(len(body)).encode()), (b"date", http_date().encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
