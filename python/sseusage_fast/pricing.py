"""What a request cost, in exact decimal dollars.

`Pricing` maps a model name to its prices and turns a `UsageRecord` into a
`decimal.Decimal` of US dollars. Every price is a `Decimal` built from a string (or from
`repr()` of a LiteLLM float), so sums are exact: no binary floating point anywhere.

Rules that hold for every table:

- An unknown model, a record without a model, a service tier or speed the table has no
  price for, or a token bucket the record used but the table has no rate for: the cost
  is `None` (unknown), never 0 and never a neighbouring model's price.
- A record with status ``"error"`` that reported no token counts (a JSON error body,
  ``no_usage_data`` true) costs ``Decimal("0")``: the provider billed nothing.
- Token fields that are `None` count as 0; the record's own flags
  (``requires_manual_review``, ``estimated``) say which figures are unknown.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal, localcontext
from functools import lru_cache
from os import PathLike
from types import MappingProxyType
from typing import Any

from .estimate.model_names import normalize_model_name
from .estimate.model_names import parse_model_name as _split_name
from .pricing_tables import (
    DEFAULT_GEOS,
    MILLION,
    ZERO,
    ModelPrice,
    Rates,
    litellm_model,
    load_json,
    read_bundled,
    table_model,
)
from .record import UsageRecord

__all__ = ["ModelPrice", "Pricing", "Rates", "normalize_model_name"]

# --- the public class --------------------------------------------------------------------


class Pricing:
    """A price table: model name -> `ModelPrice`, and the cost of a `UsageRecord`.

    Build one with `Pricing.default()` (the bundled table, see ``data/pricing.json`` for
    its sources and date), `Pricing.from_litellm()` or `Pricing.from_table()`.

    Model names are matched case-insensitively after removing provider prefixes
    (``anthropic/``, ``openai/``, ``models/``, ``gemini/``), Bedrock ids
    (``us.anthropic.…-v1:0``) and Vertex snapshots (``…@20250929``); then exactly, then
    without a dated snapshot suffix (``-20250929``, ``-2024-08-06``, ``-latest``). There
    is no prefix matching: ``claude-sonnet-4`` never prices ``claude-sonnet-4-5``, nor
    ``gpt-4o`` ``gpt-4o-mini``. A dated snapshot the table lists itself (such as
    ``gpt-4o-2024-05-13``, which has its own price) is matched before the undated name.

    Service tiers and speed (`cost` reads ``record.service_tier`` and ``record.speed``):

    - ``None``, ``"standard"``, ``"default"``, ``"auto"``: standard prices.
    - ``"batch"``: the table's batch prices (50% for Anthropic, OpenAI and Gemini).
    - ``"priority"`` (and any other tier, such as ``"flex"`` or ``"scale"``): the table's
      prices for that tier when it has them, else the cost is `None`. The standard price
      is never substituted: it would under-bill silently. The bundled table has priority
      prices for OpenAI models only; Anthropic's Priority Tier and Gemini's priority
      tier have no public per-token price in it, so they cost `None`.
    - ``speed="fast"``: the table's fast-mode prices (Claude Opus 4.6: 6x standard), else
      `None`. Fast mode combined with a non-standard tier is `None`.
    """

    def __init__(self, models: Mapping[str, ModelPrice], *, source: str = "custom") -> None:
        index: dict[str, ModelPrice] = {}
        for key, price in models.items():
            index[key.strip().lower()] = price
        self._index: Mapping[str, ModelPrice] = MappingProxyType(index)
        self.source = source

    # constructors

    @classmethod
    def default(cls) -> Pricing:
        """The maintained prices of pydantic's genai-prices when the `[prices]` extra is
        installed, with the bundled table filling what they lack; else the bundled table
        alone (Claude, OpenAI and Gemini models; see data/pricing.json).
        `SSEUSAGE_PRICES=bundled` forces the bundled table."""
        if os.environ.get("SSEUSAGE_PRICES") == "bundled":
            return _default_pricing()
        try:
            return _maintained_pricing()
        except ImportError:
            return _default_pricing()

    @classmethod
    def bundled(cls) -> Pricing:
        """The bundled table alone (data/pricing.json)."""
        return _default_pricing()

    @classmethod
    def from_genai_prices(cls, on: datetime.date | None = None) -> Pricing:
        """genai-prices' first-party prices in force on a date (today by default), the bundled
        table filling what they lack. Raises ImportError without the `[prices]` extra."""
        from genai_prices import __version__ as version
        from genai_prices.data import providers

        from .pricing_genai import genai_models, merge

        merged = merge(genai_models(providers, on), _default_pricing()._index)
        return cls(merged, source=f"genai-prices {version} + bundled")

    @classmethod
    def from_table(cls, path_or_dict: str | PathLike[str] | Mapping[str, Any]) -> Pricing:
        """A table in this package's own format (that of ``data/pricing.json``)."""
        data = load_json(path_or_dict)
        models = data.get("models")
        if not isinstance(models, Mapping):
            raise TypeError("pricing table: missing the 'models' object")
        entries: dict[str, ModelPrice] = {}
        for name, entry in models.items():
            price = table_model(name, entry)
            for key in (name, *entry.get("aliases", ())):
                key = key.strip().lower()
                if key in entries:
                    raise ValueError(f"pricing table: {key!r} is listed twice")
                entries[key] = price
        source = data.get("_as_of")
        return cls(entries, source=f"table as of {source}" if source else "table")

    @classmethod
    def from_litellm(cls, path_or_dict: str | PathLike[str] | Mapping[str, Any]) -> Pricing:
        """A table from LiteLLM's ``model_prices_and_context_window.json`` (path or dict).

        Rows that are not text-generation modes (embeddings, images, audio, ...), the
        ``sample_spec`` row, and rows without both an input and an output price are
        skipped. Tiers come from the ``_above_<N>k_tokens``, ``_batches``, ``_priority``
        and ``_flex`` fields; a tier field LiteLLM lacks is unknown, not inherited.
        Fast mode is not in LiteLLM's format, so fast records cost `None`.
        """
        data = load_json(path_or_dict)
        direct: dict[str, ModelPrice] = {}
        for key, entry in data.items():
            if key == "sample_spec" or not isinstance(entry, Mapping):
                continue
            price = litellm_model(key, entry)
            if price is not None:
                direct[key.strip().lower()] = price
        # Also answer to the bare name ("gemini/gemini-2.5-pro" -> "gemini-2.5-pro"), but
        # only when no row claims it directly and every row that reduces to it agrees.
        aliases: dict[str, ModelPrice | None] = {}
        for key, price in direct.items():
            base = normalize_model_name(key)
            if not base or base in direct:
                continue
            if base in aliases:
                seen = aliases[base]
                if seen is not None and _same_prices(seen, price):
                    continue
                aliases[base] = None
            else:
                aliases[base] = price
        merged = dict(direct)
        merged.update({k: v for k, v in aliases.items() if v is not None})
        return cls(merged, source="litellm")

    # queries

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.lookup(model) is not None

    def lookup(self, model: str | None) -> ModelPrice | None:
        """The price entry for a model name, or `None` when the table has no such model."""
        found = self._resolve(model)
        return found[0] if found else None

    def _resolve(self, model: str | None) -> tuple[ModelPrice, Decimal] | None:
        if not model or not isinstance(model, str):
            return None
        name = _split_name(model)
        if name is None:
            return None
        # A row keyed by the full decorated name (LiteLLM has Bedrock rows) is its own
        # price: no regional premium on top.
        price = self._index.get(name.raw)
        if price is not None:
            return price, Decimal(1)
        for candidate in (name.base, name.undated):
            if candidate is None:
                continue
            price = self._index.get(candidate)
            if price is not None:
                multiplier = Decimal(1)
                if name.bedrock_regional and price.bedrock_regional_multiplier is not None:
                    multiplier = price.bedrock_regional_multiplier
                return price, multiplier
        return None

    def cost(self, record: UsageRecord) -> Decimal | None:
        """What the request cost in US dollars, exactly; `None` when that is unknown.

        cost = (text input*in + audio input*audio_in + 5m writes*cw5m + 1h writes*cw1h
                + (cache writes not split by TTL)*cw5m + cache reads*cr
                + text output*out + audio output*audio_out) * geo multiplier
               + web searches*per-search price (+ web fetches, free on Anthropic).
        Reasoning tokens are part of output and are not added again; audio tokens are the
        audio share of input and output. A record with `iterations` (Anthropic compaction,
        an advisor's turn) is the sum of its iterations, each at its own model's prices.
        """
        if record.status == "error" and record.no_usage_data:
            return Decimal(0)
        if record.iterations:
            return self._cost_of_iterations(record)
        return self._cost_of(record, record.model, record)

    def _cost_of_iterations(self, record: UsageRecord) -> Decimal | None:
        total = ZERO
        tools_seen = False
        for item in record.iterations:
            part = self._cost_of(item, item.model or record.model, record)
            if part is None:
                return None
            total += part
            tools_seen = tools_seen or item.web_search_requests is not None
            tools_seen = tools_seen or item.web_fetch_requests is not None
        if not tools_seen:
            # Server tool use reported only for the whole response: priced once, at the
            # record's model.
            found = self._resolve(record.model)
            searches = record.web_search_requests or 0
            fetches = record.web_fetch_requests or 0
            if searches or fetches:
                if found is None:
                    return None
                extra = _per_request_cost(found[0], searches, fetches)
                if extra is None:
                    return None
                total += extra
        return total

    def _cost_of(self, usage: Any, model: str | None, record: UsageRecord) -> Decimal | None:
        """The cost of one set of token counts (a record or an iteration) at `model`, with the
        record's service tier, speed and inference geography."""
        found = self._resolve(model)
        if found is None:
            return None
        price, multiplier = found
        rates = price.rates_for(record.service_tier, record.speed)
        if rates is None:
            return None
        geo = (getattr(record, "inference_geo", None) or "").strip().lower()
        if geo not in DEFAULT_GEOS:
            geo_multiplier = price.geo_multipliers.get(geo)
            if geo_multiplier is None:
                return None
            multiplier *= geo_multiplier

        counts = {
            name: getattr(usage, name, None) or 0
            for name in (
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_creation_5m_input_tokens",
                "cache_creation_1h_input_tokens",
                "cache_read_input_tokens",
                "output_tokens",
                "web_search_requests",
                "web_fetch_requests",
                "audio_input_tokens",
                "audio_output_tokens",
            )
        }
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in counts.values()):
            return None
        write_5m = counts["cache_creation_5m_input_tokens"]
        write_1h = counts["cache_creation_1h_input_tokens"]
        # Writes the provider did not split by TTL are 5-minute writes, the default TTL.
        write_unsplit = max(counts["cache_creation_input_tokens"] - write_5m - write_1h, 0)
        cache_read = counts["cache_read_input_tokens"]
        prompt = counts["input_tokens"] + write_5m + write_1h + write_unsplit + cache_read
        rates = rates.for_prompt(prompt)
        # OpenAI's cache_write_tokens come unsplit: priced at the table's cache_write_5m (GPT-5.6
        # bills them above input); a model without that price leaves the cost unknown.
        write_rate = rates.cache_write_5m
        audio_in = min(counts["audio_input_tokens"], counts["input_tokens"])
        audio_out = min(counts["audio_output_tokens"], counts["output_tokens"])

        parts = (
            (counts["input_tokens"] - audio_in, rates.input),
            (audio_in, rates.audio_input),
            (write_5m + write_unsplit, write_rate),
            (write_1h, rates.cache_write_1h),
            (cache_read, rates.cache_read),
            (counts["output_tokens"] - audio_out, rates.output),
            (audio_out, rates.audio_output),
        )
        with localcontext() as ctx:
            ctx.prec = 60  # far beyond any real bill: the arithmetic stays exact
            tokens_cost = ZERO
            for n, rate in parts:
                if n == 0:
                    continue
                if rate is None:
                    return None
                tokens_cost += n * rate
            total = tokens_cost * multiplier / MILLION
            extra = _per_request_cost(
                price, counts["web_search_requests"], counts["web_fetch_requests"]
            )
            if extra is None:
                return None
            return total + extra

    def cost_range(self, record: UsageRecord) -> tuple[Decimal, Decimal | None] | None:
        """(low, high) US dollars expected to hold what the request cost: the cost at the low
        and at the high end of each estimated field's range (`record.estimate_ranges`); `high`
        is None when a range is unbounded. A record without estimates gives (cost, cost).
        None when the cost is unknown (`cost` would be None). Cost never falls as a count
        rises (a long-context tier only raises rates), so the ends are the extremes."""
        point = self.cost(record)
        if point is None:
            return None
        if not record.estimate_ranges:
            return point, point
        lows: dict[str, Any] = {name: low for name, (low, _) in record.estimate_ranges.items()}
        low = self.cost(replace(record, **lows))
        if any(high is None for _, high in record.estimate_ranges.values()):
            return (low if low is not None else point), None
        highs: dict[str, Any] = {n: high for n, (_, high) in record.estimate_ranges.items()}
        high = self.cost(replace(record, **highs))
        if low is None or high is None:
            return None
        return min(low, point), max(high, point)

    def __repr__(self) -> str:
        return f"Pricing(source={self.source!r}, names={len(self._index)})"


def _per_request_cost(price: ModelPrice, searches: int, fetches: int) -> Decimal | None:
    """Server tool requests at the model's per-request prices; None when one used is unknown."""
    total = ZERO
    for n, unit in (
        (searches, price.web_search_per_request),
        (fetches, price.web_fetch_per_request),
    ):
        if n == 0:
            continue
        if unit is None:
            return None
        total += n * unit
    return total


def _same_prices(a: ModelPrice, b: ModelPrice) -> bool:
    return (
        a.standard == b.standard
        and dict(a.tiers) == dict(b.tiers)
        and a.web_search_per_request == b.web_search_per_request
        and a.web_fetch_per_request == b.web_fetch_per_request
    )


@lru_cache(maxsize=1)
def _maintained_pricing() -> Pricing:
    return Pricing.from_genai_prices()


@lru_cache(maxsize=1)
def _default_pricing() -> Pricing:
    pricing = Pricing.from_table(read_bundled())
    pricing.source = "bundled " + pricing.source
    return pricing
