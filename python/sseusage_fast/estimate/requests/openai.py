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
            # Chat: {"image_url": {"url": ...}}; Responses: {"image_url": "data:..."}.
            url = part.get("image_url")
            w.image(url.get("url") if isinstance(url, dict) else url)
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


# Keywords of a JSON schema that constrain the reply's grammar rather than describe its
# fields: left out of the schema's text. On the real captures (gpt-4o, two schemas, each in
# Chat and Responses) the whole schema as JSON put input at 4-78% over what was billed, the
# fields alone (names, types, descriptions, enums) at 2-31% over.
_GRAMMAR_KEYWORDS = frozenset({"required", "additionalProperties", "strict"})


def _schema_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _schema_fields(v) for k, v in value.items() if k not in _GRAMMAR_KEYWORDS}
    if isinstance(value, list):
        return [_schema_fields(v) for v in value]
    return value


def _schema_format(body: dict[str, Any], kind: str) -> dict[str, Any] | None:
    # The structured-output format of a Chat (`response_format`) or Responses (`text.format`)
    # request, when it is a JSON schema; Anthropic's (`output_config.format`) has Responses'
    # shape.
    if kind == "anthropic":
        config = body.get("output_config")
        spec = config.get("format") if isinstance(config, dict) else None
    else:
        spec = body.get("response_format")
        if spec is None:
            text = body.get("text")
            spec = text.get("format") if isinstance(text, dict) else None
    if not isinstance(spec, dict) or spec.get("type") != "json_schema":
        return None
    inner = spec.get("json_schema")  # Chat nests it; Responses does not
    return inner if isinstance(inner, dict) else spec


def output_schema_parts(body: dict[str, Any], kind: str = "openai") -> list[str] | None:
    """The text of the JSON schema a reply must follow (structured outputs): its name,
    description and fields. None when the request sets none. Billed as input, like a tool's
    definition, though no message shows it."""
    schema = _schema_format(body, kind)
    if schema is None:
        return None
    w = Walk()
    w.text(schema.get("name") if isinstance(schema.get("name"), str) else None)
    w.text(schema.get("description") if isinstance(schema.get("description"), str) else None)
    w.text(_schema_fields(schema.get("schema")))
    return w.parts


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
