"""The error object every provider uses (twin of providers/error.rs):
{"error": {"type" | "status" | "code", "message"}}."""

from __future__ import annotations

import json
from typing import Any

from .facts import Facts


def read_error(ex: Facts, obj: dict[str, Any]) -> None:
    error = obj.get("error")
    error = error if isinstance(error, dict) else {}
    error_type = None
    for key in ("type", "status", "code"):
        value = error.get(key)
        if isinstance(value, str):
            error_type = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            error_type = json.dumps(value)
        else:
            continue
        break
    message = error.get("message")
    ex.set_error(
        error_type or "error",
        message if isinstance(message, str) else "the provider reported an error",
    )
