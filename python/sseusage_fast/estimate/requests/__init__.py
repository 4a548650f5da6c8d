"""Request-body readers, one module per provider: what text a request holds for the provider to
tokenize, and the tokens that no text shows (message framing, media, tool-use prompts)."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from .. import families
from ..model_names import calibration_key
from ..textstats import COEF_ALNUM, COEF_NUMBERS, COEF_SPACE, COEF_WORDS, Stats, text_stats
from . import anthropic, gemini, openai, other
from ._walk import Walked, load_json
from .images import image_tokens

# Framing per message (role markers, separators). OpenAI documents 3 per message plus 3 to
# prime the reply; Anthropic and Gemini frame messages similarly, within a few tokens.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REQUEST = 3
# Gemini frames a turn in about one token and adds none per request: "What is ai?" is billed 5
# tokens, the text alone about 4 (real captures, tests/captures/gemini).
# Cohere's `billed_units` count the messages' text alone: "Tell me a joke, pirate style" is
# billed 7 (real captures, tests/captures/cohere).
FRAMING = {"gemini": (1, 0), "cohere": (0, 0)}
# Llama 3's chat template (Meta's model card), wherever it is served: each message is
# `<|start_header_id|>role<|end_header_id|>\n\n ... <|eot_id|>` (5 tokens), the request adds
# `<|begin_of_text|>` and the assistant's header (5). "Tell me a joke about opentelemetry" was
# billed 18 by Groq and 17 by Ollama, the text alone about 8 (tests/captures/groq, ollama).
LLAMA_FRAMING = (5, 5)
# Llama 3.1's template writes an earlier tool call as `{"name": ..., "parameters": ...}` (Meta's
# JSON tool-calling format): 9 tokens beyond the name and arguments the walk counts (cl100k,
# whose merges Llama 3's tokenizer keeps, on the rendering of a one-argument call). Ollama
# billed 44 for a history with one call, estimated 38 without them.
LLAMA_TOOL_CALL_TOKENS = 9
_LLAMA = re.compile(r"(?:^|/)(?:meta-)?llama-?3", re.IGNORECASE)
# Llama 3.1 to 3.3 as Meta's template renders them always write a system turn, which holds the
# model's knowledge cutoff and a date ("Cutting Knowledge Date: December 2023\nToday Date: 26
# Jul 2024\n\n": 19 tokens on cl100k) before any system message; without one, the turn's own 5
# framing tokens too. Together billed 41 for "Count from one to five." on Llama 3.3, 16 counted
# without them (tests/captures/together). Ollama's templates write the lines only with tools.
LLAMA_DATED_SYSTEM_TOKENS = 19
_LLAMA_DATED = re.compile(r"llama-?3[.-][123](?!\d)", re.IGNORECASE)
# Runs the text statistics see as one or two long words but a tokenizer splits into many
# pieces: hex digests and ids, base64 payloads (at most about one token per character).
_OPAQUE_RUN = re.compile(r"[0-9A-Fa-f]{24,}|[A-Za-z0-9+/_-]{48,}={0,2}")
# A number that starts a word, with the space before it: the digits a word run starting with a
# digit holds (`text_stats`' `numbers`).
_NUMBER_START = re.compile(r"( ?)(?<![^\W_])(\d+)")
# Tools that run on the provider's side and put their results (search pages, fetched
# documents, an advisor model's turn) into the billed input without the request showing them.
_SERVER_TOOL_MARKS = (
    "web_search",
    "web_fetch",
    "code_execution",
    "code_interpreter",
    "file_search",
    "advisor",
    "mcp",
    "openrouter:",
    "google_search",
    "googlesearch",
    "url_context",
    "urlcontext",
    "codeexecution",
)
# Anthropic adds a hidden system prompt when tools are given: 346 tokens for tool_choice
# auto/none on Claude 4 and 3.7 models (Anthropic's tool-use pricing table).
ANTHROPIC_TOOLS_SYSTEM_TOKENS = 346
# Extended thinking adds about 30 input tokens that the request does not show: Claude 3.7 with
# thinking billed 52 for a ~18-token question, Sonnet 4.5 via OpenRouter 43 for a ~9-token one
# (real captures; no published figure).
ANTHROPIC_THINKING_TOKENS = 30
# Adaptive thinking (`thinking: {"type": "adaptive"}`) adds none on most models: Opus 4.8 and 5
# billed 13 for "What is 2+2?", Sonnet 4.6 on Bedrock 14 for a ~9-token question, as without
# thinking; Opus 4.6 billed 31 (real captures). The point leaves it out, the range's top not.
# A history that starts with the assistant's turn bills a user turn the API puts before it:
# Claude Sonnet 4.5 billed 13 over the estimate on the Anthropic API (41 for 28) and on
# Bedrock Converse (29 for 16), the only two such requests in the captures.
ANTHROPIC_ASSISTANT_FIRST_TOKENS = 13
# Images and files are not text. An image whose bytes the request holds counts what its
# provider documents for its size (`images`); any other a flat amount. Anthropic: about 1,600
# tokens for an image at the ~1.15 MP size it scales large images down to (width * height / 750).
# OpenAI: 765 for a 1024x1024 image at high detail. Gemini: 258 per image up to 384 px a side
# (larger ones are tiled in 258-token tiles). Files (PDFs, documents) vary most: 1,500 each, a
# rough figure for a page or two. Records with media are not learned from.
IMAGE_TOKENS = {
    "anthropic": 1600,
    "bedrock-converse": 1600,
    "openai": 765,
    "openai-responses": 765,
    "gemini": 258,
}
FILE_TOKENS = 1500


class RequestInfo(NamedTuple):
    """What a request body holds for estimation: the text's stats, the framing and media
    tokens that no text shows, and how many images/files were seen."""

    stats: Stats
    overhead: int
    media: int
    provider: str
    # The request's cap on billed output (max_tokens, max_completion_tokens,
    # max_output_tokens, maxOutputTokens): a true upper bound on output, reasoning included.
    max_output: int | None = None
    # Reasoning asked for: OpenAI/xAI `reasoning_effort` or `reasoning.effort`, Anthropic
    # `output_config.effort`, Gemini `thinkingLevel`; "none" when the request turns it off
    # (Gemini `thinkingBudget: 0`, Anthropic `thinking.type: disabled`).
    effort: str | None = None
    # Anthropic `thinking.budget_tokens`, Gemini `thinkingBudget` (> 0).
    thinking_budget: int | None = None
    tools: int = 0
    # Server-side tools offered (web search, code execution, an advisor): input and output
    # the request and the stream do not show.
    server_tools: bool = False
    # Characters in long hex or base64 runs, which the text statistics undercount (bounds).
    opaque_chars: int = 0
    # A tool the provider defines (Anthropic `memory_20250818`, `bash_...`, OpenAI `shell`,
    # `apply_patch`): its definition is billed as input and the request shows only its name.
    hidden_tools: bool = False
    # The conversation so far is kept by the provider (Responses `previous_response_id`,
    # `conversation`) and billed as input the request does not show.
    stored_context: bool = False
    # The model the request names: what calibration learns under when the response names none
    # (Cohere's and Bedrock Converse's responses do not).
    model: str | None = None
    # The stats of the JSON schema the reply must follow (OpenAI structured outputs: Chat
    # `response_format`, Responses `text.format`), in `stats` too; None without one.
    output_schema: Stats | None = None
    # The stats of the tools' definitions as counted (after the family's ratio), in `stats`
    # too; None without any.
    declared: Stats | None = None
    # Input the request may bill that `overhead` leaves out (adaptive thinking's prompt): the
    # range's top allows it.
    unshown: int = 0


def request_info(
    request: Any, provider: str | None = None, model: str | None = None
) -> RequestInfo | None:
    """Stats, overhead and media count of a request body (dict, str or bytes of JSON), parsed
    once. None when the body is absent, not JSON, or of no known shape. `model`, the model the
    response names, picks the message framing (else the model the body names)."""
    body = load_json(request)
    if body is None:
        return None
    kind = infer_provider(body) if provider in (None, "", "auto") else provider
    if kind in ("openai-chat", "chat"):
        kind = "openai"
    if kind == "bedrock":
        # InvokeModel carries Anthropic's body (anthropic_version); ConverseStream its own.
        kind = "anthropic" if "anthropic_version" in body else "bedrock-converse"
    elif kind in ("cohere", "ollama"):
        kind = "openai"  # OpenAI-shaped messages (Ollama's generate: a prompt, below)
    if "prompt" in body and "messages" not in body and kind != "anthropic":
        kind = "prompt"  # Ollama generate, the legacy completions endpoint (vLLM and others)
    walk: Walked | None
    if kind == "bedrock-converse":
        walk = other.walk_converse(body)
    elif kind == "prompt":
        walk = other.walk_prompt(body)
    elif kind == "anthropic":
        walk = anthropic.walk(body)
    elif kind == "openai":
        walk = openai.walk_chat(body)
    elif kind == "openai-responses":
        walk = openai.walk_responses(body)
    elif kind == "gemini":
        walk = gemini.walk(body)
    else:
        return None
    if walk is None:
        return None
    parts, messages, images, files, tools, declared, sizes = walk
    body_model = body.get("model")
    body_model = body_model if isinstance(body_model, str) and body_model else None
    schema = _output_schema(body, kind, body_model)
    text = "\n".join(parts + declared + (schema or []))
    named = model or body_model  # the response's model where it names one
    key = calibration_key(named)
    ratio = families.declaration_ratio(key)
    tool_stats = text_stats("\n".join(declared)) if declared else None
    if tool_stats is not None and ratio != 1.0:
        tool_stats = _scaled(tool_stats, ratio)
        stats = _plus(text_stats("\n".join(parts + (schema or []))), tool_stats)
    else:
        stats = text_stats(text)
    framing = families.message_framing(key)
    if framing is None:
        framing = FRAMING.get(provider or "", FRAMING.get(kind))
    calls = 0
    dated = 0
    if framing is None and named and _LLAMA.search(named):
        framing = LLAMA_FRAMING
        calls = _tool_calls(body)
        # A chat's messages only: a completion's prompt is the text the model reads.
        if kind != "prompt" and provider != "ollama" and _LLAMA_DATED.search(named):
            dated = LLAMA_DATED_SYSTEM_TOKENS + (0 if _has_system(body) else LLAMA_FRAMING[0])
    per_message, per_request = framing or (TOKENS_PER_MESSAGE, TOKENS_PER_REQUEST)
    overhead = per_request + per_message * messages + LLAMA_TOOL_CALL_TOKENS * calls + dated
    # An image whose bytes the request holds counts what its provider documents for its size;
    # any other a flat figure.
    sized = [t for t in (image_tokens(kind, size) for size in sizes) if t is not None]
    flat = (images - len(sized)) * IMAGE_TOKENS.get(kind, 1600)
    overhead += sum(sized) + flat + files * FILE_TOKENS
    if kind == "anthropic" and tools:
        overhead += ANTHROPIC_TOOLS_SYSTEM_TOKENS
    thinking = anthropic.thinking_mode(body)
    if thinking == "enabled":
        overhead += ANTHROPIC_THINKING_TOKENS
    claude = kind in ("anthropic", "bedrock-converse") and (key is None or key.startswith("claude"))
    if claude and anthropic.starts_with_assistant(body):
        overhead += ANTHROPIC_ASSISTANT_FIRST_TOKENS
    if families.splits_digits(key):
        overhead += round(split_digit_tokens(text))
    max_output, effort, budget = output_settings(body)
    return RequestInfo(
        stats,
        overhead,
        images + files,
        kind,
        max_output,
        effort,
        budget,
        tools,
        has_server_tools(body),
        opaque_chars(text),
        has_hidden_tools(body),
        bool(body.get("previous_response_id") or body.get("conversation")),
        body_model,
        None if schema is None else text_stats("\n".join(schema)),
        tool_stats,
        ANTHROPIC_THINKING_TOKENS if thinking == "adaptive" else 0,
    )


def _output_schema(body: dict[str, Any], kind: str, model: str | None) -> list[str] | None:
    """The text of the JSON schema a reply must follow (structured outputs), which OpenAI's
    models and Claude bill as input. Other servers of OpenAI's API constrain decoding to the
    schema without putting it in the prompt (vLLM, Ollama): theirs is not counted."""
    if kind == "anthropic":
        return openai.output_schema_parts(body, kind)
    if kind not in ("openai", "openai-responses") or not isinstance(model, str):
        return None
    if not families.schema_output_tokens(calibration_key(model)):
        return None
    return openai.output_schema_parts(body)


def _scaled(stats: Stats, ratio: float) -> Stats:
    # Every count times the ratio: the estimate is linear in them (`base_tokens`).
    return tuple(round(n * ratio) for n in stats)  # type: ignore[return-value]


def _plus(a: Stats, b: Stats) -> Stats:
    return tuple(x + y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _has_system(body: dict[str, Any]) -> bool:
    # A system message: Chat's `system` or `developer` role, or a body's own `system`.
    messages = body.get("messages")
    roles = (
        (m.get("role") for m in messages if isinstance(m, dict))
        if isinstance(messages, list)
        else ()
    )
    return bool(body.get("system")) or any(role in ("system", "developer") for role in roles)


def _tool_calls(body: dict[str, Any]) -> int:
    # The tool calls of a Chat Completions history.
    messages = body.get("messages")
    return sum(
        len(m["tool_calls"])
        for m in (messages if isinstance(messages, list) else ())
        if isinstance(m, dict) and isinstance(m.get("tool_calls"), list)
    )


def split_digit_tokens(text: str) -> float:
    """What a tokenizer that splits every digit bills for a text's numbers beyond the base
    estimate: a token a digit and one for the space before the number, where the base counts
    a number as a word of its length plus `COEF_NUMBERS`, whatever its length."""
    extra = 0.0
    for spaced, digits in _NUMBER_START.findall(text):
        n, space = len(digits), len(spaced)
        base = COEF_WORDS + COEF_NUMBERS + COEF_ALNUM * n + COEF_SPACE * space
        extra += n + space - base
    return extra


def opaque_chars(text: str) -> int:
    """How many characters of a text are in long hex or base64 runs."""
    return sum(len(m) for m in _OPAQUE_RUN.findall(text))


# Keys that hold a tool's definition in the request (its schema as the model will see it).
_DEFINED = (
    "input_schema",
    "parameters",
    "function",
    "functionDeclarations",
    "function_declarations",
)


def has_hidden_tools(body: dict[str, Any]) -> bool:
    """Whether the request offers a client tool that the provider defines: a `type` other than
    a function or custom tool, no schema of its own, and not one that runs server-side."""
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict) or any(key in tool for key in _DEFINED):
            continue
        kind = str(tool.get("type") or "").lower()
        if kind in ("", "function", "custom") or any(m in kind for m in _SERVER_TOOL_MARKS):
            continue
        return True
    return False


def has_server_tools(body: dict[str, Any]) -> bool:
    """Whether the request offers a tool that runs on the provider's side: a tool whose type
    (or, for Gemini, whose key) names one, OpenRouter's web plugin, or Anthropic's
    compaction (`context_management` edit `compact_...`)."""
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict):
            continue
        names = [str(tool.get("type", "")).lower(), *(str(k).lower() for k in tool)]
        if any(mark in name for name in names for mark in _SERVER_TOOL_MARKS):
            return True
    plugins = body.get("plugins")
    if isinstance(plugins, list) and any(
        isinstance(p, dict) and p.get("id") == "web" for p in plugins
    ):
        return True
    # Anthropic's compaction: a server-side pass that reads the conversation and bills it.
    context = body.get("context_management")
    edits = context.get("edits") if isinstance(context, dict) else None
    return isinstance(edits, list) and any(
        isinstance(e, dict) and "compact" in str(e.get("type", "")) for e in edits
    )


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def output_settings(body: dict[str, Any]) -> tuple[int | None, str | None, int | None]:
    """(max output tokens, reasoning effort, thinking budget) that a request body asks for, in
    any provider's spelling; None for what it does not say."""
    config = body.get("generationConfig") or body.get("generation_config") or {}
    config = config if isinstance(config, dict) else {}
    max_output = None
    for source, key in (
        (body, "max_completion_tokens"),
        (body, "max_output_tokens"),
        (body, "max_tokens"),
        (config, "maxOutputTokens"),
        (config, "max_output_tokens"),
    ):
        max_output = _positive_int(source.get(key))
        if max_output is not None:
            break
    effort = body.get("reasoning_effort")
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict):
        effort = reasoning.get("effort", effort)
    output_config = body.get("output_config")
    if isinstance(output_config, dict):
        effort = output_config.get("effort", effort)
    budget = None
    thinking = body.get("thinking")
    if isinstance(thinking, dict):
        if thinking.get("type") == "disabled":
            effort = "none"
        budget = _positive_int(thinking.get("budget_tokens"))
    thinking_config = config.get("thinkingConfig") or config.get("thinking_config")
    if isinstance(thinking_config, dict):
        level = thinking_config.get("thinkingLevel") or thinking_config.get("thinking_level")
        effort = level if isinstance(level, str) else effort
        raw_budget = thinking_config.get("thinkingBudget", thinking_config.get("thinking_budget"))
        if raw_budget == 0:
            effort = "none"
        budget = _positive_int(raw_budget) or budget
    return max_output, effort.lower() if isinstance(effort, str) else None, budget


_ANTHROPIC_BLOCKS = {"tool_use", "tool_result", "thinking", "redacted_thinking", "document"}


def infer_provider(body: dict[str, Any]) -> str | None:
    if "contents" in body or "systemInstruction" in body or "system_instruction" in body:
        return "gemini"
    if "messages" not in body:
        if "input" in body or "instructions" in body:
            return "openai-responses"
        return None
    if "system" in body:
        return "anthropic"
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        if message.get("role") in ("system", "developer", "tool") or "tool_calls" in message:
            return "openai"
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                if not isinstance(block, dict):
                    continue
                btype = block.get("type")
                if btype in _ANTHROPIC_BLOCKS or (btype == "image" and "source" in block):
                    return "anthropic"
                if btype in ("image_url", "input_audio", "file"):
                    return "openai"
    tools = body.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[0], dict):
        return "openai" if "function" in tools[0] else "anthropic"
    return "openai"
