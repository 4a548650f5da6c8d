"""`raw_usage` of the native core's own record is kept as the usage object's JSON text until the
field is first read (`rust/python/lazy.rs`): then the dict, the same one on every later read.
Whatever reads the record (attribute, `==`, `hash`, `replace`, `asdict`/`to_dict`, pickle, copy,
`object.__setattr__`/`__delattr__`) must see what a record built with the dict shows; and the
dict must be the one the eager paths make (the text reader's, the pure twin's)."""

from __future__ import annotations

import copy
import dataclasses
import gc
import pickle
from types import ModuleType
from typing import Any

import pytest
from capture_index import load_captures
from sseusage_fast.record import FIELD_NAMES, RAW_FIELDS, UsageRecord
from test_raw_usage_text import PLACES, TWINS_DIFFER, VALUES, sorted_keys, stream

native: ModuleType = pytest.importorskip("sseusage_fast.native")
_native: ModuleType = pytest.importorskip("sseusage_fast._native")

RAW_USAGE = RAW_FIELDS.index("raw_usage")


def core_record(body: bytes) -> Any:
    """The record the core builds (the shortcut), its `raw_usage` not read yet."""
    parser = native.UsageParser()
    parser.feed(body)
    return parser.finish()


def holds_text(record: Any) -> bool:
    """The record's slot still holds the usage text (not read yet)."""
    return any(type(item).__name__ == "UsageText" for item in gc.get_referents(record))


def usual() -> bytes:
    return stream('{"input_tokens":25,"output_tokens":42,"service_tier":"standard"}')


def test_the_class_reads_raw_usage_through_the_slot() -> None:
    slot = UsageRecord.__dict__["raw_usage"]
    assert type(slot) is _native.UsageSlot
    assert UsageRecord.raw_usage is slot
    # Only the usual record's text is kept: a builder of other fields refuses.
    with pytest.raises(TypeError, match="UsageRecord's fields"):
        _native.RecordBuilder(UsageRecord, FIELD_NAMES[:3]).keep_usage_text()
    # Twice is once.
    native._BUILDER.keep_usage_text()
    assert UsageRecord.__dict__["raw_usage"] is slot


@pytest.mark.parametrize("place", range(len(PLACES)))
@pytest.mark.parametrize("value", VALUES)
def test_the_kept_text_reads_as_the_eager_dict(
    both: tuple[ModuleType, ModuleType], value: str, place: int
) -> None:
    body = stream(PLACES[place].replace("VALUE", value))
    record = core_record(body)
    eager = _native.parse_usage_raw(body)[RAW_USAGE]
    first = record.raw_usage
    assert not holds_text(record)
    assert repr(first) == repr(eager)
    assert record.raw_usage is first  # made once, then kept
    if value not in TWINS_DIFFER:
        twin = both[1].parse_usage(body).raw_usage
        assert repr(sorted_keys(twin)) == repr(sorted_keys(first))


def test_every_reader_sees_the_dict(both: tuple[ModuleType, ModuleType]) -> None:
    twin = both[1].parse_usage(usual())
    readers = [
        lambda r: r == twin,
        lambda r: r.to_dict(),
        lambda r: dataclasses.asdict(r),
        lambda r: dataclasses.replace(r),
        lambda r: pickle.loads(pickle.dumps(r)),
        lambda r: copy.copy(r),
        lambda r: copy.deepcopy(r),
        repr,
    ]
    for read in readers:
        record = core_record(usual())
        assert holds_text(record)
        made = read(record)
        assert record == twin
        assert made == read(twin)
    # A dict is not hashable, whichever way the record holds it.
    with pytest.raises(TypeError, match="unhashable"):
        hash(core_record(usual()))


def test_the_slot_writes_and_deletes_as_a_slot() -> None:
    record = core_record(usual())
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.raw_usage = {}  # type: ignore[misc]
    object.__setattr__(record, "raw_usage", {"x": 1})
    assert record.raw_usage == {"x": 1}
    object.__delattr__(record, "raw_usage")
    with pytest.raises(AttributeError):
        record.raw_usage  # noqa: B018
    with pytest.raises(AttributeError):
        object.__delattr__(record, "raw_usage")
    # Deleted before it was read: the kept text goes with it.
    record = core_record(usual())
    object.__delattr__(record, "raw_usage")
    with pytest.raises(AttributeError):
        record.raw_usage  # noqa: B018
    # On anything but a record, it refuses (it reads a slot at a fixed place).
    slot = UsageRecord.__dict__["raw_usage"]
    for other in (5, object(), Exception()):
        with pytest.raises(TypeError, match="doesn't apply"):
            slot.__get__(other, type(other))
        with pytest.raises(TypeError, match="doesn't apply"):
            slot.__set__(other, None)
        with pytest.raises(TypeError, match="doesn't apply"):
            slot.__delete__(other)


def test_captures_read_the_same_dict(both: tuple[ModuleType, ModuleType]) -> None:
    for capture in load_captures():
        record = core_record(capture.body)
        twin = both[1].parse_usage(capture.body)
        eager = _native.parse_usage_raw(capture.body)[RAW_USAGE]
        assert repr(record.raw_usage) == repr(eager), capture.name
        assert record == twin, capture.name
