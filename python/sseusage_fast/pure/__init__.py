"""The pure-Python backend: the same classes and results as the Rust one, file for file a
translation of it, with the same names: sse/, scan/, textstats, providers/ (facts, one package
per provider), meter/. Always importable."""

from __future__ import annotations

from .._api import make_parse_usage, make_parser_class
from .decoder import SSEDecoder
from .meter import UsageCore
from .sse.events import Event
from .textstats import text_stats

UsageParser = make_parser_class(UsageCore, __name__)
parse_usage = make_parse_usage(UsageParser)

__all__ = ["Event", "SSEDecoder", "UsageParser", "parse_usage", "text_stats"]
