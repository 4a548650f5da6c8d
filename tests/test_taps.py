"""tap / atap: chunks pass through untouched, `on_usage` runs exactly once, whatever happens.

Every test runs on both backends (`backend` fixture); the async ones also on asyncio and trio.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sseusage_fast.taps import atap, tap

anyio = pytest.importorskip("anyio")

ROOT = Path(__file__).resolve().parents[1]

# A documented Anthropic Messages stream (message_start carries input and cache counts,
# message_delta the final output count).
EVENTS: list[bytes] = [
    (
        b"event: message_start\n"
        b'data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL",'
        b'"type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929",'
        b'"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,'
        b'"cache_creation_input_tokens":2048,"cache_read_input_tokens":1024,'
        b'"cache_creation":{"ephemeral_5m_input_tokens":2048,"ephemeral_1h_input_tokens":0},'
        b'"output_tokens":1,"service_tier":"standard"}}}\n\n'
    ),
    (
        b"event: content_block_start\n"
        b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'
        b"\n\n"
    ),
    b'event: ping\ndata: {"type": "ping"}\n\n',
    (
        b"event: content_block_delta\n"
        b'data: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"Hello"}}\n\n'
    ),
    (
        b"event: content_block_delta\n"
        b'data: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":", world!"}}\n\n'
    ),
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    (
        b"event: message_delta\n"
        b'data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
        b'"usage":{"output_tokens":15}}\n\n'
    ),
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]
BODY = b"".join(EVENTS)


def split(body: bytes, size: int) -> list[bytes]:
    """Network-like chunks: boundaries fall mid-line and mid-event."""
    return [body[i : i + size] for i in range(0, len(body), size)]


CHUNKS = split(BODY, 61)
# Up to and including the first text delta: usage seen, final figures not yet.
HEAD = split(b"".join(EVENTS[:4]), 61)


def assert_complete(record: Any) -> None:
    assert record.status == "complete"
    assert record.interrupted is None
    assert record.provider == "anthropic"
    assert record.model == "claude-sonnet-4-5-20250929"
    assert record.message_id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert record.stop_reason == "end_turn"
    assert record.input_tokens == 472
    assert record.cache_creation_input_tokens == 2048
    assert record.cache_creation_5m_input_tokens == 2048
    assert record.cache_creation_1h_input_tokens == 0
    assert record.cache_read_input_tokens == 1024
    assert record.output_tokens == 15
    assert record.no_usage_data is False
    assert record.requires_manual_review is False
    assert record.estimated == ()


def assert_partial(record: Any, interrupted: str) -> None:
    assert record.interrupted == interrupted
    assert record.status == "partial"
    assert record.input_tokens == 472
    assert record.cache_read_input_tokens == 1024


class Recorder:
    """A sync on_usage that keeps what it was given."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def __call__(self, record: Any) -> None:
        self.records.append(record)

    @property
    def one(self) -> Any:
        assert len(self.records) == 1, self.records
        return self.records[0]


class Source:
    """An upstream body that remembers whether it was closed, and can fail or hang."""

    def __init__(self, chunks: list[Any], *, fail: BaseException | None = None) -> None:
        self.chunks = chunks
        self.fail = fail
        self.closed = False

    def sync(self) -> Iterator[Any]:
        try:
            yield from self.chunks
            if self.fail is not None:
                raise self.fail
        finally:
            self.closed = True

    async def aio(self, *, hang: bool = False) -> AsyncIterator[Any]:
        try:
            for chunk in self.chunks:
                await anyio.sleep(0)  # a checkpoint per read, like a socket
                yield chunk
            if hang:
                await anyio.sleep_forever()
            if self.fail is not None:
                raise self.fail
        finally:
            self.closed = True


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "trio":
        pytest.importorskip("trio")
    return request.param


def parser(backend: ModuleType, provider: str = "anthropic") -> Any:
    return backend.UsageParser(provider)


class ExplodingParser:
    """A parser that fails on its second chunk: the stream must not notice."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fed = 0

    def feed(self, chunk: bytes) -> None:
        self.fed += 1
        if self.fed == 2:
            raise ValueError("parser bug")
        self.inner.feed(chunk)

    def finish(self, *, interrupted: str | None = None) -> Any:
        return self.inner.finish(interrupted=interrupted)


# ---------------------------------------------------------------------------------------------
# tap (sync)


def test_tap_yields_same_chunks_and_reports_complete(backend: ModuleType) -> None:
    rec = Recorder()
    out = []
    for chunk in tap(CHUNKS, rec, parser=parser(backend, "auto")):
        out.append(chunk)
        assert rec.records == []  # not before the end
    assert len(out) == len(CHUNKS)
    assert all(a is b for a, b in zip(out, CHUNKS, strict=True))
    assert_complete(rec.one)


def test_tap_upstream_error_reports_then_reraises(backend: ModuleType) -> None:
    rec = Recorder()
    boom = ConnectionResetError("upstream went away")
    out: list[bytes] = []
    with pytest.raises(ConnectionResetError) as info:
        out.extend(tap(Source(HEAD, fail=boom).sync(), rec, parser=parser(backend)))
    assert info.value is boom
    assert out == HEAD
    assert_partial(rec.one, "upstream_error")


def test_tap_consumer_stops_early(backend: ModuleType) -> None:
    rec = Recorder()
    src = Source(CHUNKS)
    with tap(src.sync(), rec, parser=parser(backend)) as stream:
        for i, _chunk in enumerate(stream):
            if i == len(HEAD) - 1:
                break
        assert rec.records == []
    assert_partial(rec.one, "client_disconnect")
    assert src.closed  # closing the tap closes the upstream, as `yield from` would


def test_tap_break_without_close_reports_on_collection(backend: ModuleType) -> None:
    rec = Recorder()
    src = Source(CHUNKS)
    for _chunk in tap(src.sync(), rec, parser=parser(backend)):
        break
    gc.collect()
    assert rec.one.interrupted == "client_disconnect"
    assert src.closed


def test_tap_closed_before_first_chunk(backend: ModuleType) -> None:
    rec = Recorder()
    src = Source(CHUNKS)
    stream = tap(src.sync(), rec, parser=parser(backend))
    stream.close()
    stream.close()
    assert rec.one.interrupted == "client_disconnect"
    assert rec.one.status == "no_usage"
    with pytest.raises(StopIteration):
        next(stream)
    del stream
    gc.collect()
    assert len(rec.records) == 1


def test_tap_dropped_before_first_chunk(backend: ModuleType) -> None:
    rec = Recorder()
    tap(iter(CHUNKS), rec, parser=parser(backend))
    gc.collect()
    assert rec.one.interrupted == "client_disconnect"


def test_tap_keyboard_interrupt_is_cancelled(backend: ModuleType) -> None:
    rec = Recorder()
    with pytest.raises(KeyboardInterrupt):
        list(tap(Source(HEAD, fail=KeyboardInterrupt()).sync(), rec, parser=parser(backend)))
    assert_partial(rec.one, "cancelled")


def test_tap_exception_thrown_in_by_consumer(backend: ModuleType) -> None:
    rec = Recorder()
    src = Source(CHUNKS)
    stream = tap(src.sync(), rec, parser=parser(backend))
    next(stream)
    # _Tap is a plain iterator; the inner generator is what a consumer could throw into.
    with pytest.raises(RuntimeError):
        stream._gen.throw(RuntimeError("consumer failed"))  # type: ignore[attr-defined]
    assert rec.one.interrupted == "client_disconnect"
    assert src.closed


def test_tap_failing_on_usage_is_logged(
    backend: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    def on_usage(record: Any) -> None:
        raise RuntimeError("ledger down")

    with caplog.at_level(logging.ERROR, logger="sseusage_fast"):
        out = list(tap(CHUNKS, on_usage, parser=parser(backend)))
    assert out == CHUNKS
    [entry] = [r for r in caplog.records if r.name == "sseusage_fast"]
    assert "on_usage failed" in entry.getMessage()
    assert entry.exc_info is not None and "ledger down" in str(entry.exc_info[1])


def test_tap_async_on_usage_is_logged_not_lost(
    backend: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    async def on_usage(record: Any) -> None:  # never awaited by the sync tap
        calls.append(record)

    with caplog.at_level(logging.ERROR, logger="sseusage_fast"):
        assert list(tap(CHUNKS, on_usage, parser=parser(backend))) == CHUNKS
    assert calls == []
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "use atap" in message and "'output_tokens': 15" in message


def test_tap_parser_failure_keeps_stream_and_flags_record(
    backend: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    with caplog.at_level(logging.ERROR, logger="sseusage_fast"):
        out = list(tap(CHUNKS, rec, parser=ExplodingParser(parser(backend))))
    assert out == CHUNKS
    assert any("feed failed" in r.getMessage() for r in caplog.records)
    record = rec.one
    assert record.interrupted is None
    assert record.requires_manual_review is True
    assert any("parser bug" in note for note in record.notes)


def test_tap_finish_failure_still_reports(backend: ModuleType) -> None:
    class NoFinish(ExplodingParser):
        def feed(self, chunk: bytes) -> None:
            self.inner.feed(chunk)

        def finish(self, *, interrupted: str | None = None) -> Any:
            raise RuntimeError("finish bug")

    rec = Recorder()
    assert list(tap(CHUNKS, rec, parser=NoFinish(parser(backend)))) == CHUNKS
    assert rec.one.requires_manual_review is True
    assert any("finish bug" in note for note in rec.one.notes)


def test_tap_accepts_bytes_like_and_str_chunks(backend: ModuleType) -> None:
    rec = Recorder()
    mixed: list[Any] = []
    for i, chunk in enumerate(CHUNKS):
        kind = i % 3
        mixed.append(chunk if kind == 0 else bytearray(chunk) if kind == 1 else memoryview(chunk))
    out = list(tap(mixed, rec, parser=parser(backend)))
    assert all(a is b for a, b in zip(out, mixed, strict=True))
    assert_complete(rec.one)

    rec = Recorder()
    text = [BODY.decode()[i : i + 50] for i in range(0, len(BODY), 50)]
    out = list(tap(text, rec, parser=parser(backend)))
    assert all(a is b for a, b in zip(out, text, strict=True))
    assert_complete(rec.one)


def test_tap_other_chunk_types_pass_unmetered(
    backend: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    odd: list[Any] = [*HEAD, 42, *CHUNKS[len(HEAD) :]]
    with caplog.at_level(logging.ERROR, logger="sseusage_fast"):
        out = list(tap(odd, rec, parser=parser(backend)))
    assert out == odd
    assert rec.one.requires_manual_review is True
    assert rec.one.status != "complete"  # the stream's end was never seen by the parser
    assert any("int chunk" in note for note in rec.one.notes)


def test_tap_argument_errors_are_immediate(backend: ModuleType) -> None:
    with pytest.raises(TypeError, match="either parser"):
        tap(CHUNKS, print, parser=parser(backend), provider="openai")
    with pytest.raises(TypeError):
        tap(42, print, parser=parser(backend))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        tap(CHUNKS, None, parser=parser(backend))  # type: ignore[arg-type]


def test_tap_default_parser_from_kwargs() -> None:
    try:
        from sseusage_fast import UsageParser  # noqa: F401
    except ImportError:
        pytest.skip("sseusage_fast.UsageParser is not exported yet")
    rec = Recorder()
    assert list(tap(CHUNKS, rec, provider="anthropic")) == CHUNKS
    assert_complete(rec.one)


def test_import_does_not_pull_anyio() -> None:
    code = (
        "import sys, sseusage_fast, sseusage_fast.taps\n"
        "assert 'anyio' not in sys.modules, 'anyio imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# ---------------------------------------------------------------------------------------------
# atap (asyncio and trio)


async def agen(chunks: list[Any]) -> AsyncIterator[Any]:
    for chunk in chunks:
        yield chunk


async def wait_for(predicate: Any, seconds: float = 2.0) -> None:
    """For finalisers the event loop runs on its own schedule (garbage collection)."""
    with anyio.fail_after(seconds):
        while not predicate():
            gc.collect()
            await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_atap_yields_same_chunks_and_awaits_async_on_usage(backend: ModuleType) -> None:
    records: list[Any] = []

    async def on_usage(record: Any) -> None:
        await anyio.sleep(0)  # a real await: the tap must await it before finishing
        records.append(record)

    out = []
    async for chunk in atap(agen(CHUNKS), on_usage, parser=parser(backend, "auto")):
        out.append(chunk)
        assert records == []
    assert all(a is b for a, b in zip(out, CHUNKS, strict=True))
    assert len(records) == 1
    assert_complete(records[0])


@pytest.mark.anyio
async def test_atap_sync_on_usage(backend: ModuleType) -> None:
    rec = Recorder()
    out = [c async for c in atap(agen(CHUNKS), rec, parser=parser(backend))]
    assert out == CHUNKS
    assert_complete(rec.one)


@pytest.mark.anyio
async def test_atap_upstream_error_reports_then_reraises(backend: ModuleType) -> None:
    rec = Recorder()
    boom = ConnectionResetError("upstream went away")
    out = []
    with pytest.raises(ConnectionResetError) as info:
        async for chunk in atap(Source(HEAD, fail=boom).aio(), rec, parser=parser(backend)):
            out.append(chunk)
    assert info.value is boom
    assert out == HEAD
    assert_partial(rec.one, "upstream_error")


@pytest.mark.anyio
async def test_atap_consumer_stops_early(backend: ModuleType) -> None:
    records: list[Any] = []

    async def on_usage(record: Any) -> None:
        await anyio.sleep(0)
        records.append(record)

    src = Source(CHUNKS)
    async with atap(src.aio(), on_usage, parser=parser(backend)) as stream:  # type: ignore[attr-defined]
        i = 0
        async for _chunk in stream:
            i += 1
            if i == len(HEAD):
                break
        assert records == []
    assert len(records) == 1
    assert_partial(records[0], "client_disconnect")
    assert src.closed


# Trio rightly warns about async generators left to the garbage collector: that is the point.
ABANDONED = pytest.mark.filterwarnings(
    "ignore:Async generator .* garbage collected:ResourceWarning"
)


@ABANDONED
@pytest.mark.anyio
async def test_atap_break_without_aclose_reports_on_collection(backend: ModuleType) -> None:
    rec = Recorder()
    src = Source(CHUNKS)
    async for _chunk in atap(src.aio(), rec, parser=parser(backend)):
        break
    await wait_for(lambda: rec.records)
    assert rec.one.interrupted == "client_disconnect"
    await wait_for(lambda: src.closed)


@pytest.mark.anyio
async def test_atap_closed_before_first_chunk(backend: ModuleType) -> None:
    rec = Recorder()
    src = Source(CHUNKS)
    stream = atap(src.aio(), rec, parser=parser(backend))
    await stream.aclose()  # type: ignore[attr-defined]
    await stream.aclose()  # type: ignore[attr-defined]
    assert rec.one.interrupted == "client_disconnect"
    assert rec.one.status == "no_usage"
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    del stream
    gc.collect()
    assert len(rec.records) == 1


@pytest.mark.anyio
async def test_atap_cancelled_mid_stream_shields_async_on_usage(backend: ModuleType) -> None:
    records: list[Any] = []

    async def on_usage(record: Any) -> None:
        await anyio.sleep(0)  # would raise at once in a cancelled scope without the shield
        records.append(record)

    src = Source(HEAD)
    reached_end = False
    with anyio.CancelScope() as scope:
        i = 0
        async for _chunk in atap(src.aio(hang=True), on_usage, parser=parser(backend)):
            i += 1
            if i == len(HEAD):
                scope.cancel()  # the next read upstream is cancelled
        reached_end = True
    assert scope.cancelled_caught  # the cancellation propagated through the tap
    assert not reached_end
    assert len(records) == 1
    assert_partial(records[0], "cancelled")


@pytest.mark.anyio
async def test_atap_move_on_after_is_cancelled(backend: ModuleType) -> None:
    rec = Recorder()
    out = []
    with anyio.move_on_after(0.05) as scope:
        async for chunk in atap(Source(HEAD).aio(hang=True), rec, parser=parser(backend)):
            out.append(chunk)
    assert scope.cancelled_caught
    assert out == HEAD
    assert_partial(rec.one, "cancelled")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_atap_asyncio_task_cancel(backend: ModuleType, anyio_backend: str) -> None:
    import asyncio

    records: list[Any] = []
    got_head = asyncio.Event()

    async def on_usage(record: Any) -> None:
        await asyncio.sleep(0)
        records.append(record)

    async def consume() -> None:
        i = 0
        async for _chunk in atap(Source(HEAD).aio(hang=True), on_usage, parser=parser(backend)):
            i += 1
            if i == len(HEAD):
                got_head.set()

    task = asyncio.ensure_future(consume())
    await got_head.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(records) == 1
    assert_partial(records[0], "cancelled")


@pytest.mark.anyio
async def test_atap_failing_on_usage_is_logged(
    backend: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    async def on_usage(record: Any) -> None:
        await anyio.sleep(0)
        raise RuntimeError("ledger down")

    with caplog.at_level(logging.ERROR, logger="sseusage_fast"):
        out = [c async for c in atap(agen(CHUNKS), on_usage, parser=parser(backend))]
    assert out == CHUNKS
    [entry] = [r for r in caplog.records if r.name == "sseusage_fast"]
    assert "on_usage failed" in entry.getMessage()

    def sync_on_usage(record: Any) -> None:
        raise RuntimeError("ledger down")

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="sseusage_fast"), anyio.move_on_after(0.05):
        async for _ in atap(Source(HEAD).aio(hang=True), sync_on_usage, parser=parser(backend)):
            pass
    assert any("on_usage failed" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_atap_parser_failure_keeps_stream(
    backend: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    with caplog.at_level(logging.ERROR, logger="sseusage_fast"):
        out = [c async for c in atap(agen(CHUNKS), rec, parser=ExplodingParser(parser(backend)))]
    assert out == CHUNKS
    assert rec.one.requires_manual_review is True
    assert any("parser bug" in note for note in rec.one.notes)


@pytest.mark.anyio
async def test_atap_rejects_sync_iterables(backend: ModuleType) -> None:
    with pytest.raises(TypeError, match="use tap"):
        atap(CHUNKS, print, parser=parser(backend))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# httpx and Starlette

httpx = pytest.importorskip("httpx")


class ChunkedStream(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            await anyio.sleep(0)
            yield chunk


def upstream_transport(chunks: list[bytes]) -> Any:
    def handler(request: Any) -> Any:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=ChunkedStream(chunks)
        )

    return httpx.MockTransport(handler)


@pytest.mark.anyio
async def test_atap_over_httpx_aiter_raw(backend: ModuleType) -> None:
    rec = Recorder()
    async with (
        httpx.AsyncClient(transport=upstream_transport(CHUNKS)) as client,
        client.stream("POST", "https://api.anthropic.test/v1/messages") as response,
    ):
        out = [c async for c in atap(response.aiter_raw(), rec, parser=parser(backend))]
    assert b"".join(out) == BODY
    assert_complete(rec.one)


@ABANDONED  # httpx leaves its inner generators to the collector when aiter_raw() is closed
@pytest.mark.anyio
async def test_atap_over_httpx_stops_early(backend: ModuleType) -> None:
    rec = Recorder()
    async with (
        httpx.AsyncClient(transport=upstream_transport(CHUNKS)) as client,
        client.stream("POST", "https://api.anthropic.test/v1/messages") as response,
    ):
        stream = atap(response.aiter_raw(), rec, parser=parser(backend))
        out = []
        async for chunk in stream:
            out.append(chunk)
            if len(out) == len(HEAD):
                break
        assert out == CHUNKS[: len(HEAD)]  # aiter_raw() keeps the upstream's chunking
        await stream.aclose()  # type: ignore[attr-defined]
        assert rec.one.interrupted == "client_disconnect"
        assert_partial(rec.one, "client_disconnect")
    assert len(rec.records) == 1


def starlette_app(chunks_factory: Any, on_usage: Any, parser_: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def endpoint(request: Any) -> Any:
        body = atap(chunks_factory(), on_usage, parser=parser_)
        return StreamingResponse(body, media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/messages", endpoint, methods=["POST"])])


@pytest.mark.anyio
async def test_starlette_streaming_response_full_read(backend: ModuleType) -> None:
    pytest.importorskip("starlette")
    rec = Recorder()
    app = starlette_app(lambda: Source(CHUNKS).aio(), rec, parser(backend))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay") as client:
        response = await client.post("/v1/messages", json={"stream": True})
    assert response.status_code == 200
    assert response.content == BODY
    assert_complete(rec.one)


async def drive_asgi(app: Any, spec_version: str, *, disconnect_after: int) -> list[bytes]:
    """A hand-driven ASGI server whose client goes away after `disconnect_after` body parts.

    httpx's ASGITransport buffers the whole response, so it cannot show a client that stops
    reading. ASGI 2.3 servers (uvicorn) announce the disconnect through `receive`; 2.4 servers
    make `send` raise OSError.
    """
    received: list[bytes] = []
    gone = anyio.Event()
    request_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] != "http.response.body":
            return
        if gone.is_set():
            raise OSError("client went away")
        received.append(message["body"])
        if len(received) == disconnect_after:
            gone.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/messages",
        "raw_path": b"/v1/messages",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"relay"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("relay", 80),
    }
    from starlette.requests import ClientDisconnect

    with contextlib.suppress(ClientDisconnect):  # raised on 2.4 when send() fails
        await app(scope, receive, send)
    return received


@pytest.mark.anyio
async def test_starlette_client_disconnect_asgi_2_3_cancels_the_tap(backend: ModuleType) -> None:
    pytest.importorskip("starlette")
    rec = Recorder()
    src = Source(HEAD)
    app = starlette_app(lambda: src.aio(hang=True), rec, parser(backend))
    received = await drive_asgi(app, "2.3", disconnect_after=len(HEAD))
    assert received == HEAD
    # Starlette cancels the streaming task when the client leaves: that is what the tap sees.
    assert_partial(rec.one, "cancelled")


@ABANDONED
@pytest.mark.anyio
async def test_starlette_client_disconnect_asgi_2_4(backend: ModuleType) -> None:
    pytest.importorskip("starlette")
    rec = Recorder()
    src = Source(CHUNKS)
    app = starlette_app(lambda: src.aio(), rec, parser(backend))
    received = await drive_asgi(app, "2.4", disconnect_after=len(HEAD))
    assert received == CHUNKS[: len(HEAD)]
    # send() failed while the tap sat at a yield: it is finalised, as an abandoned generator.
    await wait_for(lambda: rec.records)
    assert_partial(rec.one, "client_disconnect")
    await wait_for(lambda: src.closed)


@pytest.mark.anyio
async def test_example_relay(backend: ModuleType) -> None:
    pytest.importorskip("starlette")
    try:
        from sseusage_fast import UsageParser, UsageRecord, atap  # noqa: F401  (the example's)
    except ImportError:
        pytest.skip("sseusage_fast does not export UsageParser/UsageRecord/atap yet")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "relay_starlette", ROOT / "examples" / "relay_starlette.py"
    )
    assert spec is not None and spec.loader is not None
    relay = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(relay)

    rec = Recorder()
    app = relay.make_app(
        "https://api.anthropic.test",
        on_usage=rec,
        transport=upstream_transport(CHUNKS),
        parser_factory=lambda request: parser(backend),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay") as client:
        response = await client.post(
            "/v1/messages", json={"model": "claude-sonnet-4-5", "stream": True}
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == BODY
    assert_complete(rec.one)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn runs on asyncio only
@pytest.mark.anyio
async def test_uvicorn_real_client_disconnect(backend: ModuleType, anyio_backend: str) -> None:
    """Over a real socket: the client reads the head of the stream and hangs up."""
    pytest.importorskip("starlette")
    uvicorn = pytest.importorskip("uvicorn")
    import asyncio

    rec = Recorder()
    src = Source(HEAD)
    app = starlette_app(lambda: src.aio(hang=True), rec, parser(backend))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    try:
        await wait_for(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        received = b""
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
            client.stream("POST", "/v1/messages", json={"stream": True}) as response,
        ):
            async for chunk in response.aiter_raw():
                received += chunk
                if len(received) >= len(b"".join(HEAD)):
                    break
        assert received == b"".join(HEAD)
        await wait_for(lambda: rec.records, seconds=5)
        # uvicorn speaks ASGI 2.3: Starlette cancels the streaming task on disconnect.
        assert_partial(rec.one, "cancelled")
        await wait_for(lambda: src.closed)
    finally:
        server.should_exit = True
        await serving
