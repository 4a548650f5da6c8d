"""Function declarations as a Gemini model bills them (issue 17, lead 1): a declaration's schema
is counted under every spelling the API accepts (`parameters`, `parametersJsonSchema`,
`parameters_json_schema`), and Gemini 2.0 bills its declarations at a fraction of their JSON
text (`families.declaration_ratio`) where 2.5 and 3 bill about all of it (real captures,
tests/captures/gemini/decl_*, pydantic-ai's cassettes). The estimate is made in the shared
finish step: both backends make the same record."""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import pytest
from capture_index import estimated_on_both, load_captures
from sseusage_fast.estimate import Estimator, base_tokens, request_info, text_stats
from sseusage_fast.estimate.bounds import DECLARATION_LOW, INPUT_SPREAD, estimate_input
from sseusage_fast.estimate.families import declaration_ratio

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city name."},
        "date": {"type": "string", "description": "The date, as YYYY-MM-DD."},
    },
    "required": ["city", "date"],
}


def _body(schema_key: str | None) -> dict[str, Any]:
    decl: dict[str, Any] = {"name": "temperature", "description": "Get the temperature."}
    if schema_key is not None:
        decl[schema_key] = copy.deepcopy(SCHEMA)
    return {
        "contents": [{"role": "user", "parts": [{"text": "How warm is London today?"}]}],
        "tools": [{"functionDeclarations": [decl]}],
    }


@pytest.mark.parametrize("key", ["parametersJsonSchema", "parameters_json_schema"])
def test_a_declarations_schema_is_read_under_every_spelling(key: str) -> None:
    """The Gemini API reads snake_case field names too (`parameters_json_schema` is what
    pydantic-ai's cassettes hold): the schema is the same text as under `parameters`."""
    plain = request_info(_body("parameters"), "gemini", "gemini-2.5-flash")
    other = request_info(_body(key), "gemini", "gemini-2.5-flash")
    bare = request_info(_body(None), "gemini", "gemini-2.5-flash")
    assert plain is not None and other is not None and bare is not None
    assert other.stats == plain.stats != bare.stats
    assert other.tools == plain.tools == 1


def _tool_part_tokens(info: Any, bare: Any) -> float:
    return base_tokens(info.stats) - base_tokens(bare.stats)


def test_gemini_2_0_counts_its_declarations_at_the_family_ratio() -> None:
    """gemini-2.0-flash: the declarations' estimate scaled by its ratio, 2.5 by a milder one;
    3 (and a model of no known family) count all of it. The rest of the request is counted
    alike."""
    body, bare = _body("parameters"), _body(None)
    bare["tools"] = []
    whole = request_info(body, "gemini", "gemini-3-flash")
    empty = request_info(bare, "gemini", "gemini-3-flash")
    assert whole is not None and empty is not None
    full = _tool_part_tokens(whole, empty)
    ratio = declaration_ratio("gemini-2.0-flash")
    later = declaration_ratio("gemini-2.5-flash")
    assert 0 < ratio < later < 1
    assert declaration_ratio("gemini-2.5-pro") == later
    assert declaration_ratio("gemini-3-flash") == declaration_ratio(None) == 1.0
    for model, want in (
        ("gemini-2.0-flash", ratio * full),
        ("gemini-2.0-flash-001", ratio * full),
        ("gemini-2.5-flash", later * full),
        ("gemini-3-flash-preview", full),
    ):
        info = request_info(body, "gemini", model)
        rest = request_info(bare, "gemini", model)
        assert info is not None and rest is not None
        # Counts are whole numbers: the scaled part is within a token of the ratio's share.
        assert abs(_tool_part_tokens(info, rest) - want) <= 1.0, model
        assert info.overhead == rest.overhead and info.tools == 1


def test_a_ratio_applies_to_the_declarations_alone() -> None:
    """A Gemini 2.0 request's messages are counted as they are: only the declarations'
    share is scaled (no tools: the same stats on 2.0 as on 2.5)."""
    bare = _body(None)
    bare["tools"] = []
    old = request_info(bare, "gemini", "gemini-2.0-flash")
    new = request_info(bare, "gemini", "gemini-2.5-flash")
    assert old is not None and new is not None
    assert old.stats == new.stats == text_stats("How warm is London today?")


@pytest.mark.parametrize("model", ["gemini-2.0-flash", "gemini-2.5-flash", "gpt-4.1"])
def test_the_range_allows_declarations_billed_below_their_estimate(model: str) -> None:
    """The low end leaves out `DECLARATION_LOW` of the declarations' share (as counted, after
    the family ratio): Gemini 2.5 billed a nested schema at 0.64 of its JSON estimate, 2.0
    its tool sets at 0.83 to 1.13 of the scaled one. The point and the top are unchanged."""
    info = request_info(_body("parameters"), "gemini", model)
    assert info is not None and info.declared is not None
    est = Estimator()
    with_decl = estimate_input(est, info, Estimator.base_tokens, model=model)
    without = estimate_input(est, info._replace(declared=None), Estimator.base_tokens, model=model)
    assert with_decl.value == without.value and with_decl.high == without.high
    share = base_tokens(info.declared) * INPUT_SPREAD[0] * DECLARATION_LOW
    assert share > 1
    assert abs((without.low - with_decl.low) - share) <= 1.0
    bare = request_info({"contents": "Hi"}, "gemini", model)
    assert bare is not None and bare.declared is None


# Real recorded requests with function declarations (pydantic-ai, tests/captures/gemini):
# gemini-2.0-flash, whose JSON estimate was 2 to 3 times the bill, and 2.5/3 requests whose
# schemas are under `parameters_json_schema` (estimated at 18 to 98 for 49 to 220 billed).
REAL = [
    "gemini/decl_google_tool_config_any_with_tool_without_args.json",  # 2.0: 21 billed
    "gemini/decl_google_tool_output.json",  # 2.0: 33
    "gemini/pai_google_model_iter_stream.sse",  # 2.0 with two tool turns: 79
    "gemini/pai_google_model_structured_output.json",  # 2.0 with one tool turn: 91
    "gemini/decl_ref_sibling_wire_contract_google_structured_dict.json",  # 2.5-flash: 154
    "gemini/decl_tool_choice_matrix_auto_google.json",  # 2.5-flash: 49
    "gemini/decl_tool_search_eval_google.json",  # 3-flash-preview: 220
    # crewAI's (a second repository, not seen when the ratios were set from pydantic-ai's):
    "gemini/decl_crewai_gemini_tool_returning_float.json",  # 2.0: 127
    "gemini/decl_crewai_gemini_parallel_native_tool_calling_test_agent_kicko.json",  # 2.5: 291
]


@pytest.mark.parametrize("name", REAL)
def test_real_requests_with_declarations_are_near_their_bill(
    both: tuple[ModuleType, ModuleType], name: str
) -> None:
    """Uncalibrated, within 30% of the billed input, the same record on both backends, and
    inside its range. Without the ratio the four 2.0 requests were 99% to 190% over; without
    reading `parameters_json_schema` the three others 55% to 81% under."""
    cap = next(c for c in load_captures() if c.name == name)
    native = estimated_on_both(both, cap)
    billed = cap.expected["input_tokens"]
    got = native.input_tokens
    assert got is not None and abs(got - billed) <= 0.3 * billed, (name, got, billed)
    low, high = native.estimate_ranges["input_tokens"]
    assert low <= billed and (high is None or billed <= high), (name, low, high)
