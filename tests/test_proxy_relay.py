"""The relay's steps, each alone: `relay_body`, `watch_client`, `send_upstream`, and the rule
for `client_disconnect` (only when the client missed bytes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from sseusage_fast.proxy.relay import (
    Outcome,
    relay_body,
    response_start,
    send_upstream,
    watch_client,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _Stream(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes], fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i, chunk in enumerate(self.chunks):
            if self.fail_after is not None and i == self.fail_after:
                raise httpx.RemoteProtocolError("peer closed connection")
            yield chunk


def _response(chunks: list[bytes], headers: dict[str, str] | None = None, **kw: Any) -> Any:
    return httpx.Response(200, headers=headers or {}, stream=_Stream(chunks, **kw))


class _Client:
    """An ASGI `send` that records messages, and can fail after some of them."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.fail_at = fail_at

    async def send(self, message: Any) -> None:
        if self.fail_at is not None and len(self.messages) == self.fail_at:
            raise OSError("broken pipe")
        self.messages.append(message)

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


async def test_relay_body_sends_every_read_and_feeds_it_first() -> None:
    fed: list[bytes] = []
    client = _Client()
    outcome = Outcome()
    await relay_body(_response([b"a", b"bc", b"d"]), client.send, outcome, fed.append)
    assert client.body == b"abcd" and fed == [b"a", b"bc", b"d"]
    assert client.messages[0]["type"] == "http.response.start"
    assert client.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert outcome.complete and outcome.upstream_done and outcome.interrupted is None
    assert outcome.sent_bytes == 4


async def test_relay_body_notes_an_upstream_cut_without_raising() -> None:
    client = _Client()
    outcome = Outcome()
    await relay_body(_response([b"a", b"b", b"c"], fail_after=2), client.send, outcome)
    assert client.body == b"ab" and not outcome.complete
    assert isinstance(outcome.upstream_error, httpx.RemoteProtocolError)
    assert outcome.interrupted == "upstream_error"


async def test_relay_body_survives_a_feed_that_raises() -> None:
    failures: list[int] = []

    def feed(chunk: bytes) -> None:
        raise RuntimeError("parser bug")

    client = _Client()
    outcome = Outcome()
    await relay_body(
        _response([b"a", b"b"]),
        client.send,
        outcome,
        feed,
        on_feed_error=lambda: failures.append(1),
    )
    assert client.body == b"ab" and outcome.complete and failures == [1]


async def test_a_failed_write_marks_the_client_gone() -> None:
    client = _Client(fail_at=2)
    outcome = Outcome()
    await relay_body(_response([b"a", b"b", b"c"]), client.send, outcome)
    assert outcome.client_gone and not outcome.complete
    assert outcome.interrupted == "client_disconnect"


async def test_relay_body_transform_changes_what_the_client_gets_not_what_is_fed() -> None:
    fed: list[bytes] = []
    client = _Client()
    outcome = Outcome()
    held: list[bytes] = []

    def transform(chunk: bytes) -> bytes:  # holds everything back until the end
        if chunk:
            held.append(chunk.upper())
            return b""
        return b"".join(held)

    await relay_body(_response([b"a", b"b"]), client.send, outcome, fed.append, transform=transform)
    assert fed == [b"a", b"b"] and client.body == b"AB" and outcome.complete


def test_response_start_keeps_the_upstreams_date_and_server() -> None:
    response = httpx.Response(
        200, headers={"date": "Mon, 01 Jan 2024 00:00:00 GMT", "server": "upstream/1"}
    )
    headers = response_start(response)["headers"]
    assert isinstance(headers, list)
    names = [k for k, _ in headers]
    assert names.count(b"date") == 1 and names.count(b"server") == 1
    assert (b"date", b"Mon, 01 Jan 2024 00:00:00 GMT") in headers
    # No Date upstream: the proxy's own.
    assert [k for k, _ in response_start(httpx.Response(200))["headers"]] == [b"date"]  # type: ignore[union-attr]


async def test_watch_client_stops_the_relay_on_a_hang_up() -> None:
    messages = [{"type": "http.request", "body": b""}, {"type": "http.disconnect"}]
    stopped: list[int] = []

    async def receive() -> Any:
        return messages.pop(0)

    outcome = Outcome()
    await watch_client(receive, outcome, lambda: stopped.append(1))
    assert outcome.client_gone and stopped == [1]


async def test_watch_client_ignores_the_disconnect_after_a_complete_response() -> None:
    async def receive() -> Any:
        return {"type": "http.disconnect"}

    outcome = Outcome(complete=True)
    await watch_client(receive, outcome, lambda: pytest.fail("stopped a complete relay"))
    assert not outcome.client_gone and outcome.interrupted is None


@pytest.mark.parametrize(
    ("sent", "length", "expected"),
    [(10, 10, None), (9, 10, "client_disconnect"), (10, None, "client_disconnect")],
)
def test_client_disconnect_only_when_bytes_were_missed(
    sent: int, length: int | None, expected: str | None
) -> None:
    # A client that closes right after the last byte of a sized body missed nothing; a
    # stream without a length has not ended until the relay's last send.
    outcome = Outcome(client_gone=True, sent_bytes=sent, content_length=length)
    assert outcome.interrupted == expected


async def test_send_upstream_returns_at_the_headers_with_the_body_still_open() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return _response([b"x", b"y"])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        response = await send_upstream(client, client.build_request("POST", "http://u/v1"))
        assert not response.is_stream_consumed
        assert b"".join([c async for c in response.aiter_raw()]) == b"xy"
        await response.aclose()


async def test_a_sized_body_closed_after_its_last_byte_is_not_a_disconnect() -> None:
    """The 7% case: a client that hangs up as soon as it has the whole non-streamed body, while
    the relay has not yet sent its closing message."""
    client = _Client()
    outcome = Outcome()
    response = _response([b"0123456789"], headers={"content-length": "10"})
    gone = anyio.Event()

    async def send(message: Any) -> None:
        await client.send(message)
        if message.get("body") == b"0123456789":
            gone.set()
            await anyio.sleep(1)  # cancelled by the hang-up

    async def receive() -> Any:
        await gone.wait()
        return {"type": "http.disconnect"}

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_client, receive, outcome, tg.cancel_scope.cancel)
        await relay_body(response, send, outcome)
        tg.cancel_scope.cancel()
    assert outcome.client_gone and not outcome.complete
    assert outcome.interrupted is None


def test_upstream_pool_spreads_requests_over_small_shards() -> None:
    from sseusage_fast.proxy.upstream import UpstreamPool

    made: list[httpx.Limits] = []

    def make(limits: httpx.Limits) -> Any:
        made.append(limits)
        return object()

    pool = UpstreamPool(make, max_connections=8, shard_connections=2)
    taken = [pool.acquire() for _ in range(8)]
    assert len(made) == 4 and all(limits.max_connections == 2 for limits in made)
    assert sorted(shard for shard, _ in taken) == [0, 0, 1, 1, 2, 2, 3, 3]
    # Full: no fifth shard; the least busy one queues the request (its own pool waits).
    shard, _ = pool.acquire()
    assert len(made) == 4 and pool.in_flight == 9
    for s, _ in [*taken, (shard, None)]:
        pool.release(s)
    assert pool.in_flight == 0
    # Released shards are reused before new ones open.
    assert pool.acquire()[0] == 0 and len(made) == 4


def test_upstream_shards_share_one_tls_context() -> None:
    """Making a TLS context loads the CA bundle (about 20 ms with the event loop blocked); the
    pool opens a shard per 16 streams under load, so every shard must reuse the first one's."""
    import anyio
    from sseusage_fast.proxy import ProxyConfig, create_app

    app = create_app(ProxyConfig(upstream="https://api.anthropic.com", trust_env=False), None)
    proxy = app.state.proxy

    async def shards_contexts() -> tuple[int, set[int]]:
        async with proxy.lifespan(app):
            taken = [proxy.pool.acquire() for _ in range(40)]
            contexts = {id(client._transport._pool._ssl_context) for _, client in taken}
            shards = len({shard for shard, _ in taken})
            for shard, _ in taken:
                proxy.pool.release(shard)
        return shards, contexts

    shards, contexts = anyio.run(shards_contexts)
    assert shards >= 3 and len(contexts) == 1
