"""The one model-name normaliser: what pricing and the estimator both see of a model's name."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sseusage_fast.estimate import Estimator, calibration_key, parse_model_name
from sseusage_fast.estimate.model_names import ModelName, normalize_model_name
from sseusage_fast.pricing import Pricing
from sseusage_fast.record import UsageRecord

SAME_MODEL = [
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-20250929",
    "anthropic/claude-sonnet-4.5",  # OpenRouter's dotted id
    "Anthropic/Claude-Sonnet-4.5",
    "claude-sonnet-4-5@20250929",  # Vertex
    "publishers/anthropic/models/claude-sonnet-4-5@20250929",  # a Vertex resource name
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",  # Bedrock inference profile
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic.claude-sonnet-4-5-20250929-v1:0",  # Bedrock in-Region
]


@pytest.mark.parametrize("model", SAME_MODEL)
def test_one_key_for_every_spelling(model: str) -> None:
    assert calibration_key(model) == "claude-sonnet-4-5"
    parts = parse_model_name(model)
    assert parts is not None
    assert (parts.undated or parts.base) == "claude-sonnet-4-5"


@pytest.mark.parametrize(
    ("model", "parts"),
    [
        (
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            ModelName(
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "claude-3-7-sonnet-20250219",
                "claude-3-7-sonnet",
                True,
            ),
        ),
        (
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            ModelName(
                "global.anthropic.claude-haiku-4-5-20251001-v1:0",
                "claude-haiku-4-5-20251001",
                "claude-haiku-4-5",
                False,
            ),
        ),
        (
            "anthropic/claude-3.5-sonnet",
            ModelName("anthropic/claude-3.5-sonnet", "claude-3-5-sonnet", None, False),
        ),
        # Dots belong to other makers' names: never dashed.
        ("openai/gpt-4.1", ModelName("openai/gpt-4.1", "gpt-4.1", None, False)),
        (
            "google/gemini-2.5-pro",
            ModelName("google/gemini-2.5-pro", "gemini-2.5-pro", None, False),
        ),
        ("gpt-4o-2024-08-06", ModelName("gpt-4o-2024-08-06", "gpt-4o-2024-08-06", "gpt-4o", False)),
        # A preview's date names another model for pricing; calibration_key drops it (below).
        (
            "gemini-2.5-flash-preview-05-20",
            ModelName(
                "gemini-2.5-flash-preview-05-20", "gemini-2.5-flash-preview-05-20", None, False
            ),
        ),
    ],
)
def test_parts(model: str, parts: ModelName) -> None:
    assert parse_model_name(model) == parts
    assert normalize_model_name(model) == parts.base


def test_claude_4_named_version_first_shares_its_models_calibration() -> None:
    """OpenRouter's Bedrock route names Claude Sonnet 4.6 `claude-4.6-sonnet-20260217`: the
    same model (and tokenizer) as `claude-sonnet-4-6`. Claude 3's own order is its name."""
    assert calibration_key("anthropic/claude-4.6-sonnet-20260217") == "claude-sonnet-4-6"
    assert calibration_key("claude-4-opus") == "claude-opus-4"
    assert calibration_key("claude-3-5-sonnet-20240620") == "claude-3-5-sonnet"
    assert calibration_key("claude-3-7-sonnet-latest") == "claude-3-7-sonnet-latest"


def test_calibration_key_drops_more_dates_than_pricing() -> None:
    assert calibration_key("gemini-2.5-flash-preview-05-20") == "gemini-2.5-flash-preview"
    assert calibration_key("gpt-4-0613") == "gpt-4"
    assert parse_model_name("gpt-4-0613") == ModelName("gpt-4-0613", "gpt-4-0613", None, False)
    assert calibration_key("") is None
    assert calibration_key("   ") is None
    assert calibration_key(None) is None


@pytest.mark.parametrize("model", SAME_MODEL)
def test_pricing_finds_every_spelling(model: str) -> None:
    record = UsageRecord(model=model, input_tokens=100_000, output_tokens=0, status="complete")
    cost = Pricing.default().cost(record)
    # $3 per million input; Bedrock geographic and in-Region ids carry the 1.1x premium.
    regional = model.startswith(("us.anthropic.", "anthropic.claude"))
    assert cost == (Decimal("0.33") if regional else Decimal("0.3"))


def test_estimator_learns_across_spellings() -> None:
    est = Estimator()
    stats = (200, 1000, 200, 20, 0, 0)
    for model in SAME_MODEL[:3]:
        record = UsageRecord(model=model, output_tokens=300, status="complete", input_tokens=5)
        est.observe(record, output_stats=stats)
    assert est.samples("us.anthropic.claude-sonnet-4-5-20250929-v1:0") == 3
    assert est.ratio("anthropic/claude-sonnet-4.5") == pytest.approx(
        300 / Estimator.base_tokens(stats)
    )
