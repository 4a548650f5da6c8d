"""Anthropic Messages request bodies: system, messages and their content blocks, tools."""

from __future__ import annotations

from typing import Any

from ._walk import Walk, Walked, tool_definition


def _anthropic_content(w: Walk, content: Any) -> None:
    if isinstance(content, str):
        w.text(content)
        return
    if not isinstance(content, list):
        return
    for block in content:
        if isinstance(block, str):
            w.text(block)
            continue
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype == "text":
            w.text(block.get("text"))
        elif btype in ("tool_use", "server_tool_use"):
            w.text(block.get("name"))
            w.text(block.get("input", {}))
        elif isinstance(btype, str) and btype.endswith("tool_result"):
            _anthropic_content(w, block.get("content"))
        elif btype == "thinking":
            w.text(block.get("thinking"))
        elif btype == "image":
            source = block.get("source")
            w.image(source.get("data") if isinstance(source, dict) else None)
        elif btype == "document":
            source = block.get("source")
            if isinstance(source, dict) and source.get("type") == "text":
                w.text(source.get("data"))
            else:
                w.files += 1


def walk(body: dict[str, Any]) -> Walked | None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    w = Walk()
    _anthropic_content(w, body.get("system"))
    for message in messages:
        if isinstance(message, dict):
            w.messages += 1
            _anthropic_content(w, message.get("content"))
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            tool_definition(w, tool.get("name"), tool.get("description"), tool.get("input_schema"))
    return w.result()


def thinking_mode(body: dict[str, Any]) -> str | None:
    """ "enabled" or "adaptive" where a request asks a Claude model to think: Anthropic's
    `thinking` (Bedrock Converse passes it in `additionalModelRequestFields`), or a gateway's
    `reasoning` switched on for a Claude model ("enabled"); else None."""
    extra = body.get("additionalModelRequestFields")
    for holder in (body, extra if isinstance(extra, dict) else {}):
        thinking = holder.get("thinking")
        if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
            return str(thinking["type"])
    model = body.get("model")
    reasoning = body.get("reasoning")
    if (
        isinstance(model, str)
        and "claude" in model.lower()
        and isinstance(reasoning, dict)
        and (reasoning.get("enabled") is True or bool(reasoning.get("effort")))
    ):
        return "enabled"
    return None


def starts_with_assistant(body: dict[str, Any]) -> bool:
    """Whether the first message of a Messages or Converse body is the assistant's."""
    messages = body.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    return isinstance(first, dict) and first.get("role") == "assistant"
