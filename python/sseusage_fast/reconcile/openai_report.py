"""OpenAI's organization usage API: `GET /v1/organization/usage/completions`.

Query: `start_time` (Unix seconds, inclusive), `end_time` (exclusive), `bucket_width`
1m/1h/1d, `group_by` (repeated: `model`, `api_key_id`, `project_id`, `user_id`, `batch`,
`service_tier`), `limit`, `page` (the previous `next_page`). Response: `{"object": "page",
"data": [{"object": "bucket", "start_time", "end_time", "results": [...]}], "has_more",
"next_page"}`; each result has `input_tokens` (cached and cache-write tokens included),
`input_cached_tokens`, `input_cache_write_tokens` (where reported), `output_tokens`,
`input_audio_tokens`, `output_audio_tokens`, `num_model_requests` and the group fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeGuard

from sseusage_fast.reconcile.buckets import from_unix, to_unix
from sseusage_fast.reconcile.totals import (
    ProviderResult,
    ReportFormatError,
    bucket_results,
    count,
    page_buckets,
    text_or_none,
)

NAME = "openai"
ENV_VAR = "OPENAI_ADMIN_KEY"
DEFAULT_BASE = "https://api.openai.com"
PATH = "/v1/organization/usage/completions"
LEDGER_PROVIDERS = ("openai", "openai-responses")
PAGE_LIMITS = {"1d": 31, "1h": 168, "1m": 1440}
GROUP_FIELDS = {
    "model": "model",
    "key": "api_key_id",
    "service_tier": "service_tier",
    "batch": "batch",
}


# Unix seconds that a datetime can hold (year 1970 to 9999): a larger count is a malformed page,
# not a bucket to place, and must not overflow into a crash.
_LAST_UNIX_SECOND = 253_402_300_799


def _is_unix_seconds(value: object) -> TypeGuard[int]:
    return (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _LAST_UNIX_SECOND
    )


def headers(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", "accept": "application/json"}


def query(
    since: datetime, until: datetime, width: str, group_by: list[str], page: str | None
) -> list[tuple[str, str]]:
    params = [
        ("start_time", str(to_unix(since))),
        ("end_time", str(to_unix(until))),
        ("bucket_width", width),
        ("limit", str(PAGE_LIMITS[width])),
    ]
    params += [("group_by", GROUP_FIELDS[name]) for name in group_by]
    if page is not None:
        params.append(("page", page))
    return params


def parse_page(page: Any) -> list[ProviderResult]:
    out = []
    for where, bucket in page_buckets(page, "an OpenAI usage page"):
        start_time = bucket.get("start_time")
        if not _is_unix_seconds(start_time):
            raise ReportFormatError(f"{where}: start_time is not Unix seconds: {start_time!r}")
        start = from_unix(start_time)
        end_time = bucket.get("end_time")
        # An end out of range or before the start leaves the bucket open, as a missing one does.
        end = from_unix(end_time) if _is_unix_seconds(end_time) and end_time > start_time else None
        # `results` in the API reference; one generated client spells it `result`.
        results = bucket.get("results", bucket.get("result"))
        for here, result in bucket_results(results, where):
            prompt = count(result, "input_tokens", where=here)
            cached = count(result, "input_cached_tokens", where=here)
            written = count(result, "input_cache_write_tokens", where=here)
            tokens = {
                # The record's input_tokens is uncached input: prompt minus cache reads and
                # writes, which OpenAI's input_tokens includes.
                "input_tokens": max(prompt - cached - written, 0),
                "cache_creation_input_tokens": written,
                "cache_creation_5m_input_tokens": 0,
                "cache_creation_1h_input_tokens": 0,
                "cache_read_input_tokens": cached,
                "output_tokens": count(result, "output_tokens", where=here),
                "web_search_requests": 0,
            }
            tier = text_or_none(result, "service_tier")
            batch = result.get("batch") is True
            out.append(
                ProviderResult(
                    bucket_start=start,
                    bucket_end=end,
                    model=text_or_none(result, "model"),
                    api_key_id=text_or_none(result, "api_key_id"),
                    service_tier="batch" if batch else tier.lower() if tier else None,
                    tokens=tokens,
                    requests=count(result, "num_model_requests", where=here),
                    batch=batch,
                )
            )
    return out
