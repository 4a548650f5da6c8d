"""What crosses the proxy in headers, and what is learned from them without keeping secrets."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

# RFC 9110 section 7.6.1: meaningful only for one connection, never forwarded. Host is set by
# the upstream client; Content-Length is recomputed from the body actually sent.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED_UP = HOP_BY_HOP | {"host", "content-length"}

# Content codings the meter can undo. The client's Accept-Encoding is narrowed to these, so a
# compressed response can always be metered while the client still gets the upstream's bytes.
try:
    import brotli  # type: ignore[import-not-found, unused-ignore]  # noqa: F401

    DECODABLE = ("gzip", "deflate", "br", "identity")
except ImportError:
    DECODABLE = ("gzip", "deflate", "identity")


def connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names listed in Connection: also hop-by-hop for this message."""
    names: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            names.update(token.strip().lower() for token in value.split(","))
    return names


def upstream_request_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    drop = _NOT_FORWARDED_UP | connection_tokens(headers)
    out = []
    for name, value in headers:
        lower = name.lower()
        if lower in drop:
            continue
        if lower == "accept-encoding":
            value = narrow_accept_encoding(value)
        out.append((name, value))
    return out


def narrow_accept_encoding(value: str) -> str:
    kept = [
        part.strip() for part in value.split(",") if part.split(";")[0].strip().lower() in DECODABLE
    ]
    return ", ".join(kept) if kept else "identity"


def downstream_response_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    text = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
    drop = HOP_BY_HOP | connection_tokens(text)
    return [(k, v) for k, v in headers if k.decode("latin-1").lower() not in drop]


def fingerprint(key: str) -> str:
    """A stable, non-reversible name for an API key: enough to group by, useless to an attacker."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def key_fingerprint(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """Fingerprint of the caller's key: x-api-key (Anthropic), Authorization Bearer (OpenAI),
    x-goog-api-key or ?key= (Gemini)."""
    for name in ("x-api-key", "x-goog-api-key"):
        if headers.get(name):
            return fingerprint(headers[name].strip())
    auth = headers.get("authorization", "")
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return fingerprint(credentials.strip())
    if query.get("key"):
        return fingerprint(query["key"])
    return None


def request_id(headers: Mapping[str, str]) -> str | None:
    """The upstream's id for this request (Anthropic `request-id`, OpenAI `x-request-id`)."""
    for name in ("request-id", "x-request-id", "x-goog-request-id"):
        value = headers.get(name)
        if value:
            return value
    return None
