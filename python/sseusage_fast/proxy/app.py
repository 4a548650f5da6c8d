"""The metering reverse proxy: a Starlette app whose one route relays every request upstream.

The relay is written at the ASGI level so that each upstream read goes to the client as soon
as it arrives, and so that a client disconnect is seen at once (not at the next write).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from sseusage_fast.ledger import Capture, Ledger, LedgerRow
from sseusage_fast.ledger.row import utcnow
from sseusage_fast.proxy.config import ProxyConfig
from sseusage_fast.proxy.headers import (
    downstream_response_headers,
    install_log_filters,
    key_fingerprint,
    request_id,
    scrub,
    secret_values,
    upstream_request_headers,
    upstream_url,
)
from sseusage_fast.proxy.meter import (
    Meter,
    Parser,
    ParserFactory,
    default_parser_factory,
    make_parser,
)
from sseusage_fast.proxy.routing import detect_provider, is_generation, parse_body, request_model
from sseusage_fast.record import TOKEN_FIELDS, UsageRecord

log = logging.getLogger("sseusage_fast.proxy")

# The end of a metered request (the parser's finish, the row, its cost, the ledger call) waits
# up to this long and runs in a batch with the others that ended meanwhile. Run once per request
# between other streams' reads, that code starts from cold caches (measured at 3-4 times its warm
# cost, the largest share of metering's CPU); back to back, all but the first run warm. A batch
# is also one wake-up and one transaction of the ledger's writer thread: at 200 streams/s its CPU
# fell from 67 us per row with 50 ms batches to 21 us with 200 ms ones.
ROW_BATCH_SECONDS = 0.05
# How long the app's shutdown waits for queued rows to become durable. Only a courtesy: the
# ledger's own close() (bounded too) writes whatever is still queued.
SHUTDOWN_FLUSH_SECONDS = 2.0


class _ClientGone(Exception):
    """The client went away before its request body was complete."""


class UpstreamCut(Exception):
    """Raised to the server to cut the client's response when the upstream cut ours. Its
    message is scrubbed of the request's secrets (the server logs it)."""


@dataclass(slots=True)
class _Request:
    """What is known about one request before and while it is relayed."""

    started: float
    ts: Any
    method: str
    path: str
    provider: str
    model: str | None
    billable: bool
    key_fingerprint: str | None
    # Key and auth header values of this request: scrubbed from any text that is logged.
    secrets: tuple[str, ...] = ()
    # The status is the proxy's own (502/504 for an upstream that failed), not the provider's.
    proxy_answered: bool = False
    ttfb_ms: float | None = None
    http_status: int | None = None
    request_id: str | None = None


class Proxy:
    """The ASGI endpoint. One httpx client (connection pool) is shared by all requests."""

    def __init__(
        self,
        config: ProxyConfig,
        ledger: Ledger | None,
        *,
        parser_factory: ParserFactory | None = None,
        pricing: Any = None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.parser_factory = parser_factory or default_parser_factory
        self._pricing = pricing
        self._pricing_loaded = pricing is not None
        self.client: httpx.AsyncClient | None = None
        # Ends of requests whose rows are due in the next batch, in the order they ended.
        self._due: list[Callable[[], None]] = []
        # Set when the first of a batch arrives; None when no batcher runs (rows written at once).
        self._batch_due: anyio.Event | None = None
        self.upstream = config.upstream.rstrip("/")
        self.base_url = httpx.URL(self.upstream)
        if self.base_url.scheme not in ("http", "https") or not self.base_url.host:
            raise ValueError(f"the upstream must be an http(s) URL, not {config.upstream!r}")
        install_log_filters()

    # -- lifecycle -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        c = self.config
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=c.connect_timeout,
                read=c.read_timeout,
                write=c.write_timeout,
                pool=c.pool_timeout,
            ),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=200),
            follow_redirects=False,
            trust_env=c.trust_env,
        )
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._write_batches)
                try:
                    yield
                finally:
                    tg.cancel_scope.cancel()
        finally:
            # Requests still relayed now (a shutdown that cut them) write their rows at once.
            self._batch_due = None
            self.write_pending_rows()
            await self.client.aclose()
            if self.ledger is not None:
                # Bounded: a ledger that cannot write (database and spool down) must not hold
                # the shutdown; the runner's close() then spools or prints what is left.
                await anyio.to_thread.run_sync(self.ledger.flush, SHUTDOWN_FLUSH_SECONDS)

    async def _write_batches(self) -> None:
        while True:
            self._batch_due = anyio.Event()
            await self._batch_due.wait()
            await anyio.sleep(ROW_BATCH_SECONDS)
            self.write_pending_rows()

    def _finish_later(self, end: Callable[[], None]) -> None:
        """Run `end` (which writes one request's row) in the next batch."""
        if self._batch_due is None:
            self._run_end(end)
            return
        self._due.append(end)
        if len(self._due) == 1:
            self._batch_due.set()

    def write_pending_rows(self) -> None:
        """Write the rows of requests that have ended, now (at shutdown, or by a batch)."""
        while self._due:
            due, self._due = self._due, []
            for end in due:
                self._run_end(end)

    @staticmethod
    def _run_end(end: Callable[[], None]) -> None:
        try:
            end()
        except Exception:  # one failed row must not take the rest of its batch with it
            log.exception("writing a request's row failed")

    # -- one request ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        assert self.client is not None, "the app's lifespan has not run"
        raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        lowered = {k.lower(): v for k, v in raw_headers}
        query_string = scope.get("query_string", b"").decode("latin-1")
        query = dict(parse_qsl(query_string))
        method, path = scope["method"], scope["path"]
        req = _Request(
            started=time.perf_counter(),
            ts=utcnow(),
            method=method,
            path=path,
            provider=detect_provider(path),
            model=None,
            billable=is_generation(method, path),
            key_fingerprint=key_fingerprint(lowered, query),
            secrets=secret_values(lowered, query),
        )
        try:
            body = await _read_body(receive)
        except _ClientGone:
            self._finish_soon(req, None, UsageRecord(interrupted="client_disconnect"))
            return
        url = upstream_url(self.base_url, scope.get("raw_path") or path.encode(), query_string)
        if url is None:
            await self._reject(req, send)
            return
        parsed = parse_body(body)
        req.model = request_model(path, parsed)

        parser = None
        if self.config.meter:
            request: Any = None
            if req.billable and body:
                # The parsed body, when it is JSON, saves the estimator parsing it again.
                request = parsed if parsed is not None else body
            parser = make_parser(
                self.parser_factory, req.provider, request=request, estimate=req.billable
            )

        upstream_req = self.client.build_request(
            method, url, headers=upstream_request_headers(raw_headers), content=body
        )
        # httpx adds its own defaults; the upstream must see only what the client sent.
        if "accept-encoding" not in lowered:
            upstream_req.headers["accept-encoding"] = "identity"
        if "user-agent" not in lowered:
            del upstream_req.headers["user-agent"]
        await self._exchange(req, parser, upstream_req, body, receive, send)

    async def _exchange(
        self,
        req: _Request,
        parser: Parser | None,
        upstream_req: httpx.Request,
        body: bytes,
        receive: Receive,
        send: Send,
    ) -> None:
        """Send the request upstream and relay the answer, watching the client throughout: a
        client that hangs up (even before the upstream has answered) closes the upstream
        request at once and is recorded as `client_disconnect`."""
        assert self.client is not None
        interrupted: str | None = None
        upstream_error: httpx.HTTPError | None = None
        response: httpx.Response | None = None
        meter: Meter | None = None
        answered = False  # the row of an unreachable upstream is already written
        disconnected = complete = False
        try:
            async with anyio.create_task_group() as tg:

                async def watch_disconnect() -> None:
                    nonlocal disconnected
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    # uvicorn also reports a disconnect once the response is complete.
                    if not complete:
                        disconnected = True
                        tg.cancel_scope.cancel()

                tg.start_soon(watch_disconnect)
                try:
                    response = await self.client.send(upstream_req, stream=True)
                except httpx.HTTPError as exc:
                    answered = complete = True
                    await self._answer_unreachable(req, parser, exc, send)
                    tg.cancel_scope.cancel()
                    return
                if parser is not None:
                    encoding = response.headers.get("content-encoding")
                    meter = Meter(
                        parser, encoding, keep_limit=self._keep_limit(), secrets=req.secrets
                    )
                req.http_status = response.status_code
                req.request_id = request_id(response.headers)
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status_code,
                        "headers": downstream_response_headers(response.headers.raw),
                    }
                )
                req.ttfb_ms = (time.perf_counter() - req.started) * 1000
                feed = None if meter is None else meter.feed_function()
                try:
                    async for chunk in response.aiter_raw():
                        if feed is not None:
                            try:
                                feed(chunk)
                            except Exception:  # noqa: BLE001 - metering never breaks a stream
                                assert meter is not None
                                meter.fail()
                                feed = None
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    complete = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                except httpx.HTTPError as exc:
                    interrupted, upstream_error = "upstream_error", exc
                except OSError:
                    interrupted = "client_disconnect"  # the write failed: the client is gone
                tg.cancel_scope.cancel()
            if disconnected and interrupted is None:
                interrupted = "client_disconnect"
        except BaseException:
            # Cancelled from outside (server shutdown) or a bug: the row is still written.
            interrupted = interrupted or "cancelled"
            raise
        finally:
            if response is not None:
                with anyio.CancelScope(shield=True):
                    await response.aclose()
            if parser is not None and not answered:
                self._finish_later(
                    functools.partial(
                        self._end_stream,
                        req,
                        meter or Meter(parser),
                        interrupted,
                        upstream_error,
                        body,
                        time.perf_counter(),
                    )
                )
        if upstream_error is not None:
            # Cut the client's response too, as the upstream cut ours: ending it cleanly would
            # pass a truncated body off as complete. The message names no secret.
            raise UpstreamCut(self._error_text(req, upstream_error))

    def _end_stream(
        self,
        req: _Request,
        meter: Meter,
        interrupted: str | None,
        upstream_error: httpx.HTTPError | None,
        body: bytes,
        ended: float,
    ) -> None:
        record = meter.finish(interrupted=interrupted)
        if upstream_error is not None:
            record = replace(
                record,
                error_type=record.error_type or _error_type(upstream_error),
                error_message=self._error_text(req, upstream_error),
            )
        self._finish(req, meter, record, request_body=body, ended=ended)

    def _error_text(self, req: _Request, exc: BaseException) -> str:
        """An upstream failure in words, with the request's secrets scrubbed out."""
        if isinstance(exc, httpx.ReadTimeout):
            text = f"upstream sent nothing for {self.config.read_timeout:g} s (read timeout)"
        elif isinstance(exc, httpx.TimeoutException):
            text = f"upstream timed out ({type(exc).__name__})"
        else:
            detail = " ".join(str(exc).split())
            text = f"upstream failed: {type(exc).__name__}" + (f": {detail}" if detail else "")
        return scrub(text, req.secrets)[:500]

    async def _reject(self, req: _Request, send: Send) -> None:
        """A request target that could lead anywhere but the configured upstream."""
        req.http_status = 400
        log.warning("rejected request target %r: not a plain path", scrub(req.path, req.secrets))
        self._finish_soon(
            req,
            None,
            UsageRecord(
                status="error",
                error_type="proxy_rejected_target",
                error_message="the request target is not a plain path under the upstream",
            ),
        )
        await _send_json(
            send,
            400,
            b'{"type":"error","error":{"type":"proxy_bad_request",'
            b'"message":"the request target must be a plain path"}}',
        )

    async def _answer_unreachable(
        self, req: _Request, parser: Parser | None, exc: httpx.HTTPError, send: Send
    ) -> None:
        timeout = isinstance(exc, httpx.TimeoutException)
        req.http_status = 504 if timeout else 502
        req.proxy_answered = True
        message = self._error_text(req, exc)
        log.warning("upstream request failed: %s", message)
        if parser is not None:
            record = Meter(parser).finish(interrupted="upstream_error")
            record = replace(
                record, status="error", error_type=_error_type(exc), error_message=message
            )
            # Nothing reached the upstream unless the connection was made: no bill to review.
            if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
                record = _unbilled(record)
            self._finish_soon(req, None, record)
        if timeout:
            kind, text = b"proxy_upstream_timeout", b"the upstream did not answer in time"
        else:
            kind, text = b"proxy_upstream_error", b"the upstream could not be reached"
        await _send_json(
            send,
            req.http_status,
            b'{"type":"error","error":{"type":"' + kind + b'","message":"' + text + b'"}}',
        )

    # -- the row -------------------------------------------------------------------------

    def _keep_limit(self) -> int:
        return self.config.max_kept_bytes if self.config.keep_flagged_bodies else 0

    def _finish_soon(self, req: _Request, meter: Meter | None, record: UsageRecord) -> None:
        """`_finish` in the next batch, with the latency as of now."""
        if self.config.meter:
            self._finish_later(
                functools.partial(self._finish, req, meter, record, ended=time.perf_counter())
            )

    def _finish(
        self,
        req: _Request,
        meter: Meter | None,
        record: UsageRecord,
        *,
        request_body: bytes = b"",
        ended: float,
    ) -> None:
        """Exactly one call per request: write the row and the log line. `ended`: when the
        request ended (perf_counter), which may be a little before its batch runs."""
        if not self.config.meter:
            return
        status = req.http_status
        # A request the provider cannot bill (an error answer, a model list) has nothing to
        # review, and must not carry estimated tokens into the totals.
        provider_error = status is not None and not 200 <= status < 300 and not req.proxy_answered
        if not req.billable or provider_error:
            record = _unbilled(record)
        if record.model is None and req.model is not None:
            record = replace(record, model=req.model)
        if record.provider is None and req.provider != "auto":
            record = replace(record, provider=req.provider)
        row = LedgerRow.from_record(
            record,
            ts=req.ts,
            latency_ms=round((ended - req.started) * 1000, 3),
            ttfb_ms=None if req.ttfb_ms is None else round(req.ttfb_ms, 3),
            http_status=status,
            method=req.method,
            path=req.path,
            request_id=req.request_id,
            key_fingerprint=req.key_fingerprint,
            cost_usd=self._cost(record),
        ).scrubbed(req.secrets)  # an upstream may echo the key in its error message
        capture = None
        if meter is not None and row.requires_manual_review and meter.kept_body is not None:
            capture = Capture(request_body, meter.kept_body)
        if self.ledger is not None:
            self.ledger.record(row, capture)
        _log_row(row)

    def _cost(self, record: UsageRecord) -> Any:
        if not self._pricing_loaded:
            self._pricing_loaded = True
            try:
                from sseusage_fast.pricing import Pricing

                self._pricing = Pricing.default()
            except Exception:
                log.warning("no pricing table available; cost_usd is left empty", exc_info=True)
        if self._pricing is None or record.model is None:
            return None
        try:
            return self._pricing.cost(record)
        except Exception:
            log.exception("pricing failed for model %r", record.model)
            return None


def _unbilled(record: UsageRecord) -> UsageRecord:
    cleared: dict[str, Any] = {name: None for name in record.estimated if name in TOKEN_FIELDS}
    return replace(record, requires_manual_review=False, estimated=(), **cleared)


def _error_type(exc: BaseException) -> str:
    return type(exc).__name__


async def _send_json(send: Send, status: int, payload: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _log_row(row: LedgerRow) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    flags = []
    if row.requires_manual_review:
        flags.append("REVIEW")
    if row.estimated:
        flags.append("estimated=" + ",".join(row.estimated))
    if row.interrupted:
        flags.append(row.interrupted)
    # The path only: a query string can hold an API key (?key=).
    log.info(
        "%s %s %s %s model=%s in=%s out=%s cache_write=%s cache_read=%s usage=%s%s "
        "%.0fms key=%s cost=%s",
        row.method,
        row.path,
        row.http_status,
        row.provider or "-",
        row.model or "-",
        row.input_tokens,
        row.output_tokens,
        row.cache_creation_input_tokens,
        row.cache_read_input_tokens,
        row.status,
        (" " + " ".join(flags)) if flags else "",
        row.latency_ms or 0,
        row.key_fingerprint or "-",
        row.cost_usd,
    )


def create_app(
    config: ProxyConfig,
    ledger: Ledger | None = None,
    *,
    parser_factory: ParserFactory | None = None,
    pricing: Any = None,
) -> Starlette:
    """The proxy as an ASGI app. The caller owns `ledger` (opens and closes it)."""
    proxy = Proxy(config, ledger, parser_factory=parser_factory, pricing=pricing)
    app = Starlette(routes=[Route("/{path:path}", proxy)], lifespan=proxy.lifespan)
    app.state.proxy = proxy
    return app
