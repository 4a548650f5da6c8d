"""Anthropic's Admin API usage report: `GET /v1/organizations/usage_report/messages`.

Query: `starting_at` (buckets that start on or after it), `ending_at` (buckets that end before
it), `bucket_width` 1m/1h/1d, `group_by[]`, `limit`, `page` (the previous `next_page`).
Response: `{"data": [{"starting_at", "ending_at", "results": [...]}], "has_more",
"next_page"}`; each result has `uncached_input_tokens`, `cache_creation`
(`ephemeral_5m_input_tokens`, `ephemeral_1h_input_tokens`), `cache_read_input_tokens`,
`output_tokens`, `server_tool_use.web_search_requests` and the group fields asked for
(`model`, `api_key_id`, `workspace_id`, `service_tier`, `context_window`, `inference_geo`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sseusage_fast.reconcile.buckets import rfc3339
from sseusage_fast.reconcile.totals import (
    ProviderResult,
    bucket_results,
    count,
    page_buckets,
    report_time,
    text_or_none,
)

NAME = "anthropic"
ENV_VAR = "ANTHROPIC_ADMIN_API_KEY"
DEFAULT_BASE = "https://api.anthropic.com"
PATH = "/v1/organizations/usage_report/messages"
# The ledger rows this report covers (the parser's provider names).
LEDGER_PROVIDERS = ("anthropic",)
# Most buckets one page may hold, per width (the documented maximum of `limit`).
PAGE_LIMITS = {"1d": 31, "1h": 168, "1m": 1440}
GROUP_FIELDS = {"model": "model", "key": "api_key_id", "service_tier": "service_tier"}


def headers(key: str) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": "2023-06-01", "accept": "application/json"}


def query(
    since: datetime, until: datetime, width: str, group_by: list[str], page: str | None
) -> list[tuple[str, str]]:
    params = [
        ("starting_at", rfc3339(since)),
        ("ending_at", rfc3339(until)),
        ("bucket_width", width),
        ("limit", str(PAGE_LIMITS[width])),
    ]
    params += [("group_by[]", GROUP_FIELDS[name]) for name in group_by]
    if page is not None:
        params.append(("page", page))
    return params


def parse_page(page: Any) -> list[ProviderResult]:
    out = []
    for where, bucket in page_buckets(page, "an Anthropic usage report page"):
        start = report_time(bucket, "starting_at", where=where)
        has_end = bucket.get("ending_at") is not None
        end = report_time(bucket, "ending_at", where=where) if has_end else None
        for here, result in bucket_results(bucket.get("results"), where):
            cache = result.get("cache_creation")
            if isinstance(cache, dict):
                five = count(cache, "ephemeral_5m_input_tokens", where=here)
                hour = count(cache, "ephemeral_1h_input_tokens", where=here)
            else:  # a flat variant seen in some schema copies
                five = count(result, "cache_creation_5m_input_tokens", where=here)
                hour = count(result, "cache_creation_1h_input_tokens", where=here)
            tools = result.get("server_tool_use")
            tokens = {
                "input_tokens": count(result, "uncached_input_tokens", where=here),
                "cache_creation_input_tokens": five + hour,
                "cache_creation_5m_input_tokens": five,
                "cache_creation_1h_input_tokens": hour,
                "cache_read_input_tokens": count(result, "cache_read_input_tokens", where=here),
                "output_tokens": count(result, "output_tokens", where=here),
                "web_search_requests": count(tools, "web_search_requests", where=here),
            }
            tier = text_or_none(result, "service_tier")
            out.append(
                ProviderResult(
                    bucket_start=start,
                    bucket_end=end,
                    model=text_or_none(result, "model"),
                    api_key_id=text_or_none(result, "api_key_id"),
                    service_tier=tier.lower() if tier else None,
                    tokens=tokens,
                    requests=None,  # this report counts tokens, not requests
                    batch=tier is not None and tier.lower() == "batch",
                )
            )
    return out
