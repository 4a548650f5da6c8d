"""Reading provider JSON defensively (twin of scan/tree.rs): token counts must be non-negative
integers of a sane size; anything else is rejected with a note instead of being trusted."""

from __future__ import annotations

import json
from typing import Any

DEFAULT_MAX_EVENT_BYTES = 16 << 20

# No single request bills a trillion tokens: a larger count is corrupt, not a count.
MAX_COUNT = 1_000_000_000_000


def as_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"chunk must be bytes, bytearray or memoryview, not {type(chunk).__name__}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


# serde_json (the native parser) refuses nesting deeper than this; so must we.
MAX_DEPTH = 127


def _too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _int_as_native(text: str) -> int | float:
    # serde_json keeps integers in u64 / i64 and turns others into floats (-0 included).
    value = int(text)
    if -(1 << 63) <= value < (1 << 64) and not (value == 0 and text.startswith("-")):
        return value
    return _finite_float(text)


def parse(data: bytes) -> Any:
    """One event's data or a whole body; None when it is not valid JSON. Read exactly as the
    native parser reads it: invalid UTF-8 replaced first; NaN, Infinity, 1e309, lone surrogate
    escapes and nesting deeper than MAX_DEPTH are invalid."""
    text = data.decode("utf-8", "replace")
    if _too_deep(text):
        return None
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_int_as_native,
        )
    except (ValueError, RecursionError):
        return None
    if ("\\ud" in text or "\\uD" in text) and _has_lone_surrogate(value):
        return None
    return value


def compact(value: Any) -> str:
    """The text serde_json writes for a value (native `Value::to_string`): compact, keys
    sorted (its maps are ordered), non-ASCII kept. Tool inputs are counted from this text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def count(obj: dict[str, Any], key: str, notes: list[str]) -> int | None:
    """A token count: an int for a valid count, None when absent or null (a note when the value
    is not a count: negative, fractional, a string, too large)."""
    value = obj.get(key)
    if value is None:
        return None
    if type(value) is int and 0 <= value <= MAX_COUNT:
        return value
    note(notes, f"ignored {key}: not a token count")
    return None


def note(notes: list[str], message: str) -> None:
    """Adds a note once: a stream that repeats a bad value on every chunk must not grow it."""
    if message not in notes:
        notes.append(message)


def sum_counts(a: int, b: int) -> int | None:
    """A sum of counts that is still a count (None past MAX_COUNT)."""
    total = a + b
    return total if total <= MAX_COUNT else None


def string(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def object_(obj: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = obj.get(key)
    return value if isinstance(value, dict) else None
