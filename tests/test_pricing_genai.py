"""Pricing.default() on pydantic's genai-prices (the `[prices]` extra, installed by `[test]`),
the bundled table filling what it lacks. The figures are the providers' published prices
(Anthropic: Sonnet 4.5 $3 / $15, $6 / $22.50 above 200k prompt tokens, batch half; Opus 4.6
$5 / $25, US-only inference 1.1x; OpenAI: gpt-4o $2.50 / $10)."""

from __future__ import annotations

import datetime
import sys
from decimal import Decimal
from typing import Any

import pytest
from sseusage_fast import pricing as pricing_module
from sseusage_fast.pricing import Pricing
from sseusage_fast.record import UsageRecord

genai_prices = pytest.importorskip("genai_prices")
types = genai_prices.types


def rec(model: str, **fields: Any) -> UsageRecord:
    return UsageRecord(model=model, status="complete", no_usage_data=False, **fields)


@pytest.fixture(scope="module")
def maintained() -> Pricing:
    return Pricing.from_genai_prices()


def test_default_is_the_maintained_table(maintained: Pricing) -> None:
    assert Pricing.default().source.startswith("genai-prices ")
    assert len(maintained) > 2 * len(Pricing.bundled())


@pytest.mark.parametrize(
    ("model", "fields", "cost"),
    [
        ("claude-sonnet-4-5-20250929", {"input_tokens": 100_000, "output_tokens": 10_000}, "0.45"),
        ("anthropic/claude-sonnet-4.5", {"input_tokens": 100_000, "output_tokens": 10_000}, "0.45"),
        # Above 200k prompt tokens every token is at the long-context rates.
        ("claude-sonnet-4-5", {"input_tokens": 300_000, "output_tokens": 10_000}, "2.025"),
        ("gpt-4o-2024-08-06", {"input_tokens": 1_000_000, "output_tokens": 100_000}, "3.5"),
    ],
)
def test_published_prices(
    maintained: Pricing, model: str, fields: dict[str, int], cost: str
) -> None:
    assert maintained.cost(rec(model, **fields)) == Decimal(cost)


def test_batch_variant(maintained: Pricing) -> None:
    record = rec(
        "claude-sonnet-4-5", input_tokens=100_000, output_tokens=10_000, service_tier="batch"
    )
    assert maintained.cost(record) == Decimal("0.225")


def test_what_the_maintained_table_lacks_comes_from_the_bundled_one(maintained: Pricing) -> None:
    # US-only inference and audio rates are not in genai-prices 0.2: the bundled table's.
    us = rec("claude-opus-4-6", input_tokens=1_000_000, output_tokens=100_000, inference_geo="us")
    assert maintained.cost(us) == Decimal("8.25")
    audio = rec(
        "gpt-4o-audio-preview",
        input_tokens=1_000,
        audio_input_tokens=800,
        output_tokens=500,
        audio_output_tokens=400,
    )
    assert maintained.cost(audio) == Decimal("0.0655")


def test_time_of_day_prices_are_unknown(maintained: Pricing) -> None:
    # DeepSeek prices by the hour of the request, which the record does not carry.
    assert maintained.cost(rec("deepseek-chat", input_tokens=1000)) is None
    assert maintained.cost(rec("no-such-model", input_tokens=1000)) is None


def test_converter_on_a_made_up_provider() -> None:
    from sseusage_fast.pricing_genai import genai_models

    model = types.ModelInfo(
        id="acme-1",
        match=types.ClauseOr(
            or_=[
                types.ClauseEquals(equals="acme-1"),
                types.ClauseStartsWith(starts_with="acme-1.0"),
            ]
        ),
        prices=[
            types.ConditionalPrice(
                prices=types.ModelPrice(input_mtok=Decimal(2), output_mtok=Decimal(8))
            ),
            types.ConditionalPrice(
                constraint=types.StartDateConstraint(start_date=datetime.date(2026, 6, 1)),
                prices=types.ModelPrice(
                    input_mtok=types.TieredPrices(
                        base=Decimal(1), tiers=[types.Tier(start=1000, price=Decimal(2))]
                    ),
                    output_mtok=Decimal(4),
                    input_audio_mtok=Decimal(16),
                ),
            ),
        ],
        price_variants=[
            types.PriceVariant(
                when={"service_tier": "flex"}, prices=types.ModelPrice(input_mtok=Decimal("0.5"))
            )
        ],
    )
    provider = types.Provider(id="openai", name="Acme", api_pattern="acme", models=[model])
    before = genai_models([provider], datetime.date(2026, 5, 31))
    after = genai_models([provider], datetime.date(2026, 6, 1))
    assert set(after) == {"acme-1", "acme-1.0"}
    assert (before["acme-1"].standard.input, before["acme-1"].standard.output) == (2, 8)
    table = Pricing(after)
    assert table.cost(rec("acme-1", input_tokens=1000, output_tokens=1000)) == Decimal("0.005")
    # Over 1,000 input tokens the tier's rate applies to all of them.
    assert table.cost(rec("acme-1", input_tokens=1001)) == Decimal("0.002002")
    assert table.cost(rec("acme-1", input_tokens=10, audio_input_tokens=10)) == Decimal("0.00016")
    # A variant's partial prices over the standard ones.
    flex = rec("acme-1", input_tokens=1000, output_tokens=1000, service_tier="flex")
    assert table.cost(flex) == Decimal("0.0045")


def test_without_the_extra_default_is_the_bundled_table(monkeypatch: pytest.MonkeyPatch) -> None:
    pricing_module._maintained_pricing.cache_clear()
    monkeypatch.setitem(sys.modules, "genai_prices", None)  # import fails as if not installed
    try:
        assert Pricing.default() is Pricing.bundled()
    finally:
        pricing_module._maintained_pricing.cache_clear()
    monkeypatch.setenv("SSEUSAGE_PRICES", "bundled")
    assert Pricing.default() is Pricing.bundled()
