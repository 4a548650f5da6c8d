"""GET a JSON page from a usage API, politely: bounded retries with backoff on 429 and 5xx.

Standard library only (urllib), so reconcile needs no extra. The admin key travels in the
headers given by the caller and is never part of an error message or a log line.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from email.message import Message
from typing import Any

log = logging.getLogger("sseusage_fast.reconcile")

# 408/409 and 5xx are worth another try; 529 is Anthropic's "overloaded".
RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_BODY = 32 * 1024 * 1024  # a usage page is kilobytes; anything past this is not one
MAX_RETRY_AFTER = 60.0


class ProviderError(Exception):
    """The usage API could not be read; the message is safe to print (no key, no headers)."""


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _error_text(body: bytes) -> str:
    """The provider's own error message (`{"error": {"message": ...}}`), shortened."""
    try:
        data = json.loads(body)
        message = data.get("error", {}).get("message") if isinstance(data, dict) else None
    except (ValueError, AttributeError):
        message = None
    text = message if isinstance(message, str) else body[:200].decode("utf-8", "replace")
    return " ".join(text.split())[:200]


def get_json(
    url: str,
    headers: Mapping[str, str],
    *,
    attempts: int = 5,
    timeout: float = 30.0,
    base_delay: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """The decoded JSON body of `url`. Retries a retryable status or a network error up to
    `attempts` times, waiting Retry-After when given, else base_delay * 2**n (capped at 60 s);
    raises ProviderError with a printable reason otherwise."""
    shown = url.split("?", 1)[0]
    for attempt in range(attempts):
        request = urllib.request.Request(url, headers=dict(headers), method="GET")
        wait: float | None = None
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                raise ProviderError(f"{shown}: response larger than {MAX_BODY} bytes")
            try:
                return json.loads(body)
            except ValueError as exc:
                raise ProviderError(f"{shown}: response is not JSON ({exc})") from None
        except urllib.error.HTTPError as exc:
            body = exc.read(64 * 1024) if exc.fp is not None else b""
            reason = f"{shown}: HTTP {exc.code}: {_error_text(body)}"
            if exc.code not in RETRYABLE:
                raise ProviderError(reason) from None
            wait = _retry_after(exc.headers)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            cause = getattr(exc, "reason", exc)
            reason = f"{shown}: {type(exc).__name__}: {cause}"
        if attempt + 1 >= attempts:
            raise ProviderError(f"{reason} (gave up after {attempts} attempts)")
        delay = wait if wait is not None else min(base_delay * 2**attempt, MAX_RETRY_AFTER)
        log.warning("%s; retrying in %.1f s", reason, delay)
        sleep(delay)
    raise ProviderError(f"{shown}: no attempt made")  # attempts < 1
