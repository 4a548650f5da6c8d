"""Which ledger rows a report, an export or the dashboard reads: time range and filters.

Shared by `reporting`, `export` and `dashboard`. Filters on plain columns become SQL; tags
(stored as a JSON object text, or a `k=v,...` string by older writers) are matched in Python.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sseusage_fast.ledger.reader import LedgerReader

# The dimensions a report can group by, and the column each reads.
DIMENSIONS = ("model", "provider", "key", "tag", "user", "day", "hour")
COLUMN_OF = {
    "model": "model",
    "provider": "provider",
    "key": "key_fingerprint",
    "user": "end_user",
    "tag": "tags",
}
NONE_LABEL = "(none)"

_RELATIVE = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, now: datetime | None = None, end: bool = False) -> datetime:
    """`7d`, `24h`, `30m`, `2w` (that long before now), a date `2026-05-04` (midnight UTC; as
    an `end`, the midnight after, so the day is included) or an ISO date-time (UTC unless it
    names a zone). ValueError with a message for anything else."""
    now = now or datetime.now(timezone.utc)
    match = _RELATIVE.match(text)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            day = datetime.fromisoformat(text.strip()).replace(tzinfo=timezone.utc)
            return day + timedelta(days=1) if end else day
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (2026-05-04), a date-time (2026-05-04T12:00) or a "
            "relative time (7d, 24h, 30m, 2w)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def parse_tags(value: Any) -> dict[str, str]:
    """A row's tags: a JSON object text (or dict), or `k=v,k2=v2`; anything else: none."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    text = str(value).strip()
    if text.startswith(("{", "[", '"')):
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return parse_tags(data) if isinstance(data, dict) else {}
    out: dict[str, str] = {}
    for part in text.split(","):
        name, sep, val = part.partition("=")
        if name.strip():
            out[name.strip()] = val.strip() if sep else ""
    return out


def tag_pairs(tags: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in sorted(tags.items())]


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    # `k=v` (that tag with that value) or `k` (any value); several: a row must match one.
    tags: tuple[str, ...] = ()
    flagged: bool = False

    def where(self, reader: LedgerReader) -> tuple[str, list[Any]]:
        """The SQL condition (" WHERE ..." or "") and its parameters; tags are not in it."""
        p = reader.placeholder
        clauses: list[str] = []
        params: list[Any] = []
        if self.since is not None:
            clauses.append(f"ts >= {p}")
            params.append(reader.ts_param(self.since))
        if self.until is not None:
            clauses.append(f"ts < {p}")
            params.append(reader.ts_param(self.until))
        for values, dim in (
            (self.models, "model"),
            (self.providers, "provider"),
            (self.keys, "key"),
            (self.users, "user"),
        ):
            if not values:
                continue
            column = reader.column(COLUMN_OF[dim])
            clauses.append(f"{column} IN ({', '.join([p] * len(values))})")
            params.extend(values)
        if self.flagged:
            clauses.append(f"requires_manual_review = {p}")
            params.append(reader.true())
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def tags_match(self, tags: dict[str, str]) -> bool:
        if not self.tags:
            return True
        for wanted in self.tags:
            name, sep, value = wanted.partition("=")
            if name in tags and (not sep or tags[name] == value):
                return True
        return False
