"""OpenTelemetry export: a span per request with the GenAI semantic conventions' `gen_ai.*`
attributes, and the token usage and duration metrics (the SDK's in-memory exporters)."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import pytest
from proxy_harness import wait_rows
from replay_upstream import CACHE_READ, INPUT_TOKENS, OUTPUT_TOKENS, serve
from sseusage_fast.ledger import Ledger
from sseusage_fast.proxy import ProxyConfig, create_app
from sseusage_fast.proxy.settings import load_settings
from starlette.applications import Starlette

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

MESSAGES = [{"role": "user", "content": "Say hello to the world."}]


def _points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def test_each_request_is_a_genai_span_with_token_metrics(
    upstream: tuple[str, Starlette], ledger: Ledger
) -> None:
    from sseusage_fast.proxy.telemetry import GenAITelemetry

    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    telemetry = GenAITelemetry(tracer_provider, MeterProvider(metric_readers=[reader]))
    app = create_app(
        ProxyConfig(upstream=upstream[0], trust_env=False), ledger, telemetry=telemetry
    )
    before = time.time_ns()
    with serve(app) as url:
        claude = anthropic.Anthropic(base_url=url, api_key="sk-ant-o", max_retries=0)
        with claude.messages.stream(model="claude-opus-4-6", max_tokens=64, messages=MESSAGES) as s:
            s.until_done()
        with pytest.raises(anthropic.InternalServerError):
            claude.messages.create(
                model="claude-opus-4-6-overloaded", max_tokens=5, messages=MESSAGES
            )
        wait_rows(ledger, 2)
        time.sleep(0.2)
    ok, failed = sorted(spans.get_finished_spans(), key=lambda s: s.name)
    assert ok.name == "chat claude-opus-4-6" and ok.kind == SpanKind.CLIENT
    attrs = dict(ok.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == "claude-opus-4-6"
    assert attrs["gen_ai.usage.input_tokens"] == INPUT_TOKENS + CACHE_READ
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == CACHE_READ
    assert attrs["gen_ai.usage.output_tokens"] == OUTPUT_TOKENS
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert str(attrs["gen_ai.response.id"]).startswith("msg_")
    assert "error.type" not in attrs and ok.status.status_code != StatusCode.ERROR
    assert ok.start_time is not None and ok.end_time is not None
    assert before <= ok.start_time <= ok.end_time <= time.time_ns()
    assert dict(failed.attributes or {})["error.type"] == "overloaded_error"
    assert failed.status.status_code == StatusCode.ERROR

    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum
        for p in _points(reader, "gen_ai.client.token.usage")
        if p.attributes["gen_ai.request.model"] == "claude-opus-4-6"
    }
    assert tokens == {"input": INPUT_TOKENS + CACHE_READ, "output": OUTPUT_TOKENS}
    durations = _points(reader, "gen_ai.client.operation.duration")
    assert sum(p.count for p in durations) == 2


def test_otel_is_a_setting(tmp_path: Any) -> None:
    path = tmp_path / "p.toml"
    path.write_text('upstream = "https://x.test"\n[telemetry]\notel = true\n')
    config, _ = load_settings({"config": str(path)}, env={})
    assert config.otel is True
    config, _ = load_settings({"upstream": "https://x.test"}, env={"SSEUSAGE_OTEL": "1"})
    assert config.otel is True
