"""Builders for OpenAI Chat Completions, OpenAI Responses, Gemini and Bedrock-Anthropic streams
and bodies, in each provider's documented wire format.

- OpenAI Chat Completions (`stream: true`): one `data: <chat.completion.chunk>` per event, no
  `event:` line, `data: [DONE]` at the end. With `stream_options: {"include_usage": true}` every
  chunk carries `"usage": null` and one extra chunk with `"choices": []` and the request's usage
  comes after the `finish_reason` chunk and before `[DONE]`. `prompt_tokens` includes
  `prompt_tokens_details.cached_tokens`; `completion_tokens` includes
  `completion_tokens_details.reasoning_tokens`. Errors mid-stream are a bare `{"error": {...}}`.
  OpenAI-compatible endpoints (Gemini's `/v1beta/openai/`) put a cumulative usage on every chunk.
- OpenAI Responses (`stream: true`): `event: <type>` + `data: {"type": <type>,
  "sequence_number": n, ...}`; `response.created` / `response.in_progress` carry the Response
  (usage null), then `response.output_text.delta` events, then one terminal
  `response.completed` / `response.incomplete` / `response.failed` whose Response holds `usage`
  (`input_tokens` including `input_tokens_details.cached_tokens`, `output_tokens` including
  `output_tokens_details.reasoning_tokens`); an `error` event is `{"type": "error", "code",
  "message", "param"}`. No `[DONE]`.
- Gemini `streamGenerateContent?alt=sse`: `data: <GenerateContentResponse>` blocks with CRLF line
  ends; `usageMetadata` is a cumulative snapshot on every chunk (`promptTokenCount` includes
  `cachedContentTokenCount`; `thoughtsTokenCount` is reported beside `candidatesTokenCount`);
  the last chunk has `finishReason`; `modelVersion` and `responseId` on every chunk. Without
  `alt=sse` the same chunks come as one JSON array; `generateContent` returns one object.
- Anthropic on Bedrock (InvokeModelWithResponseStream, re-emitted as SSE by a gateway): the
  Anthropic Messages events, with `amazon-bedrock-invocationMetrics` (`inputTokenCount`,
  `outputTokenCount`, `cacheReadInputTokenCount`, `cacheWriteInputTokenCount`,
  `invocationLatency`, `firstByteLatency`) on `message_stop`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

Payload = dict[str, Any]

# Text with multibyte UTF-8 (2, 3 and 4 bytes) so that chunk splits can land inside characters.
UNICODE_TEXT = ("Grüße aus Zürich: ", "天气很好，", "温度 21°C ", "🙂 done.")


def dumps(payload: Payload | list[Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def sse(data: Payload | str, *, event: str | None = None, newline: str = "\n") -> bytes:
    """One SSE block: optional `event:` line, one `data:` line, blank line."""
    text = data if isinstance(data, str) else dumps(data)
    out = f"event: {event}{newline}" if event is not None else ""
    out += f"data: {text}{newline}{newline}"
    return out.encode("utf-8")


def join(blocks: Iterable[bytes]) -> bytes:
    return b"".join(blocks)


# ---- OpenAI Chat Completions ---------------------------------------------------------------

CHAT_ID = "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
CHAT_MODEL = "gpt-4o-2024-08-06"
CHAT_CREATED = 1741569952
CHAT_FINGERPRINT = "fp_f9f4fb6dbf"


def chat_usage(
    prompt: int,
    completion: int,
    *,
    cached: int | None = None,
    reasoning: int | None = None,
) -> Payload:
    usage: Payload = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached, "audio_tokens": 0}
    if reasoning is not None:
        usage["completion_tokens_details"] = {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
    return usage


def chat_chunk(
    choices: list[Payload],
    *,
    usage: Payload | None = None,
    usage_key: bool = True,
    model: str = CHAT_MODEL,
    chunk_id: str = CHAT_ID,
) -> Payload:
    chunk: Payload = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": CHAT_CREATED,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": CHAT_FINGERPRINT,
        "choices": choices,
    }
    if usage_key:
        chunk["usage"] = usage
    return chunk


def chat_choice(delta: Payload, finish_reason: str | None = None) -> Payload:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def tool_call_deltas(name: str, arguments: Sequence[str], call_id: str) -> list[Payload]:
    """The deltas of one streamed tool call: id, type and name first, then argument pieces."""
    first: Payload = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "index": 0,
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
        ],
    }
    rest = [{"tool_calls": [{"index": 0, "function": {"arguments": piece}}]} for piece in arguments]
    return [first, *rest]


def chat_stream(
    texts: Sequence[str],
    usage: Payload | None,
    *,
    include_usage: bool = True,
    finish_reason: str = "stop",
    tool: tuple[str, Sequence[str]] | None = None,
    repeat_usage: Sequence[Payload] | None = None,
    error: Payload | None = None,
    done: bool = True,
    model: str = CHAT_MODEL,
    chunk_id: str = CHAT_ID,
) -> bytes:
    """A Chat Completions stream.

    include_usage: `"usage": null` on every chunk and the final usage chunk (empty choices)
    after the finish_reason chunk; else no usage key at all and no usage chunk.
    repeat_usage: an OpenAI-compatible endpoint's cumulative usage, one per content chunk and
    the last one on the finish_reason chunk (then `usage` must be None).
    error: a `{"error": {...}}` data object sent after the content, ending the stream.
    """
    deltas: list[Payload] = [{"role": "assistant", "content": "", "refusal": None}]
    deltas += [{"content": text} for text in texts]
    if tool is not None:
        deltas += tool_call_deltas(tool[0], tool[1], "call_DdmO9pD3xa9XTPNJ32zg2hcA")
    blocks: list[bytes] = []
    for i, delta in enumerate(deltas):
        chunk_usage = None
        if repeat_usage is not None:
            chunk_usage = repeat_usage[min(i, len(repeat_usage) - 1)]
        blocks.append(
            sse(
                chat_chunk(
                    [chat_choice(delta)],
                    usage=chunk_usage,
                    usage_key=include_usage or repeat_usage is not None,
                    model=model,
                    chunk_id=chunk_id,
                )
            )
        )
    if error is not None:
        blocks.append(sse({"error": error}))
        return join(blocks)
    final_usage = repeat_usage[-1] if repeat_usage is not None else None
    blocks.append(
        sse(
            chat_chunk(
                [chat_choice({}, finish_reason)],
                usage=final_usage,
                usage_key=include_usage or repeat_usage is not None,
                model=model,
                chunk_id=chunk_id,
            )
        )
    )
    if include_usage and usage is not None:
        blocks.append(sse(chat_chunk([], usage=usage, model=model, chunk_id=chunk_id)))
    if done:
        blocks.append(sse("[DONE]"))
    return join(blocks)


def chat_body(
    text: str,
    usage: Payload,
    *,
    finish_reason: str = "stop",
    model: str = CHAT_MODEL,
) -> bytes:
    """A non-streaming chat.completion body."""
    body: Payload = {
        "id": CHAT_ID,
        "object": "chat.completion",
        "created": CHAT_CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": CHAT_FINGERPRINT,
    }
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")


OPENAI_ERROR_BODY = json.dumps(
    {
        "error": {
            "message": "Incorrect API key provided: sk-abc***xyz.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    },
    indent=4,
).encode()


# ---- OpenAI Responses ----------------------------------------------------------------------

RESP_ID = "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41"
RESP_MODEL = "o4-mini-2025-04-16"
MSG_ITEM_ID = "msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41"


def responses_usage(
    input_tokens: int, output_tokens: int, *, cached: int = 0, reasoning: int = 0
) -> Payload:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


def response_object(
    status: str,
    *,
    usage: Payload | None = None,
    text: str | None = None,
    incomplete_reason: str | None = None,
    error: Payload | None = None,
    model: str = RESP_MODEL,
) -> Payload:
    output: list[Payload] = []
    if text is not None:
        output.append(
            {
                "id": MSG_ITEM_ID,
                "type": "message",
                "status": "completed" if status == "completed" else "incomplete",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
    return {
        "id": RESP_ID,
        "object": "response",
        "created_at": 1741476777,
        "status": status,
        "error": error,
        "incomplete_details": (
            {"reason": incomplete_reason} if incomplete_reason is not None else None
        ),
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": "medium", "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def responses_stream(
    deltas: Sequence[str],
    terminal: str | None,
    usage: Payload | None,
    *,
    incomplete_reason: str | None = None,
    error: Payload | None = None,
    error_event: Payload | None = None,
    model: str = RESP_MODEL,
) -> bytes:
    """A Responses stream. terminal: "completed", "incomplete", "failed" or None (cut after the
    last delta). error_event: an `error` event's fields, sent after the deltas instead."""
    seq = 0
    blocks: list[bytes] = []

    def emit(kind: str, fields: Payload) -> None:
        nonlocal seq
        blocks.append(sse({"type": kind, "sequence_number": seq, **fields}, event=kind))
        seq += 1

    emit("response.created", {"response": response_object("in_progress", model=model)})
    emit("response.in_progress", {"response": response_object("in_progress", model=model)})
    item = {
        "id": MSG_ITEM_ID,
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    emit("response.output_item.added", {"output_index": 0, "item": item})
    emit(
        "response.content_part.added",
        {
            "item_id": MSG_ITEM_ID,
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
    )
    for delta in deltas:
        emit(
            "response.output_text.delta",
            {"item_id": MSG_ITEM_ID, "output_index": 0, "content_index": 0, "delta": delta},
        )
    if error_event is not None:
        emit("error", error_event)
        return join(blocks)
    text = "".join(deltas)
    emit(
        "response.output_text.done",
        {"item_id": MSG_ITEM_ID, "output_index": 0, "content_index": 0, "text": text},
    )
    if terminal is None:
        return join(blocks)
    response = response_object(
        terminal,
        usage=usage,
        text=text,
        incomplete_reason=incomplete_reason,
        error=error,
        model=model,
    )
    emit(f"response.{terminal}", {"response": response})
    return join(blocks)


def responses_body(text: str, usage: Payload, *, model: str = RESP_MODEL) -> bytes:
    body = response_object("completed", usage=usage, text=text, model=model)
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")


# ---- Gemini --------------------------------------------------------------------------------

GEMINI_MODEL = "gemini-2.5-flash"
GEMINI_RESPONSE_ID = "mF3bZ8CkOs2F7dcPqJ2d0QM"


def gemini_usage(
    prompt: int,
    candidates: int | None,
    *,
    cached: int | None = None,
    thoughts: int | None = None,
) -> Payload:
    """usageMetadata as the API writes it: fields that are zero are left out."""
    usage: Payload = {"promptTokenCount": prompt}
    if candidates is not None:
        usage["candidatesTokenCount"] = candidates
    usage["totalTokenCount"] = prompt + (candidates or 0) + (thoughts or 0)
    if cached is not None:
        usage["cachedContentTokenCount"] = cached
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    if cached is not None:
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    if thoughts is not None:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def gemini_chunk(
    text: str | None,
    usage: Payload | None,
    *,
    finish_reason: str | None = None,
    thought: bool = False,
    model: str = GEMINI_MODEL,
    response_id: str = GEMINI_RESPONSE_ID,
) -> Payload:
    candidate: Payload = {"content": {"role": "model"}, "index": 0}
    if text is not None:
        part: Payload = {"text": text}
        if thought:
            part["thought"] = True
        candidate["content"]["parts"] = [part]
    if finish_reason is not None:
        candidate["finishReason"] = finish_reason
    chunk: Payload = {"candidates": [candidate]}
    if usage is not None:
        chunk["usageMetadata"] = usage
    chunk["modelVersion"] = model
    chunk["responseId"] = response_id
    return chunk


def gemini_stream(chunks: Sequence[Payload], *, newline: str = "\r\n") -> bytes:
    """`alt=sse`: one data line per GenerateContentResponse, CRLF line ends."""
    return join(sse(chunk, newline=newline) for chunk in chunks)


def gemini_array_body(chunks: Sequence[Payload]) -> bytes:
    """streamGenerateContent without alt=sse: the chunks as one JSON array (pretty-printed)."""
    return json.dumps(list(chunks), ensure_ascii=False, indent=2).encode("utf-8")


def gemini_body(
    text: str, usage: Payload, *, finish_reason: str = "STOP", model: str = GEMINI_MODEL
) -> bytes:
    """generateContent: one GenerateContentResponse."""
    chunk = gemini_chunk(text, usage, finish_reason=finish_reason, model=model)
    return json.dumps(chunk, ensure_ascii=False, indent=2).encode("utf-8")


GEMINI_ERROR_BODY = json.dumps(
    {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
        }
    },
    indent=2,
).encode()


# ---- Anthropic on Bedrock ------------------------------------------------------------------

BEDROCK_MODEL = "claude-sonnet-4-5-20250929"
BEDROCK_MESSAGE_ID = "msg_bdrk_01NvVXyQ6pW5kq3bzV9yEiS3"


def bedrock_metrics(
    input_tokens: int,
    output_tokens: int,
    *,
    cache_read: int | None = None,
    cache_write: int | None = None,
) -> Payload:
    metrics: Payload = {"inputTokenCount": input_tokens, "outputTokenCount": output_tokens}
    metrics["invocationLatency"] = 2311
    metrics["firstByteLatency"] = 412
    if cache_read is not None:
        metrics["cacheReadInputTokenCount"] = cache_read
    if cache_write is not None:
        metrics["cacheWriteInputTokenCount"] = cache_write
    return metrics


def bedrock_stream(
    texts: Sequence[str],
    metrics: Payload | None,
    *,
    start_usage: Payload | None = None,
    delta_usage: Payload | None = None,
    stop_reason: str = "end_turn",
) -> bytes:
    """An Anthropic Messages stream as a Bedrock gateway re-emits it: event lines, the
    message_start usage and the message_delta usage only when given, metrics on message_stop."""
    message: Payload = {
        "id": BEDROCK_MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": BEDROCK_MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if start_usage is not None:
        message["usage"] = start_usage
    blocks = [
        sse({"type": "message_start", "message": message}, event="message_start"),
        sse(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            event="content_block_start",
        ),
    ]
    for text in texts:
        blocks.append(
            sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                },
                event="content_block_delta",
            )
        )
    blocks.append(sse({"type": "content_block_stop", "index": 0}, event="content_block_stop"))
    delta: Payload = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
    }
    if delta_usage is not None:
        delta["usage"] = delta_usage
    blocks.append(sse(delta, event="message_delta"))
    stop: Payload = {"type": "message_stop"}
    if metrics is not None:
        stop["amazon-bedrock-invocationMetrics"] = metrics
    blocks.append(sse(stop, event="message_stop"))
    return join(blocks)
