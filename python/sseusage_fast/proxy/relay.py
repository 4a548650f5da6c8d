"""The relay of one exchange as named steps, after Starlette's `StreamingResponse`: send the
request upstream, relay the response body, and watch the client throughout (the caller runs
`watch_client` beside the other two under one task group, so that a client that hangs up stops
the relay at once, even before the upstream has answered).

Each step only moves bytes and notes what happened in an `Outcome`; the row is the caller's.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from starlette.types import Receive, Send

from sseusage_fast.proxy.headers import downstream_response_headers

Feed = Callable[[bytes], None]
# Turns each upstream read into what the client receives (ensure_usage hides an event).
Transform = Callable[[bytes], bytes]


class UpstreamCut(Exception):
    """Raised to the server to cut the client's response when the upstream cut ours (ending it
    cleanly would pass a truncated body off as complete). Its message is scrubbed of the
    request's secrets; the server's log shows it as one line (`server.py`)."""


@dataclass(slots=True)
class Outcome:
    """What happened to one exchange, as the steps saw it."""

    # The whole response reached the client (its last send returned).
    complete: bool = False
    # The client hung up (or a write to it failed) before `complete`.
    client_gone: bool = False
    # The upstream failed mid-body.
    upstream_error: httpx.HTTPError | None = None
    # Bytes of the upstream's (raw, still coded) body handed to the client.
    sent_bytes: int = 0
    # The response's declared length, when it has one.
    content_length: int | None = None
    # The upstream's body was read to its end (whether or not the client got it all).
    upstream_done: bool = False
    # Set when the relay was cut from outside (server shutdown).
    cancelled: bool = False

    @property
    def client_missed_bytes(self) -> bool:
        """A client that hangs up after its last byte missed nothing: only a hang-up before
        the body's end is a `client_disconnect`."""
        if not self.client_gone or self.complete:
            return False
        return not (self.content_length is not None and self.sent_bytes >= self.content_length)

    @property
    def interrupted(self) -> str | None:
        """The record's `interrupted` for this exchange."""
        if self.upstream_error is not None:
            return "upstream_error"
        if self.client_missed_bytes:
            return "client_disconnect"
        if self.cancelled:
            return "cancelled"
        return None


async def send_upstream(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send the request and return once the upstream's headers are in (the body streams on).
    Raises `httpx.HTTPError` when the upstream cannot be reached or does not answer."""
    return await client.send(request, stream=True)


def response_start(response: httpx.Response, *, edited: bool = False) -> dict[str, object]:
    """The client's `http.response.start`: the upstream's status and headers, its `Date` and
    `Server` kept (the server adds none of its own: see `server.uvicorn_options`). `edited`:
    the body is changed on the way, so its length is not the upstream's."""
    headers = downstream_response_headers(response.headers.raw)
    if edited:
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    if "date" not in response.headers:
        headers.append((b"date", http_date().encode()))
    return {"type": "http.response.start", "status": response.status_code, "headers": headers}


def http_date() -> str:
    return email.utils.formatdate(usegmt=True)


async def relay_body(
    response: httpx.Response,
    send: Send,
    outcome: Outcome,
    feed: Feed | None = None,
    *,
    transform: Transform | None = None,
    on_feed_error: Callable[[], None] | None = None,
) -> None:
    """Send the response head, then every upstream read as it arrives, feeding each to the
    meter first. An upstream failure is noted (not raised); a failed write to the client marks
    it gone."""
    pending = 0
    length = response.headers.get("content-length")
    if length is not None and length.isdigit():
        outcome.content_length = int(length)
    try:
        await send(response_start(response, edited=transform is not None))
        async for chunk in response.aiter_raw():
            if feed is not None:
                try:
                    feed(chunk)
                except Exception:  # noqa: BLE001 - metering never breaks a stream
                    feed = None
                    if on_feed_error is not None:
                        on_feed_error()
            body = chunk if transform is None else transform(chunk)
            # Counted as handed over: the server has written them once `send` awaits its
            # drain, and a client may hang up then, having read them.
            outcome.sent_bytes += len(chunk)
            pending = len(chunk)
            if body:
                await send({"type": "http.response.body", "body": body, "more_body": True})
            pending = 0
        outcome.upstream_done = True
        if transform is not None:
            tail = transform(b"")
            if tail:
                await send({"type": "http.response.body", "body": tail, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        outcome.complete = True
    except httpx.HTTPError as exc:
        outcome.upstream_error = exc
    except OSError:
        outcome.client_gone = True  # the write failed: the client is gone
        outcome.sent_bytes -= pending


async def watch_client(receive: Receive, outcome: Outcome, stop: Callable[[], None]) -> None:
    """Wait for the client to hang up, then mark it gone and `stop` the relay. uvicorn also
    reports a disconnect once the response is complete: that one is not a hang-up."""
    while (await receive())["type"] != "http.disconnect":
        pass
    if not outcome.complete:
        outcome.client_gone = True
        stop()
