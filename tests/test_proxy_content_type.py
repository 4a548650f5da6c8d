"""The proxy hands the upstream response's Content-Type to the parser it makes for that
response (`content_type=`, a framing hint): an NDJSON stream labelled as such is read line by
line from its first byte; the same bytes unlabelled are not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from proxy_harness import wait_rows
from replay_upstream import serve
from sseusage_fast.ledger import Ledger
from sseusage_fast.proxy import ProxyConfig, create_app
from sseusage_fast.proxy.meter import Parser, default_parser_factory
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
