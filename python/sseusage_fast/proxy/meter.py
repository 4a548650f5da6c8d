"""The meter of one response: undoes content coding on a copy and feeds the usage parser.

Nothing here may break the client's stream: a parser failure is logged and turned into a
flagged record, never raised into the relay loop.
"""

from __future__ import annotations

import inspect
import logging
import zlib
from collections.abc import Callable
from typing import Any, Protocol

from sseusage_fast.record import UsageRecord
from sseusage_fast.redact import safe_text

log = logging.getLogger("sseusage_fast.proxy")

_DEBUG_DATA_CHARS = 300
# A parser written in Python pays for every call, so small network reads are handed to it in
# batches of about this size (usage is only read at the end: nothing is lost by the delay).
# A native parser's feed is a direct C call, cheaper per read than the batching itself: it is
# given each read as it comes.
FEED_BATCH_BYTES = 16 * 1024


class Parser(Protocol):
    def feed(self, chunk: bytes) -> None: ...

    def finish(self, *, interrupted: str | None = None) -> UsageRecord: ...


ParserFactory = Callable[..., Parser]


def backend() -> Any:
    """The package's chosen backend (native when built), as the top level exports it."""
    import sseusage_fast

    if hasattr(sseusage_fast, "UsageParser"):
        return sseusage_fast
    from sseusage_fast import pure

    return pure


def default_parser_factory(**kwargs: Any) -> Parser:
    parser: Parser = backend().UsageParser(**kwargs)
    return parser


class _NoParser:
    """Stands in when no parser could be made: the request is relayed and recorded as
    needing review rather than failing."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def feed(self, chunk: bytes) -> None:
        pass

    def finish(self, *, interrupted: str | None = None) -> UsageRecord:
        return UsageRecord(
            status="error",
            error_type="meter_failure",
            error_message=self.reason,
            interrupted=interrupted,
        )


def make_parser(factory: ParserFactory, provider: str, **kwargs: Any) -> Parser:
    """A parser for `provider`, else an auto-detecting one, else a stand-in: metering
    trouble must never turn into a failed request."""
    for choice in dict.fromkeys((provider, "auto")):
        try:
            return factory(provider=choice, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure here means "meter differently"
            log.warning("cannot meter with provider=%r: %s", choice, exc)
            reason = repr(exc)
    return _NoParser(reason)


# Makes the parser of one response from its Content-Type (None when it has none).
ParserMaker = Callable[[str | None], Parser]


def takes_content_type(factory: ParserFactory) -> bool:
    """Whether `factory` takes a `content_type=` keyword (by that name, or any keyword). A
    factory whose signature cannot be read (a class written in C) is assumed to."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return True
    for param in signature.parameters.values():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            return True
        if param.name == "content_type" and param.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            return True
    return False


def content_type_hint(factory: ParserFactory) -> bool:
    """`takes_content_type`, read once per proxy; a factory that does not is called without
    it (with it, every call would fail and each response be recorded as a meter failure), and
    the proxy says so once."""
    takes = takes_content_type(factory)
    if not takes:
        log.warning(
            "the parser factory %r takes no content_type= keyword: it is called without "
            "the response's Content-Type (a framing hint)",
            getattr(factory, "__qualname__", factory),
        )
    return takes


def parser_maker(
    factory: ParserFactory, provider: str, *, content_type_hint: bool = True, **kwargs: Any
) -> ParserMaker:
    """`make_parser` deferred until the upstream answers: the response's content type is a
    hint for the framing (read once, by the parser's constructor; passed to `factory` as
    `content_type` when the response has one, unless `content_type_hint` is False: a factory
    that does not take it, see `takes_content_type`)."""

    def make(content_type: str | None) -> Parser:
        if content_type is None or not content_type_hint:
            return make_parser(factory, provider, **kwargs)
        return make_parser(factory, provider, content_type=content_type, **kwargs)

    return make


class _Decoder(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


class _Deflate:
    """HTTP "deflate" is zlib-wrapped by the RFC, raw in some servers: accept both."""

    def __init__(self) -> None:
        self._obj: Any = None
        self._first = True

    def decompress(self, data: bytes) -> bytes:
        if self._first and data:
            self._first = False
            raw = (data[0] & 0x0F) != 8  # a zlib header names method 8 (deflate)
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        return self._obj.decompress(data) if self._obj is not None else b""


def _decoder(coding: str) -> _Decoder | None:
    if coding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return _Deflate()
    if coding == "br":
        try:
            import brotli  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return None
        return brotli.Decompressor()  # type: ignore[no-any-return, unused-ignore]
    return None


class Meter:
    def __init__(
        self,
        parser: Parser,
        content_encoding: str | None = None,
        *,
        keep_limit: int = 0,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self._parser = parser
        self._secrets = secrets
        self._decoders: list[_Decoder] = []
        self._undecodable: str | None = None
        # Codings are listed in the order applied; undo them in reverse.
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        for coding in reversed(codings):
            if coding == "identity":
                continue
            decoder = _decoder(coding)
            if decoder is None:
                # The parser then sees the coded bytes and reports them as not an event stream.
                self._undecodable = coding
                self._decoders = []
                break
            self._decoders.append(decoder)
        self._failed = False
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._keep_limit = keep_limit
        self._kept: list[bytes] | None = [] if keep_limit else None
        self._kept_size = 0
        self._debug = log.isEnabledFor(logging.DEBUG)
        self._events: Any = None
        if self._debug:
            self._events = backend().SSEDecoder()

    def feed_function(self) -> Callable[[bytes], None]:
        """What the relay calls on every network read: the parser's own C-level `feed` when
        nothing has to be done to the bytes first (no decoding, keeping or debug logging),
        else `feed`. A direct feed may raise: the caller then calls `fail()` and stops."""
        plain = not self._decoders and self._kept is None and not self._debug
        if plain and not self._failed and inspect.isbuiltin(self._parser.feed):
            return self._parser.feed
        return self.feed

    def fail(self) -> None:
        """The parser raised while fed directly: log it once and stop metering this stream."""
        self._failed = True
        log.exception("metering failed; the stream is still relayed unchanged")

    def feed(self, chunk: bytes) -> None:
        if self._failed:
            return
        try:
            data = chunk
            for decoder in self._decoders:
                data = decoder.decompress(data)
            if not data:
                return
            self._pending.append(data)
            self._pending_size += len(data)
            if self._pending_size >= FEED_BATCH_BYTES:
                self._flush_pending()
            if self._kept is not None:
                self._keep(data)
            if self._debug:
                self._log_events(data)
        except Exception:
            self._failed = True
            log.exception("metering failed; the stream is still relayed unchanged")

    def _flush_pending(self) -> None:
        if self._pending:
            batch = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending, self._pending_size = [], 0
            self._parser.feed(batch)

    def _keep(self, data: bytes) -> None:
        assert self._kept is not None
        if self._kept_size + len(data) > self._keep_limit:
            self._kept = None  # Too big to keep: better none than a truncated capture.
            return
        self._kept.append(data)
        self._kept_size += len(data)

    def _log_events(self, data: bytes) -> None:
        # Upstream text: an error event may echo the caller's key, any text may hold escapes.
        for event in self._events.feed(data):
            log.debug(
                "event %s: %s",
                safe_text(event.event, self._secrets, _DEBUG_DATA_CHARS),
                safe_text(event.data, self._secrets, _DEBUG_DATA_CHARS),
            )

    @property
    def kept_body(self) -> bytes | None:
        """The decoded response, when keeping was asked for and it fit."""
        return None if self._kept is None else b"".join(self._kept)

    def finish(self, interrupted: str | None = None) -> UsageRecord:
        try:
            if not self._failed:
                self._flush_pending()
        except Exception:
            self._failed = True
            log.exception("metering failed; the stream is still relayed unchanged")
        try:
            record = self._parser.finish(interrupted=interrupted)
        except Exception as exc:
            log.exception("metering failed at the end of the stream")
            return UsageRecord(
                status="error",
                error_type="meter_failure",
                error_message=repr(exc),
                interrupted=interrupted,
            )
        if self._failed:
            notes = (*record.notes, "the meter failed mid-stream; figures are incomplete")
            record = _replace(record, requires_manual_review=True, notes=notes)
        if self._undecodable is not None:
            notes = (*record.notes, f"response coded with {self._undecodable!r}, not decodable")
            record = _replace(record, notes=notes)
        return record


def _replace(record: UsageRecord, **changes: Any) -> UsageRecord:
    from dataclasses import replace

    return replace(record, **changes)
