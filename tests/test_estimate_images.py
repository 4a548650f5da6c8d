"""An image sent inline counts what its provider documents for its size, read from its bytes
(PNG, GIF, WebP, JPEG headers), not a flat guess: a 228 x 148 photo is 45 tokens on Claude,
where the flat figure for any image was 1,600. Images sent by URL or file id keep the flat
figure. The estimate is made in the shared finish step: both backends give the same record."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from types import ModuleType

import pytest
from capture_index import load_captures, strip_usage
from sseusage_fast.estimate import Estimator
from sseusage_fast.estimate.requests import IMAGE_TOKENS, request_info
from sseusage_fast.estimate.requests.images import image_tokens, inline_image_size


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00"


def webp_lossless(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 4
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def webp_extended(width: int, height: int) -> bytes:
    payload = b"\x00" * 4 + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("make", [png, gif, webp_lossless, webp_extended, jpeg])
def test_the_size_is_read_from_each_format(make) -> None:  # type: ignore[no-untyped-def]
    assert inline_image_size(b64(make(640, 480))) == (640, 480)
    assert inline_image_size("data:image/x;base64," + b64(make(37, 1200))) == (37, 1200)


def test_what_is_not_an_inline_image_has_no_size() -> None:
    for value in (None, 12, "", "https://example.com/cat.png", "file-abc123", "!!!not base64"):
        assert inline_image_size(value) is None
    assert inline_image_size(b64(b"just some bytes, no image header at all")) is None


def test_the_documented_token_counts() -> None:
    # Anthropic: width * height / 750; the largest sizes its docs list as not resized (1092 x
    # 1092, 784 x 1568) keep theirs, a larger image is scaled down to about 1,640 tokens.
    assert image_tokens("anthropic", (228, 148)) == 45
    assert image_tokens("anthropic", (1, 1)) == 1
    assert image_tokens("anthropic", (1092, 1092)) == 1590
    assert image_tokens("anthropic", (784, 1568)) == 1640
    assert image_tokens("bedrock-converse", (4000, 3000)) == pytest.approx(1640, abs=1)
    # OpenAI: 85 + 170 a 512 px tile after fitting 2048 and a 768 short side.
    assert image_tokens("openai", (1024, 1024)) == 765
    assert image_tokens("openai-responses", (2048, 4096)) == 1105
    assert image_tokens("openai", (200, 200)) == 255
    # Gemini: 258 up to 384 px a side, else 258 a 768 px tile.
    assert image_tokens("gemini", (384, 384)) == 258
    assert image_tokens("gemini", (1000, 700)) == 516
    assert image_tokens("cohere", (100, 100)) is None


def test_each_provider_body_reads_its_inline_images() -> None:
    data = b64(png(228, 148))
    bodies = {
        "anthropic": {
            "model": "claude-sonnet-4-5",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image", "source": {"type": "base64", "data": data}},
                    ],
                }
            ],
        },
        "openai": {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": f"data:image/png;base64,{data}"},
                        },
                    ],
                }
            ],
        },
        "gemini": {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "What is this?"},
                        {"inlineData": {"mimeType": "image/png", "data": data}},
                    ],
                }
            ]
        },
    }
    expected = {"anthropic": 45, "openai": 255, "gemini": 258}
    for provider, body in bodies.items():
        info = request_info(json.dumps(body), provider)
        assert info is not None and info.media == 1
        by_url = json.loads(json.dumps(body).replace(data, "https://example.com/x.png"))
        flat = request_info(by_url, provider)
        assert flat is not None and flat.media == 1
        # The same request with the image by URL counts the flat figure instead.
        assert flat.overhead - info.overhead == IMAGE_TOKENS[provider] - expected[provider]


def test_a_real_inline_photo_is_estimated_near_its_bill(backend: ModuleType) -> None:
    """openinference's recorded Claude request with a 228 x 148 JPEG: billed 78 input tokens;
    the flat figure put it at 1,619 (range 492 to 4,839)."""
    capture = next(c for c in load_captures() if c.name == "anthropic/oi_image_input_stream.sse")
    record = backend.parse_usage(
        strip_usage(capture), capture.provider, request=capture.request, estimator=Estimator()
    )
    billed = capture.expected["input_tokens"]
    assert "input_tokens" in record.estimated and "media" in record.estimate_reasons
    assert abs(record.input_tokens - billed) <= 0.25 * billed
    low, high = record.estimate_ranges["input_tokens"]
    assert low <= billed <= high


def test_hostile_image_bytes_never_raise() -> None:
    """Truncated and random headers, zero-length JPEG segments, odd base64: a size or None."""
    import random

    rng = random.Random(17)
    heads = [png(5, 5), gif(5, 5), webp_lossless(5, 5), webp_extended(5, 5), jpeg(5, 5)]
    samples = [b"\xff\xd8" + b"\xff\xe0\x00\x00" * 50, b"\xff\xd8" + b"\xff" * 100]
    for head in heads:
        samples += [head[:cut] for cut in range(len(head))]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(64))) for _ in range(500)]
    samples += [head[:4] + bytes(rng.randrange(256) for _ in range(40)) for head in heads]
    for raw in samples:
        size = inline_image_size(b64(raw))
        assert size is None or (size[0] > 0 and size[1] > 0)
    for text in ("====", "a", "ab=", "data:", "data:image/png;base64", "\x00\xff", "QUJD" * 10):
        assert inline_image_size(text) is None
