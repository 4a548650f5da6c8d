"""The proxy's log output: text lines, or one JSON object per line (`--log-format json`)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

# Row fields worth a column of their own in a JSON log line (a request's summary).
_ROW_FIELDS = (
    "method",
    "path",
    "http_status",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "status",
    "requires_manual_review",
    "estimated",
    "interrupted",
    "latency_ms",
    "ttfb_ms",
    "key_fingerprint",
    "request_id",
    "uuid",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: `ts`, `level`, `logger`, `message`, and for a request's
    line its row's fields. Control characters from clients or upstreams are escaped by JSON."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        row = getattr(record, "row", None)
        if row is not None:
            for name in _ROW_FIELDS:
                value = getattr(row, name, None)
                out[name] = list(value) if isinstance(value, tuple) else value
            for name in ("tags", "end_user", "refused"):
                if getattr(row, name, None):
                    out[name] = getattr(row, name)
            cost = getattr(row, "cost_usd", None)
            out["cost_usd"] = None if cost is None else str(cost)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(level: str = "info", log_format: str = "text") -> None:
    """The root logger to stderr, in the chosen format; uvicorn's loggers propagate to it."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
