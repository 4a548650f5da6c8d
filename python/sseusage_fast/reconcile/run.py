"""One reconciliation: the provider's report, the ledger's rows, the lines between them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sseusage_fast.ledger.reader import open_reader
from sseusage_fast.reconcile import ledger_side, report, store
from sseusage_fast.reconcile.buckets import rfc3339
from sseusage_fast.reconcile.match import DEFAULT_MIN_TOKENS, WITHIN, Line, compare


@dataclass(frozen=True, slots=True)
class Options:
    db: str
    provider: str  # "anthropic" or "openai"
    since: datetime  # bucket-aligned, UTC
    until: datetime  # bucket-aligned, UTC, exclusive
    width: str = "1d"
    by: tuple[str, ...] = ("model",)
    tolerance_pct: Decimal = Decimal(1)
    # A line whose tokens differ by at most this many is within tolerance, whatever its share.
    min_tokens: int = DEFAULT_MIN_TOKENS
    # Only these models, on both sides (empty: all).
    models: tuple[str, ...] = ()
    count_at: str = "end"
    api_base: str | None = None
    from_file: str | None = None
    key_map: dict[str, str] | None = None
    store: bool = True
    # Anthropic's cost report beside the usage report: fetched (cost_report) or saved earlier.
    cost_report: bool = False
    cost_file: str | None = None
    # Batch API usage is billed but never passes the proxy; compared only when asked.
    include_batch: bool = False


@dataclass(slots=True)
class Result:
    options: Options
    lines: list[Line]
    run_at: datetime

    @property
    def out_of_tolerance(self) -> int:
        return sum(1 for line in self.lines if not line.ok)

    def to_dict(self) -> dict[str, Any]:
        o = self.options
        verdicts: dict[str, int] = {}
        for line in self.lines:
            verdicts[line.verdict] = verdicts.get(line.verdict, 0) + 1
        return {
            "provider": o.provider,
            "since": rfc3339(o.since),
            "until": rfc3339(o.until),
            "bucket_width": o.width,
            "by": list(o.by),
            "count_at": o.count_at,
            "tolerance_pct": str(o.tolerance_pct),
            "min_tokens": o.min_tokens,
            "models": list(o.models),
            "source": "file" if o.from_file else "api",
            "run_at": rfc3339(self.run_at),
            "summary": {"lines": len(self.lines), "verdicts": verdicts, "ok": self.ok},
            "lines": [line.to_dict(o.by) for line in self.lines],
        }

    @property
    def ok(self) -> bool:
        return all(line.verdict == WITHIN for line in self.lines)


def _pricer() -> Any:
    """price(provider, model, service_tier, tokens) -> Decimal | None, from the bundled table:
    the provider's tokens priced the way the ledger's rows were."""
    from sseusage_fast import Pricing, UsageRecord

    pricing = Pricing.default()
    fields = set(UsageRecord.__dataclass_fields__)

    def price(
        provider: str, model: str | None, tier: str | None, tokens: dict[str, int]
    ) -> Decimal | None:
        if not any(tokens.values()):
            return Decimal(0)
        if model is None:
            return None
        counts: dict[str, Any] = {name: v for name, v in tokens.items() if name in fields}
        record = UsageRecord(
            provider=provider,
            model=model,
            service_tier=tier,
            status="complete",
            no_usage_data=False,
            requires_manual_review=False,
            **counts,
        )
        return pricing.cost(record)

    return price


def _costs(o: Options, admin_key: str | None, get: Any) -> list[Any]:
    from sseusage_fast.reconcile import anthropic_cost

    if o.cost_file:
        return report.load_file(anthropic_cost, o.cost_file)
    if not admin_key:
        raise ValueError("set ANTHROPIC_ADMIN_API_KEY to read the cost report (or --cost-file)")
    return report.fetch_results(
        anthropic_cost,
        base=o.api_base or anthropic_cost.anthropic_report.DEFAULT_BASE,
        key=admin_key,
        since=o.since,
        until=o.until,
        width="1d",
        group_by=[],
        get=get,
    )


def reconcile(options: Options, *, admin_key: str | None = None, get: Any = None) -> Result:
    """Raises ledger.reader.LedgerUnavailable (reconcile never creates a ledger),
    fetch.ProviderError, ValueError (a bad file). Stores the result unless `options.store`
    is false: the only write, into a ledger that exists."""
    o = options
    api = report.api_for(o.provider)
    reader = open_reader(o.db, write=o.store)
    try:
        if o.from_file:
            results = report.load_file(api, o.from_file)
        else:
            if not admin_key:
                raise ValueError(f"set {api.ENV_VAR} to read the usage report (or --from-file)")
            results = report.fetch_results(
                api,
                base=o.api_base or api.DEFAULT_BASE,
                key=admin_key,
                since=o.since,
                until=o.until,
                width=o.width,
                group_by=report.api_group_by(api, o.by),
                get=get,
            )
        theirs = report.group_results(
            results,
            provider=o.provider,
            by=o.by,
            width=o.width,
            since=o.since,
            until=o.until,
            key_map=o.key_map,
            include_batch=o.include_batch,
            models=o.models,
            price=_pricer(),
        )
        if o.cost_report or o.cost_file:
            costs = _costs(o, admin_key, get)
            report.add_costs(theirs, costs, by=o.by, since=o.since, until=o.until)
        lookbehind = ledger_side.LOOKBEHIND if o.count_at == "end" else timedelta(0)
        rows = reader.rows_between(
            o.since - lookbehind, o.until, providers=api.LEDGER_PROVIDERS, models=o.models
        )
        ours = ledger_side.group_rows(
            rows,
            providers=api.LEDGER_PROVIDERS,
            by=o.by,
            width=o.width,
            since=o.since,
            until=o.until,
            count_at=o.count_at,
        )
        lines = compare(ours, theirs, o.tolerance_pct, min_tokens=o.min_tokens)
        result = Result(o, lines, datetime.now(timezone.utc))
        if o.store:
            store.save(reader, o.provider, o.width, result.lines, result.run_at)
        return result
    finally:
        reader.close()
