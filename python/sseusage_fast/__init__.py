"""sseusage-fast: exact SSE framing and token-usage metering for LLM streams.

The Rust backend is used when it is built, else the pure-Python twin (same results);
`SSEUSAGE_FAST_PURE=1` forces the pure one. `BACKEND` says which is in use.
"""

from __future__ import annotations

import os

from .estimate import Estimator
from .pricing import Pricing
from .record import UsageRecord
from .taps import atap, tap

if os.environ.get("SSEUSAGE_FAST_PURE") == "1":
    from .pure import Event, SSEDecoder, UsageParser, parse_usage

    BACKEND = "pure"
else:
    try:
        # The pure classes are the declared ones; the native ones have the same interface.
        from .native import Event, SSEDecoder, UsageParser, parse_usage  # type: ignore[assignment]

        BACKEND = "native"
    except ImportError:
        from .pure import Event, SSEDecoder, UsageParser, parse_usage

        BACKEND = "pure"

__version__ = "0.1.0"

__all__ = [
    "BACKEND",
    "Estimator",
    "Event",
    "Pricing",
    "SSEDecoder",
    "UsageParser",
    "UsageRecord",
    "atap",
    "parse_usage",
    "tap",
]
