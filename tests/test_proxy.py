"""The metering proxy, end to end: official SDKs -> proxy -> local replay upstream."""

from __future__ import annotations

import gzip
import json
import logging
import re
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import astuple

import anthropic
import anyio
import httpx
import openai
import pytest
from proxy_harness import wait_rows
from replay_upstream import (
    CACHE_READ,
    INPUT_TOKENS,
    LONG_DELTAS,
    OUTPUT_TOKENS,
    TEXT,
    free_port,
    serve,
)
from sseusage_fast.ledger import Ledger, LedgerRow
from sseusage_fast.proxy import ProxyConfig, create_app
from sseusage_fast.proxy.headers import fingerprint, key_fingerprint, narrow_accept_encoding
from sseusage_fast.proxy.meter import Meter, backend
from sseusage_fast.proxy.routing import detect_provider, is_generation, request_model
from starlette.applications import Starlette

ANTHROPIC_KEY = "sk-ant-test-0123456789-secret"
OPENAI_KEY = "sk-proj-test-abcdef-secret"
MESSAGES = [{"role": "user", "content": "Say hello to the world."}]


def _openai_supported() -> bool:
    try:
        backend().UsageParser(provider="openai")
    except ValueError:
        return False
    return True


needs_openai = pytest.mark.skipif(
    not _openai_supported(), reason="the UsageParser does not parse OpenAI streams yet"
)


@pytest.fixture
def proxy(upstream: tuple[str, Starlette], ledger: Ledger) -> Iterator[str]:
    app = create_app(ProxyConfig(upstream=upstream[0], trust_env=False), ledger)
    with serve(app) as url:
        yield url


def claude(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base_url, api_key=ANTHROPIC_KEY, max_retries=0)


def gpt(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key=OPENAI_KEY, max_retries=0)


def claude_text(base_url: str, model: str) -> str:
    with claude(base_url).messages.stream(model=model, max_tokens=64, messages=MESSAGES) as s:
        return "".join(s.text_stream)


def claude_raw_text(base_url: str, model: str) -> str:
    """The text of a stream read event by event (the SDK's accumulating helper insists on
    usage in message_delta, which a usage-less stream lacks)."""
    events = claude(base_url).messages.create(
        model=model, max_tokens=64, messages=MESSAGES, stream=True
    )
    return "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )


def gpt_text(base_url: str, model: str, include_usage: bool = True) -> str:
    kwargs = {"stream_options": {"include_usage": True}} if include_usage else {}
    stream = gpt(base_url).chat.completions.create(
        model=model, messages=MESSAGES, stream=True, **kwargs
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


# -- streams through the SDKs -----------------------------------------------------------------


@pytest.mark.parametrize("model", ["claude-opus-4-6", "claude-opus-4-6-gzip"])
def test_anthropic_stream_identical_and_metered(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger, model: str
) -> None:
    direct = claude_text(upstream[0], model)
    assert direct == TEXT
    assert claude_text(proxy, model) == direct
    (row,) = wait_rows(ledger, 1)
    assert (row.provider, row.model, row.status) == ("anthropic", model, "complete")
    assert (row.input_tokens, row.output_tokens) == (INPUT_TOKENS, OUTPUT_TOKENS)
    assert (row.cache_read_input_tokens, row.cache_creation_input_tokens) == (CACHE_READ, 0)
    assert not row.requires_manual_review and not row.no_usage_data and row.estimated == ()
    assert row.http_status == 200 and row.interrupted is None and row.source == "provider"
    assert row.request_id is not None and row.request_id.startswith("req_")
    assert row.key_fingerprint == fingerprint(ANTHROPIC_KEY)
    assert row.stop_reason == "end_turn" and row.service_tier == "standard"
    if "gzip" in model:  # not a real model name: unpriced, never 0
        assert row.cost_usd is None
    else:
        assert row.cost_usd is not None and row.cost_usd > 0
    assert row.latency_ms is not None and row.ttfb_ms is not None
    assert row.ttfb_ms <= row.latency_ms


@needs_openai
@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-4o-mini-gzip"])
def test_openai_stream_identical_and_metered(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger, model: str
) -> None:
    direct = gpt_text(upstream[0], model)
    assert direct == TEXT and gpt_text(proxy, model) == direct
    (row,) = wait_rows(ledger, 1)
    assert (row.provider, row.status, row.model) == ("openai", "complete", model)
    # prompt_tokens includes the cached ones; the ledger keeps disjoint buckets.
    assert (row.input_tokens, row.cache_read_input_tokens) == (INPUT_TOKENS, CACHE_READ)
    assert row.output_tokens == OUTPUT_TOKENS and not row.requires_manual_review
    assert row.key_fingerprint == fingerprint(OPENAI_KEY)


def test_usage_less_stream_is_flagged(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger
) -> None:
    model = "claude-opus-4-6-nousage"
    assert claude_raw_text(proxy, model) == claude_raw_text(upstream[0], model) == TEXT
    (row,) = wait_rows(ledger, 1)
    assert row.no_usage_data and row.requires_manual_review
    assert row.status == "no_usage" and row.source == "estimate"
    # Output estimated from the streamed text, input from the request body the proxy passed.
    assert {"input_tokens", "output_tokens"} <= set(row.estimated)
    assert row.output_tokens and row.output_tokens > 0
    assert row.input_tokens and row.input_tokens > 0


@needs_openai
def test_openai_stream_without_include_usage_is_flagged(proxy: str, ledger: Ledger) -> None:
    assert gpt_text(proxy, "gpt-4o-mini", include_usage=False) == TEXT
    (row,) = wait_rows(ledger, 1)
    assert row.no_usage_data and row.requires_manual_review and "output_tokens" in row.estimated


def test_non_streaming_anthropic_is_metered(proxy: str, ledger: Ledger) -> None:
    message = claude(proxy).messages.create(
        model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES
    )
    assert message.content[0].text == TEXT  # type: ignore[union-attr]
    assert message.usage.input_tokens == INPUT_TOKENS
    (row,) = wait_rows(ledger, 1)
    assert (row.status, row.input_tokens, row.output_tokens) == (
        "complete",
        INPUT_TOKENS,
        OUTPUT_TOKENS,
    )
    assert row.cache_read_input_tokens == CACHE_READ and not row.requires_manual_review


@needs_openai
def test_non_streaming_openai_is_metered(proxy: str, ledger: Ledger) -> None:
    completion = gpt(proxy).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == TEXT
    (row,) = wait_rows(ledger, 1)
    assert (row.status, row.input_tokens, row.output_tokens) == (
        "complete",
        INPUT_TOKENS,
        OUTPUT_TOKENS,
    )


def test_upstream_529_passes_through_unflagged(proxy: str, ledger: Ledger) -> None:
    with pytest.raises(anthropic.APIStatusError) as info:
        claude(proxy).messages.create(
            model="claude-opus-4-6-overloaded", max_tokens=64, messages=MESSAGES
        )
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    (row,) = wait_rows(ledger, 1)
    assert row.http_status == 529 and row.status == "error"
    assert row.error_type == "overloaded_error"
    assert not row.requires_manual_review and row.estimated == ()
    assert row.input_tokens is None and row.output_tokens is None
    assert row.request_id is not None


def test_client_that_stops_reading_is_recorded_as_disconnected(proxy: str, ledger: Ledger) -> None:
    # 200 deltas 50 ms apart: ten seconds if read to the end.
    started = time.monotonic()
    with claude(proxy).messages.stream(
        model="claude-opus-4-6-slow-long", max_tokens=64, messages=MESSAGES
    ) as stream:
        seen = []
        for text in stream.text_stream:
            seen.append(text)
            if len(seen) == 3:
                break
    (row,) = wait_rows(ledger, 1)
    assert seen == LONG_DELTAS[:3]
    assert row.interrupted == "client_disconnect"
    assert row.status == "partial" and row.input_tokens == INPUT_TOKENS
    assert row.requires_manual_review  # output is known only up to the cut
    assert time.monotonic() - started < 5


def _raw_request(port: int, model: str, **headers: str) -> socket.socket:
    """A request written by hand on a plain socket, so that the test decides how it ends."""
    body = json.dumps(
        {"model": model, "max_tokens": 64, "messages": MESSAGES, "stream": True}
    ).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        (
            "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"x-api-key: {ANTHROPIC_KEY}\r\n{head}\r\n"
        ).encode()
        + body
    )
    return sock


def _reset(sock: socket.socket) -> None:
    """Hang up abruptly: a TCP reset, as when a client process dies."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_client_reset_mid_stream_is_a_client_disconnect(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger
) -> None:
    sock = _raw_request(int(proxy.rsplit(":", 1)[1]), "claude-opus-4-6-slow-long")
    got = b""
    while b"content_block_delta" not in got:  # the stream has started
        got += sock.recv(65536)
    started = time.monotonic()
    _reset(sock)
    (row,) = wait_rows(ledger, 1)
    assert row.interrupted == "client_disconnect" and row.http_status == 200
    assert row.status == "partial" and row.requires_manual_review
    assert time.monotonic() - started < 5  # not the 10 s the whole stream takes
    deadline = time.monotonic() + 5  # and the upstream stream was closed, not read to its end
    while row.message_id not in upstream[1].state.aborted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert row.message_id in upstream[1].state.aborted


def test_client_gone_before_the_upstream_answers_is_a_client_disconnect(
    proxy: str, ledger: Ledger
) -> None:
    # The upstream takes 5 s to start answering (a long prompt); the client gives up first.
    sock = _raw_request(
        int(proxy.rsplit(":", 1)[1]), "claude-opus-4-6", **{"x-replay-stall-headers": "5"}
    )
    time.sleep(0.3)
    started = time.monotonic()
    _reset(sock)
    (row,) = wait_rows(ledger, 1)
    assert time.monotonic() - started < 3
    assert row.interrupted == "client_disconnect" and row.http_status is None
    # Sent to the provider, never answered: it may bill the prompt, so a human looks.
    assert row.requires_manual_review and row.input_tokens is not None


# -- raw HTTP ---------------------------------------------------------------------------------


def _post(base: str, model: str, *, stream: bool = True, **headers: str) -> httpx.Response:
    body = {"model": model, "max_tokens": 64, "messages": MESSAGES, "stream": stream}
    return httpx.post(
        base + "/v1/messages", json=body, headers={"x-api-key": ANTHROPIC_KEY, **headers}
    )


def _raw(base: str, model: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    body = {"model": model, "max_tokens": 64, "messages": MESSAGES, "stream": True}
    with httpx.stream(
        "POST", base + "/v1/messages?beta=true", json=body, headers=headers, timeout=30
    ) as r:
        return r.status_code, dict(r.headers), b"".join(r.iter_raw())


@pytest.mark.parametrize("coding", ["identity", "gzip"])
def test_bytes_and_headers_reach_the_client_unchanged(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger, coding: str
) -> None:
    headers = {"accept-encoding": coding, "x-replay-id": "4242", "x-api-key": ANTHROPIC_KEY}
    d_status, d_headers, d_body = _raw(upstream[0], "claude-opus-4-6-gzip", **headers)
    p_status, p_headers, p_body = _raw(proxy, "claude-opus-4-6-gzip", **headers)
    assert p_status == d_status == 200
    assert p_body == d_body
    for name in ("content-type", "request-id", "content-encoding"):
        assert p_headers.get(name) == d_headers.get(name)
    if coding == "gzip":
        assert p_headers["content-encoding"] == "gzip" and p_body[:2] == b"\x1f\x8b"
        assert b"message_delta" in gzip.decompress(p_body)
    (row,) = wait_rows(ledger, 1)
    assert row.status == "complete" and row.output_tokens == OUTPUT_TOKENS
    assert row.request_id == "req_004242"


def test_request_forwarded_without_hop_by_hop_headers(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sseusage_fast")
    status, _, _ = _raw(
        proxy,
        "claude-opus-4-6",
        **{
            "x-api-key": ANTHROPIC_KEY,
            "anthropic-beta": "x-test",
            "connection": "keep-alive, x-drop-me",
            "x-drop-me": "1",
            "keep-alive": "timeout=5",
        },
    )
    assert status == 200
    seen = upstream[1].state.seen[-1]
    assert seen["path"] == "/v1/messages" and seen["query"] == "beta=true"
    sent = seen["headers"]
    assert sent["x-api-key"] == ANTHROPIC_KEY and sent["anthropic-beta"] == "x-test"
    assert "x-drop-me" not in sent and "keep-alive" not in sent
    assert sent["host"] == upstream[0].removeprefix("http://")
    (row,) = wait_rows(ledger, 1)
    # The key is nowhere: not in the ledger, not in the logs (INFO line and DEBUG events).
    assert all(ANTHROPIC_KEY not in str(value) for value in astuple(row))
    assert ANTHROPIC_KEY not in caplog.text
    info = [r for r in caplog.records if r.levelno == logging.INFO and r.name.endswith("proxy")]
    assert len(info) == 1 and "/v1/messages 200 anthropic" in info[0].getMessage()
    assert re.search(r"event content_block_delta: .*Hello", caplog.text)


def test_upstream_cut_mid_stream_is_an_upstream_error(proxy: str, ledger: Ledger) -> None:
    with pytest.raises(httpx.HTTPError):
        _raw(proxy, "claude-opus-4-6-cut", **{"x-api-key": ANTHROPIC_KEY})
    (row,) = wait_rows(ledger, 1)
    assert row.interrupted == "upstream_error" and row.requires_manual_review
    assert row.input_tokens == INPUT_TOKENS  # what arrived before the cut is kept


def test_unreachable_upstream_answers_502_and_records_it(ledger: Ledger) -> None:
    app = create_app(ProxyConfig(upstream=f"http://127.0.0.1:{free_port()}"), ledger)
    with serve(app) as url:
        r = _post(url, "claude-opus-4-6")
    assert r.status_code == 502 and r.json()["error"]["type"] == "proxy_upstream_error"
    (row,) = wait_rows(ledger, 1)
    assert row.http_status == 502 and row.status == "error"
    assert row.interrupted == "upstream_error" and row.error_type == "ConnectError"
    assert not row.requires_manual_review  # the request never reached the provider


def test_non_generation_requests_are_recorded_unflagged(proxy: str, ledger: Ledger) -> None:
    r = httpx.get(proxy + "/v1/models", headers={"x-api-key": ANTHROPIC_KEY})
    assert r.status_code == 200
    (row,) = wait_rows(ledger, 1)
    assert row.method == "GET" and not row.requires_manual_review and row.estimated == ()


def test_metering_can_be_disabled(upstream: tuple[str, Starlette], ledger: Ledger) -> None:
    app = create_app(ProxyConfig(upstream=upstream[0], meter=False), ledger)
    with serve(app) as url:
        assert claude_text(url, "claude-opus-4-6") == TEXT
    ledger.flush()
    assert ledger.count() == 0


# -- load -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_200_concurrent_streams_lose_no_row_and_alter_no_byte(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger
) -> None:
    n = 200
    body = {"model": "claude-opus-4-6-long", "max_tokens": 64, "messages": MESSAGES}
    body["stream"] = True
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def fetch(base: str, i: int) -> bytes:
            headers = {"x-replay-id": str(100_000 + i), "x-api-key": f"key-{i % 7}"}
            async with client.stream(
                "POST", base + "/v1/messages", json=body, headers=headers
            ) as r:
                assert r.status_code == 200
                return b"".join([chunk async for chunk in r.aiter_raw()])

        expected = {i: await fetch(upstream[0], i) for i in range(0, n, 50)}
        got: dict[int, bytes] = {}

        async def run(i: int) -> None:
            got[i] = await fetch(proxy, i)

        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(run, i)
        elapsed = time.monotonic() - started
    for i, data in expected.items():
        assert got[i] == data
    for i, data in got.items():  # every stream is the reference stream with its own id
        assert data.replace(str(100_000 + i).encode(), b"ID") == expected[0].replace(
            b"100000", b"ID"
        )
    rows = wait_rows(ledger, n, timeout=30)
    assert sorted(r.request_id or "" for r in rows) == [f"req_{100_000 + i}" for i in range(n)]
    assert all(r.status == "complete" and r.interrupted is None for r in rows)
    assert {r.output_tokens for r in rows} == {OUTPUT_TOKENS}
    assert len({r.key_fingerprint for r in rows}) == 7
    print(f"\n200 concurrent streams through the proxy: {elapsed:.2f} s")


# -- units ------------------------------------------------------------------------------------


def test_provider_from_path() -> None:
    assert detect_provider("/v1/messages") == "anthropic"
    assert detect_provider("/anthropic/v1/messages/") == "anthropic"
    assert detect_provider("/v1/chat/completions") == "openai"
    assert detect_provider("/v1/responses") == "openai-responses"
    assert detect_provider("/v1beta/models/gemini-2.5-pro:streamGenerateContent") == "gemini"
    assert detect_provider("/v1beta/models/gemini-2.5-flash:generateContent") == "gemini"
    assert detect_provider("/v1/embeddings") == "auto"
    assert not is_generation("POST", "/v1/messages/count_tokens")
    assert not is_generation("GET", "/v1/models") and is_generation("POST", "/v1/messages")
    assert request_model("/v1beta/models/gemini-2.5-pro:streamGenerateContent", None) == (
        "gemini-2.5-pro"
    )


def test_key_fingerprint_sources() -> None:
    fp = fingerprint("k1")
    assert fp.startswith("sha256:") and "k1" not in fp and len(fp) == len("sha256:") + 16
    assert key_fingerprint({"x-api-key": "k1"}, {}) == fp
    assert key_fingerprint({"authorization": "Bearer k1"}, {}) == fp
    assert key_fingerprint({"x-goog-api-key": "k1"}, {}) == fp
    assert key_fingerprint({}, {"key": "k1"}) == fp
    assert key_fingerprint({"authorization": "Basic abc"}, {}) is None
    assert key_fingerprint({}, {}) is None


def test_accept_encoding_is_narrowed_to_what_the_meter_can_read() -> None:
    assert narrow_accept_encoding("gzip, deflate, zstd") == "gzip, deflate"
    assert narrow_accept_encoding("zstd") == "identity"
    assert narrow_accept_encoding("gzip;q=1.0, identity;q=0.5") == "gzip;q=1.0, identity;q=0.5"


def _anthropic_body() -> bytes:
    from replay_upstream import anthropic_stream

    return b"".join(anthropic_stream("claude-opus-4-6", "msg_1"))


@pytest.mark.parametrize("coding", ["gzip", "deflate", "x-gzip"])
def test_meter_reads_compressed_streams_split_anywhere(coding: str) -> None:
    import zlib

    raw = _anthropic_body()
    coded = gzip.compress(raw) if "gzip" in coding else zlib.compress(raw)
    meter = Meter(backend().UsageParser(provider="anthropic"), coding)
    for i in range(0, len(coded), 7):
        meter.feed(coded[i : i + 7])
    record = meter.finish()
    assert record.status == "complete" and record.output_tokens == OUTPUT_TOKENS


def test_meter_survives_a_failing_parser() -> None:
    class Broken:
        def feed(self, chunk: bytes) -> None:
            raise RuntimeError("boom")

        def finish(self, *, interrupted: str | None = None) -> object:
            raise RuntimeError("boom again")

    meter = Meter(Broken())  # type: ignore[arg-type]
    meter.feed(b"data: {}\n\n")
    record = meter.finish()
    assert record.status == "error" and record.error_type == "meter_failure"
    assert record.requires_manual_review


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- rows written in batches ------------------------------------------------------------------


class _ListLedger(Ledger):
    """Keeps rows in a list; optionally fails on the first one (a broken database)."""

    dialect = "list"

    def __init__(self, fail_first: bool = False) -> None:
        self.got: list[LedgerRow] = []
        self.fail_first = fail_first

    def record(self, row: LedgerRow, capture: object = None, **kwargs: object) -> None:
        if self.fail_first:
            self.fail_first = False
            raise RuntimeError("the ledger is broken")
        self.got.append(row)

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self, timeout: float | None = None) -> dict[str, object]:
        return {"stderr_rows": 0}

    def health(self) -> dict[str, object]:
        return {"state": "ok", "queued": 0, "spooled": 0}

    count = rows = totals = update_rows = capture = schema_version = None  # type: ignore[assignment]


def test_rows_wait_for_their_batch_but_keep_their_own_latency(
    upstream: tuple[str, Starlette], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sseusage_fast.proxy.batcher as proxy_batcher

    # Long enough that three requests end before it on a loaded machine.
    monkeypatch.setattr(proxy_batcher, "ROW_BATCH_SECONDS", 2.0)
    led = _ListLedger()
    app = create_app(ProxyConfig(upstream=upstream[0], trust_env=False), led)
    with serve(app) as url:
        for _ in range(3):
            assert _raw(url, "claude-opus-4-6", **{"x-api-key": ANTHROPIC_KEY})[0] == 200
        assert led.got == []  # the batch is not due yet
        deadline = time.monotonic() + 10
        while len(led.got) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(led.got) == 3
    # The latency ends with the stream, not with the batch that wrote its row.
    assert all(row.latency_ms is not None and row.latency_ms < 1500 for row in led.got)
    assert all(row.status == "complete" for row in led.got)


def test_rows_still_batched_at_shutdown_are_written(
    upstream: tuple[str, Starlette], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sseusage_fast.proxy.batcher as proxy_batcher

    monkeypatch.setattr(proxy_batcher, "ROW_BATCH_SECONDS", 60.0)
    led = _ListLedger()
    app = create_app(ProxyConfig(upstream=upstream[0], trust_env=False), led)
    with serve(app) as url:
        for model in ("claude-opus-4-6", "claude-opus-4-6-long", "claude-opus-4-6-overloaded"):
            _raw(url, model, **{"x-api-key": ANTHROPIC_KEY})
        assert led.got == []
    assert [row.http_status for row in led.got] == [200, 200, 529]
    # After shutdown there is no batch to wait for: a row is written at once.
    app.state.proxy.batcher.later(lambda: led.record(LedgerRow(request_id="late")))
    assert led.got[-1].request_id == "late"


def test_a_row_that_fails_to_write_does_not_lose_the_rest_of_its_batch(
    upstream: tuple[str, Starlette],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import sseusage_fast.proxy.batcher as proxy_batcher

    monkeypatch.setattr(proxy_batcher, "ROW_BATCH_SECONDS", 60.0)
    led = _ListLedger(fail_first=True)
    app = create_app(ProxyConfig(upstream=upstream[0], trust_env=False), led)
    with serve(app) as url:
        for _ in range(2):
            _raw(url, "claude-opus-4-6", **{"x-api-key": ANTHROPIC_KEY})
    assert len(led.got) == 1 and led.got[0].status == "complete"
    assert "the ledger is broken" in caplog.text


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_replay_compact_scenario_is_the_same_stream_without_spaces(provider: str) -> None:
    from replay_upstream import anthropic_stream, openai_stream
    from sseusage_fast import parse_usage

    def stream(model: str) -> bytes:
        if provider == "anthropic":
            return b"".join(anthropic_stream(model, "msg_1"))
        return b"".join(openai_stream(model, "chatcmpl-1", True))

    spaced, compact = stream("m-long"), stream("m-long-compact")
    # Anthropic's ping stays spaced, as the API sends it.
    assert compact.replace(b'{"type": "ping"}', b"").count(b'": ') == 0
    assert spaced.count(b'": ') > 200 and len(compact) < len(spaced)
    a, b = parse_usage(spaced, provider), parse_usage(compact, provider)
    assert (a.input_tokens, a.output_tokens, a.status) == (
        b.input_tokens,
        b.output_tokens,
        b.status,
    )
