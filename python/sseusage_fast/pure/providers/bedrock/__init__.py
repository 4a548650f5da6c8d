"""Amazon Bedrock (twin of providers/bedrock/): the messages of an AWS event stream
(InvokeModelWithResponseStream `chunk` events holding base64 model events, ConverseStream
events), exception messages, and Converse bodies."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

_BASE64 = re.compile(rb"[A-Za-z0-9+/]*")


def looks_like(value: Any) -> bool:
    """A Converse body (`output` with a message, or its usage)."""
    if not isinstance(value, dict):
        return False
    output = value.get("output")
    usage = value.get("usage")
    return (isinstance(output, dict) and "message" in output) or (
        isinstance(usage, dict) and "inputTokens" in usage
    )


def base64_decode(text: bytes) -> bytes | None:
    """Standard base64 (with or without padding); None for anything else."""
    if text.endswith(b"=="):
        text = text[:-2]
    elif text.endswith(b"="):
        text = text[:-1]
    if not _BASE64.fullmatch(text):
        return None
    # Whole bytes only, as the Rust twin: trailing bits that make no byte are dropped.
    usable = len(text) - len(text) % 4
    out = base64.b64decode(text[:usable]) if usable else b""
    rest = text[usable:]
    if len(rest) >= 2:
        try:
            out += base64.b64decode(rest + b"=" * (4 - len(rest)))
        except binascii.Error:
            return None
    return out
