"""The metering reverse proxy: a Starlette app whose one route relays every request upstream.

The relay is written at the ASGI level so that each upstream read goes to the client as soon
as it arrives, and so that a client disconnect is seen at once (not at the next write). One
request goes through: read the body, build the upstream request, then the relay's steps
(`relay.py`), then its row is scheduled (`batcher.py`), built and written (`rows.py`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sseusage_fast.ledger import Capture, Ledger
from sseusage_fast.ledger.row import utcnow
from sseusage_fast.proxy.answers import ClientGone, Refusal, read_body, send_json
from sseusage_fast.proxy.attribution import TAGS_HEADER, TagError, end_user, parse_tags
from sseusage_fast.proxy.batcher import RowBatcher
from sseusage_fast.proxy.budgets import BudgetBook, estimate_cost, seconds_to_reset
from sseusage_fast.proxy.config import ProxyConfig
from sseusage_fast.proxy.ensure_usage import HideUsage, needs_usage, with_usage_requested
from sseusage_fast.proxy.errors import error_body
from sseusage_fast.proxy.headers import (
    install_log_filters,
    key_fingerprint,
    request_id,
    scrub,
    secret_values,
    signed_header_names,
    upstream_request_headers,
    upstream_url,
)
from sseusage_fast.proxy.meter import (
    Meter,
    Parser,
    ParserFactory,
    ParserMaker,
    content_type_hint,
    default_parser_factory,
    parser_maker,
)
from sseusage_fast.proxy.metrics import ProxyMetrics, ledger_health
from sseusage_fast.proxy.ops import handle_ops, is_ops_path
from sseusage_fast.proxy.relay import (
    Outcome,
    UpstreamCut,
    relay_body,
    send_upstream,
    watch_client,
)
from sseusage_fast.proxy.routes import match_route, route_provider
from sseusage_fast.proxy.routing import detect_provider, is_generation, parse_body, request_model
from sseusage_fast.proxy.rows import (
    Coster,
    RequestInfo,
    build_row,
    final_record,
    log_row,
    unbilled,
)
from sseusage_fast.proxy.upstream import UpstreamPool
from sseusage_fast.record import UsageRecord

log = logging.getLogger("sseusage_fast.proxy")

# How long the app's shutdown waits for queued rows to become durable. Only a courtesy: the
# ledger's own close() (bounded too) writes whatever is still queued.
SHUTDOWN_FLUSH_SECONDS = 2.0


# Headers for the proxy only, removed before forwarding.
_PROXY_HEADERS = frozenset({TAGS_HEADER})


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
        self.content_type_hint = content_type_hint(self.parser_factory)
        self.coster = Coster(pricing)
        self.client: httpx.AsyncClient | None = None
        self.batcher = RowBatcher()
        self.loopback_only = False
        self.in_flight = 0
        self.metrics = ProxyMetrics(self._gauges)
        self.budgets = BudgetBook(config.budgets, ledger) if config.budgets else None
        # OpenTelemetry (the `otel` extra), or a GenAITelemetry given to create_app.
        self.telemetry: Any = None
        if config.otel:
            from sseusage_fast.proxy.telemetry import GenAITelemetry

            self.telemetry = GenAITelemetry()
        # ConfigError (a ValueError) for a bad upstream or route, before anything is served.
        self.routes = config.all_routes()
        self.base_urls = {route.prefix: httpx.URL(route.upstream) for route in self.routes}
        install_log_filters()

    # -- lifecycle -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        c = self.config
        timeout = httpx.Timeout(
            connect=c.connect_timeout,
            read=c.read_timeout,
            write=c.write_timeout,
            pool=c.pool_timeout,
        )

        # One TLS context for every shard: making one loads the CA bundle (about 15 ms of the
        # event loop's time, blocking every stream), and under load a shard opens per 16 streams
        # (at 1,000 new streams, 17% of the loop's time went there).
        tls = httpx.create_ssl_context(trust_env=c.trust_env)

        def make_client(limits: httpx.Limits) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                timeout=timeout,
                limits=limits,
                follow_redirects=False,
                trust_env=c.trust_env,
                verify=tls,
            )

        if c.meter:
            await anyio.to_thread.run_sync(self.coster.load)
        self.pool = UpstreamPool(make_client, max_connections=c.limits.max_upstream_connections)
        self.client = self.pool.first
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.batcher.run)
                try:
                    yield
                finally:
                    tg.cancel_scope.cancel()
        finally:
            # Requests still relayed now (a shutdown that cut them) write their rows at once.
            self.batcher.stop()
            await self.pool.aclose()
            if self.ledger is not None:
                # Bounded: a ledger that cannot write (database and spool down) must not hold
                # the shutdown; the runner's close() then spools or prints what is left.
                await anyio.to_thread.run_sync(self.ledger.flush, SHUTDOWN_FLUSH_SECONDS)

    def write_pending_rows(self) -> None:
        """Write the rows of requests that have ended, now (at shutdown)."""
        self.batcher.write_pending()

    def _gauges(self) -> dict[str, tuple[str, float | None]]:
        state = ledger_health(self.ledger)
        queued = state.get("queued_rows")
        return {
            "sseusage_in_flight_requests": ("Requests being relayed now", self.in_flight),
            "sseusage_ledger_queued_rows": (
                "Rows ended but not yet written to the ledger (batch and writer queue)",
                self.batcher.pending + (queued or 0),
            ),
            "sseusage_ledger_lag_seconds": (
                "Age of the oldest row not yet written (NaN when the ledger cannot tell)",
                state.get("lag_seconds"),
            ),
            "sseusage_spool_rows": (
                "Rows waiting in the spool for the ledger database",
                state.get("spooled_rows"),
            ),
            "sseusage_ledger_ready": ("1 when the ledger takes rows", float(state["ready"])),
        }

    # -- one request ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        assert self.client is not None, "the app's lifespan has not run"
        if is_ops_path("/" + scope["path"].lstrip("/")):
            await handle_ops(self, scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self._relay(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _relay(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.client is not None
        raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        lowered = {k.lower(): v for k, v in raw_headers}
        query_string = scope.get("query_string", b"").decode("latin-1")
        query = dict(parse_qsl(query_string))
        method, path = scope["method"], scope["path"]
        raw_path: bytes = scope.get("raw_path") or path.encode()
        matched = match_route(self.routes, raw_path)
        route, rest = matched if matched is not None else (None, raw_path)
        # The path as the upstream knows it (the route's prefix cut), for what it tells.
        tail = (path[len(route.prefix) :] or "/") if route is not None else path
        detected = detect_provider(tail)
        req = RequestInfo(
            started=time.perf_counter(),
            ts=utcnow(),
            method=method,
            path=path,
            provider=detected if route is None else route_provider(route, tail, detected),
            model=None,
            billable=is_generation(method, tail),
            key_fingerprint=key_fingerprint(lowered, query),
            secrets=secret_values(lowered, query),
        )
        try:
            req.tags = parse_tags(
                lowered.get(TAGS_HEADER, ""),
                max_tags=self.config.limits.max_tags,
                max_chars=self.config.limits.max_tag_chars,
            )
        except TagError as exc:
            await self._refuse(req, send, 400, "bad_tags", str(exc))
            return
        try:
            body = await read_body(receive, lowered, self.config.limits)
        except ClientGone:
            self._finish_soon(req, None, UsageRecord(interrupted="client_disconnect"))
            return
        except Refusal as refusal:
            await self._refuse(req, send, *refusal.args)
            return
        if route is None:
            await self._no_route(req, send)
            return
        url = upstream_url(self.base_urls[route.prefix], rest, query_string)
        if url is None:
            await self._reject(req, send)
            return
        parsed = parse_body(body)
        req.model = request_model(tail, parsed)
        req.end_user = end_user(parsed)
        if (
            self.budgets is not None
            and self.config.meter
            and not await self._admit(req, parsed, body, send)
        ):
            return
        make = self._parser(req, parsed, body)
        signed = signed_header_names(lowered)
        sent = body
        if route.ensure_usage and make is not None and not signed and needs_usage(tail, parsed):
            assert parsed is not None
            sent = with_usage_requested(body, parsed)
            req.hide_usage = True
        upstream_req = self.client.build_request(
            method,
            url,
            headers=upstream_request_headers(raw_headers, signed=signed, drop_also=_PROXY_HEADERS),
            content=sent,
        )
        del sent
        # httpx adds its own defaults; the upstream must see only what the client sent.
        # A stream whose events are edited on the way must come uncoded.
        if "accept-encoding" not in lowered or req.hide_usage:
            upstream_req.headers["accept-encoding"] = "identity"
        if "user-agent" not in lowered:
            del upstream_req.headers["user-agent"]
        await self._exchange(req, make, upstream_req, body, receive, send)

    def _parser(
        self, req: RequestInfo, parsed: dict[str, Any] | None, body: bytes
    ) -> ParserMaker | None:
        """What makes the response's parser once the upstream has answered (its content type
        is the parser's framing hint); None when nothing is metered."""
        if not self.config.meter:
            return None
        request: Any = None
        if req.billable and body:
            # The parsed body, when it is JSON, saves the estimator parsing it again.
            request = parsed if parsed is not None else body
        return parser_maker(
            self.parser_factory,
            req.provider,
            content_type_hint=self.content_type_hint,
            request=request,
            estimate=req.billable,
        )

    async def _exchange(
        self,
        req: RequestInfo,
        make: ParserMaker | None,
        upstream_req: httpx.Request,
        body: bytes,
        receive: Receive,
        send: Send,
    ) -> None:
        """The relay's steps under one task group: `watch_client` throughout, `send_upstream`,
        then `relay_body`; then the row is scheduled. A client that hangs up (even before the
        upstream has answered) closes the upstream request at once."""
        assert self.client is not None
        outcome = Outcome()
        response: httpx.Response | None = None
        meter: Meter | None = None
        parser: Parser | None = None
        shard = -1  # the upstream pool's shard in use, released when the response closes
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch_client, receive, outcome, tg.cancel_scope.cancel)
                shard, client = self.pool.acquire()
                try:
                    response = await send_upstream(client, upstream_req)
                except httpx.HTTPError as exc:
                    self.pool.release(shard)
                    shard = -1
                    outcome.complete = True  # the answer is the proxy's; its row is written
                    await self._answer_unreachable(req, make, exc, send)
                    make = None
                    tg.cancel_scope.cancel()
                    return
                req.http_status = response.status_code
                req.request_id = request_id(response.headers)
                req.ttfb_ms = (time.perf_counter() - req.started) * 1000
                feed = None
                if make is not None:
                    parser = make(response.headers.get("content-type"))
                    encoding = response.headers.get("content-encoding")
                    meter = Meter(
                        parser, encoding, keep_limit=self._keep_limit(), secrets=req.secrets
                    )
                    feed = meter.feed_function()
                transform = None
                if req.hide_usage and "content-encoding" not in response.headers:
                    transform = HideUsage()
                await relay_body(
                    response,
                    send,
                    outcome,
                    feed,
                    transform=transform,
                    on_feed_error=meter.fail if meter else None,
                )
                if make is not None and meter is not None:
                    # With the last bytes: each step below waits a loop turn (the loss window).
                    self._schedule_row(req, meter, outcome, body)
                    make = None
                tg.cancel_scope.cancel()
        except BaseException:
            # Cancelled from outside (server shutdown) or a bug: the row is still written.
            # (After the whole response reached the client, nothing was cut.)
            if not outcome.complete:
                outcome.cancelled = True
            raise
        finally:
            if response is not None:
                with anyio.CancelScope(shield=True):
                    await response.aclose()
            if shard >= 0:
                self.pool.release(shard)
            if make is not None:
                # No response (cancelled before it came): a parser without a hint.
                meter = meter or Meter(parser or make(None))
                self._schedule_row(req, meter, outcome, body)
        if outcome.upstream_error is not None:
            # Cut the client's response too, as the upstream cut ours: ending it cleanly would
            # pass a truncated body off as complete. The message names no secret.
            raise UpstreamCut(self._error_text(req, outcome.upstream_error))

    def _schedule_row(self, req: RequestInfo, meter: Meter, outcome: Outcome, body: bytes) -> None:
        end = functools.partial(self._end_stream, req, meter, outcome, body, time.perf_counter())
        if req.hold is not None and self.budgets is not None and self.budgets.is_close(req.hold):
            end()  # near a budget's limit: the row goes to the ledger now, not in a batch
        else:
            self.batcher.later(end)

    def _end_stream(
        self, req: RequestInfo, meter: Meter, outcome: Outcome, body: bytes, ended: float
    ) -> None:
        record = meter.finish(interrupted=outcome.interrupted)
        error = outcome.upstream_error
        if error is not None:
            record = replace(
                record,
                error_type=record.error_type or type(error).__name__,
                error_message=self._error_text(req, error),
            )
        self._finish(req, meter, record, request_body=body, ended=ended)

    def _error_text(self, req: RequestInfo, exc: BaseException) -> str:
        """An upstream failure in words, with the request's secrets scrubbed out."""
        if isinstance(exc, httpx.ReadTimeout):
            text = f"upstream sent nothing for {self.config.read_timeout:g} s (read timeout)"
        elif isinstance(exc, httpx.TimeoutException):
            text = f"upstream timed out ({type(exc).__name__})"
        else:
            detail = " ".join(str(exc).split())
            text = f"upstream failed: {type(exc).__name__}" + (f": {detail}" if detail else "")
        return scrub(text, req.secrets)[:500]

    async def _reject(self, req: RequestInfo, send: Send) -> None:
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
        await send_json(
            send,
            400,
            b'{"type":"error","error":{"type":"proxy_bad_request",'
            b'"message":"the request target must be a plain path"}}',
        )

    async def _admit(
        self, req: RequestInfo, parsed: dict[str, Any] | None, body: bytes, send: Send
    ) -> bool:
        """Check the request's budgets and hold its estimated cost; False when refused."""
        assert self.budgets is not None
        limit = None
        if parsed is not None:
            for name in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
                limit = limit or parsed.get(name)
        estimate = estimate_cost(self.coster.cost, req.model, body, limit)
        hold, over, spend = await self.budgets.admit(req.key_fingerprint, req.tags, estimate)
        if over is None:
            req.hold = hold
            return True
        who = f"tag {over.tag}" if over.tag is not None else f"key {over.key}"
        window = {"day": "today (UTC)", "month": "this month (UTC)"}.get(
            over.window, f"in the last {over.window}"
        )
        message = f"budget exceeded for {who}: {spend:.2f} of {over.usd} USD spent {window}"
        now = datetime.now(timezone.utc)
        retry = seconds_to_reset(over, now)
        headers = [] if retry is None else [(b"retry-after", str(retry).encode())]
        await self._refuse(req, send, 429, "budget_exceeded", message, headers)
        return False

    async def _refuse(
        self,
        req: RequestInfo,
        send: Send,
        status: int,
        code: str,
        message: str,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Answer the request here, in its provider's error shape, and record it refused."""
        req.http_status = status
        req.proxy_answered = True
        req.refused = code
        self._finish_soon(
            req, None, UsageRecord(status="error", error_type=code, error_message=message)
        )
        body, headers = error_body(req.provider, status, message, code)
        headers += extra_headers or []
        if status in (408, 413):
            # The rest of the body is never read: the connection cannot carry another request.
            headers.append((b"connection", b"close"))
        await send_json(send, status, body, headers)

    async def _no_route(self, req: RequestInfo, send: Send) -> None:
        """A path under no route's prefix: answered here, never forwarded."""
        req.http_status = 404
        self._finish_soon(
            req,
            None,
            UsageRecord(
                status="error",
                error_type="proxy_no_route",
                error_message="the request path is under no configured route",
            ),
        )
        await send_json(
            send,
            404,
            b'{"type":"error","error":{"type":"proxy_no_route",'
            b'"message":"no route of this proxy takes this path"}}',
        )

    async def _answer_unreachable(
        self, req: RequestInfo, make: ParserMaker | None, exc: httpx.HTTPError, send: Send
    ) -> None:
        timeout = isinstance(exc, httpx.TimeoutException)
        req.http_status = 504 if timeout else 502
        req.proxy_answered = True
        message = self._error_text(req, exc)
        log.warning("upstream request failed: %s", message)
        if make is not None:
            record = Meter(make(None)).finish(interrupted="upstream_error")
            record = replace(
                record, status="error", error_type=type(exc).__name__, error_message=message
            )
            # Nothing reached the upstream unless the connection was made: no bill to review.
            if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
                record = unbilled(record)
            self._finish_soon(req, None, record)
        if timeout:
            kind, text = b"proxy_upstream_timeout", b"the upstream did not answer in time"
        else:
            kind, text = b"proxy_upstream_error", b"the upstream could not be reached"
        await send_json(
            send,
            req.http_status,
            b'{"type":"error","error":{"type":"' + kind + b'","message":"' + text + b'"}}',
        )

    # -- the row -------------------------------------------------------------------------

    def _keep_limit(self) -> int:
        return self.config.max_kept_bytes if self.config.keep_flagged_bodies else 0

    def _finish_soon(self, req: RequestInfo, meter: Meter | None, record: UsageRecord) -> None:
        """`_finish` in the next batch, with the latency as of now."""
        if self.config.meter:
            self.batcher.later(
                functools.partial(self._finish, req, meter, record, ended=time.perf_counter())
            )

    def _finish(
        self,
        req: RequestInfo,
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
        record = final_record(req, record)
        # A 2xx body that is no provider's (an HTML page): its cost is unknown, not 0.
        unknown = req.billable and record.status == "not_sse"
        cost = None if unknown or req.refused else self.coster.cost(record)
        # An upstream may echo the key in its error message.
        row = build_row(
            req, record, ended=ended, cost_usd=cost, pricing=self.coster.pricing
        ).scrubbed(req.secrets)
        capture = None
        if meter is not None and row.requires_manual_review and meter.kept_body is not None:
            capture = Capture(request_body, meter.kept_body)
        if self.ledger is not None:
            self.ledger.record(row, capture)
        if req.hold is not None and self.budgets is not None:
            self.budgets.settle(req.hold, row.cost_usd, row.uuid)
        self.metrics.observe_row(row, req.refused)
        if self.telemetry is not None:
            try:
                self.telemetry.record(row, req.started, ended)
            except Exception:  # exporting must never lose a row or fail a batch
                log.exception("OpenTelemetry export failed")
        log_row(row)


def create_app(
    config: ProxyConfig,
    ledger: Ledger | None = None,
    *,
    parser_factory: ParserFactory | None = None,
    pricing: Any = None,
    loopback_only: bool = False,
    telemetry: Any = None,
) -> Starlette:
    """The proxy as an ASGI app. The caller owns `ledger` (opens and closes it).
    `loopback_only`: the server listens on loopback only, where the admin endpoints need no
    token."""
    proxy = Proxy(config, ledger, parser_factory=parser_factory, pricing=pricing)
    proxy.loopback_only = loopback_only
    if telemetry is not None:
        proxy.telemetry = telemetry
    app = Starlette(routes=[Route("/{path:path}", proxy)], lifespan=proxy.lifespan)
    app.state.proxy = proxy
    return app
