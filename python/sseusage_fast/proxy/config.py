"""Settings of one proxy instance: its routes, budgets and limits (no I/O here; the config
file and the environment are read by `settings.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urlsplit

from sseusage_fast.record import PROVIDERS

# The proxy's own path prefix: never forwarded, never a ledger row.
OPS_PREFIX = "/_sseusage"


class ConfigError(ValueError):
    """A setting that cannot work; the message names it and says why, in one line."""


def check_upstream(url: str, where: str = "upstream") -> str:
    """`url` without a trailing slash, or ConfigError when it is not an http(s) URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ConfigError(f"{where}: {url!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{where}: {url!r} is not an http(s) URL (e.g. https://api.anthropic.com)"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{where}: {url!r} must not have a query or fragment")
    return url.rstrip("/")


@dataclass(frozen=True, slots=True)
class Route:
    """Requests under `prefix` go to `upstream` with the prefix cut off: `/anthropic/v1/messages`
    -> `{upstream}/v1/messages`. An empty prefix takes every path (the one-upstream case)."""

    prefix: str
    upstream: str
    provider: str = "auto"
    # OpenAI-compatible chat streams: ask for `stream_options.include_usage` upstream and hide
    # the extra usage chunk from a client that did not ask for it.
    ensure_usage: bool = False

    def __post_init__(self) -> None:
        where = f"route {self.prefix or '/'!r}"
        prefix = self.prefix.rstrip("/")
        if prefix and not prefix.startswith("/"):
            raise ConfigError(f"{where}: prefix must start with '/'")
        if prefix == OPS_PREFIX or prefix.startswith(OPS_PREFIX + "/"):
            raise ConfigError(f"{where}: {OPS_PREFIX}/ is the proxy's own prefix")
        if any(c in prefix for c in "?#%") or any(s in (".", "..") for s in prefix.split("/")):
            raise ConfigError(f"{where}: prefix must be a plain path")
        if self.provider not in PROVIDERS:
            raise ConfigError(f"{where}: provider must be one of {', '.join(PROVIDERS)}")
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "upstream", check_upstream(self.upstream, where + " upstream"))


@dataclass(frozen=True, slots=True)
class Budget:
    """A spend limit in USD for one key fingerprint or one tag (`team=search`), per UTC day,
    per UTC month, or over a rolling window of hours (`24h`)."""

    usd: Decimal
    window: str = "day"
    tag: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        where = f"budget {self.tag or self.key!r}"
        if (self.tag is None) == (self.key is None):
            raise ConfigError("budget: give exactly one of `tag` or `key`")
        if self.tag is not None:
            name, eq, value = self.tag.partition("=")
            if not eq or not name or not value:
                raise ConfigError(f"{where}: tag must read name=value")
        if not isinstance(self.usd, Decimal) or not self.usd.is_finite() or self.usd < 0:
            raise ConfigError(f"{where}: usd must be a non-negative amount")
        if self.window not in ("day", "month") and self.rolling_hours is None:
            raise ConfigError(f"{where}: window must be 'day', 'month' or hours like '24h'")

    @property
    def rolling_hours(self) -> float | None:
        text = self.window
        if not text.endswith("h"):
            return None
        try:
            hours = float(text[:-1])
        except ValueError:
            return None
        return hours if 0 < hours <= 24 * 366 else None


def window_start(budget: Budget, now: datetime) -> datetime:
    """The start of the budget's current window (UTC)."""
    now = now.astimezone(timezone.utc)
    if budget.window == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if budget.window == "month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    hours = budget.rolling_hours
    assert hours is not None
    return now - timedelta(hours=hours)


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may take of the proxy."""

    # The request body is held in memory once (to meter it and forward it): larger ones get 413.
    max_body_bytes: int = 32 * 1024 * 1024
    # Seconds a client has to send its request headers, and then its whole body.
    header_timeout: float = 30.0
    body_timeout: float = 120.0
    # Open client connections; beyond it new ones wait in the listen backlog's place (503).
    max_connections: int = 4096
    # Upstream connections (per upstream host), and idle ones kept for reuse.
    max_upstream_connections: int = 1000
    # `x-sseusage-tags`: at most this many tags, each name and value at most this long.
    max_tags: int = 16
    max_tag_chars: int = 64


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    # The one-upstream case: every path goes there (a route with an empty prefix).
    upstream: str = ""
    routes: tuple[Route, ...] = ()
    budgets: tuple[Budget, ...] = ()
    limits: Limits = field(default_factory=Limits)
    # Needed in `Authorization: Bearer` for /_sseusage/ endpoints other than health, unless the
    # proxy listens on loopback only.
    admin_token: str | None = None
    # Long generations stream for minutes and may pause between events while thinking: the read
    # timeout is per read, so 600 s only fires on a stalled upstream.
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    write_timeout: float = 60.0
    pool_timeout: float = 30.0
    # On SIGTERM/SIGINT: stop accepting, let in-flight streams finish for up to this long, then
    # cut what is left (recorded `cancelled`). Rows are written before the process exits.
    drain_timeout: float = 300.0
    # False turns the proxy into a plain relay (no parsing, no ledger): the benchmark baseline.
    meter: bool = True
    # Keep the bodies of flagged requests so that `backfill` can re-estimate them later.
    keep_flagged_bodies: bool = False
    max_kept_bytes: int = 8 * 1024 * 1024
    # Honour HTTP(S)_PROXY from the environment for the upstream connection.
    trust_env: bool = True
    # A span and GenAI metrics per request through OpenTelemetry's global providers (the
    # `otel` extra).
    otel: bool = False

    def all_routes(self) -> tuple[Route, ...]:
        """The routes, longest prefix first (the first that matches wins); `upstream` as the
        catch-all after them."""
        routes = list(self.routes)
        if self.upstream:
            routes.append(Route("", self.upstream))
        if not routes:
            raise ConfigError("no upstream: give --upstream URL or [[route]] in --config")
        prefixes = [r.prefix for r in routes]
        duplicate = next((p for p in prefixes if prefixes.count(p) > 1), None)
        if duplicate is not None:
            raise ConfigError(f"route {duplicate or '/'!r} is given twice")
        return tuple(sorted(routes, key=lambda r: len(r.prefix), reverse=True))
