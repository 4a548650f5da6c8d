"""UsageRecord: the fast constructor the parsers use builds the same immutable record."""

from __future__ import annotations

import dataclasses
import gc
import json
import sys
from decimal import Decimal
from typing import Any

import pytest
from sseusage_fast.estimate import STAT_FIELDS
from sseusage_fast.record import (
    FIELD_NAMES,
    RAW_FIELDS,
    Iteration,
    UsageRecord,
    record_from_values,
)


def test_record_from_values_equals_the_dataclass_constructor() -> None:
    values = (
        *range(1, 10),
        "standard",
        None,
        "anthropic",
        "claude-x",
        "msg_1",
        "end_turn",
        "complete",
        None,
        None,
        False,
        False,
        ("output_tokens",),
        {"output_tokens": (5, None)},
        ("hidden_reasoning",),
        "cancelled",
        {"input_tokens": 1},
        ("a note",),
        10,
        11,
        (Iteration("compaction", None, 5),),
        Decimal("0.0123"),
        "us",
        "sse",
    )
    record = record_from_values(values)
    assert record == UsageRecord(*values)
    assert tuple(getattr(record, name) for name in FIELD_NAMES) == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.input_tokens = 5  # type: ignore[misc]
    assert dataclasses.replace(record, input_tokens=7).input_tokens == 7
    # A head that holds more (a raw record) and a tail; every split gives the same record.
    for at in range(len(values) + 1):
        head = (*values[:at], "more", "values")
        assert record_from_values(head, values[at:]) == record
        assert record_from_values(list(head), values[at:]) == record


def test_second_round_fields_default_and_to_dict() -> None:
    """The contract's additions: safe defaults, and plain JSON types in `to_dict()`."""
    plain = UsageRecord()
    assert (plain.iterations, plain.provider_cost, plain.inference_geo, plain.framing) == (
        (),
        None,
        None,
        None,
    )
    assert plain.audio_input_tokens is None and plain.audio_output_tokens is None
    record = UsageRecord(
        input_tokens=3,
        iterations=(Iteration("compaction", None, 1, output_tokens=2),),
        provider_cost=Decimal("0.000123"),
        inference_geo="us",
        framing="aws-eventstream",
    )
    out = record.to_dict()
    json.dumps(out)
    assert out["provider_cost"] == "0.000123"
    assert out["iterations"] == [
        {**{name: None for name in Iteration.__dataclass_fields__}, "kind": "compaction"}
        | {"input_tokens": 1, "output_tokens": 2}
    ]
    assert out["framing"] == "aws-eventstream" and out["inference_geo"] == "us"
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.iterations[0].kind = "x"  # type: ignore[misc]


def test_record_from_values_refuses_a_wrong_count() -> None:
    with pytest.raises(ValueError, match="fields"):
        record_from_values((1, 2))
    with pytest.raises(ValueError, match="fields"):
        record_from_values((1, 2), (3,))
    with pytest.raises(ValueError, match="fields"):
        record_from_values((), (0,) * (len(FIELD_NAMES) + 1))


RAW_CASES = {
    "anthropic": (
        (
            b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1",'
            b'"model":"claude-x","usage":{"input_tokens":12,"output_tokens":1}}}\n\n'
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":"Hi there"}}\n\n'
            b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
            b'"usage":{"output_tokens":"x"}}\n\n'
        ),
        {"status": "complete", "provider": "anthropic", "model": "claude-x", "body_kind": "sse"},
    ),
    "openai_json_error": (
        b'{"error":{"type":"rate_limit_error","message":"slow down"}}',
        {"status": "error", "body_kind": "json", "error_type": "rate_limit_error"},
    ),
    "html": (b"<html>502</html>", {"status": "not_sse", "body_kind": "not_sse"}),
}


@pytest.mark.parametrize("case", sorted(RAW_CASES))
def test_raw_records_of_both_backends_follow_raw_fields(case: str) -> None:
    """The raw tuple's order is `RAW_FIELDS` in both twins: a value in the wrong place would
    show up under another name here."""
    from sseusage_fast import pure
    from sseusage_fast.pure.meter import parse_usage_raw as pure_raw

    native = pytest.importorskip("sseusage_fast._native")
    body, expected = RAW_CASES[case]
    raws = [
        dict(zip(RAW_FIELDS, parse(body), strict=True))
        for parse in (native.parse_usage_raw, pure_raw)
    ]
    assert raws[0] == raws[1]
    raw = raws[0]
    assert {name: raw[name] for name in expected} == expected
    assert isinstance(raw["notes"], tuple) and len(raw["output_stats"]) == len(STAT_FIELDS)
    assert isinstance(raw["events"], int) and isinstance(raw["output_final"], bool)
    assert pure.parse_usage(body).status == expected["status"]


def test_native_builder_makes_the_same_record() -> None:
    native = pytest.importorskip("sseusage_fast._native")
    values = [getattr(UsageRecord(), name) for name in FIELD_NAMES]
    values[0], values[-1] = 7, ("n",)
    values[FIELD_NAMES.index("raw_usage")] = {"input_tokens": 7}
    builder = native.RecordBuilder(UsageRecord, FIELD_NAMES)
    record = builder.build(values, ())
    assert type(record) is UsageRecord
    assert record == record_from_values(values) == UsageRecord(*values)
    assert all(getattr(record, name) is value for name, value in zip(FIELD_NAMES, values))
    assert gc.is_tracked(record) == gc.is_tracked(UsageRecord(*values))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.input_tokens = 5  # type: ignore[misc]
    assert dataclasses.replace(record, input_tokens=8).input_tokens == 8
    # Every split into a head (tuple or list, longer than needed) and a tail.
    for at in range(len(values) + 1):
        head = (*values[:at], "more")
        for made in (
            builder.build(head, tuple(values[at:])),
            builder.build(list(head), tuple(values[at:])),
        ):
            assert all(getattr(made, name) is value for name, value in zip(FIELD_NAMES, values))
    for head, tail in [(values[:-1], ()), ((), (0,) * (len(values) + 1)), (values[:3], (1, 2))]:
        with pytest.raises(ValueError, match="fields"):
            builder.build(head, tail)
    with pytest.raises(TypeError, match="tuple or a list"):
        builder.build(iter(values), ())


def test_native_builder_holds_one_reference_per_field() -> None:
    native = pytest.importorskip("sseusage_fast._native")
    builder = native.RecordBuilder(UsageRecord, FIELD_NAMES)
    value = object()
    for split in (len(FIELD_NAMES), 20):
        head, tail = [value] * split, (value,) * (len(FIELD_NAMES) - split)
        before = sys.getrefcount(value)
        record = builder.build(head, tail)
        assert sys.getrefcount(value) == before + len(FIELD_NAMES)
        del record
        assert sys.getrefcount(value) == before


class _Plain:
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class _OwnNew:
    a: int = 0

    def __new__(cls, *args: object) -> Any:  # a __new__ of its own is what matters
        return object.__new__(cls)


@dataclasses.dataclass(frozen=True, slots=True)
class _Shadowed:
    a: int = 0


_Shadowed.a = property(lambda self: 1)  # type: ignore[assignment, method-assign]


@pytest.mark.parametrize(
    ("cls", "names", "why"),
    [
        (UsageRecord, ("no_such_field",), "no slot"),
        (UsageRecord, ("input_tokens", "input_tokens"), "not a plain object slot"),
        (_Plain, ("a",), "no slot"),
        (_OwnNew, ("a",), "object.__new__"),
        (_Shadowed, ("a",), "does not read back"),
    ],
)
def test_native_builder_refuses_what_it_cannot_build(
    cls: type, names: tuple[str, ...], why: str
) -> None:
    native = pytest.importorskip("sseusage_fast._native")
    with pytest.raises(TypeError, match=why):
        native.RecordBuilder(cls, names)
