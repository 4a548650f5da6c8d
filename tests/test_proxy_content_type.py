"""The proxy hands the upstream response's Content-Type to the parser it makes for that
response (`content_type=`, a framing hint): an NDJSON stream labelled as such is read line by
line from its first byte; the same bytes unlabelled are not. A parser factory that takes no
`content_type=` is called without it (said once at startup), never failed on every request."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from proxy_harness import wait_rows
from replay_upstream import INPUT_TOKENS, OUTPUT_TOKENS, serve
from sseusage_fast.ledger import Ledger
from sseusage_fast.proxy import ProxyConfig, create_app
from sseusage_fast.proxy.meter import Parser, default_parser_factory, takes_content_type
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from test_content_type import BROKEN_FIRST

# A first line cut short (not a whole object): only the label says this is NDJSON.
BODY = BROKEN_FIRST


async def chat(request: Request) -> Response:
    await request.body()
    media = request.query_params.get("as", "application/x-ndjson")
    return Response(BODY, media_type=media)


@pytest.fixture(scope="module")
def ndjson_upstream() -> Iterator[str]:
    with serve(Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])) as url:
        yield url


def test_proxy_passes_the_response_content_type(ndjson_upstream: str, ledger: Ledger) -> None:
    seen: list[dict[str, Any]] = []

    def factory(**kwargs: Any) -> Parser:
        seen.append(kwargs)
        return default_parser_factory(**kwargs)

    config = ProxyConfig(upstream=ndjson_upstream, trust_env=False)
    with serve(create_app(config, ledger, parser_factory=factory)) as url:
        request = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
        labelled = httpx.post(f"{url}/api/chat", json=request)
        (row,) = wait_rows(ledger, 1)
        bare = httpx.post(f"{url}/api/chat?as=text/plain", json=request)
        rows = wait_rows(ledger, 2)
    assert labelled.content == BODY and bare.content == BODY  # relayed unchanged
    assert [kw.get("content_type") for kw in seen] == [
        "application/x-ndjson",
        "text/plain; charset=utf-8",
    ]
    assert (row.status, row.input_tokens, row.output_tokens) == ("complete", 26, 290)
    assert not row.requires_manual_review
    # Unlabelled, the same bytes are a JSON body that does not parse.
    assert sorted(r.status for r in rows) == ["complete", "not_sse"]


def test_a_factory_without_content_type_is_called_without_it(
    upstream: tuple[str, Starlette], ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    providers: list[str] = []

    def factory(provider: str = "auto", *, request: Any = None, estimate: bool = True) -> Parser:
        providers.append(provider)
        return default_parser_factory(provider=provider, request=request, estimate=estimate)

    config = ProxyConfig(upstream=upstream[0], trust_env=False)
    with caplog.at_level(logging.WARNING, logger="sseusage_fast.proxy"):
        app = create_app(config, ledger, parser_factory=factory)
    said = [r.getMessage() for r in caplog.records if "content_type" in r.getMessage()]
    assert len(said) == 1 and "factory" in said[0], said
    request = {
        "model": "claude-opus-4-6",
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with serve(app) as url:
        for _ in range(2):
            response = httpx.post(f"{url}/v1/messages", json=request, headers={"x-api-key": "k"})
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
        rows = wait_rows(ledger, 2)
    assert providers == ["anthropic", "anthropic"]  # no retry with "auto" after a TypeError
    for row in rows:
        assert (row.status, row.error_type) == ("complete", None)
        assert (row.input_tokens, row.output_tokens) == (INPUT_TOKENS, OUTPUT_TOKENS)
        assert not row.requires_manual_review
    assert len([r for r in caplog.records if "content_type" in r.getMessage()]) == 1


@pytest.mark.parametrize(
    ("factory", "takes"),
    [
        (default_parser_factory, True),  # **kwargs
        (lambda provider, content_type=None: None, True),
        (lambda provider, *, content_type: None, True),
        (lambda provider, request=None, estimate=True: None, False),
        (lambda provider, *args: None, False),
    ],
)
def test_takes_content_type_reads_the_signature(factory: Any, takes: bool) -> None:
    assert takes_content_type(factory) is takes


def test_takes_content_type_of_both_backends() -> None:
    import sseusage_fast
    from sseusage_fast import pure

    assert takes_content_type(pure.UsageParser)
    assert takes_content_type(sseusage_fast.UsageParser)
