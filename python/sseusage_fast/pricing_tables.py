"""The prices' types and the table formats they are read from: the bundled table (our own JSON
shape, `data/pricing.json`) and LiteLLM's `model_prices_and_context_window.json`. `pricing.py`
turns a record into dollars with them; every price is a `Decimal` built from a string (or from
`repr()` of a LiteLLM float), so sums stay exact."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

MILLION = Decimal(1_000_000)
ZERO = Decimal(0)

# The five billed token buckets, under the names the bundled table uses.
RATE_KEYS: tuple[str, ...] = (
    "input",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
    "output",
    "audio_input",
    "audio_output",
)

# Service tiers that mean "the standard price" (Anthropic says "standard", OpenAI "default";
# "auto" is what a client asks for when it lets OpenAI choose, and is billed as default).
# Vertex's `trafficType` ON_DEMAND is the standard price too; PROVISIONED_THROUGHPUT is its own
# tier ("provisioned": prepaid capacity, no per-token price unless a table gives one).
_STANDARD_TIERS = frozenset({"standard", "default", "auto", "on_demand"})
_TIER_ALIASES = {"provisioned_throughput": "provisioned"}
# Geographies priced as the default (Anthropic `inference_geo`; absent on older models).
DEFAULT_GEOS = frozenset({"", "global", "not_available"})
_STANDARD_SPEEDS = frozenset({"standard"})

# LiteLLM modes whose rows price text generation. Embeddings, images, audio, rerank and
# the like are billed per other units and would only produce wrong matches here.
_LITELLM_CHAT_MODES = frozenset({"chat", "completion", "responses"})
_LITELLM_TIER_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("batch", "_batches"),
    ("priority", "_priority"),
    ("flex", "_flex"),
)
_LITELLM_THRESHOLD = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens for each bucket; `None` where the price is not known.

    `long_context` holds ``(threshold, rates)`` pairs, ascending: when a request's prompt
    (input + cache writes + cache reads) exceeds a threshold, every token of the request
    is priced at that tier's rates.
    """

    input: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    cache_read: Decimal | None = None
    output: Decimal | None = None
    long_context: tuple[tuple[int, Rates], ...] = ()
    # The audio share of input and output (OpenAI audio models), where priced apart.
    audio_input: Decimal | None = None
    audio_output: Decimal | None = None

    def for_prompt(self, prompt_tokens: int) -> Rates:
        """The rates that apply to a request with this many prompt tokens."""
        chosen = self
        for threshold, rates in self.long_context:
            if prompt_tokens > threshold:
                chosen = rates
        return chosen


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """One model's prices.

    `tiers` maps a service tier (``"batch"``, ``"priority"``, ``"flex"``) or a speed
    (``"fast"``) to its own `Rates`; a tier that is absent has no known price.
    `bedrock_regional_multiplier` applies when the model is addressed through an AWS
    Bedrock geographic or in-Region id (``us.anthropic.…``, ``anthropic.…``) rather than
    the global one, for the models where Bedrock charges a regional premium.
    """

    name: str
    provider: str | None
    standard: Rates
    tiers: Mapping[str, Rates] = field(default_factory=lambda: MappingProxyType({}))
    web_search_per_request: Decimal | None = None
    web_fetch_per_request: Decimal | None = None
    bedrock_regional_multiplier: Decimal | None = None
    # Anthropic `inference_geo` -> price multiplier ("us": 1.1 on Claude Opus 4.6 and later); a
    # geography not listed has no known price.
    geo_multipliers: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def rates_for(self, service_tier: str | None, speed: str | None) -> Rates | None:
        """The rates for a service tier and speed, or `None` when the table has none.

        A non-standard tier combined with fast mode has no published price, so it is
        unknown rather than guessed.
        """
        tier = (service_tier or "").strip().lower()
        tier = _TIER_ALIASES.get(tier, tier)
        fast = (speed or "").strip().lower()
        tier_is_standard = tier == "" or tier in _STANDARD_TIERS
        speed_is_standard = fast == "" or fast in _STANDARD_SPEEDS
        if speed_is_standard:
            return self.standard if tier_is_standard else self.tiers.get(tier)
        if tier_is_standard:
            return self.tiers.get(fast)
        return None


# --- reading the tables ----------------------------------------------------------------


def _table_decimal(value: Any, where: str) -> Decimal:
    # The bundled format holds decimal strings; floats would smuggle in binary rounding.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{where}: price must be a decimal string, got {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{where}: not a decimal number: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{where}: price must be finite and not negative: {value!r}")
    return number


def _table_rates(data: Mapping[str, Any], where: str) -> Rates:
    values = {key: _table_decimal(data[key], f"{where}.{key}") for key in RATE_KEYS if key in data}
    tiers: list[tuple[int, Rates]] = []
    long_context = data.get("long_context")
    if long_context is not None:
        entries = long_context if isinstance(long_context, list) else [long_context]
        for i, entry in enumerate(entries):
            threshold = entry.get("above_prompt_tokens")
            if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
                raise ValueError(f"{where}.long_context[{i}]: bad above_prompt_tokens")
            tiers.append((threshold, _table_rates(entry, f"{where}.long_context[{i}]")))
    return Rates(**values, long_context=tuple(sorted(tiers, key=lambda t: t[0])))


def table_model(name: str, data: Mapping[str, Any]) -> ModelPrice:
    if not isinstance(data, Mapping):
        raise TypeError(f"{name}: entry must be an object")
    tiers = {
        tier: _table_rates(data[tier], f"{name}.{tier}")
        for tier in ("batch", "priority", "flex", "fast", "provisioned", "scale")
        if tier in data
    }

    def optional(key: str) -> Decimal | None:
        return _table_decimal(data[key], f"{name}.{key}") if key in data else None

    return ModelPrice(
        name=name,
        provider=data.get("provider"),
        standard=_table_rates(data, name),
        tiers=MappingProxyType(tiers),
        web_search_per_request=optional("web_search_per_request"),
        web_fetch_per_request=optional("web_fetch_per_request"),
        bedrock_regional_multiplier=optional("bedrock_regional_multiplier"),
        geo_multipliers=MappingProxyType(
            {
                geo.lower(): _table_decimal(v, f"{name}.inference_geo.{geo}")
                for geo, v in (data.get("inference_geo") or {}).items()
            }
        ),
    )


def _litellm_number(value: Any) -> Decimal | None:
    """A LiteLLM price (a JSON float) as an exact Decimal; `None` if it is not a price."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        # repr() of a float is the shortest string that round-trips: "3e-06", not the
        # binary expansion Decimal(float) would give.
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    return number


def _litellm_decimal(value: Any) -> Decimal | None:
    """USD per token (LiteLLM's unit) to USD per million tokens (this module's unit)."""
    number = _litellm_number(value)
    return None if number is None else number * MILLION


def _litellm_rates(entry: Mapping[str, Any], suffix: str, above: str = "") -> Rates | None:
    def get(key: str) -> Decimal | None:
        return _litellm_decimal(entry.get(f"{key}{above}{suffix}"))

    input_rate = get("input_cost_per_token")
    output_rate = get("output_cost_per_token")
    # A row with only one side priced would under-report silently: treat it as absent.
    if input_rate is None or output_rate is None:
        return None
    return Rates(
        input=input_rate,
        cache_write_5m=get("cache_creation_input_token_cost"),
        cache_write_1h=get("cache_creation_input_token_cost_above_1hr"),
        cache_read=get("cache_read_input_token_cost"),
        output=output_rate,
        audio_input=get("input_cost_per_audio_token"),
        audio_output=get("output_cost_per_audio_token"),
    )


def _litellm_rates_with_tiers(
    entry: Mapping[str, Any], suffix: str, thresholds: list[int]
) -> Rates | None:
    base = _litellm_rates(entry, suffix)
    if base is None:
        return None
    tiers = []
    for k in thresholds:
        tier = _litellm_rates(entry, suffix, f"_above_{k}k_tokens")
        if tier is not None:
            tiers.append((k * 1000, tier))
    return Rates(
        input=base.input,
        cache_write_5m=base.cache_write_5m,
        cache_write_1h=base.cache_write_1h,
        cache_read=base.cache_read,
        output=base.output,
        long_context=tuple(tiers),
        audio_input=base.audio_input,
        audio_output=base.audio_output,
    )


def litellm_model(name: str, entry: Mapping[str, Any]) -> ModelPrice | None:
    mode = entry.get("mode")
    if mode is not None and mode not in _LITELLM_CHAT_MODES:
        return None
    thresholds = sorted(
        {int(m.group(1)) for key in entry if (m := _LITELLM_THRESHOLD.match(key)) is not None}
    )
    standard = _litellm_rates_with_tiers(entry, "", thresholds)
    if standard is None:
        return None
    tiers = {}
    for tier, suffix in _LITELLM_TIER_SUFFIXES:
        rates = _litellm_rates_with_tiers(entry, suffix, thresholds)
        if rates is not None:
            tiers[tier] = rates
    web_search = None
    per_query = entry.get("search_context_cost_per_query")
    if isinstance(per_query, Mapping) and per_query:
        prices = {_litellm_number(v) for v in per_query.values()}
        # LiteLLM prices searches by context size; only a single price is unambiguous.
        if len(prices) == 1 and None not in prices:
            web_search = prices.pop()
    provider = entry.get("litellm_provider")
    return ModelPrice(
        name=name,
        provider=provider if isinstance(provider, str) else None,
        standard=standard,
        tiers=MappingProxyType(tiers),
        web_search_per_request=web_search,
    )


def load_json(path_or_dict: str | PathLike[str] | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(path_or_dict, Mapping):
        return path_or_dict
    with open(path_or_dict, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, Mapping):
        raise TypeError(f"{path_or_dict}: expected a JSON object")
    return data


def read_bundled() -> Mapping[str, Any]:
    try:
        text = (
            resources.files("sseusage_fast")
            .joinpath("data")
            .joinpath("pricing.json")
            .read_text(encoding="utf-8")
        )
    except (ModuleNotFoundError, FileNotFoundError, TypeError):
        # Source checkouts without package metadata: the file sits next to this module.
        text = (Path(__file__).parent / "data" / "pricing.json").read_text(encoding="utf-8")
    return json.loads(text)
