"""`ensure_usage`: the proxy asks an OpenAI-compatible upstream for stream usage the client did
not ask for, meters it, and the client gets byte for byte the stream it would have had."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from proxy_harness import wait_rows
from replay_upstream import CACHE_READ, INPUT_TOKENS, OUTPUT_TOKENS, TEXT, openai_stream, serve
from sseusage_fast.ledger import Ledger
from sseusage_fast.proxy import ProxyConfig, create_app
from sseusage_fast.proxy.config import Route
from sseusage_fast.proxy.ensure_usage import HideUsage, needs_usage, with_usage_requested
from sseusage_fast.proxy.server import uvicorn_options
from starlette.applications import Starlette

MESSAGES = [{"role": "user", "content": "Say hello to the world."}]


def _hide(stream: bytes, cuts: list[int]) -> bytes:
    hide = HideUsage()
    out, at = [], 0
    for cut in [*cuts, len(stream)]:
        out.append(hide(stream[at:cut]))
        at = cut
    out.append(hide(b""))
    return b"".join(out)


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4o-compact", "gpt-4o-long"])
def test_hidden_usage_gives_the_stream_without_the_option_at_every_split(model: str) -> None:
    asked = b"".join(openai_stream(model, "chatcmpl-1", include_usage=True))
    plain = b"".join(openai_stream(model, "chatcmpl-1", include_usage=False))
    assert asked != plain
    step = 1 if len(asked) < 5000 else 97
    for cut in range(0, len(asked), step):
        assert _hide(asked, [cut]) == plain, cut
    assert _hide(asked, list(range(1, len(asked)))) == plain  # a byte at a time


def test_hidden_usage_in_any_key_order_and_with_crlf() -> None:
    first = b'data: {"usage": null, "id": "c", "choices": [{"index": 0, "delta": {}}]}\r\n\r\n'
    assert _hide(first, []) == b'data: {"id": "c", "choices": [{"index": 0, "delta": {}}]}\r\n\r\n'
    # A string that mentions "usage":null is content, not the key.
    text = json.dumps({"choices": [{"delta": {"content": '"usage":null'}}], "usage": None})
    event = f"data: {text}\n\n".encode()
    assert json.loads(_hide(event, [])[6:]) == {"choices": [{"delta": {"content": '"usage":null'}}]}
    # The usage chunk goes; other events (and [DONE]) stay.
    usage = b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":1}}\n\n'
    assert _hide(usage + b"data: [DONE]\n\n", [10]) == b"data: [DONE]\n\n"
    # Not an event stream, or an unfinished event at the end: unchanged.
    assert _hide(b'{"usage": null}', [3]) == b'{"usage": null}'


def test_the_request_asks_for_usage_with_every_other_byte_unchanged() -> None:
    raw = b'{"model": "gpt-4o", "stream": true, "messages": []}'
    body = json.loads(raw)
    assert needs_usage("/v1/chat/completions", body)
    sent = with_usage_requested(raw, body)
    assert sent == b'{"stream_options":{"include_usage":true},' + raw[1:]
    assert json.loads(sent) == {**body, "stream_options": {"include_usage": True}}
    off = {**body, "stream_options": {"include_usage": False, "other": 1}}
    assert needs_usage("/v1/chat/completions", off)
    sent = with_usage_requested(json.dumps(off).encode(), off)
    assert json.loads(sent)["stream_options"] == {"include_usage": True, "other": 1}
    asked = {**body, "stream_options": {"include_usage": True}}
    assert not needs_usage("/v1/chat/completions", asked)
    assert not needs_usage("/v1/chat/completions", {**body, "stream": False})
    assert not needs_usage("/v1/responses", body)
    assert not needs_usage("/v1/chat/completions", None)


# -- through the proxy, with the openai SDK ------------------------------------------------------


@pytest.fixture
def proxy(upstream: tuple[str, Starlette], ledger: Ledger) -> Iterator[str]:
    config = ProxyConfig(
        routes=(
            Route("/openai", upstream[0], "openai", ensure_usage=True),
            Route("/plain", upstream[0], "openai"),
        ),
        trust_env=False,
    )
    with serve(create_app(config, ledger), **uvicorn_options(config)) as url:
        yield url


def _chunks(base: str, **kwargs: Any) -> list[Any]:
    client = openai.OpenAI(base_url=base + "/v1", api_key="sk-o", max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
        **kwargs,
    )
    return list(stream)


def test_sdk_without_include_usage_gets_its_stream_and_the_row_is_exact(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger
) -> None:
    chunks = _chunks(proxy + "/openai")
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == TEXT
    assert all(c.choices and c.usage is None for c in chunks)
    sent = json.loads(upstream[1].state.seen[-1]["body"])
    assert sent["stream_options"] == {"include_usage": True}
    (row,) = wait_rows(ledger, 1)
    assert (row.status, row.requires_manual_review, row.estimated) == ("complete", False, ())
    assert (row.input_tokens, row.output_tokens) == (INPUT_TOKENS, OUTPUT_TOKENS)
    assert row.cache_read_input_tokens == CACHE_READ


def test_sdk_with_include_usage_gets_its_usage_chunk(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger
) -> None:
    chunks = _chunks(proxy + "/openai", stream_options={"include_usage": True})
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == OUTPUT_TOKENS
    (row,) = wait_rows(ledger, 1)
    assert row.status == "complete" and not row.requires_manual_review


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4o-compact-long"])
def test_client_bytes_equal_the_upstreams_stream_without_the_option(
    upstream: tuple[str, Starlette], proxy: str, model: str
) -> None:
    body = {"model": model, "messages": MESSAGES, "stream": True}
    headers = {"x-replay-id": "4242", "authorization": "Bearer sk-o"}
    direct = httpx.post(upstream[0] + "/v1/chat/completions", json=body, headers=headers)
    through = httpx.post(proxy + "/openai/v1/chat/completions", json=body, headers=headers)
    assert through.content == direct.content and b'"usage"' not in through.content
    assert through.headers["content-type"] == direct.headers["content-type"]
    # Asked by the client: its own usage chunk arrives, unchanged.
    body["stream_options"] = {"include_usage": True}
    direct = httpx.post(upstream[0] + "/v1/chat/completions", json=body, headers=headers)
    through = httpx.post(proxy + "/openai/v1/chat/completions", json=body, headers=headers)
    assert through.content == direct.content and b'"prompt_tokens"' in through.content


def test_without_ensure_usage_the_request_is_untouched_and_flagged(
    upstream: tuple[str, Starlette], proxy: str, ledger: Ledger
) -> None:
    chunks = _chunks(proxy + "/plain")
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == TEXT
    assert "stream_options" not in json.loads(upstream[1].state.seen[-1]["body"])
    (row,) = wait_rows(ledger, 1)
    assert row.requires_manual_review and row.estimated
