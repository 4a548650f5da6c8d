"""`sseusage proxy`: a metering reverse proxy (needs the `proxy` extra).

The names below are imported on first use, so that `sseusage_fast.proxy.command` and the
settings modules load without the extra installed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sseusage_fast.proxy.app import Proxy, create_app
    from sseusage_fast.proxy.config import ProxyConfig
    from sseusage_fast.proxy.runner import run

__all__ = ["Proxy", "ProxyConfig", "create_app", "run"]

_WHERE = {
    "Proxy": "sseusage_fast.proxy.app",
    "create_app": "sseusage_fast.proxy.app",
    "ProxyConfig": "sseusage_fast.proxy.config",
    "run": "sseusage_fast.proxy.runner",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
