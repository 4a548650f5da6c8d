"""The pure-Python backend: the same classes and results as the Rust one, file for file a
translation of it (framer, event, usage, anthropic, jsonread, textstats). Always importable."""

from __future__ import annotations

from .._api import make_parse_usage, make_parser_class
from .decoder import SSEDecoder
from .event import Event
from .textstats import text_stats
from .usage import UsageCore

UsageParser = make_parser_class(UsageCore, __name__)
parse_usage = make_parse_usage(UsageParser)

__all__ = ["Event", "SSEDecoder", "UsageParser", "parse_usage", "text_stats"]
