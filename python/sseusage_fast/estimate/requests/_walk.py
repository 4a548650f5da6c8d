"""What the request readers share: loading a body, the walk that collects its text parts and
counts messages, media and tools, and how non-text values are written out for counting."""

from __future__ import annotations

import json
from typing import Any

from .images import inline_image_size

# (text parts, messages, images, files, tools, the tools' definition parts, the sizes of the
# images whose bytes the request holds): definitions apart, since a model family may bill them
# at another rate than their text (`families`).
Walked = tuple[list[str], int, int, int, int, list[str], list[tuple[int, int]]]


def load_json(request: Any) -> dict[str, Any] | None:
    if isinstance(request, dict):
        return request
    if isinstance(request, (bytes, bytearray, memoryview)):
        try:
            request = bytes(request).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(request, str):
        return None
    try:
        body = json.loads(request)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def dump(value: Any) -> str:
    # Compact, and CJK kept as characters (the provider sees them, not \\u escapes).
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


class Walk:
    """Collects text parts (tool definitions apart) and counts messages, images, files and
    tools."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.declared: list[str] = []
        self.messages = 0
        self.images = 0
        self.files = 0
        self.tools = 0
        self.sizes: list[tuple[int, int]] = []

    def text(self, value: Any) -> None:
        _append(self.parts, value)

    def declare(self, value: Any) -> None:
        """A part of a tool's definition."""
        _append(self.declared, value)

    def image(self, data: Any = None) -> None:
        """An image; `data` its base64 bytes where the request holds them (its size is read)."""
        self.images += 1
        size = inline_image_size(data)
        if size is not None:
            self.sizes.append(size)

    def result(self) -> Walked:
        return (
            self.parts,
            self.messages,
            self.images,
            self.files,
            self.tools,
            self.declared,
            self.sizes,
        )


def tool_definition(w: Walk, name: Any, description: Any, schema: Any) -> None:
    w.tools += 1
    w.declare(name if isinstance(name, str) else None)
    w.declare(description if isinstance(description, str) else None)
    if schema is not None:
        w.declare(schema)


def _append(parts: list[str], value: Any) -> None:
    if isinstance(value, str):
        if value:
            parts.append(value)
    elif value is not None:
        parts.append(dump(value))
