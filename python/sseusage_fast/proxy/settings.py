"""The proxy's settings from three places, later ones winning: the TOML config file
(`--config`), `SSEUSAGE_*` environment variables, and command-line flags. Every mistake is a
`ConfigError` whose message names the setting; nothing here opens a socket or a database."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import tomllib

from sseusage_fast.proxy.config import Budget, ConfigError, Limits, ProxyConfig, Route

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Where and how the process serves (the `ProxyConfig` is what it serves)."""

    host: str = "127.0.0.1"
    port: int = 8787
    db: str = "sseusage.db"
    # A path, True (the default place) or False (no spool).
    spool: str | bool = True
    log_level: str = "info"
    log_format: str = "text"
    # Server processes sharing one listening socket (each with its own ledger writer and spool).
    workers: int = 1


# Settings with a flat name: the config file's key (top level or in its table), the variable
# SSEUSAGE_<NAME>, and the flag --<name-with-dashes>, all parsed by one function.
_SERVE: dict[str, type] = {
    "host": str,
    "port": int,
    "db": str,
    "spool": str,
    "log_level": str,
    "log_format": str,
    "workers": int,
}
_CONFIG: dict[str, type] = {
    "upstream": str,
    "connect_timeout": float,
    "read_timeout": float,
    "write_timeout": float,
    "pool_timeout": float,
    "drain_timeout": float,
    "keep_flagged_bodies": bool,
    "admin_token": str,
    "otel": bool,
}
_LIMITS: dict[str, type] = {
    "max_body_bytes": int,
    "header_timeout": float,
    "body_timeout": float,
    "max_connections": int,
    "max_upstream_connections": int,
    "max_tags": int,
    "max_tag_chars": int,
}
# Where each lives in the config file, when not at the top level.
_TABLE = {
    "log_level": ("logging", "level"),
    "log_format": ("logging", "format"),
    "admin_token": ("admin", "token"),
    "otel": ("telemetry", "otel"),
    **{name: ("limits", name) for name in _LIMITS},
    **{
        name: ("limits", name)
        for name in (
            "connect_timeout",
            "read_timeout",
            "write_timeout",
            "pool_timeout",
            "drain_timeout",
        )
    },
}
_TOP_KEYS = {"db", "host", "port", "spool", "upstream", "keep_flagged_bodies", "workers"}
_TABLES = {
    "admin": {"token"},
    "logging": {"level", "format"},
    "telemetry": {"otel"},
    "limits": set(_LIMITS)
    | {"connect_timeout", "read_timeout", "write_timeout", "pool_timeout", "drain_timeout"},
}
_ARRAYS = {"route": {"prefix", "upstream", "provider", "ensure_usage"}, "budget": set()}
_BUDGET_KEYS = {"tag", "key", "usd", "window"}


def _convert(name: str, kind: type, value: Any, where: str) -> Any:
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            number = int(value)
            if number < 0:
                raise ValueError(value)
            return number
        if kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            number_f = float(value)
            if not number_f >= 0 or number_f == float("inf"):
                raise ValueError(value)
            return number_f
        if not isinstance(value, (str, bool)):
            raise TypeError(value)
        return value
    except (TypeError, ValueError):
        kind_name = {int: "a whole number >= 0", float: "a number >= 0", bool: "true or false"}
        raise ConfigError(
            f"{where}: {name} must be {kind_name.get(kind, 'a string')}, not {value!r}"
        ) from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The file's settings as flat names, plus `routes` and `budgets` lists."""
    where = str(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in _TOP_KEYS:
            flat[key] = value
        elif key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: [{key}] must be a table")
            for sub, sub_value in value.items():
                if sub not in _TABLES[key]:
                    raise ConfigError(f"{where}: unknown setting {key}.{sub}")
                name = next(n for n, (t, s) in _TABLE.items() if (t, s) == (key, sub))
                flat[name] = sub_value
        elif key in _ARRAYS:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"{where}: use [[{key}]] tables for {key}")
            flat[key + "s"] = value
        else:
            raise ConfigError(f"{where}: unknown setting {key!r}")
    if "spool" in flat and flat["spool"] is False:
        flat["spool"] = "false"
    return flat


def _routes(items: list[dict[str, Any]], where: str) -> tuple[Route, ...]:
    routes = []
    for n, item in enumerate(items, 1):
        unknown = set(item) - _ARRAYS["route"]
        if unknown:
            raise ConfigError(f"{where}: route {n}: unknown setting {min(unknown)!r}")
        if not isinstance(item.get("upstream"), str):
            raise ConfigError(f"{where}: route {n}: upstream is required (a URL)")
        prefix = item.get("prefix", "")
        provider = item.get("provider", "auto")
        ensure = item.get("ensure_usage", False)
        if not isinstance(prefix, str) or not isinstance(provider, str):
            raise ConfigError(f"{where}: route {n}: prefix and provider are strings")
        if not isinstance(ensure, bool):
            raise ConfigError(f"{where}: route {n}: ensure_usage is true or false")
        try:
            routes.append(Route(prefix, item["upstream"], provider, ensure))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return tuple(routes)


def budgets_in_file(path: str | Path) -> tuple[Budget, ...]:
    """The `[[budget]]` tables of a proxy config file, checked as the proxy checks them
    (for `sseusage dashboard --config`). Raises ConfigError."""
    return _budgets(read_config_file(path).get("budgets", []), str(path))


def _budgets(items: list[dict[str, Any]], where: str) -> tuple[Budget, ...]:
    budgets = []
    for n, item in enumerate(items, 1):
        unknown = set(item) - _BUDGET_KEYS
        if unknown:
            raise ConfigError(f"{where}: budget {n}: unknown setting {min(unknown)!r}")
        usd = item.get("usd")
        try:
            # A string keeps the amount exact; a TOML float goes through its shortest repr.
            amount = Decimal(str(usd)) if isinstance(usd, (str, int, float)) else None
        except InvalidOperation:
            amount = None
        if amount is None or isinstance(usd, bool):
            raise ConfigError(f'{where}: budget {n}: usd must be an amount like "25.00"')
        for name in ("tag", "key", "window"):
            if name in item and not isinstance(item[name], str):
                raise ConfigError(f"{where}: budget {n}: {name} must be a string")
        try:
            budgets.append(
                Budget(
                    usd=amount,
                    window=item.get("window", "day"),
                    tag=item.get("tag"),
                    key=item.get("key"),
                )
            )
        except ConfigError as exc:
            raise ConfigError(f"{where}: budget {n}: {exc}") from None
    return tuple(budgets)


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[ProxyConfig, ServeOptions]:
    """Settings from the config file (flag `config`, else SSEUSAGE_CONFIG), then the
    environment, then the flags (None = not given). Raises ConfigError."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    config_path = flags.get("config") or env.get("SSEUSAGE_CONFIG")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if config_path:
        for name, value in read_config_file(config_path).items():
            values[name] = value
            sources[name] = str(config_path)
    kinds = {**_SERVE, **_CONFIG, **_LIMITS}
    for name in kinds:
        var = "SSEUSAGE_" + name.upper()
        if env.get(var):
            values[name], sources[name] = env[var], var
        if name in flags:
            values[name], sources[name] = flags[name], "--" + name.replace("_", "-")
    for name, value in list(values.items()):
        if name in kinds:
            values[name] = _convert(name, kinds[name], value, sources[name])

    routes = _routes(values.pop("routes", []), sources.get("routes", "config"))
    budgets = _budgets(values.pop("budgets", []), sources.get("budgets", "config"))
    limits = Limits(**{k: values[k] for k in _LIMITS if k in values})
    config_values = {k: values[k] for k in _CONFIG if k in values}
    if "upstream" in config_values:
        from sseusage_fast.proxy.config import check_upstream

        where = sources["upstream"]
        config_values["upstream"] = check_upstream(config_values["upstream"], where)
    if config_values.get("admin_token") == "":
        config_values["admin_token"] = None
    config = ProxyConfig(routes=routes, budgets=budgets, limits=limits, **config_values)
    config.all_routes()  # no upstream at all, or a prefix twice: said now
    serve = ServeOptions(**{k: values[k] for k in _SERVE if k in values})
    if not 0 < serve.port < 65536:
        raise ConfigError(f"{sources.get('port', 'port')}: port must be 1-65535, not {serve.port}")
    if not 1 <= serve.workers <= 64:
        where = sources.get("workers", "workers")
        raise ConfigError(f"{where}: workers must be 1-64, not {serve.workers}")
    if serve.log_format not in LOG_FORMATS:
        raise ConfigError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    if serve.log_level not in LOG_LEVELS:
        raise ConfigError(f"log level must be one of {', '.join(LOG_LEVELS)}")
    spool = serve.spool
    if isinstance(spool, str) and spool.lower() in ("false", "off", "no", "none"):
        serve = dataclasses.replace(serve, spool=False)
    elif spool == "" or spool is True:
        serve = dataclasses.replace(serve, spool=True)
    return config, serve
