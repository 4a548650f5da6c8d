"""The ledger schema as numbered migrations, one list per SQL dialect.

A database records the versions it has in `schema_version`; opening a ledger applies the
missing ones in order, each in its own transaction. Never edit a released migration: add one.
"""

from __future__ import annotations

from sseusage_fast.record import TOKEN_FIELDS

# Column types per dialect: SQLite keeps decimals as text (exact), PostgreSQL as NUMERIC.
_TYPES = {
    "sqlite": {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "ts": "TEXT NOT NULL",
        "float": "REAL",
        "int": "INTEGER",
        "bool": "INTEGER NOT NULL",
        "decimal": "TEXT",
        "blob": "BLOB",
    },
    "postgres": {
        "id": "BIGSERIAL PRIMARY KEY",
        "ts": "TIMESTAMPTZ NOT NULL",
        "float": "DOUBLE PRECISION",
        "int": "BIGINT",
        "bool": "BOOLEAN NOT NULL",
        "decimal": "NUMERIC(24, 12)",
        "blob": "BYTEA",
    },
}


def _requests_table(dialect: str) -> str:
    t = _TYPES[dialect]
    tokens = ",\n".join(f"    {name} {t['int']}" for name in TOKEN_FIELDS)
    backfilled = "TEXT" if dialect == "sqlite" else "TIMESTAMPTZ"
    return f"""CREATE TABLE requests (
    id {t["id"]},
    ts {t["ts"]},
    latency_ms {t["float"]},
    ttfb_ms {t["float"]},
    http_status {t["int"]},
    method TEXT,
    path TEXT,
    request_id TEXT,
    message_id TEXT,
    key_fingerprint TEXT,
    provider TEXT,
    model TEXT,
{tokens},
    status TEXT NOT NULL,
    stop_reason TEXT,
    error_type TEXT,
    no_usage_data {t["bool"]},
    requires_manual_review {t["bool"]},
    estimated TEXT NOT NULL,
    interrupted TEXT,
    service_tier TEXT,
    speed TEXT,
    cost_usd {t["decimal"]},
    source TEXT NOT NULL,
    backfilled_at {backfilled}
)"""


def _captures_table(dialect: str) -> str:
    # Bodies of flagged requests, kept only when the proxy is asked to, so that `backfill`
    # can re-estimate them later with a better-calibrated estimator.
    t = _TYPES[dialect]
    return f"""CREATE TABLE captures (
    request_row_id {t["int"]} PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    request_body {t["blob"]},
    response_body {t["blob"]}
)"""


def migrations(dialect: str) -> list[tuple[int, list[str]]]:
    """(version, statements) in order."""
    return [
        (
            1,
            [
                _requests_table(dialect),
                "CREATE INDEX requests_ts ON requests (ts)",
                "CREATE INDEX requests_request_id ON requests (request_id)",
                "CREATE INDEX requests_review ON requests (requires_manual_review)",
            ],
        ),
        (2, [_captures_table(dialect)]),
        (
            3,
            [
                "ALTER TABLE requests ADD COLUMN error_message TEXT",
                # Rows written before version 3 have none (NULLs never collide).
                "ALTER TABLE requests ADD COLUMN uuid TEXT",
                "CREATE UNIQUE INDEX requests_uuid ON requests (uuid)",
            ],
        ),
        (
            4,
            [
                # Attribution and refusals (the proxy's routes and budgets).
                "ALTER TABLE requests ADD COLUMN tags TEXT",
                "ALTER TABLE requests ADD COLUMN end_user TEXT",
                "ALTER TABLE requests ADD COLUMN refused TEXT",
            ],
        ),
        (
            5,
            [
                # How sure the estimates are (ledger/estimates.py). Older rows have none.
                "ALTER TABLE requests ADD COLUMN estimate_ranges TEXT",
                "ALTER TABLE requests ADD COLUMN estimate_reasons TEXT",
                f"ALTER TABLE requests ADD COLUMN cost_low_usd {_TYPES[dialect]['decimal']}",
                f"ALTER TABLE requests ADD COLUMN cost_high_usd {_TYPES[dialect]['decimal']}",
            ],
        ),
    ]


SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)"
)
LATEST_VERSION = max(v for v, _ in migrations("sqlite"))
