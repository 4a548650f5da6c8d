"""The public `UsageParser` and `parse_usage`, assembled over either backend's core."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from ._finish import FinishMixin
from .estimate import Estimator
from .record import UsageRecord

DEFAULT_MAX_EVENT_BYTES = 16 << 20


def _signature(
    provider: str = "auto",
    *,
    request: Any = None,
    estimator: Estimator | None = None,
    estimate: bool = True,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    content_type: str | None = None,
) -> None:
    """`UsageParser(...)`, as `inspect.signature` shows it for both backends."""


_DOC = """Incremental usage meter: `feed(chunk)` on every network read, `finish()` once.

    `content_type`: the response's `Content-Type`, where the caller has it; a hint for the
    framing where the first bytes leave it open (the bytes win where they decide).

    One parser per stream. Sharing one between threads is not supported: the native
    backend raises RuntimeError ("Already borrowed") on concurrent use.
    """


def make_parser_class(
    core: type,
    module: str,
    new_record: Callable[[Sequence[Any], tuple[Any, ...]], UsageRecord] | None = None,
) -> type:
    """`UsageParser` over a core class whose `feed` stays the core's own method (for the native
    core: a direct Rust call, no Python frame per chunk); `new_record` builds the record from
    its values in field order (`record_from_values(head, tail)`), when the backend has a faster
    way than the shared one."""

    core_init = core.__dict__.get("__init__")  # the pure core's; the native one has __new__
    if core_init is None:
        # The native core's `__new__` takes the whole signature and keeps the settings, so
        # that making a parser runs no Python `__init__` (a third of its cost); the core comes
        # first, so that its settings are found before FinishMixin's defaults, and its
        # `finish` before FinishMixin's (which it calls where Python must decide).
        class UsageParser(core, FinishMixin):  # type: ignore[misc, valid-type]
            __doc__ = _DOC
            __signature__ = inspect.signature(_signature)

    else:
        init: Callable[..., None] = core_init

        class UsageParser(FinishMixin, core):  # type: ignore[misc, valid-type, no-redef]
            __doc__ = _DOC

            def __init__(
                self,
                provider: str = "auto",
                *,
                request: Any = None,
                estimator: Estimator | None = None,
                estimate: bool = True,
                max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
                content_type: str | None = None,
            ) -> None:
                init(self, provider, max_event_bytes=max_event_bytes, content_type=content_type)
                # The defaults are FinishMixin's class attributes: a parser made with them
                # stores nothing here (a third off the cost of creating one, once per request).
                if request is not None:
                    self._request = request
                if estimator is not None:
                    self._estimator = estimator
                if estimate is not True:
                    self._estimate = estimate

    UsageParser.__module__ = module
    if new_record is not None:
        UsageParser._new_record = staticmethod(new_record)
    return UsageParser


def make_parse_usage(parser_class: type) -> Any:
    def parse_usage(
        body: bytes | bytearray | memoryview,
        provider: str = "auto",
        *,
        request: Any = None,
        estimator: Estimator | None = None,
        estimate: bool = True,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        content_type: str | None = None,
    ) -> UsageRecord:
        """The usage record of a whole captured stream or non-streaming JSON response;
        `content_type`, the response's `Content-Type` where known, is a framing hint."""
        parser = parser_class(
            provider,
            request=request,
            estimator=estimator,
            estimate=estimate,
            max_event_bytes=max_event_bytes,
            content_type=content_type,
        )
        parser.feed(body)
        result: UsageRecord = parser.finish()
        return result

    return parse_usage
