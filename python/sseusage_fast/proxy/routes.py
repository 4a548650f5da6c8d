"""Which route a request path takes, and the path it has upstream."""

from __future__ import annotations

from sseusage_fast.proxy.config import Route


def match_route(routes: tuple[Route, ...], raw_path: bytes) -> tuple[Route, bytes] | None:
    """The first route (longest prefix first) whose prefix is whole path segments of
    `raw_path`, and the rest of the path (still raw: percent-escapes as the client sent them,
    which signed requests need). A prefix sent percent-escaped does not match."""
    for route in routes:
        prefix = route.prefix.encode("ascii")
        if not prefix:
            return route, raw_path
        if raw_path == prefix:
            return route, b"/"
        if raw_path.startswith(prefix + b"/"):
            return route, raw_path[len(prefix) :]
    return None


def route_provider(route: Route, path: str, detected: str) -> str:
    """The path tells the format when it names a known endpoint (an Anthropic route's
    OpenAI-compatible `/chat/completions` is read as OpenAI); else the route's provider."""
    return detected if detected != "auto" else route.provider
