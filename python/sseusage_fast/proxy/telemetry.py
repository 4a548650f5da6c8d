"""OpenTelemetry export (the `otel` extra): one span per metered request and the GenAI token
usage and duration metrics, after the OpenTelemetry semantic conventions for generative AI
(`gen_ai.*`). Exporters are the application's: the global tracer and meter providers are used
unless others are given.

Spans are made when the request's row is (after its stream ended), with the request's own
start and end times.
"""

from __future__ import annotations

import time
from typing import Any

from sseusage_fast.ledger import LedgerRow

# gen_ai.provider.name values of the conventions, by the parser's provider names.
_PROVIDERS = {
    "anthropic": "anthropic",
    "openai": "openai",
    "openai-responses": "openai",
    "gemini": "gcp.gemini",
    "bedrock": "aws.bedrock",
    "cohere": "cohere",
    "ollama": "ollama",
}
_SCOPE = "sseusage_fast.proxy"


class GenAITelemetry:
    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        from opentelemetry import metrics, trace

        self._trace = trace
        self._tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
        )
        # perf_counter (the request's clock) to the wall clock, for span times.
        self._offset_ns = time.time_ns() - time.perf_counter_ns()

    def record(self, row: LedgerRow, started: float, ended: float) -> None:
        """The span and metrics of one request (`started`, `ended`: perf_counter seconds)."""
        provider = _PROVIDERS.get(row.provider or "", row.provider or "unknown")
        base: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
        }
        if row.model:
            base["gen_ai.request.model"] = row.model
            base["gen_ai.response.model"] = row.model
        error = row.refused or row.error_type or (row.interrupted if row.interrupted else None)
        if row.http_status is not None and row.http_status >= 400 and error is None:
            error = str(row.http_status)
        attributes = dict(base)
        attributes["http.response.status_code"] = row.http_status or 0
        if row.message_id:
            attributes["gen_ai.response.id"] = row.message_id
        if row.stop_reason:
            attributes["gen_ai.response.finish_reasons"] = [row.stop_reason]
        # Input as the conventions count it: cached reads and writes included.
        inputs = [
            row.input_tokens,
            row.cache_read_input_tokens,
            row.cache_creation_input_tokens,
        ]
        input_total = sum(v for v in inputs if v) if any(v is not None for v in inputs) else None
        if input_total is not None:
            attributes["gen_ai.usage.input_tokens"] = input_total
        if row.output_tokens is not None:
            attributes["gen_ai.usage.output_tokens"] = row.output_tokens
        if row.cache_read_input_tokens is not None:
            attributes["gen_ai.usage.cache_read.input_tokens"] = row.cache_read_input_tokens
        if row.cache_creation_input_tokens is not None:
            attributes["gen_ai.usage.cache_creation.input_tokens"] = row.cache_creation_input_tokens
        if row.requires_manual_review:
            attributes["sseusage.requires_manual_review"] = True
        if row.estimated:
            attributes["sseusage.estimated"] = list(row.estimated)
        if row.cost_usd is not None:
            attributes["sseusage.cost_usd"] = float(row.cost_usd)
        if error is not None:
            attributes["error.type"] = error
        name = f"chat {row.model}" if row.model else "chat"
        span = self._tracer.start_span(
            name,
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            start_time=self._ns(started),
        )
        if error is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR))
        span.end(end_time=self._ns(ended))

        measured = dict(base)
        if error is not None:
            measured["error.type"] = error
        self._duration.record(max(0.0, ended - started), measured)
        if input_total is not None:
            self._tokens.record(input_total, {**base, "gen_ai.token.type": "input"})
        if row.output_tokens is not None:
            self._tokens.record(row.output_tokens, {**base, "gen_ai.token.type": "output"})

    def _ns(self, perf_seconds: float) -> int:
        return int(perf_seconds * 1e9) + self._offset_ns
