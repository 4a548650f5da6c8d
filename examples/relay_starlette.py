"""A metering relay in ~60 lines: Starlette in front, httpx to the provider, `atap` on the body.

    pip install sseusage-fast starlette uvicorn httpx
    python examples/relay_starlette.py https://api.anthropic.com --port 8080
    ANTHROPIC_BASE_URL=http://127.0.0.1:8080 your-client ...

Every response is streamed back to the client chunk by chunk, byte for byte; one usage record
per request is printed when the stream ends (or is interrupted).
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from sseusage_fast import UsageParser, UsageRecord, atap
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

# Connection-level headers are not forwarded (RFC 9110, 7.6.1); httpx sets its own host.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def print_record(record: UsageRecord) -> None:
    print(json.dumps(record.to_dict(), default=str), flush=True)


def make_app(
    upstream: str,
    *,
    on_usage: Callable[[UsageRecord], Any] = print_record,
    transport: httpx.AsyncBaseTransport | None = None,
    parser_factory: Callable[[bytes], Any] | None = None,
) -> Starlette:
    client = httpx.AsyncClient(base_url=upstream, transport=transport, timeout=None)

    async def relay(request: Request) -> StreamingResponse:
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        # Meter plain bytes: aiter_raw() passes the upstream encoding through untouched.
        headers["accept-encoding"] = "identity"
        upstream_request = client.build_request(
            request.method,
            request.url.path,
            params=request.query_params,
            headers=headers,
            content=body,
        )
        response = await client.send(upstream_request, stream=True)
        # The request body lets the parser estimate input tokens if the stream reports none.
        parser = parser_factory(body) if parser_factory else UsageParser(request=body or None)
        return StreamingResponse(
            atap(response.aiter_raw(), on_usage, parser=parser),
            status_code=response.status_code,
            headers={k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP},
            background=BackgroundTask(response.aclose),
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", relay, methods=methods)], lifespan=lifespan)


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("upstream", help="e.g. https://api.anthropic.com")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args()
    uvicorn.run(make_app(args.upstream), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
