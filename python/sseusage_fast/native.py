"""The Rust backend. Importing this module raises ImportError when the extension is not built."""

from __future__ import annotations

from ._api import make_parse_usage, make_parser_class
from ._native import Event, RecordBuilder, SSEDecoder, UsageCore, text_stats
from .record import FIELD_NAMES, UsageRecord

_BUILDER = RecordBuilder(UsageRecord, FIELD_NAMES)
UsageParser = make_parser_class(UsageCore, __name__, _BUILDER.build)
# The builder of the records the core's `finish` makes; they keep the usage object's JSON text
# until `raw_usage` is first read (then its dict, kept): most records are never asked for it.
UsageCore._set_record_builder(_BUILDER)
_BUILDER.keep_usage_text()
parse_usage = make_parse_usage(UsageParser)

__all__ = ["Event", "SSEDecoder", "UsageParser", "parse_usage", "text_stats"]
