"""Type stubs of the Rust extension (rust/python/)."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeAlias, TypeVar, final

from typing_extensions import Self

__all__ = [
    "Event",
    "ParserSettings",
    "RecordBuilder",
    "SSEDecoder",
    "UsageCore",
    "WindowStore",
    "parse_usage_raw",
    "text_stats",
]

_Chunk: TypeAlias = bytes | bytearray | memoryview
_T = TypeVar("_T")

@final
class Event:
    """One server-sent event."""

    @property
    def event(self) -> str: ...
    @property
    def data(self) -> str: ...
    @property
    def id(self) -> str: ...
    def __new__(
        cls, event: str | None = ..., data: str | None = ..., id: str | None = ...
    ) -> Self: ...

@final
class SSEDecoder:
    """Incremental event-stream decoder (WHATWG "interpreting an event stream")."""

    def __new__(cls, *, last_event_id: str = "", max_event_bytes: int = ...) -> Self: ...
    def feed(self, chunk: _Chunk) -> list[Event]: ...
    def flush(self) -> list[Event]: ...
    @property
    def last_event_id(self) -> str: ...
    @property
    def retry(self) -> int | None: ...

class ParserSettings:
    """The settings of a parser that `finish` reads (the base of `UsageCore`)."""

    @property
    def _request(self) -> Any: ...
    @property
    def _estimator(self) -> Any: ...
    @property
    def _estimate(self) -> Any: ...

class UsageCore(ParserSettings):
    """The streaming half of `UsageParser`, and its `finish()` where nothing in Python is
    needed."""

    def __new__(
        cls,
        provider: str = "auto",
        *,
        request: Any = None,
        estimator: Any = None,
        estimate: Any = True,
        max_event_bytes: int = ...,
        content_type: str | None = None,
    ) -> Self: ...
    def feed(self, chunk: _Chunk, /) -> None: ...
    def _finish_raw(self) -> tuple[Any, ...]: ...
    def finish(self, *, interrupted: str | None = None) -> Any:
        """The record: made in the core for a parser without a request body and a plain
        Estimator, else by `FinishMixin.finish`."""
    _record: Any
    @staticmethod
    def _set_record_builder(builder: RecordBuilder[Any], /) -> None: ...

def parse_usage_raw(
    body: _Chunk, provider: str = "auto", max_event_bytes: int = ...
) -> tuple[Any, ...]: ...
def text_stats(text: str) -> tuple[int, int, int, int, int, int, int]: ...

@final
class RecordBuilder(Generic[_T]):
    """Builds instances of a class with `__slots__` from values in a fixed field order."""

    def __new__(cls, record_class: type[_T], names: tuple[str, ...], /) -> Self: ...
    def build(self, head: Sequence[Any], tail: tuple[Any, ...], /) -> _T:
        """`head`: a tuple or a list."""
    def keep_usage_text(self) -> None:
        """The class's `raw_usage` made a `UsageSlot`: the core's records keep the usage
        object's text there until the field is first read."""

@final
class UsageSlot:
    """A `raw_usage` slot read as the dict of the usage text a core's record left there."""

    def __get__(self, obj: object, owner: type | None = None, /) -> Any: ...
    def __set__(self, obj: object, value: Any, /) -> None: ...
    def __delete__(self, obj: object, /) -> None: ...

@final
class WindowStore:
    """What a plain Estimator learned (as the pure `learned._Windows`)."""

    learned: int
    def __new__(cls, size: int, key_of: Callable[[str | None], str | None], /) -> Self: ...
    @property
    def size(self) -> int: ...
    def add_all(self, samples: Iterable[tuple[tuple[str, str], float, bool]], /) -> None: ...
    def count(self, key: tuple[str, str], /) -> int: ...
    def median(
        self, key: tuple[str, str], need: int, prior: float = 0.0, weight: int = 0, /
    ) -> float | None: ...
    def spread(self, key: tuple[str, str], need: int, /) -> tuple[float, float] | None: ...
    def snapshot(self) -> tuple[list[tuple[tuple[str, str], list[float]]], int]: ...
    def put(self, key: tuple[str, str], values: Sequence[float], /) -> None: ...
    def merge(
        self, windows: Iterable[tuple[tuple[str, str], Sequence[float]]], learned: int, /
    ) -> None: ...
    @staticmethod
    def constants() -> tuple[Any, ...]: ...
