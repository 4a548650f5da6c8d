"""An image's size read from the bytes a request sends inline (base64, or a `data:` URI), and
the input tokens each provider documents for an image of that size. Where the size cannot be
read (a URL, a file id, an unknown format), `request_info` counts a flat figure instead."""

from __future__ import annotations

import base64
import binascii
import math
import struct

# Enough of the image to find its size: PNG, GIF and WebP say it in their first 30 bytes; a
# JPEG's frame header follows its metadata (EXIF, ICC), rarely beyond this.
_HEAD_BYTES = 256 * 1024


def inline_image_size(data: object) -> tuple[int, int] | None:
    """(width, height) of a base64 image (a `data:` URI's payload included), or None."""
    if not isinstance(data, str):
        return None
    if data.startswith("data:"):
        _, _, data = data.partition(",")
    head = data[: _HEAD_BYTES * 4 // 3].strip()
    head = head[: len(head) - len(head) % 4]
    try:
        raw = base64.b64decode(head, validate=False)
    except (binascii.Error, ValueError):
        return None
    size = _png(raw) or _gif(raw) or _webp(raw) or _jpeg(raw)
    return size if size is not None and size[0] > 0 and size[1] > 0 else None


def _png(b: bytes) -> tuple[int, int] | None:
    if b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR" and len(b) >= 24:
        width, height = struct.unpack(">II", b[16:24])
        return width, height
    return None


def _gif(b: bytes) -> tuple[int, int] | None:
    if b[:6] in (b"GIF87a", b"GIF89a") and len(b) >= 10:
        width, height = struct.unpack("<HH", b[6:10])
        return width, height
    return None


def _webp(b: bytes) -> tuple[int, int] | None:
    if b[:4] != b"RIFF" or b[8:12] != b"WEBP":
        return None
    chunk = b[12:16]
    if chunk == b"VP8 " and len(b) >= 30:  # lossy: 14-bit sizes after the frame's start code
        width, height = struct.unpack("<HH", b[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(b) >= 25:  # lossless: 14-bit sizes less one, after a 0x2f
        bits = int.from_bytes(b[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(b) >= 30:  # extended: 24-bit sizes less one
        return int.from_bytes(b[24:27], "little") + 1, int.from_bytes(b[27:30], "little") + 1
    return None


def _jpeg(b: bytes) -> tuple[int, int] | None:
    if b[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 <= len(b):
        if b[i] != 0xFF:
            i += 1
            continue
        marker = b[i + 1]
        if marker == 0xFF or marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 1 if marker == 0xFF else 2  # fill byte, or a marker without a length
            continue
        # A start-of-frame marker (not DHT, JPG or DAC, which share the range) holds the size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", b[i + 5 : i + 9])
            return width, height
        (length,) = struct.unpack(">H", b[i + 2 : i + 4])
        i += 2 + length
    return None


# Anthropic: tokens = width * height / 750, after an image is scaled down to fit 1568 px on
# its long edge and about 1.2 megapixels: the largest sizes its docs list as kept (1092 x 1092,
# 951 x 1268, 896 x 1344, 819 x 1456, 784 x 1568) are all under 1,229,312 pixels.
_ANTHROPIC_LONG_EDGE = 1568
_ANTHROPIC_MAX_PIXELS = 784 * 1568
# OpenAI (GPT-4o, GPT-4.1 at the default detail): the image fit in 2048 x 2048, then its short
# side to 768; 170 tokens a 512-pixel tile and 85 more.
# Gemini: 258 for an image up to 384 px a side, else 258 a 768 x 768 tile.


def image_tokens(kind: str, size: tuple[int, int]) -> int | None:
    """The input tokens a provider documents for an image of `size`; None where it
    documents none (the caller counts its flat figure)."""
    width, height = size
    if kind in ("anthropic", "bedrock-converse"):
        scale = min(
            1.0,
            _ANTHROPIC_LONG_EDGE / max(width, height),
            math.sqrt(_ANTHROPIC_MAX_PIXELS / (width * height)),
        )
        return max(1, math.ceil(width * scale * height * scale / 750))
    if kind in ("openai", "openai-responses"):
        scale = min(1.0, 2048 / max(width, height))
        w, h = width * scale, height * scale
        scale = min(1.0, 768 / min(w, h))
        tiles = math.ceil(w * scale / 512) * math.ceil(h * scale / 512)
        return 85 + 170 * tiles
    if kind == "gemini":
        if width <= 384 and height <= 384:
            return 258
        return 258 * math.ceil(width / 768) * math.ceil(height / 768)
    return None
