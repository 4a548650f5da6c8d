"""The proxy's own endpoints (`/_sseusage/health`, `/_sseusage/metrics`): never forwarded,
never a ledger row, guarded by the admin token off loopback; and expected failures logged as
one line."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from proxy_harness import wait_rows
from replay_upstream import INPUT_TOKENS, OUTPUT_TOKENS, serve
from sseusage_fast.ledger import Ledger, LedgerRow
from sseusage_fast.proxy import ProxyConfig, create_app
from sseusage_fast.proxy.metrics import MAX_MODELS, ProxyMetrics
from sseusage_fast.proxy.server import uvicorn_options
from starlette.applications import Starlette

MESSAGES = [{"role": "user", "content": "Say hello to the world."}]
TOKEN = "admin-0123456789"


def _start(upstream: str, ledger: Any, *, loopback_only: bool, token: str | None = TOKEN) -> Any:
    config = ProxyConfig(upstream=upstream, admin_token=token, trust_env=False)
    app = create_app(config, ledger, loopback_only=loopback_only)
    return serve(app, **uvicorn_options(config))


@pytest.fixture
def local(upstream: tuple[str, Starlette], ledger: Ledger) -> Iterator[str]:
    with _start(upstream[0], ledger, loopback_only=True) as url:
        yield url


@pytest.fixture
def exposed(upstream: tuple[str, Starlette], ledger: Ledger) -> Iterator[str]:
    with _start(upstream[0], ledger, loopback_only=False) as url:
        yield url


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_health_is_answered_here_and_leaves_no_row(
    upstream: tuple[str, Starlette], exposed: str, ledger: Ledger
) -> None:
    before = len(upstream[1].state.seen)
    r = httpx.get(exposed + "/_sseusage/health")  # no token: probes carry none
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["status"] == "ok" and body["ready"] is True and body["spooled_rows"] == 0
    r = httpx.get(exposed + "/_sseusage/health?ready")
    assert r.status_code == 200
    for path in ("/_sseusage/nothing", "/_sseusage", "//_sseusage/health"):
        assert httpx.get(
            exposed + path, headers={"authorization": f"Bearer {TOKEN}"}
        ).status_code in (
            200,
            404,
        )
    assert httpx.post(exposed + "/_sseusage/health").status_code == 405
    assert len(upstream[1].state.seen) == before
    time.sleep(0.3)
    ledger.flush()
    assert ledger.count() == 0


class _StoppedLedger:
    def health(self) -> dict[str, Any]:
        return {"ready": False, "writer": "stopped", "spooled_rows": 7, "lag_seconds": 12.5}

    def record(self, row: LedgerRow, capture: object = None) -> None:
        pass

    def flush(self, timeout: float | None = None) -> bool:
        return True


def test_readiness_fails_when_the_ledger_cannot_take_rows(upstream: tuple[str, Starlette]) -> None:
    with _start(upstream[0], _StoppedLedger(), loopback_only=True) as url:
        assert httpx.get(url + "/_sseusage/health").status_code == 200  # alive
        r = httpx.get(url + "/_sseusage/health?ready")
        assert r.status_code == 503 and r.json()["status"] == "degraded"
        assert r.json()["spooled_rows"] == 7
        samples = _samples(httpx.get(url + "/_sseusage/metrics").text)
    assert samples[("sseusage_spool_rows", ())] == 7
    assert samples[("sseusage_ledger_lag_seconds", ())] == 12.5
    assert samples[("sseusage_ledger_ready", ())] == 0


def test_metrics_need_the_admin_token_off_loopback(
    upstream: tuple[str, Starlette], exposed: str, ledger: Ledger
) -> None:
    assert httpx.get(exposed + "/_sseusage/metrics").status_code == 401
    wrong = {"authorization": "Bearer nope"}
    assert httpx.get(exposed + "/_sseusage/metrics", headers=wrong).status_code == 401
    right = {"authorization": f"Bearer {TOKEN}"}
    r = httpx.get(exposed + "/_sseusage/metrics", headers=right)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    with _start(upstream[0], ledger, loopback_only=False, token=None) as url:
        r = httpx.get(url + "/_sseusage/metrics", headers=right)
        assert r.status_code == 401 and "set an admin token" in r.json()["error"]


def test_metrics_count_requests_tokens_cost_flags_and_latency(local: str, ledger: Ledger) -> None:
    client = anthropic.Anthropic(base_url=local, api_key="sk-ant-m", max_retries=0)
    with client.messages.stream(model="claude-opus-4-6", max_tokens=64, messages=MESSAGES) as s:
        s.until_done()
    events = client.messages.create(
        model="claude-opus-4-6-nousage", max_tokens=64, messages=MESSAGES, stream=True
    )
    list(events)
    rows = wait_rows(ledger, 2)
    time.sleep(0.3)  # the batch that wrote the rows also counted them
    samples = _samples(httpx.get(local + "/_sseusage/metrics").text)
    ok = (("model", "claude-opus-4-6"), ("provider", "anthropic"))
    assert samples[("sseusage_requests_total", (*ok[:1], ok[1], ("status", "complete")))] == 1
    assert samples[("sseusage_tokens_total", (("kind", "input"), *ok))] == INPUT_TOKENS
    assert samples[("sseusage_tokens_total", (("kind", "output"), *ok))] == OUTPUT_TOKENS
    cost = next(r.cost_usd for r in rows if r.model == "claude-opus-4-6")
    assert cost is not None
    assert samples[("sseusage_cost_usd_total", ok)] == pytest.approx(float(cost))
    flagged = (("model", "claude-opus-4-6-nousage"), ("provider", "anthropic"))
    assert samples[("sseusage_flagged_requests_total", flagged)] == 1
    assert samples[("sseusage_upstream_latency_seconds_count", (("provider", "anthropic"),))] == 2
    assert samples[("sseusage_in_flight_requests", ())] == 0
    assert samples[("sseusage_ledger_ready", ())] == 1


def test_model_labels_are_bounded() -> None:
    metrics = ProxyMetrics(dict)
    for i in range(MAX_MODELS + 50):
        metrics.observe_row(LedgerRow(provider="openai", model=f"m{i}", status="complete"))
    models = {
        s.labels["model"]
        for f in text_string_to_metric_families(metrics.render().decode())
        for s in f.samples
        if f.name == "sseusage_requests"
    }
    assert len(models) == MAX_MODELS + 1 and "other" in models


def test_an_unrecognised_2xx_body_is_flagged_with_no_cost(local: str, ledger: Ledger) -> None:
    r = httpx.post(
        local + "/v1/messages",
        json={"model": "claude-opus-4-6-html", "max_tokens": 5, "messages": MESSAGES},
    )
    assert r.status_code == 200 and r.text.startswith("<html>")
    (row,) = wait_rows(ledger, 1)
    assert row.status == "not_sse" and row.requires_manual_review and row.cost_usd is None


def test_an_upstream_cut_and_a_client_hang_up_are_one_line_each(
    local: str, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = {"model": "claude-opus-4-6-cut", "max_tokens": 5, "messages": MESSAGES, "stream": True}
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("POST", local + "/v1/messages", json=body) as r,
    ):
        r.read()
    body["model"] = "claude-opus-4-6-slow-long"
    with httpx.stream("POST", local + "/v1/messages", json=body) as r:
        next(r.iter_raw())  # then hang up
    rows = wait_rows(ledger, 2)
    assert sorted(str(r.interrupted) for r in rows) == ["client_disconnect", "upstream_error"]
    time.sleep(0.2)
    # The replay upstream cuts by raising (its own "Exception in ASGI application"): only the
    # proxy's lines count.
    server_lines = [
        r
        for r in caplog.records
        if r.name.startswith("uvicorn")
        and not (r.exc_info and type(r.exc_info[1]).__name__ == "_Cut")
    ]
    assert all(r.exc_info is None for r in server_lines), [r.getMessage() for r in server_lines]
    cuts = [r for r in server_lines if "response cut short" in r.getMessage()]
    assert len(cuts) == 1 and "\n" not in cuts[0].getMessage()


def test_json_log_lines_carry_the_row_and_escape_control_characters() -> None:
    import json

    from sseusage_fast.proxy.logs import JsonFormatter

    row = LedgerRow(
        method="POST",
        path="/v1/messages",
        http_status=200,
        provider="anthropic",
        model="evil\nmodel\x1b[31m",
        input_tokens=3,
        status="complete",
    )
    record = logging.LogRecord("sseusage_fast.proxy", logging.INFO, "x", 1, "a %s", ("b",), None)
    record.row = row
    line = JsonFormatter().format(record)
    assert "\n" not in line and "\x1b" not in line
    data = json.loads(line)
    assert data["message"] == "a b" and data["level"] == "info"
    assert data["model"] == "evil\nmodel\x1b[31m" and data["input_tokens"] == 3
    assert data["cost_usd"] is None and data["uuid"] == row.uuid


def test_the_dashboard_is_served_behind_the_admin_token_and_leaves_no_row(
    upstream: tuple[str, Starlette], exposed: str, ledger: Ledger
) -> None:
    client = anthropic.Anthropic(base_url=exposed, api_key="sk-ant-d", max_retries=0)
    with client.messages.stream(model="claude-opus-4-6", max_tokens=64, messages=MESSAGES) as s:
        s.until_done()
    wait_rows(ledger, 1)
    time.sleep(0.3)  # committed before the page reads the database
    seen = len(upstream[1].state.seen)
    assert httpx.get(exposed + "/_sseusage/dashboard").status_code == 401
    right = {"authorization": f"Bearer {TOKEN}"}
    r = httpx.get(exposed + "/_sseusage/dashboard?since=30d", headers=right)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "claude-opus-4-6" in r.text
    assert len(upstream[1].state.seen) == seen  # never forwarded
    assert len(list(ledger.rows())) == 1  # never a ledger row


def test_the_proxy_says_when_it_runs_without_uvloop_or_httptools(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util
    import sys

    from sseusage_fast.proxy import server

    absent: set[str] = set()
    found = object()
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name in absent else found
    )
    assert server.speedups_note() is None
    absent.add("httptools")
    note = server.speedups_note()
    assert note is not None and "httptools" in note and "uvloop" not in note
    absent.add("uvloop")
    note = server.speedups_note()
    assert note is not None and "httptools" in note
    assert ("uvloop" in note) is (sys.platform != "win32")
    assert 'pip install "sseusage-fast[proxy]"' in note


def test_settle_gc_freezes_the_startup_and_collects_young_objects_less_often() -> None:
    import gc

    from sseusage_fast.proxy.server import GC_THRESHOLD, settle_gc

    before = gc.get_threshold()
    try:
        settle_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GC_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
