"""Gemini request bodies: contents and their parts, the system instruction, function
declarations."""

from __future__ import annotations

from typing import Any

from ._walk import Walk, Walked, tool_definition


def _gemini_parts(w: Walk, content: Any) -> None:
    if isinstance(content, str):
        w.text(content)
        return
    if not isinstance(content, dict):
        return
    for part in content.get("parts") or []:
        if not isinstance(part, dict):
            continue
        if "text" in part:
            w.text(part.get("text"))
        call = part.get("functionCall") or part.get("function_call")
        if isinstance(call, dict):
            w.text(call.get("name"))
            w.text(call.get("args", {}))
        response = part.get("functionResponse") or part.get("function_response")
        if isinstance(response, dict):
            w.text(response.get("name"))
            w.text(response.get("response", {}))
        blob = part.get("inlineData") or part.get("inline_data")
        blob = blob or part.get("fileData") or part.get("file_data")
        if isinstance(blob, dict):
            mime = str(blob.get("mimeType") or blob.get("mime_type") or "")
            if mime.startswith("image/"):
                w.image(blob.get("data"))
            else:
                w.files += 1


def walk(body: dict[str, Any]) -> Walked | None:
    contents = body.get("contents")
    if isinstance(contents, (str, dict)):
        contents = [contents]
    if not isinstance(contents, list):
        return None
    w = Walk()
    system = body.get("systemInstruction") or body.get("system_instruction")
    if system:
        w.messages += 1
        _gemini_parts(w, system)
    for content in contents:
        w.messages += 1
        _gemini_parts(w, content)
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        decls = tool.get("functionDeclarations") or tool.get("function_declarations") or []
        for decl in decls:
            if isinstance(decl, dict):
                # The API reads snake_case names too (pydantic-ai sends
                # `parameters_json_schema`).
                schema = (
                    decl.get("parameters")
                    or decl.get("parametersJsonSchema")
                    or decl.get("parameters_json_schema")
                )
                tool_definition(w, decl.get("name"), decl.get("description"), schema)
    return w.result()
