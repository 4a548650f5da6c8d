"""Prometheus metrics of one proxy: counted as rows are written, gauges read at scrape time.

Each proxy has its own registry (several apps in one process do not collide). Model names come
from clients: at most `MAX_MODELS` distinct ones get a label of their own, the rest count as
`other`, so a client cannot grow the metrics without bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from sseusage_fast.ledger import LedgerRow

MAX_MODELS = 200
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_TOKEN_KINDS = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cache_read", "cache_read_input_tokens"),
    ("cache_creation", "cache_creation_input_tokens"),
)


class _Gauges(Collector):
    """Gauges whose values are read when scraped."""

    def __init__(self, read: Callable[[], dict[str, tuple[str, float | None]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (doc, value) in self._read().items():
            family = GaugeMetricFamily(name, doc)
            family.add_metric([], float("nan") if value is None else float(value))
            yield family


class ProxyMetrics:
    def __init__(self, gauges: Callable[[], dict[str, tuple[str, float | None]]]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        labels = ["provider", "model", "status"]
        self.requests = Counter(
            "sseusage_requests",
            "Requests metered, by provider, model and usage status",
            labels,
            registry=self.registry,
        )
        self.tokens = Counter(
            "sseusage_tokens",
            "Tokens recorded, by provider, model and kind (estimates included)",
            ["provider", "model", "kind"],
            registry=self.registry,
        )
        self.cost = Counter(
            "sseusage_cost_usd",
            "Cost recorded in USD, by provider and model (unpriced requests add nothing)",
            ["provider", "model"],
            registry=self.registry,
        )
        self.flagged = Counter(
            "sseusage_flagged_requests",
            "Requests whose billed figures are estimated or unknown (requires_manual_review)",
            ["provider", "model"],
            registry=self.registry,
        )
        self.refused = Counter(
            "sseusage_refused_requests",
            "Requests the proxy answered itself without forwarding, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "sseusage_upstream_latency_seconds",
            "Time to the upstream's response headers",
            ["provider"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.registry.register(_Gauges(gauges))
        self._models: set[str] = set()

    def _model(self, model: str | None) -> str:
        if not model:
            return ""
        if model in self._models:
            return model
        if len(self._models) < MAX_MODELS:
            self._models.add(model)
            return model
        return "other"

    def observe_row(self, row: LedgerRow, refused: str | None = None) -> None:
        provider = row.provider or ""
        model = self._model(row.model)
        self.requests.labels(provider, model, row.status).inc()
        for kind, name in _TOKEN_KINDS:
            value = getattr(row, name)
            if value:
                self.tokens.labels(provider, model, kind).inc(value)
        if row.cost_usd is not None:
            self.cost.labels(provider, model).inc(float(row.cost_usd))
        if row.requires_manual_review:
            self.flagged.labels(provider, model).inc()
        if refused is not None:
            self.refused.labels(refused).inc()
        if row.ttfb_ms is not None and refused is None and row.http_status not in (502, 504):
            self.upstream_latency.labels(provider).observe(row.ttfb_ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def ledger_health(ledger: Any) -> dict[str, Any]:
    """The ledger's state for health and metrics: its own `health()` when it has one, else what
    its public surface tells (rows spooled)."""
    if ledger is None:
        return {"ledger": "none", "ready": True}
    health = getattr(ledger, "health", None)
    if callable(health):
        try:
            reported = dict(health())
        except Exception as exc:  # noqa: BLE001 - health reports, never raises
            return {"ready": False, "health_error": type(exc).__name__}
        # The ledger writer's names (state ok/degraded/failing/closed, queued, spooled).
        if "ready" not in reported:
            reported["ready"] = reported.get("state", "ok") in ("ok", "degraded") and bool(
                reported.get("accepting", True)
            )
        reported.setdefault("queued_rows", reported.get("queued"))
        reported.setdefault("spooled_rows", reported.get("spooled"))
        return reported
    state: dict[str, Any] = {"ledger": type(ledger).__name__, "ready": True}
    spooled = getattr(ledger, "spooled", None)
    if callable(spooled):
        try:
            state["spooled_rows"] = spooled()
        except Exception as exc:  # noqa: BLE001 - health reports, never raises
            state["spool_error"] = type(exc).__name__
            state["ready"] = False
    thread = getattr(ledger, "_thread", None)
    if thread is not None and not thread.is_alive():
        state["ready"] = False
        state["writer"] = "stopped"
    queue = getattr(ledger, "_queue", None)
    if queue is not None:
        state["queued_rows"] = queue.unfinished_tasks
    return state
