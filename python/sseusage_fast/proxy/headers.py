"""What crosses the proxy in headers, and what is learned from them without keeping secrets."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote

import httpx

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

    DECODABLE: tuple[str, ...] = ("gzip", "deflate", "br", "identity")
except ImportError:
    DECODABLE = ("gzip", "deflate", "identity")


def connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names listed in Connection: also hop-by-hop for this message."""
    names: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            names.update(token.strip().lower() for token in value.split(","))
    return names


def signed_header_names(headers: Mapping[str, str]) -> frozenset[str]:
    """Headers an AWS SigV4 signature covers (Bedrock): changing one breaks the request."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-"):
        return frozenset()
    _, found, rest = auth.partition("SignedHeaders=")
    if not found:
        return frozenset()
    return frozenset(n.strip().lower() for n in rest.split(",")[0].split(";") if n.strip())


def upstream_request_headers(
    headers: list[tuple[str, str]],
    *,
    signed: frozenset[str] = frozenset(),
    drop_also: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """The client's headers for the upstream: hop-by-hop ones and `drop_also` removed (unless
    signed), Accept-Encoding narrowed to what the meter reads (unless signed)."""
    drop = _NOT_FORWARDED_UP | connection_tokens(headers) | (drop_also - signed)
    out = []
    for name, value in headers:
        lower = name.lower()
        if lower in drop:
            continue
        if lower == "accept-encoding" and lower not in signed:
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
    x-goog-api-key or ?key= (Gemini), api-key (Azure OpenAI)."""
    for name in ("x-api-key", "x-goog-api-key", "api-key"):
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


# Headers and query parameters that carry credentials: their values never reach a log line.
SECRET_HEADERS = (
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-goog-api-key",
    "api-key",
    "cookie",
)
SECRET_PARAMS = ("key", "api_key", "api-key", "access_token", "token")


def secret_values(headers: Mapping[str, str], query: Mapping[str, str]) -> tuple[str, ...]:
    """The credential values of one request, longest first (and the part after a scheme such
    as `Bearer`), for `scrub`."""
    found: set[str] = set()
    values = [headers.get(name, "") for name in SECRET_HEADERS]
    values += [query.get(name, "") for name in SECRET_PARAMS]
    for value in values:
        value = value.strip()
        if len(value) < 4:
            continue
        found.add(value)
        _, _, credentials = value.partition(" ")
        if len(credentials.strip()) >= 4:
            found.add(credentials.strip())
    return tuple(sorted(found, key=len, reverse=True))


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


_DOT_SEGMENT = re.compile(r"(^|[/\\])\.{1,2}($|[/\\])")


def upstream_url(base: httpx.URL, raw_path: bytes, query_string: str) -> httpx.URL | None:
    """The upstream URL for a request target: the configured upstream's scheme, host and port
    always, its path as a prefix, then the client's path and query. None for a target that
    is not a plain path (absolute-form, no leading slash) or holds `.`/`..` segments, raw or
    percent-coded: the upstream (or httpx) would resolve them, and escape the prefix."""
    path = raw_path.decode("latin-1")
    if not path.startswith("/") or _DOT_SEGMENT.search(unquote(unquote(path))):
        return None
    target = base.raw_path.split(b"?")[0].rstrip(b"/") + raw_path
    if query_string:
        target += b"?" + query_string.encode("latin-1")
    try:
        url = base.copy_with(raw_path=target)
    except httpx.InvalidURL:
        return None
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
        return None
    return url


class _RedactQuery(logging.Filter):
    """httpx logs each request's URL at INFO, query included, where Gemini keys travel
    (`?key=`): log it without the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, httpx.URL) for a in args):
            record.args = tuple(
                a.copy_with(query=None) if isinstance(a, httpx.URL) and a.query else a for a in args
            )
        return True


_FILTER = _RedactQuery()


def install_log_filters() -> None:
    """Idempotent: keeps credentials out of httpx's own log lines."""
    logger = logging.getLogger("httpx")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
