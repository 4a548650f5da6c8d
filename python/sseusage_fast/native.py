"""The Rust backend. Importing this module raises ImportError when the extension is not built."""

from __future__ import annotations

from functools import partial

from ._api import make_parse_usage, make_parser_class
from ._native import Event, SSEDecoder, UsageCore, new_frozen, text_stats
from .record import FIELD_NAMES, UsageRecord

UsageParser = make_parser_class(UsageCore, __name__, partial(new_frozen, UsageRecord, FIELD_NAMES))
parse_usage = make_parse_usage(UsageParser)

__all__ = ["Event", "SSEDecoder", "UsageParser", "parse_usage", "text_stats"]
