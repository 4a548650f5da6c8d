"""The provider's side: its usage report read from the API (every page) or from a saved file,
then summed per line (bucket and the `--by` groups)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from sseusage_fast.reconcile import anthropic_report, openai_report
from sseusage_fast.reconcile.anthropic_cost import CostResult
from sseusage_fast.reconcile.buckets import WIDTHS, floor
from sseusage_fast.reconcile.fetch import ProviderError, get_json
from sseusage_fast.reconcile.totals import GroupKey, ProviderResult, Side

APIS: dict[str, ModuleType] = {"anthropic": anthropic_report, "openai": openai_report}
MAX_PAGES = 10_000


def api_for(provider: str) -> ModuleType:
    return APIS[provider]


def api_group_by(api: ModuleType, by: Iterable[str]) -> list[str]:
    """What to ask the API to group by: always the model (prices differ per model) and what
    tells Batch API usage apart (Anthropic's service tier, OpenAI's `batch`), plus the `--by`
    dimensions."""
    wanted = ["model", "service_tier" if api is anthropic_report else "batch"]
    wanted += [name for name in ("key", "service_tier") if name in by and name not in wanted]
    return wanted


def fetch_results(
    api: ModuleType,
    *,
    base: str,
    key: str,
    since: datetime,
    until: datetime,
    width: str,
    group_by: list[str],
    get: Callable[..., Any] | None = None,
    max_pages: int = MAX_PAGES,
) -> list[Any]:
    """Every page of the report, following `next_page` while `has_more`; `get(url, headers)`
    is `fetch.get_json` unless given (tests pass their own)."""
    get = get or get_json
    results: list[Any] = []
    page_token: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        url = (
            base.rstrip("/")
            + api.PATH
            + "?"
            + urlencode(api.query(since, until, width, group_by, page_token))
        )
        page = get(url, api.headers(key))
        try:
            results.extend(api.parse_page(page))
        except ValueError as exc:
            raise ProviderError(f"{api.PATH}: unexpected response: {exc}") from None
        if not page.get("has_more"):
            return results
        token = page.get("next_page")
        if not isinstance(token, str) or not token or token in seen:
            raise ProviderError(f"{api.PATH}: has_more without a new next_page ({token!r})")
        seen.add(token)
        page_token = token
    raise ProviderError(f"{api.PATH}: more than {max_pages} pages")


def load_file(api: ModuleType, path: str | Path) -> list[Any]:
    """A report saved earlier: one page object, a JSON list of pages, or JSON lines (one page
    a line), as the API returned them."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        parsed: Any = json.loads(text)
        pages = parsed if isinstance(parsed, list) else [parsed]
    except ValueError:
        try:
            pages = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as exc:
            raise ValueError(f"{path}: neither JSON nor JSON lines ({exc})") from None
    results: list[Any] = []
    for n, page in enumerate(pages):
        try:
            results.extend(api.parse_page(page))
        except ValueError as exc:
            raise ValueError(f"{path}: page {n}: {exc}") from None
    return results


def group_results(
    results: Iterable[ProviderResult],
    *,
    provider: str,
    by: Iterable[str],
    width: str,
    since: datetime,
    until: datetime,
    key_map: Mapping[str, str] | None,
    include_batch: bool = False,
    models: Iterable[str] = (),
    price: Callable[[str, str | None, str | None, dict[str, int]], Any],
) -> dict[GroupKey, Side]:
    """Provider results summed per line; buckets outside [since, until) are left out (a saved
    file may cover more). API key ids become ledger fingerprints through `key_map`; an id it
    does not name stays as `unmapped:<id>`, so it can never match a ledger row by accident.
    Batch API usage is left out unless `include_batch`; only `models` when any are named."""
    by = set(by)
    wanted = set(models)
    span = timedelta(seconds=WIDTHS[width])
    out: dict[GroupKey, Side] = {}
    for result in results:
        if result.bucket_end is not None and result.bucket_end - result.bucket_start > span:
            raise ValueError(
                f"the report's buckets ({result.bucket_start} to {result.bucket_end}) are wider "
                f"than --bucket {width}: ask for that width or a wider --bucket"
            )
        if result.batch and not include_batch:
            continue  # the proxy never sees Batch API usage: left out unless asked for
        if wanted and result.model not in wanted:
            continue
        # Finer buckets (a saved 1h report reconciled by day) add up into ours.
        bucket = floor(result.bucket_start, width)
        if not since <= bucket < until:
            continue
        key = None
        if "key" in by:
            found = (key_map or {}).get(result.api_key_id or "")
            key = found if found else f"unmapped:{result.api_key_id}"
        group = GroupKey(
            bucket,
            result.model if "model" in by else None,
            key,
            result.service_tier if "service_tier" in by else None,
        )
        side = out.get(group)
        if side is None:
            side = out[group] = Side(requests=None)
        side.add_tokens(dict(result.tokens))
        if result.requests is not None:
            side.requests = (side.requests or 0) + result.requests
        side.add_cost(price(provider, result.model, result.service_tier, result.tokens))
    return out


def add_costs(
    groups: dict[GroupKey, Side],
    costs: Iterable[CostResult],
    *,
    by: Iterable[str],
    since: datetime,
    until: datetime,
) -> None:
    """The cost report's billed amounts onto the provider's lines (daily lines only)."""
    by = set(by)
    for cost in costs:
        bucket = floor(cost.bucket_start, "1d")
        if not since <= bucket < until:
            continue
        group = GroupKey(
            bucket,
            cost.model if "model" in by else None,
            None,
            cost.service_tier if "service_tier" in by else None,
        )
        side = groups.get(group)
        if side is None:
            side = groups[group] = Side(requests=None)
        side.billed_cost_usd = (side.billed_cost_usd or Decimal(0)) + cost.amount_usd
