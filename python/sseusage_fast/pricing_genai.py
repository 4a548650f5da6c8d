"""Prices from pydantic's `genai-prices` package (the `[prices]` extra), as `ModelPrice` rows.

genai-prices keeps a maintained, dated price history per provider and model (`data.providers`:
match clauses, conditional prices by start date, tiered long-context prices, price variants for
batch, service tiers and fast mode), in `Decimal`s. This module takes the prices in force on a
date, under every name a model's match clauses spell out (`equals`, `starts_with`, `contains`
values), from the first-party providers only: a gateway's row for the same model name has the
gateway's price, and pricing keys on the model name alone.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from .estimate.model_names import parse_model_name
from .pricing_tables import ModelPrice, Rates

# First-party providers, in the order that wins a name two of them spell (Google lists Claude
# on Vertex at Anthropic's prices; Anthropic's own row comes first).
PROVIDERS: tuple[str, ...] = (
    "anthropic",
    "openai",
    "google",
    "x-ai",
    "deepseek",
    "mistral",
    "cohere",
    "moonshotai",
    "perplexity",
    "zai",
    "minimax",
)
# genai-prices price keys -> `Rates` fields (USD per million tokens, both).
_RATE_FIELDS = {
    "input_mtok": "input",
    "cache_write_mtok": "cache_write_5m",
    "cache_write_1h_mtok": "cache_write_1h",
    "cache_read_mtok": "cache_read",
    "output_mtok": "output",
    "input_audio_mtok": "audio_input",
    "output_audio_mtok": "audio_output",
}
# Price variants -> the tier names `ModelPrice.rates_for` looks up.
_VARIANTS = {
    ("processing", "batch"): "batch",
    ("service_tier", "priority"): "priority",
    ("service_tier", "flex"): "flex",
    ("service_tier", "fast"): "fast",
    ("speed", "fast"): "fast",
}
_THOUSAND = Decimal(1000)


def _active(prices: Any, on: datetime.date) -> Any:
    """The model's prices in force on a date: the last conditional price whose start date has
    come. None for a model priced by time of day (DeepSeek's off-peak hours): the record does
    not say when the request ran, so its price is not known."""
    if not isinstance(prices, list):
        return prices
    chosen = None
    for conditional in prices:
        constraint = conditional.constraint
        if constraint is None:
            chosen = conditional.prices
        elif not hasattr(constraint, "start_date"):
            return None
        elif constraint.start_date <= on:
            chosen = conditional.prices
    return chosen


def _rates(price: Any, base: Rates | None = None) -> Rates | None:
    """A genai-prices `ModelPrice` as `Rates` (tiered prices as long-context tiers); fields it
    leaves out come from `base` (a variant's partial prices over the standard ones)."""
    flat: dict[str, Decimal | None] = {}
    tiers: dict[int, dict[str, Decimal]] = {}
    for key, field in _RATE_FIELDS.items():
        value = getattr(price, key, None)
        if value is None:
            flat[field] = getattr(base, field) if base is not None else None
        elif isinstance(value, Decimal):
            flat[field] = value
        else:  # TieredPrices: a cliff at each start, as Rates.long_context
            flat[field] = value.base
            for tier in value.tiers:
                tiers.setdefault(int(tier.start), {})[field] = tier.price
    if flat["input"] is None or flat["output"] is None:
        return None
    long_context = []
    for start in sorted(tiers):
        values: dict[str, Any] = {**flat, **tiers[start]}
        long_context.append((start, Rates(**values)))
    if not long_context and base is not None:
        long_context = list(base.long_context)
    return Rates(**flat, long_context=tuple(long_context))


def _names(clause: Any) -> Iterator[str]:
    for attr in ("equals", "starts_with", "contains"):
        value = getattr(clause, attr, None)
        if isinstance(value, str):
            yield value
    for attr in ("or_", "and_"):
        for inner in getattr(clause, attr, None) or ():
            yield from _names(inner)


def _model_price(provider: str, model: Any, on: datetime.date) -> ModelPrice | None:
    price = _active(model.prices, on)
    if price is None:
        return None
    standard = _rates(price)
    if standard is None:
        return None
    tiers: dict[str, Rates] = {}
    for variant in model.price_variants or ():
        constraint = variant.constraint
        if constraint is not None and not (
            hasattr(constraint, "start_date") and constraint.start_date <= on
        ):
            continue
        for key, value in variant.when.items():
            tier = _VARIANTS.get((key, value))
            rates = _rates(variant.prices, standard) if tier else None
            if tier and rates is not None:
                tiers[tier] = rates
    searches = getattr(price, "web_searches_kcount", None)
    return ModelPrice(
        name=model.id,
        provider=provider,
        standard=standard,
        tiers=MappingProxyType(tiers),
        web_search_per_request=searches / _THOUSAND if isinstance(searches, Decimal) else None,
    )


def genai_models(
    providers: Iterable[Any], on: datetime.date | None = None
) -> dict[str, ModelPrice]:
    """name -> ModelPrice for the first-party providers' models, prices in force `on` (today,
    UTC, by default). A name is kept by the first provider and model that spells it."""
    on = on or datetime.datetime.now(datetime.timezone.utc).date()
    by_id = {p.id: p for p in providers}
    out: dict[str, ModelPrice] = {}
    for provider_id in PROVIDERS:
        provider = by_id.get(provider_id)
        if provider is None:
            continue
        for model in provider.models:
            price = _model_price(provider_id, model, on)
            if price is None:
                continue
            for name in (model.id, *_names(model.match)):
                parts = parse_model_name(name)
                key = parts.base if parts is not None else None
                if key and key not in out:
                    out[key] = price
    return out


def merge(
    maintained: Mapping[str, ModelPrice], bundled: Mapping[str, ModelPrice]
) -> dict[str, ModelPrice]:
    """The maintained prices, with what they lack taken from the bundled table: models it does
    not list, and, for a model both list, the rates, tiers and multipliers it leaves out (audio
    rates, Anthropic's fast mode and US-only inference, Bedrock's regional premium)."""
    out = dict(bundled)
    for name, price in maintained.items():
        extra = bundled.get(name)
        if extra is None:
            out[name] = price
            continue
        tiers = {k: _fill(v, extra.tiers.get(k)) for k, v in price.tiers.items()}
        tiers.update({k: v for k, v in extra.tiers.items() if k not in tiers})
        out[name] = ModelPrice(
            name=price.name,
            provider=price.provider,
            standard=_fill(price.standard, extra.standard),
            tiers=MappingProxyType(tiers),
            web_search_per_request=price.web_search_per_request
            if price.web_search_per_request is not None
            else extra.web_search_per_request,
            web_fetch_per_request=extra.web_fetch_per_request,
            bedrock_regional_multiplier=extra.bedrock_regional_multiplier,
            geo_multipliers=extra.geo_multipliers,
        )
    return out


def _fill(rates: Rates, extra: Rates | None) -> Rates:
    if extra is None:
        return rates
    values = {
        field: getattr(rates, field) if getattr(rates, field) is not None else getattr(extra, field)
        for field in _RATE_FIELDS.values()
    }
    return Rates(**values, long_context=rates.long_context or extra.long_context)
