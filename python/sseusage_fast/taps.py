"""Stream taps: meter a response body while passing it through untouched.

`tap` wraps a sync iterable of chunks, `atap` an async one (asyncio and trio, via anyio). Both
yield every chunk unchanged (the same object), feed it to a `UsageParser`, and call
`on_usage(record)` exactly once:

- at the normal end of the stream (`record.interrupted is None`);
- when the upstream raises (`"upstream_error"`; the original exception is then re-raised);
- when the consumer stops early: `close()` / `aclose()`, a `break` followed by garbage
  collection, or an exception thrown in (`"client_disconnect"`). The wrapped source is closed
  too, as `yield from` would;
- when the task is cancelled or interrupted (`"cancelled"`; the cancellation propagates).
  Under Starlette on an ASGI < 2.4 server (uvicorn), a client disconnect cancels the task that
  streams the body, so it is reported as `"cancelled"` when it arrives while waiting upstream.

The meter never breaks the client's stream: a failing `on_usage` and a failing parser are logged
on the `sseusage_fast` logger, and the record is still delivered (flagged for review when the
parser failed). Chunks may be `bytes`, `bytearray` or `memoryview`; `str` chunks (httpx
`aiter_text()`, Starlette bodies) are passed through as they are and metered as UTF-8. Any other
chunk type is passed through unmetered and flags the record, rather than raising into the
stream.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from typing import TYPE_CHECKING, Any, AnyStr

from .record import UsageRecord

if TYPE_CHECKING:  # typing.Self is 3.11+; the core library has no runtime dependencies
    from typing_extensions import Self

__all__ = ["atap", "tap"]

logger = logging.getLogger("sseusage_fast")

OnUsage = Callable[[UsageRecord], Any]

_BYTES_LIKE = (bytes, bytearray, memoryview)


def _interruption(exc: BaseException) -> str:
    """Exceptions are failures; other BaseExceptions (Cancelled, KeyboardInterrupt) stop us."""
    return "upstream_error" if isinstance(exc, Exception) else "cancelled"


def _flag(record: Any, note: str) -> Any:
    # The record is frozen; a dataclass copy keeps the parser's figures and adds the doubt.
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        notes = (*getattr(record, "notes", ()), note)
        return dataclasses.replace(record, requires_manual_review=True, notes=notes)
    return record


class _Meter:
    """Parser plus the exactly-once reporting state shared by `tap` and `atap`."""

    __slots__ = ("_note", "_on_usage", "_parser", "done")

    def __init__(self, parser: Any, on_usage: OnUsage) -> None:
        self._parser = parser
        self._on_usage = on_usage
        self._note: str | None = None  # set once metering has failed; feeding stops
        self.done = False

    def feed(self, chunk: object) -> None:
        if self._note is not None:
            return
        try:
            if isinstance(chunk, _BYTES_LIKE):
                self._parser.feed(chunk)
            elif isinstance(chunk, str):
                self._parser.feed(chunk.encode("utf-8"))
            else:
                self._note = (
                    f"tap: a {type(chunk).__name__} chunk was not metered; metering stopped"
                )
                logger.error("%s", self._note)
        except Exception as exc:  # the parser should never fail; the stream must go on if it does
            self._note = f"tap: parser failed: {exc!r}; metering stopped"
            logger.exception("sseusage_fast: UsageParser.feed failed; metering stopped")

    def _record(self, interrupted: str | None) -> Any:
        try:
            record = self._parser.finish(interrupted=interrupted)
        except Exception as exc:
            logger.exception("sseusage_fast: UsageParser.finish failed")
            note = f"tap: parser finish failed: {exc!r}"
            record = UsageRecord(interrupted=interrupted, notes=(note,))
        return _flag(record, self._note) if self._note else record

    def _claim(self) -> bool:
        if self.done:
            return False
        self.done = True
        return True

    def report(self, interrupted: str | None) -> None:
        """Sync delivery (`tap`, and the last resort when an unstarted `atap` is collected)."""
        if not self._claim():
            return
        record = self._record(interrupted)
        try:
            result = self._on_usage(record)
        except Exception:
            logger.exception("sseusage_fast: on_usage failed")
            return
        if inspect.isawaitable(result):
            # Nothing can await it here; keep the figures in the log rather than lose them.
            close = getattr(result, "close", None)
            if close is not None:
                close()
            logger.error(
                "sseusage_fast: on_usage returned an awaitable that cannot be awaited here "
                "(use atap for async callbacks); record: %r",
                record.to_dict() if hasattr(record, "to_dict") else record,
            )

    async def areport(self, interrupted: str | None) -> None:
        """Async delivery: awaits an async `on_usage`, shielded unless the stream ended normally."""
        if not self._claim():
            return
        record = self._record(interrupted)
        try:
            result = self._on_usage(record)
            if inspect.isawaitable(result):
                if interrupted in ("cancelled", "client_disconnect"):
                    import anyio

                    # The surrounding scope is (or may be) cancelled; the record must still land.
                    with anyio.CancelScope(shield=True):
                        await result
                else:
                    await result
        except Exception:
            logger.exception("sseusage_fast: on_usage failed")


def _make_meter(on_usage: OnUsage, parser: Any, parser_kwargs: dict[str, Any]) -> _Meter:
    if not callable(on_usage):
        raise TypeError(f"on_usage must be callable, not {type(on_usage).__name__}")
    if parser is None:
        from . import UsageParser  # lazy: sseusage_fast/__init__ imports this module

        parser = UsageParser(**parser_kwargs)
    elif parser_kwargs:
        raise TypeError(f"pass either parser or parser options, not both: {sorted(parser_kwargs)}")
    return _Meter(parser, on_usage)


# ---------------------------------------------------------------------------------------------
# sync


def _close_source(it: Iterator[Any]) -> None:
    close = getattr(it, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:
        logger.exception("sseusage_fast: closing the upstream iterator failed")


def _run(it: Iterator[AnyStr], meter: _Meter) -> Generator[AnyStr, None, None]:
    feed = meter.feed
    while True:
        try:
            chunk = next(it)
        except StopIteration:
            meter.report(None)
            return
        except BaseException as exc:
            meter.report(_interruption(exc))
            raise
        feed(chunk)
        try:
            yield chunk
        except GeneratorExit:
            meter.report("client_disconnect")
            _close_source(it)
            raise
        except BaseException as exc:  # thrown in by the consumer: it has stopped reading
            meter.report("cancelled" if not isinstance(exc, Exception) else "client_disconnect")
            _close_source(it)
            raise


class _Tap(Iterator[Any]):
    """The iterator `tap` returns; also reports when closed or dropped before it started."""

    __slots__ = ("_gen", "_it", "_meter", "_started")

    def __init__(self, it: Iterator[Any], meter: _Meter) -> None:
        self._it = it
        self._meter = meter
        self._gen = _run(it, meter)
        self._started = False

    def __iter__(self) -> _Tap:
        return self

    def __next__(self) -> Any:
        self._started = True
        return next(self._gen)

    def close(self) -> None:
        if not self._started and not self._meter.done:
            # A generator closed before its first step runs no code: report here instead.
            self._meter.report("client_disconnect")
            _close_source(self._it)
        self._gen.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Started generators report through their own GeneratorExit when collected.
        if not self._started and not self._meter.done:
            self.close()


def tap(
    chunks: Iterable[AnyStr],
    on_usage: OnUsage,
    *,
    parser: Any = None,
    **parser_kwargs: Any,
) -> Iterator[AnyStr]:
    """Yield every chunk of `chunks` unchanged and call `on_usage(record)` exactly once.

    `parser` is a ready `UsageParser`; otherwise one is made from `parser_kwargs`
    (`provider`, `request`, `estimator`, `estimate`, `max_event_bytes`). The result is an
    iterator with `close()` and context-manager support; closing it (or dropping it) before the
    end reports `interrupted="client_disconnect"` and closes `chunks` if it can be closed.
    """
    it = iter(chunks)  # not iterable: fail here, not mid-response
    return _Tap(it, _make_meter(on_usage, parser, parser_kwargs))


# ---------------------------------------------------------------------------------------------
# async


async def _aclose_source(it: AsyncIterator[Any]) -> None:
    aclose = getattr(it, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        logger.exception("sseusage_fast: closing the upstream iterator failed")


async def _arun(it: AsyncIterator[AnyStr], meter: _Meter) -> AsyncGenerator[AnyStr, None]:
    feed = meter.feed
    while True:
        try:
            chunk = await it.__anext__()
        except StopAsyncIteration:
            await meter.areport(None)
            return
        except BaseException as exc:
            await meter.areport(_interruption(exc))
            raise
        feed(chunk)
        try:
            yield chunk
        except GeneratorExit:
            # aclose(), or the event loop finalising an abandoned generator.
            await meter.areport("client_disconnect")
            await _aclose_source(it)
            raise
        except BaseException as exc:  # thrown in by the consumer: it has stopped reading
            await meter.areport(
                "cancelled" if not isinstance(exc, Exception) else "client_disconnect"
            )
            await _aclose_source(it)
            raise


class _ATap(AsyncIterator[Any]):
    """The async iterator `atap` returns; also reports when closed before it started."""

    __slots__ = ("_agen", "_it", "_meter", "_started")

    def __init__(self, it: AsyncIterator[Any], meter: _Meter) -> None:
        self._it = it
        self._meter = meter
        self._agen = _arun(it, meter)
        self._started = False

    def __aiter__(self) -> _ATap:
        return self

    def __anext__(self) -> Any:
        # Hand back the generator's awaitable directly: no extra coroutine frame per chunk.
        self._started = True
        return self._agen.__anext__()

    async def aclose(self) -> None:
        if not self._started and not self._meter.done:
            # An async generator closed before its first step runs no code: report here.
            await self._meter.areport("client_disconnect")
            await _aclose_source(self._it)
        await self._agen.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Started: the event loop's async-generator finaliser runs aclose() on the inner
        # generator, which reports. Never started: only a sync report is possible here.
        if not self._started and not self._meter.done:
            self._meter.report("client_disconnect")


def atap(
    chunks: AsyncIterable[AnyStr],
    on_usage: OnUsage,
    *,
    parser: Any = None,
    **parser_kwargs: Any,
) -> AsyncIterator[AnyStr]:
    """Async `tap`: for asyncio and trio (anyio). `on_usage` may be sync or async.

    An async `on_usage` is awaited before the stream ends; on cancellation and early close it
    runs inside a shielded cancel scope, so the record is delivered even in a cancelled task.
    Keep it short (or bound it with a timeout): a shielded callback delays the cancellation.
    The result has `aclose()` and async-context-manager support.
    """
    try:
        import anyio  # noqa: F401  (needed for the shield; fail now rather than mid-stream)
    except ImportError as exc:  # pragma: no cover - anyio is in every extra that uses atap
        raise ImportError("sseusage_fast.atap needs anyio: pip install anyio") from exc
    if not isinstance(chunks, AsyncIterable):
        raise TypeError(
            f"atap needs an async iterable, not {type(chunks).__name__} (use tap for sync ones)"
        )
    it = chunks.__aiter__()
    return _ATap(it, _make_meter(on_usage, parser, parser_kwargs))
