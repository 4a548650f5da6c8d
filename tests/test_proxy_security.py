"""What the proxy must never do: leak credentials (logs, ledger, spool), talk to anyone but its
configured upstream, or keep request bodies nobody asked it to keep."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path

import httpx
import pytest
from replay_upstream import create_replay_app, free_port, serve
from sseusage_fast.ledger import Ledger, LedgerRow, open_ledger
from sseusage_fast.ledger.base import SQLLedger
from sseusage_fast.proxy import ProxyConfig, create_app
from starlette.applications import Starlette

ANTHROPIC_KEY = "sk-ant-SECRET-anthropic-0123456789"
OPENAI_KEY = "sk-proj-SECRET-openai-abcdef"
GEMINI_KEY = "AIzaSECRET-gemini-0123456789"
PROMPT_MARKER = "PROMPT-MARKER-7f3a9c"
SECRETS = (ANTHROPIC_KEY, OPENAI_KEY, GEMINI_KEY)


@pytest.fixture(scope="module")
def evil() -> Iterator[tuple[str, Starlette]]:
    """Where a hostile request would like the proxy to go."""
    app = create_replay_app()
    with serve(app) as url:
        yield url, app


def _body(model: str, stream: bool = True) -> dict[str, object]:
    content = f"Say hello. {PROMPT_MARKER}"
    return {
        "model": model,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": content}],
    }


def _all_bytes(directory: Path) -> bytes:
    """Every file the ledger wrote (database, WAL, spool)."""
    return b"".join(p.read_bytes() for p in directory.iterdir() if p.is_file())


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


@contextlib.contextmanager
def uvicorn_logs_to(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """uvicorn's loggers do not propagate, and uvicorn resets their handlers when a server
    starts: attach the capture once the server runs."""
    loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(caplog.handler)


def test_keys_never_reach_logs_ledger_or_spool(
    upstream: tuple[str, Starlette],
    tmp_path: Path,
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    led = open_ledger(tmp_path / "ledger.db")
    try:
        app = create_app(ProxyConfig(upstream=upstream[0], trust_env=False), led)
        with serve(app) as url, uvicorn_logs_to(everything_logged):
            a = {"x-api-key": ANTHROPIC_KEY}
            o = {"authorization": f"Bearer {OPENAI_KEY}"}
            # Streams, with DEBUG raw-event logging on.
            assert httpx.post(url + "/v1/messages", json=_body("m"), headers=a).status_code == 200
            r = httpx.post(url + "/v1/chat/completions", json=_body("gpt-4o"), headers=o)
            assert r.status_code == 200
            # Gemini's key travels in the query string (httpx logs URLs at INFO).
            r = httpx.get(
                url + f"/v1beta/models?key={GEMINI_KEY}", headers={"x-goog-api-key": GEMINI_KEY}
            )
            assert r.status_code == 200
            # An upstream cut: in the server's log.
            with pytest.raises(httpx.HTTPError):
                httpx.post(url + f"/v1/messages?key={GEMINI_KEY}", json=_body("m-cut"), headers=a)
        # An unreachable upstream: a warning with the exception's text.
        dead = create_app(ProxyConfig(upstream=f"http://127.0.0.1:{free_port()}"), led)
        with serve(dead) as url:
            r = httpx.post(url + f"/v1/messages?key={GEMINI_KEY}", json=_body("m"), headers=a)
            assert r.status_code == 502
        assert led.flush(timeout=10)
        rows = list(led.rows())
        assert isinstance(led, SQLLedger) and led.spool is not None
        # The spool, too, holds rows as the ledger would.
        led.spool.append([(row, None) for row in rows])
    finally:
        led.close()

    text = everything_logged.text
    assert "event content_block_delta" in text  # DEBUG was really on
    # The cut as the server logs it: a traceback, or one line once the proxy's log filters
    # are installed (`proxy.server.install_server_log_filters`).
    assert "UpstreamCut" in text or "response cut short" in text
    assert "upstream request failed" in text
    assert len(rows) == 5 and all(r.key_fingerprint for r in rows)
    for secret in SECRETS:
        assert secret not in text
        assert all(secret not in str(value) for row in rows for value in astuple(row))
        assert secret.encode() not in _all_bytes(tmp_path)


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_only_the_configured_upstream_is_ever_contacted(
    upstream: tuple[str, Starlette], evil: tuple[str, Starlette], ledger: Ledger
) -> None:
    evil_host = evil[0].removeprefix("http://")
    app = create_app(ProxyConfig(upstream=upstream[0] + "/prefix", trust_env=False), ledger)
    seen = upstream[1].state.seen
    with serve(app) as url:
        port = int(url.rsplit(":", 1)[1])
        before = len(seen)
        # Absolute-form target naming another host.
        answer = _raw(
            port,
            f"GET {evil[0]}/v1/models HTTP/1.1\r\nHost: {evil_host}\r\n"
            "Connection: close\r\n\r\n".encode(),
        )
        # h11 refuses it (the server answers 400); httptools gives the app its path only
        # (relayed to the configured upstream). Either way the other host is not contacted.
        if 400 <= _status(answer) < 500:
            assert len(seen) == before
        else:
            assert _status(answer) == 200 and seen[-1]["path"] == "/prefix/v1/models"
        # A Host header naming another host: ignored, the upstream gets its own.
        answer = _raw(
            port,
            f"GET /v1/models HTTP/1.1\r\nHost: {evil_host}\r\nConnection: close\r\n\r\n".encode(),
        )
        assert _status(answer) == 200
        assert seen[-1]["path"] == "/prefix/v1/models"
        assert seen[-1]["headers"]["host"] == upstream[0].removeprefix("http://")
        # A path that reads like a network-path reference stays a path on the upstream.
        answer = _raw(
            port,
            f"GET //{evil_host}/v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
        )
        assert _status(answer) == 200 and seen[-1]["path"] == f"/prefix//{evil_host}/v1/models"
        # Dot segments, raw or percent-coded, would climb out of the prefix: refused.
        before = len(seen)
        for target in ("/v1/../../admin", "/v1/%2e%2e/%2E%2E/admin", "/v1/..%2fadmin/..", "/."):
            answer = _raw(
                port,
                f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
            )
            assert _status(answer) == 400, target
        assert len(seen) == before
    assert evil[1].state.seen == []
    ledger.flush()
    rejected = [r for r in ledger.rows() if r.http_status == 400]
    assert len(rejected) == 4 and {r.error_type for r in rejected} == {"proxy_rejected_target"}


@pytest.mark.parametrize("keep", [False, True])
def test_request_bodies_are_stored_only_when_asked(
    upstream: tuple[str, Starlette],
    tmp_path: Path,
    everything_logged: pytest.LogCaptureFixture,
    keep: bool,
) -> None:
    led = open_ledger(tmp_path / "ledger.db")
    try:
        config = ProxyConfig(upstream=upstream[0], keep_flagged_bodies=keep, trust_env=False)
        with serve(create_app(config, led)) as url:
            r = httpx.post(
                url + "/v1/messages",
                json=_body("claude-opus-4-6-nousage"),  # flagged: usage stripped
                headers={"x-api-key": ANTHROPIC_KEY},
            )
            assert r.status_code == 200
        assert led.flush(timeout=10)
        (row,) = led.rows()
        assert row.requires_manual_review and row.id is not None
        capture = led.capture(row.id)
    finally:
        led.close()
    assert PROMPT_MARKER not in everything_logged.text
    if keep:
        assert capture is not None and PROMPT_MARKER.encode() in capture.request_body
    else:
        assert capture is None
        assert PROMPT_MARKER.encode() not in _all_bytes(tmp_path)


def test_rows_hold_no_header_or_body_fields() -> None:
    # The row's columns are usage, metadata and a key fingerprint: nothing to put a key in.
    names = set(LedgerRow.__dataclass_fields__)
    assert not names & {"headers", "authorization", "api_key", "body", "request_body", "query"}
