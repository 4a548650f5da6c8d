"""Attribution (tags, end user) and the limits on what a client may send: tags validated and
removed before forwarding, body size and body/header time limits, the connection cap. Every
refusal is in the provider's error shape and leaves a row marked refused."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from proxy_harness import wait_rows
from replay_upstream import TEXT, serve
from sseusage_fast.ledger import Ledger, LedgerRow, open_ledger
from sseusage_fast.proxy import ProxyConfig, create_app
from sseusage_fast.proxy.attribution import TagError, end_user, parse_tags, tags_from_text
from sseusage_fast.proxy.config import Limits
from sseusage_fast.proxy.errors import error_body
from sseusage_fast.proxy.server import uvicorn_options
from starlette.applications import Starlette

MESSAGES = [{"role": "user", "content": "Say hello to the world."}]


def test_tags_parse_to_a_sorted_bounded_mapping() -> None:
    assert parse_tags(" team=search , env=prod,") == {"env": "prod", "team": "search"}
    assert parse_tags("") == {}
    assert parse_tags("app=svc/api:v2,owner=a@b.c") == {"app": "svc/api:v2", "owner": "a@b.c"}
    assert tags_from_text("env=prod,team=search") == {"env": "prod", "team": "search"}


@pytest.mark.parametrize(
    "value",
    [
        "team",
        "=x",
        "team=",
        "team=a b",
        "te am=x",
        "a=1,a=2",
        "a=b=c",
        "a=\x1b[31m",
        "a=x\n",
        "n=" + "v" * 65,
        ",".join(f"t{i}=v" for i in range(17)),
        "a=" + "x" * 5000,
    ],
)
def test_bad_tags_are_refused(value: str) -> None:
    with pytest.raises(TagError):
        parse_tags(value)


def test_end_user_from_anthropic_metadata_and_openai_user() -> None:
    assert end_user({"metadata": {"user_id": "u-1"}, "user": "x"}) == "u-1"
    assert end_user({"user": "u-2"}) == "u-2"
    assert end_user({"safety_identifier": "hash-3"}) == "hash-3"
    assert end_user({"user": 5, "metadata": "x"}) is None
    assert end_user(None) is None
    assert end_user({"user": "u" * 1000}) == "u" * 256


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini", "bedrock", "auto"])
def test_error_bodies_are_in_the_providers_shape(provider: str) -> None:
    body, headers = error_body(provider, 429, "over budget", "budget_exceeded")
    data = json.loads(body)
    if provider == "anthropic":
        assert data == {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "over budget"},
        }
    elif provider == "openai":
        assert data["error"]["message"] == "over budget"
        assert data["error"]["code"] == "budget_exceeded"
    elif provider == "gemini":
        assert data == {
            "error": {"code": 429, "message": "over budget", "status": "RESOURCE_EXHAUSTED"}
        }
    elif provider == "bedrock":
        assert data == {"message": "over budget"}
        assert headers == [(b"x-amzn-errortype", b"ThrottlingException")]
    else:  # read by both SDKs
        assert data["error"]["message"] == "over budget" and data["type"] == "error"


# -- through the proxy ---------------------------------------------------------------------------


def _proxy(upstream: str, ledger: Any, **limits: Any) -> Any:
    config = ProxyConfig(upstream=upstream, limits=Limits(**limits), trust_env=False)
    return serve(create_app(config, ledger), **uvicorn_options(config))


@pytest.fixture
def proxy(upstream: tuple[str, Starlette], ledger: Ledger) -> Iterator[str]:
    with _proxy(upstream[0], ledger, max_body_bytes=4096) as url:
        yield url


def test_rows_carry_tags_and_end_user_and_the_tag_header_is_not_forwarded(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger
) -> None:
    seen = upstream[1].state.seen
    claude = anthropic.Anthropic(base_url=proxy, api_key="sk-ant-t", max_retries=0)
    with claude.messages.stream(
        model="claude-opus-4-6",
        max_tokens=64,
        messages=MESSAGES,
        metadata={"user_id": "user-7"},
        extra_headers={"x-sseusage-tags": "team=search, env=prod"},
    ) as s:
        assert "".join(s.text_stream) == TEXT
    assert "x-sseusage-tags" not in seen[-1]["headers"]
    gpt = openai.OpenAI(base_url=proxy + "/v1", api_key="sk-o", max_retries=0)
    gpt.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        user="u-42",
        extra_headers={"X-SSEUSAGE-TAGS": "app=chat"},
    )
    assert "x-sseusage-tags" not in seen[-1]["headers"]
    rows = sorted(wait_rows(ledger, 2), key=lambda r: r.provider or "")
    assert [(r.tags, r.end_user, r.refused) for r in rows] == [
        ("env=prod,team=search", "user-7", None),
        ("app=chat", "u-42", None),
    ]


def test_bad_tags_are_refused_in_the_providers_shape(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger
) -> None:
    before = len(upstream[1].state.seen)
    claude = anthropic.Anthropic(base_url=proxy, api_key="sk-ant-t", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as info:
        claude.messages.create(
            model="claude-opus-4-6",
            max_tokens=5,
            messages=MESSAGES,
            extra_headers={"x-sseusage-tags": "team search"},
        )
    assert "x-sseusage-tags" in str(info.value)
    assert len(upstream[1].state.seen) == before
    (row,) = wait_rows(ledger, 1)
    assert (row.http_status, row.refused, row.cost_usd) == (400, "bad_tags", None)
    assert not row.requires_manual_review


def test_an_oversized_body_is_413_and_never_forwarded(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger
) -> None:
    before = len(upstream[1].state.seen)
    big = [{"role": "user", "content": "x" * 5000}]
    claude = anthropic.Anthropic(base_url=proxy, api_key="sk-ant-t", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as info:
        claude.messages.create(model="claude-opus-4-6", max_tokens=5, messages=big)  # type: ignore[arg-type]
    assert info.value.status_code == 413 and "4096 bytes" in str(info.value)

    def chunks() -> Iterator[bytes]:  # no Content-Length: found while reading
        yield b'{"model": "claude-opus-4-6", "messages": ['
        for _ in range(10):
            yield b'"' + b"y" * 1000 + b'",'
        yield b"]}"

    r = httpx.post(proxy + "/v1/messages", content=chunks())
    assert r.status_code == 413 and r.json()["error"]["type"] == "request_too_large"
    assert len(upstream[1].state.seen) == before
    rows = wait_rows(ledger, 2)
    assert {(r.http_status, r.refused) for r in rows} == {(413, "body_too_large")}


def _raw(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(data)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    got = b""
    with sock:
        while chunk := sock.recv(65536):
            got += chunk
    return got


def _read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length, leaving the connection open."""
    got = b""
    while b"\r\n\r\n" not in got:
        got += sock.recv(65536)
    head, _, body = got.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_body_that_does_not_arrive_in_time_is_408(
    upstream: tuple[str, Starlette], ledger: Ledger
) -> None:
    with _proxy(upstream[0], ledger, body_timeout=0.5) as url:
        port = int(url.rsplit(":", 1)[1])
        sock = _raw(
            port,
            b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            b'content-length: 100\r\n\r\n{"model": ',
        )
        started = time.monotonic()
        answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 3
    (row,) = wait_rows(ledger, 1)
    assert row.refused == "body_timeout"


def test_headers_that_do_not_arrive_in_time_close_the_connection(
    upstream: tuple[str, Starlette], ledger: Ledger
) -> None:
    with _proxy(upstream[0], ledger, header_timeout=0.5) as url:
        port = int(url.rsplit(":", 1)[1])
        started = time.monotonic()
        slow = _raw(port, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\n")  # and then nothing
        assert _read_all(slow) == b"" and 0.4 < time.monotonic() - started < 3
        # A keep-alive connection: the second request's headers have the same deadline.
        sock = _raw(port, b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /v1/models HTTP/1.1\r\n")
        started = time.monotonic()
        assert _read_all(sock) == b"" and time.monotonic() - started < 3
        # A prompt client is not cut.
        r = httpx.get(url + "/v1/models")
        assert r.status_code == 200
    time.sleep(0.3)
    ledger.flush()
    assert ledger.count() == 2  # the two model lists; a connection that sent no request is none


def test_connections_over_the_cap_get_503(upstream: tuple[str, Starlette], ledger: Ledger) -> None:
    with _proxy(upstream[0], ledger, max_connections=2) as url:
        port = int(url.rsplit(":", 1)[1])
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        time.sleep(0.2)
        try:
            r = httpx.get(url + "/v1/models")
            assert r.status_code == 503
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.2)
        assert httpx.get(url + "/v1/models").status_code == 200


def test_tags_end_user_and_refusals_are_stored_and_spooled(tmp_path: Any) -> None:
    from sseusage_fast.ledger.spool import row_from_json, row_to_json

    row = LedgerRow(tags="env=prod,team=search", end_user="u-1", refused="budget_exceeded")
    assert row_from_json(row_to_json(row))[0] == row
    led = open_ledger(tmp_path / "l.db")
    try:
        led.record(row)
        led.flush()
        (back,) = led.rows()
        assert (back.tags, back.end_user, back.refused) == (row.tags, row.end_user, row.refused)
    finally:
        led.close()
