"""Anthropic events read without a tree (twin of anthropic/reader.rs): here only pings, which
carry nothing; the rest goes to `tree`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..facts import Facts


def fast_path(ex: Facts, data: bytes) -> bool:
    """Pings are skipped unread; everything else goes to on_event. (The native twin also reads
    canonical text deltas and stop events without a tree, with the same result.)"""
    # The whole data, up to JSON white space: `{"type":"ping"}` followed by anything else is
    # not valid JSON, and the tree must say so as the native reader does.
    return data.rstrip(b" \t\r\n") in _PINGS


_PINGS = (b'{"type":"ping"}', b'{"type": "ping"}')
