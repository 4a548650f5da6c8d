"""Who a request is for, beyond its key: tags from `x-sseusage-tags`, and the end user the
request body names (Anthropic `metadata.user_id`, OpenAI `user`)."""

from __future__ import annotations

import re
from typing import Any

TAGS_HEADER = "x-sseusage-tags"
# A tag is name=value: names and values of letters, digits and `_ . - : / @ +` (no spaces,
# commas or `=`, which the header and the stored form use as separators).
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_VALUE = re.compile(r"[A-Za-z0-9_.\-:/@+]+")
MAX_END_USER_CHARS = 256


class TagError(ValueError):
    """An `x-sseusage-tags` value that is not a short list of name=value pairs."""


def parse_tags(value: str, *, max_tags: int = 16, max_chars: int = 64) -> dict[str, str]:
    """`team=search, env=prod` -> {"env": "prod", "team": "search"} (sorted by name). Raises
    TagError for anything else: the caller refuses the request rather than guess."""
    if len(value) > max_tags * (2 * max_chars + 3):
        raise TagError(f"{TAGS_HEADER} is too long")
    tags: dict[str, str] = {}
    for part in value.split(","):
        part = part.strip(" \t")
        if not part:
            continue
        name, eq, tag_value = part.partition("=")
        name, tag_value = name.strip(" \t"), tag_value.strip(" \t")
        if not eq or not _NAME.fullmatch(name) or not _VALUE.fullmatch(tag_value):
            raise TagError(
                f"{TAGS_HEADER}: each tag is name=value (letters, digits, _ . - : / @ +)"
            )
        if len(name) > max_chars or len(tag_value) > max_chars:
            raise TagError(f"{TAGS_HEADER}: names and values are at most {max_chars} characters")
        if name in tags:
            raise TagError(f"{TAGS_HEADER}: tag {name!r} is given twice")
        tags[name] = tag_value
        if len(tags) > max_tags:
            raise TagError(f"{TAGS_HEADER}: at most {max_tags} tags")
    return dict(sorted(tags.items()))


def tags_text(tags: dict[str, str]) -> str | None:
    """The stored form, `env=prod,team=search` (sorted), or None for no tags."""
    return ",".join(f"{k}={v}" for k, v in tags.items()) or None


def tags_from_text(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    return dict(part.split("=", 1) for part in text.split(",") if "=" in part)


def end_user(body: dict[str, Any] | None) -> str | None:
    """The end user the request names: Anthropic `metadata.user_id`, OpenAI `user` (Chat
    Completions and Responses) or `safety_identifier`. Cut to a bounded length."""
    if body is None:
        return None
    found: Any = None
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        found = metadata.get("user_id")
    if not isinstance(found, str) or not found:
        found = body.get("user")
    if not isinstance(found, str) or not found:
        found = body.get("safety_identifier")
    if not isinstance(found, str) or not found:
        return None
    return found[:MAX_END_USER_CHARS]
