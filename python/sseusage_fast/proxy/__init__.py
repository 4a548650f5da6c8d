"""`sseusage proxy`: a metering reverse proxy (needs the `proxy` extra).

The names load on first use, so that `proxy.command` (the command's options, registered by
the CLI for every command) imports without Starlette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sseusage_fast.proxy.app import Proxy, create_app
    from sseusage_fast.proxy.config import ProxyConfig
    from sseusage_fast.proxy.runner import run

__all__ = ["Proxy", "ProxyConfig", "create_app", "run"]

_WHERE = {
    "Proxy": "app",
    "create_app": "app",
    "ProxyConfig": "config",
    "run": "runner",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
