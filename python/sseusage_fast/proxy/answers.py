"""The proxy's own answers and the request body it reads: what a request gets before, or
instead of, the upstream (`app.py` relays; this module holds the pieces with no state)."""

from __future__ import annotations

import io

import anyio
from starlette.types import Message, Receive, Send

from sseusage_fast.proxy.config import Limits
from sseusage_fast.proxy.relay import http_date


class ClientGone(Exception):
    """The client went away before its request body was complete."""


class Refusal(Exception):
    """The request is answered by the proxy: args are (status, code, message)."""


async def read_body(receive: Receive, headers: dict[str, str], limits: Limits) -> bytes:
    """The whole request body, held once (a BytesIO hands its buffer over without a copy).
    Refusal for one over the size limit (said by Content-Length, or found while reading) or
    not complete within the body timeout."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise Refusal(413, "body_too_large", too_large(limits.max_body_bytes))
    buffer = io.BytesIO()
    with anyio.move_on_after(limits.body_timeout) as scope:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            if buffer.tell() + len(chunk) > limits.max_body_bytes:
                raise Refusal(413, "body_too_large", too_large(limits.max_body_bytes))
            buffer.write(chunk)
            if not message.get("more_body", False):
                break
    if scope.cancelled_caught:
        message_text = f"the request body did not arrive within {limits.body_timeout:g} s"
        raise Refusal(408, "body_timeout", message_text)
    return buffer.getvalue()


async def send_json(
    send: Send, status: int, payload: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A response of the proxy's own."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"date", http_date().encode()),
                *(headers or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def too_large(limit: int) -> str:
    return f"the request body is over this proxy's limit of {limit} bytes"
