"""Error answers of the proxy's own, in the shape the client's SDK expects from its provider,
so that it raises its usual error (rate limit, request too large) with the proxy's message."""

from __future__ import annotations

import json

# HTTP status -> (Anthropic error type, OpenAI error type, Google RPC status).
_KINDS = {
    400: ("invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"),
    404: ("not_found_error", "invalid_request_error", "NOT_FOUND"),
    408: ("timeout_error", "invalid_request_error", "DEADLINE_EXCEEDED"),
    413: ("request_too_large", "invalid_request_error", "INVALID_ARGUMENT"),
    429: ("rate_limit_error", "insufficient_quota", "RESOURCE_EXHAUSTED"),
}


def error_body(
    provider: str, status: int, message: str, code: str
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body and extra headers of an error answer for `provider`'s clients. `code` is the
    proxy's own name for the reason (`budget_exceeded`, `body_too_large`, ...)."""
    anthropic_type, openai_type, google_status = _KINDS.get(
        status, ("api_error", "server_error", "UNKNOWN")
    )
    headers: list[tuple[bytes, bytes]] = []
    payload: object
    if provider == "anthropic":
        # https://docs.anthropic.com/en/api/errors
        payload = {"type": "error", "error": {"type": anthropic_type, "message": message}}
    elif provider == "gemini":
        # https://ai.google.dev/gemini-api/docs/troubleshooting (google.rpc.Status)
        payload = {"error": {"code": status, "message": message, "status": google_status}}
    elif provider == "bedrock":
        # AWS JSON protocol: the error type travels in a header.
        kind = {429: "ThrottlingException", 413: "ValidationException"}.get(
            status, "ValidationException"
        )
        headers.append((b"x-amzn-errortype", kind.encode()))
        payload = {"message": message}
    elif provider == "ollama":
        payload = {"error": message}
    elif provider == "cohere":
        payload = {"message": message}
    elif provider in ("openai", "openai-responses"):
        payload = {"error": {"message": message, "type": openai_type, "param": None, "code": code}}
    else:
        # `auto`: a shape both the Anthropic and the OpenAI SDKs read (type, message, code).
        error = {"type": anthropic_type, "message": message, "param": None, "code": code}
        payload = {"type": "error", "error": error}
    return json.dumps(payload).encode(), headers
