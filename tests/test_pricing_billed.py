"""Pricing what the record says was billed (issue 12 item 4): each iteration at its own model,
Anthropic's inference_geo, audio shares, cache writes, tiers. Exact Decimals from the providers'
published prices (per million tokens): Claude Opus 4.6 $5 in / $25 out (fast mode 6x), Sonnet
4.6 $3 / $15, US-only inference 1.1x (Claude data residency docs); gpt-4o-audio-preview text
$2.50 / $10, audio $40 / $80 (OpenAI model page)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sseusage_fast.pricing import Pricing
from sseusage_fast.record import Iteration, UsageRecord


def rec(model: str | None, **fields: Any) -> UsageRecord:
    return UsageRecord(model=model, status="complete", no_usage_data=False, **fields)


@pytest.fixture(scope="module")
def pricing() -> Pricing:
    return Pricing.bundled()  # the bundled table's own rows (genai-prices: test_pricing_genai)


@pytest.mark.parametrize(
    ("geo", "cost"),
    [(None, Decimal("7.5")), ("global", Decimal("7.5")), ("us", Decimal("8.25"))],
)
def test_inference_geo_multiplier(pricing: Pricing, geo: str | None, cost: Decimal) -> None:
    record = rec(
        "claude-opus-4-6", input_tokens=1_000_000, output_tokens=100_000, inference_geo=geo
    )
    assert pricing.cost(record) == cost


def test_inference_geo_unknown_is_none(pricing: Pricing) -> None:
    # A geography the table has no price for, or a model without US-only pricing: unknown.
    assert pricing.cost(rec("claude-opus-4-6", input_tokens=10, inference_geo="eu")) is None
    assert pricing.cost(rec("claude-sonnet-4-5", input_tokens=10, inference_geo="us")) is None


def test_inference_geo_stacks_with_fast_mode(pricing: Pricing) -> None:
    record = rec("claude-opus-4-6", input_tokens=1_000_000, speed="fast", inference_geo="us")
    assert pricing.cost(record) == Decimal(33)  # $30 fast input x 1.1


def test_iterations_are_priced_each_at_its_own_model(pricing: Pricing) -> None:
    record = rec(
        "claude-sonnet-4-6",
        # The billed totals over the iterations: not priced again.
        input_tokens=110_000,
        output_tokens=2_500,
        iterations=(
            Iteration(kind="compaction", input_tokens=100_000, output_tokens=2_000),
            Iteration(
                kind="advisor", model="claude-opus-4-6", input_tokens=10_000, output_tokens=500
            ),
        ),
    )
    # 100k x $3 + 2k x $15 at Sonnet 4.6; 10k x $5 + 500 x $25 at Opus 4.6.
    assert pricing.cost(record) == Decimal("0.3925")
    with_search = rec("claude-sonnet-4-6", web_search_requests=2, iterations=record.iterations)
    assert pricing.cost(with_search) == Decimal("0.4125")  # + 2 searches at $10 per 1,000
    unknown = rec(
        "claude-sonnet-4-6",
        iterations=(Iteration(kind="advisor", model="no-such-model", input_tokens=1),),
    )
    assert pricing.cost(unknown) is None


def test_audio_shares_are_priced_apart(pricing: Pricing) -> None:
    record = rec(
        "gpt-4o-audio-preview-2025-06-03",
        input_tokens=1_000,
        audio_input_tokens=800,
        output_tokens=500,
        audio_output_tokens=400,
    )
    # 200 x $2.50 + 800 x $40 + 100 x $10 + 400 x $80, per million.
    assert pricing.cost(record) == Decimal("0.0655")
    # A model without an audio price cannot price audio tokens.
    assert pricing.cost(rec("gpt-4o", input_tokens=100, audio_input_tokens=10)) is None
    assert pricing.cost(rec("gpt-4o", input_tokens=100, audio_input_tokens=0)) == Decimal("0.00025")


def test_openai_cache_writes_at_the_tables_write_price() -> None:
    table = {
        "models": {
            "gpt-x": {"provider": "openai", "input": "5", "cache_write_5m": "6.25", "output": "30"}
        }
    }
    pricing = Pricing.from_table(table)
    # OpenAI's cache_write_tokens: unsplit cache writes.
    record = rec("gpt-x", input_tokens=1_000, cache_creation_input_tokens=2_000, output_tokens=0)
    assert pricing.cost(record) == Decimal("0.0175")  # 1k x $5 + 2k x $6.25


@pytest.mark.parametrize(
    ("tier", "cost"),
    [
        ("on_demand", Decimal("3.50001")),  # Vertex ON_DEMAND: standard
        ("ON_DEMAND", Decimal("3.50001")),
        ("provisioned", None),  # Vertex provisioned throughput: its own tier, no price here
        ("provisioned_throughput", None),
        ("flex", None),  # no flex price for this model in the bundled table
    ],
)
def test_tiers(pricing: Pricing, tier: str, cost: Decimal | None) -> None:
    record = rec(
        "claude-sonnet-4-6", input_tokens=1_000_000, output_tokens=33_334, service_tier=tier
    )
    assert pricing.cost(record) == cost  # 1M x $3 + 33,334 x $15


def test_provisioned_tier_from_a_table() -> None:
    table = {
        "models": {
            "gemini-x": {
                "provider": "google",
                "input": "1",
                "output": "2",
                "provisioned": {"input": "0", "output": "0"},
            }
        }
    }
    pricing = Pricing.from_table(table)
    record = rec("gemini-x", input_tokens=10, output_tokens=10, service_tier="provisioned")
    assert pricing.cost(record) == Decimal(0)
    assert pricing.cost(rec("gemini-x", input_tokens=10, output_tokens=10)) == Decimal("0.00003")


def test_litellm_audio_rates() -> None:
    pricing = Pricing.from_litellm(
        {
            "gpt-audio": {
                "mode": "chat",
                "litellm_provider": "openai",
                "input_cost_per_token": 2.5e-06,
                "output_cost_per_token": 1e-05,
                "input_cost_per_audio_token": 3.2e-05,
                "output_cost_per_audio_token": 6.4e-05,
            }
        }
    )
    record = rec("gpt-audio", input_tokens=100, audio_input_tokens=100, output_tokens=0)
    assert pricing.cost(record) == Decimal("0.0032")
