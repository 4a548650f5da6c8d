"""UsageRecord: the fast constructor the parsers use builds the same immutable record."""

from __future__ import annotations

import dataclasses

import pytest
from sseusage_fast.record import FIELD_NAMES, UsageRecord, record_from_values


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
        "cancelled",
        {"input_tokens": 1},
        ("a note",),
    )
    record = record_from_values(values)
    assert record == UsageRecord(*values)
    assert tuple(getattr(record, name) for name in FIELD_NAMES) == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.input_tokens = 5  # type: ignore[misc]
    assert dataclasses.replace(record, input_tokens=7).input_tokens == 7


def test_record_from_values_refuses_a_wrong_count() -> None:
    with pytest.raises(ValueError, match="fields"):
        record_from_values((1, 2))
