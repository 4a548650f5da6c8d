"""OpenAI request bodies: Chat Completions messages and the Responses API's input items."""

from __future__ import annotations

from typing import Any

from ._walk import Walk, Walked, tool_definition


def _openai_parts(w: Walk, content: Any) -> None:
    if isinstance(content, str):
        w.text(content)
        return
    if not isinstance(content, list):
        return
    for part in content:
        if isinstance(part, str):
            w.text(part)
            continue
        if not isinstance(part, dict):
            continue
        ptype = part.get("type")
        if ptype in ("text", "input_text", "output_text"):
            w.text(part.get("text"))
        elif ptype == "refusal":
            w.text(part.get("refusal"))
        elif ptype in ("image_url", "input_image", "image"):
            w.images += 1
        elif ptype in ("file", "input_file", "input_audio"):
            w.files += 1


def _openai_tools(w: Walk, tools: Any) -> None:
    for tool in tools or []:
        if not isinstance(tool, dict):
            continue
        inner = tool.get("function")
        fn: dict[str, Any] = inner if isinstance(inner, dict) else tool
        name = fn.get("name") or tool.get("type")
        tool_definition(w, name, fn.get("description"), fn.get("parameters"))


def walk_chat(body: dict[str, Any]) -> Walked | None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    w = Walk()
    for message in messages:
        if not isinstance(message, dict):
            continue
        w.messages += 1
        _openai_parts(w, message.get("content"))
        for call in message.get("tool_calls") or []:
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                w.text(fn.get("name"))
                w.text(fn.get("arguments"))
        legacy = message.get("function_call")
        if isinstance(legacy, dict):
            w.text(legacy.get("name"))
            w.text(legacy.get("arguments"))
    _openai_tools(w, body.get("tools"))
    _openai_tools(w, body.get("functions"))
    return w.result()


def walk_responses(body: dict[str, Any]) -> Walked | None:
    items = body.get("input")
    if items is None and "instructions" not in body:
        return None
    w = Walk()
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        w.messages += 1
        w.text(body["instructions"])
    if isinstance(items, str):
        w.messages += 1
        w.text(items)
    elif isinstance(items, list):
        for item in items:
            if not isinstance(item, dict):
                continue
            itype = item.get("type", "message")
            w.messages += 1
            if itype == "message":
                _openai_parts(w, item.get("content"))
            elif itype == "function_call":
                w.text(item.get("name"))
                w.text(item.get("arguments"))
            elif itype in ("function_call_output", "custom_tool_call_output"):
                output = item.get("output")
                if isinstance(output, list):
                    _openai_parts(w, output)
                else:
                    w.text(output)
            elif itype == "custom_tool_call":
                w.text(item.get("name"))
                w.text(item.get("input"))
            elif itype == "reasoning":
                for part in item.get("summary") or []:
                    if isinstance(part, dict):
                        w.text(part.get("text"))
    _openai_tools(w, body.get("tools"))
    return w.result()
