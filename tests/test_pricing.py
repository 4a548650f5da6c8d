"""Pricing: exact Decimal costs, tiers, name normalisation and the LiteLLM import.

Every expected value below is worked out by hand in USD per million tokens, so a wrong
rate, a wrong tier or a float sneaking into the arithmetic changes the exact Decimal.
"""

from __future__ import annotations

import importlib.resources
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sseusage_fast.pricing import Pricing, normalize_model_name
from sseusage_fast.record import UsageRecord


@pytest.fixture(scope="module")
def pricing() -> Pricing:
    return Pricing.bundled()  # the bundled table's own rows (genai-prices: test_pricing_genai)


def rec(model: str | None, **fields: Any) -> UsageRecord:
    """A complete record with the given token counts."""
    fields.setdefault("status", "complete")
    fields.setdefault("no_usage_data", False)
    fields.setdefault("requires_manual_review", False)
    return UsageRecord(model=model, **fields)


# --- the reference example and the cache buckets ----------------------------------------


def test_sonnet_45_reference_example(pricing: Pricing) -> None:
    # 1,000*3 + 2,000*3.75 + 5,000*0.30 + 500*15 = 19,500 per million
    record = rec(
        "claude-sonnet-4-5-20250929",
        input_tokens=1_000,
        cache_creation_input_tokens=2_000,
        cache_creation_5m_input_tokens=2_000,
        cache_read_input_tokens=5_000,
        output_tokens=500,
    )
    cost = pricing.cost(record)
    assert isinstance(cost, Decimal)
    assert cost == Decimal("0.0195")


def test_unsplit_cache_writes_are_priced_at_the_5m_rate(pricing: Pricing) -> None:
    record = rec(
        "claude-sonnet-4-5-20250929",
        input_tokens=1_000,
        cache_creation_input_tokens=2_000,
        cache_read_input_tokens=5_000,
        output_tokens=500,
    )
    assert pricing.cost(record) == Decimal("0.0195")


def test_one_hour_writes_are_priced_apart(pricing: Pricing) -> None:
    # Opus 4.5: 100*5 + 1,000*6.25 + 2,000*10 + 10*25 = 27,000
    split = rec(
        "claude-opus-4-5-20251101",
        input_tokens=100,
        cache_creation_input_tokens=3_000,
        cache_creation_5m_input_tokens=1_000,
        cache_creation_1h_input_tokens=2_000,
        output_tokens=10,
    )
    assert pricing.cost(split) == Decimal("0.027")
    # The same 3,000 writes all at the 5-minute rate: 500 + 18,750 + 250 = 19,500
    all_5m = rec(
        "claude-opus-4-5-20251101",
        input_tokens=100,
        cache_creation_input_tokens=3_000,
        output_tokens=10,
    )
    assert pricing.cost(all_5m) == Decimal("0.0195")


def test_cache_writes_beyond_the_ttl_split_are_5m_writes(pricing: Pricing) -> None:
    # 5,000 writes, 1,000 reported as 5m and 2,000 as 1h: 2,000 remain, at the 5m rate.
    # 100*5 + (1,000 + 2,000)*6.25 + 2,000*10 + 10*25 = 39,500
    record = rec(
        "claude-opus-4-5",
        input_tokens=100,
        cache_creation_input_tokens=5_000,
        cache_creation_5m_input_tokens=1_000,
        cache_creation_1h_input_tokens=2_000,
        output_tokens=10,
    )
    assert pricing.cost(record) == Decimal("0.0395")


def test_one_hour_writes_without_the_total(pricing: Pricing) -> None:
    # Haiku 4.5: 1h writes are 2x input; the total may be missing when only the split came.
    record = rec("claude-haiku-4-5-20251001", cache_creation_1h_input_tokens=1_000)
    assert pricing.cost(record) == Decimal("0.002")


def test_none_token_fields_count_as_zero(pricing: Pricing) -> None:
    record = rec("claude-haiku-4-5", output_tokens=100)
    assert pricing.cost(record) == Decimal("0.0005")


# --- OpenAI and Gemini ------------------------------------------------------------------


def test_openai_cached_input(pricing: Pricing) -> None:
    # gpt-4.1: 8,000 uncached*2 + 2,000 cached*0.50 + 1,000 out*8 = 25,000
    record = rec(
        "gpt-4.1-2025-04-14", input_tokens=8_000, cache_read_input_tokens=2_000, output_tokens=1_000
    )
    assert pricing.cost(record) == Decimal("0.025")


def test_reasoning_is_not_added_on_top_of_output(pricing: Pricing) -> None:
    # gpt-5-mini: 1,000*0.25 + 4,000*0.025 + 800*2 = 1,950 (reasoning 300 is inside the 800)
    record = rec(
        "gpt-5-mini",
        input_tokens=1_000,
        cache_read_input_tokens=4_000,
        output_tokens=800,
        reasoning_tokens=300,
    )
    assert pricing.cost(record) == Decimal("0.00195")


def test_gemini_thoughts_are_billed_as_output(pricing: Pricing) -> None:
    # 2.5 Flash: 10,000*0.30 + 2,000 cached*0.03 + (200 candidates + 1,800 thoughts)*2.50
    record = rec(
        "gemini-2.5-flash",
        input_tokens=10_000,
        cache_read_input_tokens=2_000,
        output_tokens=2_000,
        reasoning_tokens=1_800,
    )
    assert pricing.cost(record) == Decimal("0.00806")


def test_an_openai_snapshot_with_its_own_price(pricing: Pricing) -> None:
    # gpt-4o-2024-05-13 was $5/$15, not gpt-4o's $2.50/$10.
    assert pricing.cost(rec("gpt-4o-2024-05-13", input_tokens=1_000)) == Decimal("0.005")
    assert pricing.cost(rec("gpt-4o-2024-08-06", input_tokens=1_000)) == Decimal("0.0025")


# --- long context -----------------------------------------------------------------------


def test_sonnet_45_long_context_prices_every_token(pricing: Pricing) -> None:
    # prompt 150,000 + 60,000 read = 210,000 > 200k: 150,000*6 + 60,000*0.60 + 1,000*22.50
    record = rec(
        "claude-sonnet-4-5",
        input_tokens=150_000,
        cache_read_input_tokens=60_000,
        output_tokens=1_000,
    )
    assert pricing.cost(record) == Decimal("0.9585")


def test_long_context_starts_above_200k(pricing: Pricing) -> None:
    at_limit = rec(
        "claude-sonnet-4-20250514",
        input_tokens=140_000,
        cache_read_input_tokens=60_000,
        output_tokens=1_000,
    )
    # 140,000*3 + 60,000*0.30 + 1,000*15 = 453,000
    assert pricing.cost(at_limit) == Decimal("0.453")
    # Cache writes count towards the prompt: 100,000 + 100,001 = 200,001.
    # 100,000*6 + 100,001*7.50 = 1,350,007.5
    above = rec(
        "claude-sonnet-4-20250514", input_tokens=100_000, cache_creation_input_tokens=100_001
    )
    assert pricing.cost(above) == Decimal("1.3500075")


def test_long_context_one_hour_writes(pricing: Pricing) -> None:
    # 200,001 input*6 + 1,000 1h writes*12 = 1,212,006
    record = rec("claude-sonnet-4-5", input_tokens=200_001, cache_creation_1h_input_tokens=1_000)
    assert pricing.cost(record) == Decimal("1.212006")


def test_models_without_a_long_context_tier_stay_flat(pricing: Pricing) -> None:
    assert pricing.cost(rec("claude-haiku-4-5", input_tokens=300_000)) == Decimal("0.3")
    # Opus 4.6: standard pricing over the whole 1M window.
    assert pricing.cost(rec("claude-opus-4-6", input_tokens=500_000)) == Decimal("2.5")


def test_gemini_25_pro_tiers(pricing: Pricing) -> None:
    # <= 200k: 100,000*1.25 + 1,000*10 = 135,000
    assert pricing.cost(rec("gemini-2.5-pro", input_tokens=100_000, output_tokens=1_000)) == (
        Decimal("0.135")
    )
    # 230,000 + 20,000 cached > 200k: 230,000*2.50 + 20,000*0.25 + 1,000*15 = 595,000
    record = rec(
        "gemini-2.5-pro", input_tokens=230_000, cache_read_input_tokens=20_000, output_tokens=1_000
    )
    assert pricing.cost(record) == Decimal("0.595")


# --- service tiers and speed ------------------------------------------------------------


def test_anthropic_batch_halves_every_bucket(pricing: Pricing) -> None:
    record = rec(
        "claude-sonnet-4-5-20250929",
        input_tokens=1_000,
        cache_creation_5m_input_tokens=2_000,
        cache_read_input_tokens=5_000,
        output_tokens=500,
        service_tier="batch",
    )
    assert pricing.cost(record) == Decimal("0.00975")


def test_batch_stacks_with_long_context(pricing: Pricing) -> None:
    # 210,000*3 + 1,000*11.25 = 641,250
    record = rec(
        "claude-sonnet-4-5", input_tokens=210_000, output_tokens=1_000, service_tier="batch"
    )
    assert pricing.cost(record) == Decimal("0.64125")


def test_openai_batch(pricing: Pricing) -> None:
    # gpt-4o batch: 10,000*1.25 + 1,000*5 = 17,500
    assert pricing.cost(
        rec("gpt-4o", input_tokens=10_000, output_tokens=1_000, service_tier="batch")
    ) == Decimal("0.0175")
    # gpt-5 batch lists cached input: 1,000*0.625 + 1,000*0.0625 + 100*5 = 1,187.5
    assert pricing.cost(
        rec(
            "gpt-5",
            input_tokens=1_000,
            cache_read_input_tokens=1_000,
            output_tokens=100,
            service_tier="batch",
        )
    ) == Decimal("0.0011875")
    # gpt-4o's batch price list has no cached-input price: unknown, not guessed.
    assert (
        pricing.cost(
            rec("gpt-4o", input_tokens=1_000, cache_read_input_tokens=1_000, service_tier="batch")
        )
        is None
    )


def test_openai_priority(pricing: Pricing) -> None:
    # gpt-4.1 priority: 1,000*3.50 + 1,000*0.875 + 1,000*14 = 18,375
    record = rec(
        "gpt-4.1",
        input_tokens=1_000,
        cache_read_input_tokens=1_000,
        output_tokens=1_000,
        service_tier="priority",
    )
    assert pricing.cost(record) == Decimal("0.018375")


@pytest.mark.parametrize(
    ("model", "tier"),
    [
        ("claude-sonnet-4-5", "priority"),  # Anthropic Priority Tier: no public token price
        ("gpt-5-nano", "priority"),  # not offered
        ("gemini-2.5-pro", "priority"),
        ("gpt-5", "flex"),
        ("gpt-4o", "scale"),
        ("claude-sonnet-4-5", "something-new"),
    ],
)
def test_tiers_without_a_price_are_unknown(pricing: Pricing, model: str, tier: str) -> None:
    record = rec(model, input_tokens=1_000, output_tokens=1_000, service_tier=tier)
    assert pricing.cost(record) is None


@pytest.mark.parametrize("tier", [None, "standard", "default", "auto", "STANDARD"])
def test_standard_tier_names(pricing: Pricing, tier: str | None) -> None:
    record = rec("gpt-4.1", input_tokens=1_000, output_tokens=1_000, service_tier=tier)
    assert pricing.cost(record) == Decimal("0.01")


def test_fast_mode_is_six_times_standard(pricing: Pricing) -> None:
    # Opus 4.6 fast: 1,000*30 + 1,000*37.50 + 10,000*3 + 1,000*150 = 247,500
    record = rec(
        "claude-opus-4-6",
        input_tokens=1_000,
        cache_creation_5m_input_tokens=1_000,
        cache_read_input_tokens=10_000,
        output_tokens=1_000,
        speed="fast",
    )
    assert pricing.cost(record) == Decimal("0.2475")
    standard = rec("claude-opus-4-6", input_tokens=1_000, output_tokens=1_000, speed="standard")
    assert pricing.cost(standard) == Decimal("0.03")


def test_fast_mode_without_a_price_is_unknown(pricing: Pricing) -> None:
    assert pricing.cost(rec("claude-opus-4-5", input_tokens=1, speed="fast")) is None
    assert (
        pricing.cost(rec("claude-opus-4-6", input_tokens=1, speed="fast", service_tier="batch"))
        is None
    )


# --- server tools -----------------------------------------------------------------------


def test_anthropic_web_search_is_10_dollars_per_1000(pricing: Pricing) -> None:
    # 1,000*3 per million + 3 searches * $0.01 = 0.003 + 0.03
    record = rec(
        "claude-sonnet-4-5", input_tokens=1_000, web_search_requests=3, web_fetch_requests=2
    )
    assert pricing.cost(record) == Decimal("0.033")


def test_web_search_without_a_price_is_unknown(pricing: Pricing) -> None:
    assert pricing.cost(rec("gpt-4o", input_tokens=1_000, web_search_requests=1)) is None
    assert pricing.cost(rec("gpt-4o", input_tokens=1_000, web_search_requests=0)) == (
        Decimal("0.0025")
    )


# --- unknowns and errors ----------------------------------------------------------------


def test_unknown_model_is_none(pricing: Pricing) -> None:
    assert pricing.cost(rec("my-finetune-7b", input_tokens=1_000)) is None
    assert pricing.lookup("my-finetune-7b") is None


@pytest.mark.parametrize("model", [None, "", "   "])
def test_record_without_a_model_is_none(pricing: Pricing, model: str | None) -> None:
    assert pricing.cost(rec(model, input_tokens=1_000, output_tokens=10)) is None


def test_a_bucket_without_a_rate_is_unknown(pricing: Pricing) -> None:
    # OpenAI does not sell cache writes; Gemini 2.0 Flash-Lite has no context caching.
    assert pricing.cost(rec("gpt-4o", input_tokens=10, cache_creation_input_tokens=10)) is None
    assert pricing.cost(rec("gemini-2.0-flash-lite", cache_read_input_tokens=10)) is None
    # The same models with those buckets empty are priced.
    assert pricing.cost(rec("gemini-2.0-flash-lite", input_tokens=1_000_000)) == Decimal("0.075")


def test_negative_counts_are_not_priced(pricing: Pricing) -> None:
    assert pricing.cost(rec("gpt-4o", input_tokens=-5)) is None


def test_json_error_body_costs_zero(pricing: Pricing) -> None:
    error = UsageRecord(
        model="claude-sonnet-4-5-20250929",
        status="error",
        error_type="overloaded_error",
        error_message="Overloaded",
        no_usage_data=True,
        requires_manual_review=False,
    )
    cost = pricing.cost(error)
    assert cost == Decimal(0)
    assert isinstance(cost, Decimal)
    # Error bodies often carry no model; they still billed nothing.
    assert pricing.cost(UsageRecord(status="error", no_usage_data=True)) == Decimal(0)


def test_error_after_usage_is_billed(pricing: Pricing) -> None:
    # An error event mid-stream after usage was reported: the tokens were billed.
    record = UsageRecord(
        model="claude-sonnet-4-5", status="error", no_usage_data=False, input_tokens=1_000
    )
    assert pricing.cost(record) == Decimal("0.003")


def test_arithmetic_is_exact_for_huge_counts(pricing: Pricing) -> None:
    record = rec("o4-mini", input_tokens=10**15 + 1, cache_read_input_tokens=3)
    # (10^15 + 1)*1.10 + 3*0.275 = 1,100,000,000,000,001.925 per million
    assert pricing.cost(record) == Decimal("1100000000.000001925")


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("CLAUDE-SONNET-4-5", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet"),
        ("openai/gpt-4o-2024-11-20", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("o4-mini", "o4-mini"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("gemini/gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
    ],
)
def test_lookup_normalises_names(pricing: Pricing, name: str, expected: str) -> None:
    price = pricing.lookup(name)
    assert price is not None
    assert price.name == expected


@pytest.mark.parametrize(
    "name",
    [
        "claude-sonnet-4-5-v2",  # not a Bedrock id: "-v2" is not a version suffix here
        "claude-sonnet-4-5-extended",
        "chatgpt-4o-latest",  # a different model at a different price
        "gpt-5-chat-latest",
        "gpt-4o-mini-realtime-preview",
        "gpt-4o-audio",  # not gpt-4o-audio-preview
        "o1-preview",
        "o3-pro",
        "gemini-2.5-flash-preview-05-20",  # preview pricing differed
        "gemini-2.5-pro-exp",
        "gpt-4",
        "claude",
        "sonnet",
    ],
)
def test_near_names_are_not_matched(pricing: Pricing, name: str) -> None:
    assert pricing.lookup(name) is None


def test_no_prefix_matching() -> None:
    # With only the shorter names in the table, the longer ones must stay unknown.
    table = Pricing.from_table(
        {
            "models": {
                "claude-sonnet-4": {"input": "3", "output": "15"},
                "gpt-4o": {"input": "2.50", "output": "10"},
                "o3": {"input": "2", "output": "8"},
            }
        }
    )
    for name in (
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        "o3-mini",
        "o3-pro",
    ):
        assert table.lookup(name) is None, name
        assert table.cost(rec(name, input_tokens=1)) is None, name
    assert table.lookup("claude-sonnet-4-20250514") is not None
    assert table.lookup("gpt-4o-2024-08-06") is not None


def test_distinct_models_keep_distinct_prices(pricing: Pricing) -> None:
    one_million_in = {"input_tokens": 1_000_000}
    assert pricing.cost(rec("claude-opus-4-1", **one_million_in)) == Decimal(15)
    assert pricing.cost(rec("claude-opus-4-5", **one_million_in)) == Decimal(5)
    assert pricing.cost(rec("gpt-4o", **one_million_in)) == Decimal("2.50")
    assert pricing.cost(rec("gpt-4o-mini", **one_million_in)) == Decimal("0.15")
    assert pricing.cost(rec("gemini-2.5-flash", **one_million_in)) == Decimal("0.30")
    assert pricing.cost(rec("gemini-2.5-flash-lite", **one_million_in)) == Decimal("0.10")


def test_bedrock_regional_ids_carry_the_regional_premium(pricing: Pricing) -> None:
    base = {"input_tokens": 1_000, "output_tokens": 1_000}
    # 1,000*3 + 1,000*15 = 18,000; geographic and in-Region ids: +10%
    assert pricing.cost(rec("global.anthropic.claude-sonnet-4-5-20250929-v1:0", **base)) == (
        Decimal("0.018")
    )
    assert pricing.cost(rec("us.anthropic.claude-sonnet-4-5-20250929-v1:0", **base)) == (
        Decimal("0.0198")
    )
    # Older models have no regional premium.
    assert pricing.cost(rec("us.anthropic.claude-sonnet-4-20250514-v1:0", **base)) == (
        Decimal("0.018")
    )


def test_normalize_model_name() -> None:
    assert normalize_model_name("US.Anthropic.claude-3-7-sonnet-20250219-v1:0") == (
        "claude-3-7-sonnet-20250219"
    )
    assert normalize_model_name("openai/gpt-4o") == "gpt-4o"
    assert normalize_model_name("") == ""


# --- the bundled table ------------------------------------------------------------------

REQUIRED = [
    "claude-3-haiku",
    "claude-3-5-haiku",
    "claude-haiku-4-5",
    "claude-3-7-sonnet",
    "claude-sonnet-4",
    "claude-sonnet-4-5",
    "claude-3-opus",
    "claude-opus-4",
    "claude-opus-4-1",
    "claude-opus-4-5",
    "claude-opus-4-6",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o1",
    "o3",
    "o3-mini",
    "o4-mini",
    "gemini-2.0-flash",
    "gemini-2.0-flash-lite",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_bundled_table_covers(pricing: Pricing, name: str) -> None:
    price = pricing.lookup(name)
    assert price is not None and price.name == name
    assert price.standard.input is not None and price.standard.output is not None
    assert "batch" in price.tiers


def _bundled() -> dict[str, Any]:
    # The installed package's copy: proves the data file ships in the wheel.
    path = importlib.resources.files("sseusage_fast") / "data" / "pricing.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_bundled_table_has_source_and_date() -> None:
    data = _bundled()
    assert data["_source"] and data["_as_of"]


def test_bundled_anthropic_cache_multipliers() -> None:
    # 5m writes 1.25x input, 1h writes 2x, reads 0.1x, for every Claude model but Haiku 3,
    # whose published cache prices ($0.30 / $0.50 / $0.03) predate those multipliers.
    for name, entry in _bundled()["models"].items():
        if entry["provider"] != "anthropic" or name == "claude-3-haiku":
            continue
        price = Decimal(entry["input"])
        assert Decimal(entry["cache_write_5m"]) == price * Decimal("1.25"), name
        assert Decimal(entry["cache_write_1h"]) == price * 2, name
        assert Decimal(entry["cache_read"]) == price * Decimal("0.1"), name


def test_bundled_batch_is_half_of_standard() -> None:
    for name, entry in _bundled()["models"].items():
        # The audio models have no batch price in the table (their audio is not batched).
        batch = entry["batch"] if "audio_input" not in entry else {}
        for key in ("input", "cache_write_5m", "cache_write_1h", "cache_read", "output"):
            if key in batch:
                assert Decimal(batch[key]) * 2 == Decimal(entry[key]), (name, key)


def test_bundled_prices_are_strings() -> None:
    floats: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, float):
            floats.append(where)

    walk(_bundled()["models"], "models")
    assert floats == []


def test_from_table_rejects_floats_and_duplicates() -> None:
    with pytest.raises(TypeError):
        Pricing.from_table({"models": {"m": {"input": 0.1, "output": "1"}}})
    with pytest.raises(ValueError, match="twice"):
        Pricing.from_table(
            {
                "models": {
                    "a": {"input": "1", "output": "1", "aliases": ["b"]},
                    "b": {"input": "2", "output": "2"},
                }
            }
        )


# --- LiteLLM ----------------------------------------------------------------------------

LITELLM: dict[str, Any] = {
    "sample_spec": {
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
        "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
        "mode": "one of: chat, embedding, completion, image_generation, ...",
    },
    "claude-sonnet-4-5-20250929": {
        "cache_creation_input_token_cost": 3.75e-06,
        "cache_creation_input_token_cost_above_1hr": 6e-06,
        "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
        "cache_read_input_token_cost": 3e-07,
        "cache_read_input_token_cost_above_200k_tokens": 6e-07,
        "input_cost_per_token": 3e-06,
        "input_cost_per_token_above_200k_tokens": 6e-06,
        "input_cost_per_token_batches": 1.5e-06,
        "litellm_provider": "anthropic",
        "max_input_tokens": 200000,
        "mode": "chat",
        "output_cost_per_token": 1.5e-05,
        "output_cost_per_token_above_200k_tokens": 2.25e-05,
        "output_cost_per_token_batches": 7.5e-06,
        "search_context_cost_per_query": {
            "search_context_size_high": 0.01,
            "search_context_size_low": 0.01,
            "search_context_size_medium": 0.01,
        },
        "supports_prompt_caching": True,
    },
    "gpt-4.1": {
        "cache_read_input_token_cost": 5e-07,
        "cache_read_input_token_cost_priority": 8.75e-07,
        "input_cost_per_token": 2e-06,
        "input_cost_per_token_batches": 1e-06,
        "input_cost_per_token_priority": 3.5e-06,
        "litellm_provider": "openai",
        "mode": "chat",
        "output_cost_per_token": 8e-06,
        "output_cost_per_token_batches": 4e-06,
        "output_cost_per_token_priority": 1.4e-05,
    },
    "o3-mini": {
        "cache_read_input_token_cost": 5.5e-07,
        "input_cost_per_token": 1.1e-06,
        "litellm_provider": "openai",
        "mode": "chat",
        "output_cost_per_token": 4.4e-06,
    },
    "gemini/gemini-2.5-pro": {
        "cache_read_input_token_cost": 1.25e-07,
        "cache_read_input_token_cost_above_200k_tokens": 2.5e-07,
        "input_cost_per_token": 1.25e-06,
        "input_cost_per_token_above_200k_tokens": 2.5e-06,
        "litellm_provider": "gemini",
        "mode": "chat",
        "output_cost_per_token": 1e-05,
        "output_cost_per_token_above_200k_tokens": 1.5e-05,
    },
    "anthropic/claude-3-haiku": {
        "input_cost_per_token": 2.5e-07,
        "output_cost_per_token": 1.25e-06,
        "litellm_provider": "anthropic",
        "mode": "chat",
    },
    "models/claude-3-haiku": {
        "input_cost_per_token": 3e-07,
        "output_cost_per_token": 1.25e-06,
        "litellm_provider": "other",
        "mode": "chat",
    },
    "text-embedding-3-small": {
        "input_cost_per_token": 2e-08,
        "output_cost_per_token": 0.0,
        "litellm_provider": "openai",
        "mode": "embedding",
    },
    "half-priced-chat-model": {
        "input_cost_per_token": 1e-06,
        "litellm_provider": "openai",
        "mode": "chat",
    },
}


@pytest.fixture(scope="module")
def litellm() -> Pricing:
    return Pricing.from_litellm(LITELLM)


def test_litellm_reference_example(litellm: Pricing) -> None:
    record = rec(
        "claude-sonnet-4-5-20250929",
        input_tokens=1_000,
        cache_creation_input_tokens=2_000,
        cache_creation_5m_input_tokens=2_000,
        cache_read_input_tokens=5_000,
        output_tokens=500,
    )
    assert litellm.cost(record) == Decimal("0.0195")


def test_litellm_one_hour_writes_and_web_search(litellm: Pricing) -> None:
    # 1,000 1h writes*6 + 2 searches*$0.01
    record = rec(
        "claude-sonnet-4-5-20250929", cache_creation_1h_input_tokens=1_000, web_search_requests=2
    )
    assert litellm.cost(record) == Decimal("0.026")


def test_litellm_long_context_tier(litellm: Pricing) -> None:
    record = rec(
        "claude-sonnet-4-5-20250929",
        input_tokens=150_000,
        cache_read_input_tokens=60_000,
        output_tokens=1_000,
    )
    assert litellm.cost(record) == Decimal("0.9585")
    # LiteLLM has no 1h price above 200k: unknown rather than the 200k-and-under price.
    long_1h = rec(
        "claude-sonnet-4-5-20250929", input_tokens=200_001, cache_creation_1h_input_tokens=1
    )
    assert litellm.cost(long_1h) is None


def test_litellm_batch_and_priority(litellm: Pricing) -> None:
    batch = rec(
        "claude-sonnet-4-5-20250929", input_tokens=1_000, output_tokens=500, service_tier="batch"
    )
    assert litellm.cost(batch) == Decimal("0.00525")  # 1,000*1.50 + 500*7.50
    # No batch cache price in the row: a batch request that read the cache is unknown.
    batch_cached = rec(
        "claude-sonnet-4-5-20250929", cache_read_input_tokens=10, service_tier="batch"
    )
    assert litellm.cost(batch_cached) is None
    priority = rec(
        "gpt-4.1",
        input_tokens=1_000,
        cache_read_input_tokens=1_000,
        output_tokens=1_000,
        service_tier="priority",
    )
    assert litellm.cost(priority) == Decimal("0.018375")
    assert litellm.cost(rec("o3-mini", input_tokens=1, service_tier="priority")) is None


def test_litellm_floats_become_exact_decimals(litellm: Pricing) -> None:
    # 1.1e-06 * 1e6 is 1.0999999999999999 in binary floating point.
    assert litellm.cost(rec("o3-mini", input_tokens=1_000_000)) == Decimal("1.1")
    price = litellm.lookup("o3-mini")
    assert price is not None and price.standard.input == Decimal("1.1")


def test_litellm_gemini_prefix_and_tier(litellm: Pricing) -> None:
    for name in ("gemini/gemini-2.5-pro", "gemini-2.5-pro", "models/gemini-2.5-pro"):
        record = rec(
            name, input_tokens=230_000, cache_read_input_tokens=20_000, output_tokens=1_000
        )
        assert litellm.cost(record) == Decimal("0.595"), name


def test_litellm_skips_what_it_cannot_price(litellm: Pricing) -> None:
    assert litellm.lookup("sample_spec") is None
    assert litellm.lookup("text-embedding-3-small") is None
    assert litellm.lookup("half-priced-chat-model") is None
    # Two rows reduce to "claude-3-haiku" at different prices: the bare name is ambiguous.
    assert litellm.lookup("claude-3-haiku") is None
    assert litellm.lookup("anthropic/claude-3-haiku") is not None
    assert litellm.cost(rec("anthropic/claude-3-haiku", input_tokens=1_000_000)) == (
        Decimal("0.25")
    )
    # Not in the LiteLLM table at all; fast mode is not in LiteLLM's format.
    assert litellm.cost(rec("claude-opus-4-6", input_tokens=1)) is None
    assert litellm.cost(rec("claude-sonnet-4-5-20250929", input_tokens=1, speed="fast")) is None


def test_litellm_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "model_prices_and_context_window.json"
    path.write_text(json.dumps(LITELLM), encoding="utf-8")
    record = rec("gpt-4.1", input_tokens=8_000, cache_read_input_tokens=2_000, output_tokens=1_000)
    for source in (path, str(path)):
        assert Pricing.from_litellm(source).cost(record) == Decimal("0.025")


def test_model_names_are_resolved_once_and_the_cache_is_bounded(pricing: Pricing) -> None:
    from sseusage_fast.pricing import _split_name

    first = pricing.lookup("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert first is not None
    assert pricing.lookup("us.anthropic.claude-sonnet-4-5-20250929-v1:0") == first
    # Clients choose model names: any number of them must not grow the cache without bound.
    for i in range(5000):
        pricing.lookup(f"no-such-model-{i}")
    info = _split_name.cache_info()  # type: ignore[attr-defined]
    assert info.hits >= 1 and info.maxsize is not None and info.currsize <= info.maxsize
