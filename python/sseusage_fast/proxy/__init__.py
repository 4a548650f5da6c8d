"""`sseusage proxy`: a metering reverse proxy (needs the `proxy` extra)."""

from __future__ import annotations

from sseusage_fast.proxy.app import Proxy, create_app
from sseusage_fast.proxy.config import ProxyConfig
from sseusage_fast.proxy.runner import run

__all__ = ["Proxy", "ProxyConfig", "create_app", "run"]
