"""A local fake of the providers' usage APIs, serving their documented response shapes.

Anthropic `GET /v1/organizations/usage_report/messages` and OpenAI
`GET /v1/organization/usage/completions`: buckets from the start to the end asked for (empty
ones included, `results: []`), results summed over the `group_by` fields asked for (the
others null, as the APIs return them), pages of at most `page_size` buckets linked by
`next_page`, and failures on demand (a status list served before the real answers).
Loopback only; one thread; stopped by the context manager.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

WIDTHS = {"1m": 60, "1h": 3600, "1d": 86400}
GROUP_FIELDS = ("model", "api_key_id", "workspace_id", "service_tier", "project_id")
ANTHROPIC_PATH = "/v1/organizations/usage_report/messages"
OPENAI_PATH = "/v1/organization/usage/completions"
COST_PATH = "/v1/organizations/cost_report"


def _z(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(total: dict[str, Any], item: dict[str, Any]) -> None:
    """Sum the numbers of `item` into `total`, nested objects included."""
    for name, value in item.items():
        if name in GROUP_FIELDS or name == "object":
            continue
        if isinstance(value, dict):
            _add(total.setdefault(name, {}), value)
        elif isinstance(value, int) and not isinstance(value, bool):
            total[name] = total.get(name, 0) + value


@dataclass
class FakeUsageApi:
    provider: str  # "anthropic" or "openai"
    # Bucket start -> the finest results (every group field set), in the provider's shape.
    results: dict[datetime, list[dict[str, Any]]]
    key: str = "admin-key-for-tests"
    page_size: int = 2
    # Anthropic's cost report: bucket start -> results as grouped by `description`.
    costs: dict[datetime, list[dict[str, Any]]] = field(default_factory=dict)
    fail_with: list[int] = field(default_factory=list)  # statuses to answer first, in order
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def _grouped(self, start: datetime, group_by: list[str]) -> list[dict[str, Any]]:
        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        for result in self.results.get(start, []):
            ident = tuple(result.get(name) for name in group_by)
            total = groups.get(ident)
            if total is None:
                total = {name: None for name in GROUP_FIELDS if name != "project_id"}
                if self.provider == "openai":
                    total = {"object": "organization.usage.completions.result", **total}
                    total["project_id"] = None
                    total["batch"] = None
                total.update(zip(group_by, ident))
                groups[ident] = total
            _add(total, result)
        return list(groups.values())

    def answer(self, path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, Any]:
        self.requests.append({"path": path, "query": query, "headers": dict(headers)})
        if self.fail_with:
            status = self.fail_with.pop(0)
            return status, {"error": {"type": "overloaded_error", "message": "try later"}}
        if self.provider == "anthropic":
            if path not in (ANTHROPIC_PATH, COST_PATH):
                return 404, {"error": {"message": "not found"}}
            if headers.get("x-api-key") != self.key or not headers.get("anthropic-version"):
                return 401, {"error": {"type": "authentication_error", "message": "bad key"}}
            start = datetime.fromisoformat(query["starting_at"][0].replace("Z", "+00:00"))
            end = datetime.fromisoformat(query["ending_at"][0].replace("Z", "+00:00"))
            group_by = query.get("group_by[]", [])
        else:
            if path != OPENAI_PATH:
                return 404, {"error": {"message": "not found"}}
            if headers.get("authorization") != f"Bearer {self.key}":
                return 401, {"error": {"message": "Incorrect API key provided"}}
            start = datetime.fromtimestamp(int(query["start_time"][0]), timezone.utc)
            end = datetime.fromtimestamp(int(query["end_time"][0]), timezone.utc)
            group_by = query.get("group_by", [])
        width = timedelta(seconds=WIDTHS[query.get("bucket_width", ["1d"])[0]])
        starts = []
        at = start
        while at + width <= end:  # buckets that end at or before the end asked for
            starts.append(at)
            at += width
        offset = 0
        if "page" in query:
            offset = int(base64.b64decode(query["page"][0]).decode())
        size = min(self.page_size, int(query.get("limit", ["7"])[0]))
        shown = starts[offset : offset + size]
        more = offset + size < len(starts)
        token = base64.b64encode(str(offset + size).encode()).decode() if more else None
        if path == COST_PATH:
            if query.get("bucket_width", ["1d"]) != ["1d"] or group_by != ["description"]:
                return 400, {"error": {"type": "invalid_request_error", "message": "1d only"}}
            data = [
                {"starting_at": _z(s), "ending_at": _z(s + width), "results": self.costs.get(s, [])}
                for s in shown
            ]
            return 200, {"data": data, "has_more": more, "next_page": token}
        if self.provider == "anthropic":
            data = [
                {
                    "starting_at": _z(s),
                    "ending_at": _z(s + width),
                    "results": self._grouped(s, group_by),
                }
                for s in shown
            ]
            return 200, {"data": data, "has_more": more, "next_page": token}
        data = [
            {
                "object": "bucket",
                "start_time": int(s.timestamp()),
                "end_time": int((s + width).timestamp()),
                "results": self._grouped(s, group_by),
            }
            for s in shown
        ]
        return 200, {"object": "page", "data": data, "has_more": more, "next_page": token}


@contextmanager
def serve(api: FakeUsageApi) -> Iterator[FakeUsageApi]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = api.answer(parts.path, parse_qs(parts.query), headers)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            if status in (429, 503, 529):
                self.send_header("retry-after", "0")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def anthropic_result(model: str, key: str, **fields: Any) -> dict[str, Any]:
    """A finest-grained result in the documented shape."""
    return {
        "model": model,
        "api_key_id": key,
        "workspace_id": "wrkspc_01",
        "service_tier": "standard",
        "context_window": "0-200k",
        "uncached_input_tokens": fields.get("input", 0),
        "cache_creation": {
            "ephemeral_5m_input_tokens": fields.get("cc5", 0),
            "ephemeral_1h_input_tokens": fields.get("cc1", 0),
        },
        "cache_read_input_tokens": fields.get("cr", 0),
        "output_tokens": fields.get("out", 0),
        "server_tool_use": {"web_search_requests": fields.get("ws", 0)},
    }


def saved_report(
    api: FakeUsageApi, folder: Path, *, since: datetime, until: datetime, width: str = "1d"
) -> str:
    """The fake's report for [since, until), every page, saved to a file as the API returned
    them (what `reconcile --from-file` reads)."""
    from sseusage_fast.reconcile import report

    pages = []

    def get(url: str, headers: dict[str, str]) -> Any:
        parts = urlsplit(url)
        status, body = api.answer(parts.path, parse_qs(parts.query), headers)
        assert status == 200
        pages.append(body)
        return body

    module = report.api_for(api.provider)
    report.fetch_results(
        module,
        base="http://unused",
        key=api.key,
        since=since,
        until=until,
        width=width,
        group_by=["model", "key"],
        get=get,
    )
    path = folder / f"report-{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(pages))
    return str(path)
