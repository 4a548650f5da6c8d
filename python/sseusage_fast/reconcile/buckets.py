"""Time buckets for reconcile: UTC bucket starts as the providers align them, and the time
formats of their reports (`--since` / `--until` are the shared `query.parse_when`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# The bucket widths both usage APIs accept, in seconds.
WIDTHS: dict[str, int] = {"1m": 60, "1h": 3600, "1d": 86400}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def floor(when: datetime, width: str) -> datetime:
    """The start of the UTC bucket holding `when` (both APIs snap to the start of the
    minute/hour/day in UTC)."""
    seconds = WIDTHS[width]
    elapsed = int((when.astimezone(timezone.utc) - _EPOCH).total_seconds() // seconds)
    return _EPOCH + timedelta(seconds=elapsed * seconds)


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
