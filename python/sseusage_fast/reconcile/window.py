"""Time for reconcile: UTC bucket starts as the providers align them, and --since/--until."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

# The bucket widths both usage APIs accept, in seconds.
WIDTHS: dict[str, int] = {"1m": 60, "1h": 3600, "1d": 86400}

_RELATIVE = re.compile(r"^(\d{1,6})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def floor(when: datetime, width: str) -> datetime:
    """The start of the UTC bucket holding `when` (both APIs snap to the start of the
    minute/hour/day in UTC)."""
    seconds = WIDTHS[width]
    elapsed = int((when.astimezone(timezone.utc) - _EPOCH).total_seconds() // seconds)
    return _EPOCH + timedelta(seconds=elapsed * seconds)


def parse_when(text: str, *, now: datetime) -> datetime:
    """`7d` / `24h` / `30m` / `2w` before `now`, a date (`2026-12-01`, midnight UTC) or an
    RFC 3339 / ISO 8601 time (a time without an offset is UTC). ValueError otherwise."""
    text = text.strip()
    found = _RELATIVE.match(text)
    if found:
        amount, unit = int(found.group(1)), found.group(2)
        return now - timedelta(**{_UNITS[unit]: amount})
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_rfc3339(text: str) -> datetime:
    """A provider's RFC 3339 time (`Z` or an offset); ValueError for anything else."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return parsed.astimezone(timezone.utc)


def rfc3339(when: datetime) -> str:
    """`2026-12-01T00:00:00Z`: the form both the Admin API and our JSON output use."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_unix(seconds: float) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def to_unix(when: datetime) -> int:
    return int((when.astimezone(timezone.utc) - _EPOCH).total_seconds())
