"""Request bodies of the other providers: Bedrock Converse (messages of content blocks, a
system list, toolConfig), Ollama's generate and the legacy completions endpoint (a `prompt`);
Bedrock InvokeModel bodies are Anthropic's, and Cohere v2 and Ollama chat are OpenAI-shaped."""

from __future__ import annotations

from typing import Any

from ._walk import Walk, Walked, tool_definition


def _converse_blocks(w: Walk, content: Any) -> None:
    if isinstance(content, str):
        w.text(content)
        return
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        w.text(block.get("text"))
        use = block.get("toolUse")
        if isinstance(use, dict):
            w.text(use.get("name"))
            w.text(use.get("input", {}))
        result = block.get("toolResult")
        if isinstance(result, dict):
            for part in result.get("content") or ():
                if isinstance(part, dict):
                    w.text(part.get("text"))
                    w.text(part.get("json"))
        if "image" in block:
            image = block.get("image")
            source = image.get("source") if isinstance(image, dict) else None
            w.image(source.get("bytes") if isinstance(source, dict) else None)
        elif "document" in block or "video" in block:
            w.files += 1


def walk_converse(body: dict[str, Any]) -> Walked | None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    w = Walk()
    system = body.get("system")
    if system:
        w.messages += 1
        _converse_blocks(w, system)
    for message in messages:
        if isinstance(message, dict):
            w.messages += 1
            _converse_blocks(w, message.get("content"))
    config = body.get("toolConfig")
    tools = config.get("tools") if isinstance(config, dict) else None
    for tool in tools if isinstance(tools, list) else ():
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if isinstance(spec, dict):
            schema = spec.get("inputSchema")
            schema = schema.get("json", schema) if isinstance(schema, dict) else schema
            tool_definition(w, spec.get("name"), spec.get("description"), schema)
    return w.result()


def walk_prompt(body: dict[str, Any]) -> Walked | None:
    """A `prompt` (string or list of strings) and an optional `system` (Ollama generate,
    OpenAI-style completions): one message."""
    prompt = body.get("prompt")
    if not isinstance(prompt, (str, list)):
        return None
    w = Walk()
    w.messages = 1
    w.text(body.get("system") if isinstance(body.get("system"), str) else None)
    for part in prompt if isinstance(prompt, list) else [prompt]:
        w.text(part if isinstance(part, str) else None)
    for image in body.get("images") or ():
        w.image(image)
    return w.result()
