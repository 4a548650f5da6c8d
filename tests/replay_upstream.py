"""A local stand-in for the Anthropic and OpenAI APIs, serving their documented shapes.

The scenario is chosen by the request's model name, so the official SDKs can drive it:
  ...-nousage   a stream whose usage was stripped (as by a misbehaving gateway)
  ...-overloaded  HTTP 529 with Anthropic's overloaded_error JSON body
  ...-slow      events 50 ms apart (for disconnect tests)
  ...-cut       the connection drops mid-stream
  ...-gzip      the response is gzip-coded (flushed per event, so it still streams)
  ...-long      200 text deltas
  ...-html      HTTP 200 with an HTML page (no provider's body)
  ...-compact   JSON without spaces after separators, as the APIs send it (Anthropic keeps
                `{"type": "ping"}` spaced); otherwise spaced, as the documentation prints it
Anything else gets a normal stream (`"stream": true`) or JSON body.
Headers: `x-replay-stall-headers: S` waits S seconds before answering; `x-replay-stall-body: S`
pauses S seconds halfway through a stream;
`x-replay-interval: S` waits S seconds before each event; `x-replay-stamp: 1` puts a comment
line `: t=<unix time>` before each event (for latency benchmarks). Streams closed before their
end (the proxy went away) are listed in `app.state.aborted` by message id.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

# Text deltas of the reference answer: ASCII, accents, CJK and an emoji, so any byte change shows.
DELTAS = ["Hello", ", wor", "ld! Caf", "é — ", "你好，", "世界", " 🌍", "\n\nDone."]
TEXT = "".join(DELTAS)
INPUT_TOKENS = 25
OUTPUT_TOKENS = 17
CACHE_READ = 3
LONG_DELTAS = [f"chunk {i} of the long answer. " for i in range(200)]

_ids = itertools.count(1)


def _sse(event: str | None, data: dict[str, Any], compact: bool = False) -> bytes:
    head = f"event: {event}\n" if event else ""
    separators = (",", ":") if compact else None
    return f"{head}data: {json.dumps(data, ensure_ascii=False, separators=separators)}\n\n".encode()


def deltas_for(model: str) -> list[str]:
    return LONG_DELTAS if "long" in model else DELTAS


# -- Anthropic Messages (https://docs.anthropic.com/en/docs/build-with-claude/streaming) ------


def anthropic_stream(model: str, msg_id: str) -> list[bytes]:
    usage_less = "nousage" in model
    compact = "compact" in model
    start_usage = {
        "input_tokens": INPUT_TOKENS,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": CACHE_READ,
        "output_tokens": 1,
        "service_tier": "standard",
    }
    message: dict[str, Any] = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": model,
        "stop_reason": None,
        "stop_sequence": None,
    }
    if not usage_less:
        message["usage"] = start_usage
    events = [
        _sse("message_start", {"type": "message_start", "message": message}, compact),
        _sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            compact,
        ),
        _sse("ping", {"type": "ping"}),
    ]
    for text in deltas_for(model):
        events.append(
            _sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                },
                compact,
            )
        )
    events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}, compact))
    delta: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
    }
    if not usage_less:
        delta["usage"] = {"output_tokens": OUTPUT_TOKENS}
    events.append(_sse("message_delta", delta, compact))
    events.append(_sse("message_stop", {"type": "message_stop"}, compact))
    return events


def anthropic_body(model: str, msg_id: str) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": INPUT_TOKENS,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": CACHE_READ,
            "output_tokens": OUTPUT_TOKENS,
            "service_tier": "standard",
        },
    }


OVERLOADED = {
    "type": "error",
    "error": {"type": "overloaded_error", "message": "Overloaded"},
}


# -- OpenAI Chat Completions (https://platform.openai.com/docs/api-reference/chat/streaming) --


def openai_stream(model: str, chat_id: str, include_usage: bool) -> list[bytes]:
    base = {"id": chat_id, "object": "chat.completion.chunk", "created": 1735689600, "model": model}
    usage_field: dict[str, Any] = {"usage": None} if include_usage else {}
    compact = "compact" in model

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _sse(None, {**base, "choices": [choice], **usage_field}, compact)

    events = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    events += [chunk({"content": text}, None) for text in deltas_for(model)]
    events.append(chunk({}, "stop"))
    if include_usage and "nousage" not in model:
        usage = {
            "prompt_tokens": INPUT_TOKENS + CACHE_READ,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": INPUT_TOKENS + CACHE_READ + OUTPUT_TOKENS,
            "prompt_tokens_details": {"cached_tokens": CACHE_READ, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }
        events.append(_sse(None, {**base, "choices": [], "usage": usage}, compact))
    events.append(b"data: [DONE]\n\n")
    return events


def openai_body(model: str, chat_id: str) -> dict[str, Any]:
    return {
        "id": chat_id,
        "object": "chat.completion",
        "created": 1735689600,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": TEXT, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": INPUT_TOKENS + CACHE_READ,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": INPUT_TOKENS + CACHE_READ + OUTPUT_TOKENS,
            "prompt_tokens_details": {"cached_tokens": CACHE_READ, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
    }


# -- the app ----------------------------------------------------------------------------------


class _Cut(Exception):
    """Raised mid-stream so that uvicorn drops the connection."""


async def _paced(
    events: list[bytes],
    model: str,
    gzip: bool,
    *,
    stall: float = 0.0,
    name: str = "",
    aborted: list[str] | None = None,
    interval: float = 0.0,
    stamp: bool = False,
) -> AsyncIterator[bytes]:
    coder = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16) if gzip else None
    done = False
    try:
        for i, event in enumerate(events):
            if "cut" in model and i == len(events) // 2:
                raise _Cut("simulated upstream failure")
            if "slow" in model:
                await asyncio.sleep(0.05)
            if interval:
                await asyncio.sleep(interval)
            if stamp:  # a comment line (ignored by SSE readers) with the time it was sent
                event = f": t={time.time():.6f}\n".encode() + event
            if stall and i == len(events) // 2:
                await asyncio.sleep(stall)
            if coder is not None:
                yield coder.compress(event) + coder.flush(zlib.Z_SYNC_FLUSH)
            else:
                yield event
        if coder is not None:
            yield coder.flush()
        done = True
    finally:
        if not done and aborted is not None:
            aborted.append(name)


def _gzip(body: bytes) -> bytes:
    coder = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return coder.compress(body) + coder.flush()


def create_replay_app() -> Starlette:
    seen: list[dict[str, Any]] = []
    aborted: list[str] = []

    async def handle(request: Request) -> Response:
        body = await request.body()
        payload = json.loads(body) if body else {}
        seen.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "headers": dict(request.headers),
                "body": body,
            }
        )
        model = str(payload.get("model", "unknown"))
        stall_headers = float(request.headers.get("x-replay-stall-headers") or 0)
        if stall_headers:
            await asyncio.sleep(stall_headers)
        anthropic = request.url.path.endswith("/messages")
        # A fixed id (x-replay-id) makes two responses byte-identical, for comparisons.
        n = int(request.headers.get("x-replay-id") or next(_ids))
        req_header = "request-id" if anthropic else "x-request-id"
        headers = {req_header: f"req_{n:06d}"}
        if "html" in model:  # a 200 that is no provider's body (a captive portal, a CDN page)
            page = b"<html><body><h1>Welcome</h1><p>Sign in to continue.</p></body></html>"
            return Response(page, media_type="text/html", headers=headers)
        if "overloaded" in model:
            return Response(
                json.dumps(OVERLOADED),
                status_code=529,
                media_type="application/json",
                headers=headers,
            )
        gzip = "gzip" in model and "gzip" in request.headers.get("accept-encoding", "")
        if gzip:
            headers["content-encoding"] = "gzip"
        if payload.get("stream"):
            if anthropic:
                events = anthropic_stream(model, f"msg_{n:06d}")
            else:
                include = bool((payload.get("stream_options") or {}).get("include_usage"))
                events = openai_stream(model, f"chatcmpl-{n:06d}", include)
            stream = _paced(
                events,
                model,
                gzip,
                stall=float(request.headers.get("x-replay-stall-body") or 0),
                name=f"msg_{n:06d}" if anthropic else f"chatcmpl-{n:06d}",
                aborted=aborted,
                interval=float(request.headers.get("x-replay-interval") or 0),
                stamp=bool(request.headers.get("x-replay-stamp")),
            )
            return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
        data = (
            anthropic_body(model, f"msg_{n:06d}")
            if anthropic
            else openai_body(model, f"chatcmpl-{n:06d}")
        )
        raw = json.dumps(data, ensure_ascii=False).encode()
        return Response(_gzip(raw) if gzip else raw, media_type="application/json", headers=headers)

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])
    app.state.seen = seen
    app.state.aborted = aborted
    return app


# -- serving in a thread, for tests -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(app: Any, port: int | None = None, **options: Any) -> Iterator[str]:
    """Run `app` under uvicorn in a background thread; yields its base URL. `options` go to
    `uvicorn.Config` (e.g. the proxy's own, from `proxy.server.uvicorn_options`)."""
    port = port or free_port()
    settings: dict[str, Any] = {"log_level": "warning", "lifespan": "on", "backlog": 1024}
    settings.update(options)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, **settings)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
