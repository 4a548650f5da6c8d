"""Real-traffic conformance: every recorded response under `tests/captures/` read by both
backends, whole, one byte at a time and in seeded random chunkings, against the expectation in
its `.meta.json` (read from the capture by the provider's documented rules), and native == pure.

A capture whose expectation needs something the code does not have yet is a strict xfail that
names it: a provider or framing it cannot read (`needs provider bedrock`), a record field of the
contract's "Additions" (`needs field iterations`), or a known misread listed in the capture's
`gaps`. Fields and providers are detected, so those xfails flip by themselves when the feature
lands (and then must pass); a `gaps` entry is removed from the `.meta.json` by whoever fixes it.

The official SDKs' own accumulators (anthropic's MessageStream, openai's
ChatCompletionStreamState) read the same captures as a cross-check of the expectations; where
they disagree with the documented rule, the capture's `sdk_disagrees` says why, and the test
checks that they still do.
"""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from itertools import pairwise
from types import ModuleType
from typing import Any

import pytest
from capture_index import Capture, load_captures, strip_usage
from sseusage_fast import pure
from sseusage_fast.estimate import Estimator
from sseusage_fast.record import FIELD_NAMES

CAPTURES = load_captures()
RECORD_FIELDS = frozenset(FIELD_NAMES)
MODES = ("whole", "bytewise", "random")
SEEDS = (1, 2, 3)


def _provider_supported(provider: str) -> bool:
    try:
        pure.UsageParser(provider)
    except ValueError:
        return False
    return True


# Fields of the contract's "Additions"; a gap named after one resolves when the field exists.
ADDITION_FIELDS = (
    "framing",
    "iterations",
    "provider_cost",
    "inference_geo",
    "audio_input_tokens",
    "audio_output_tokens",
)


def _needs(capture: Capture, *, additions: bool | None) -> list[str]:
    """What the current code lacks for this capture's expectation (empty: it must pass).
    `additions=None`: only what reading the capture at all needs (its provider)."""
    needs = []
    if not _provider_supported(capture.provider):
        needs.append(f"provider {capture.provider}")
    if additions is None:
        return needs
    for gap in capture.gaps:
        if gap in ADDITION_FIELDS:
            if gap not in RECORD_FIELDS:
                needs.append(f"field {gap}")
        else:
            needs.append(gap)
    fields = capture.expected_additions if additions else capture.expected
    needs.extend(f"field {name}" for name in fields if name not in RECORD_FIELDS)
    return sorted(set(needs))


def _params(*, additions: bool | None) -> list[Any]:
    out = []
    for capture in CAPTURES:
        needs = _needs(capture, additions=additions)
        marks = (
            [pytest.mark.xfail(strict=True, reason="needs " + ", ".join(needs))] if needs else []
        )
        out.append(pytest.param(capture, id=capture.name, marks=marks))
    return out


def _chunks(body: bytes, mode: str, seed: int = 0) -> list[bytes]:
    if mode == "whole":
        return [body]
    if mode == "bytewise":
        return [body[i : i + 1] for i in range(len(body))]
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(body):
        n = rng.choice((1, 2, 3, 7, 64, 500, 4096))
        out.append(body[i : i + n])
        i += n
    return out


def _read(module: ModuleType, capture: Capture, chunks: list[bytes]) -> Any:
    parser = module.UsageParser(capture.provider, request=capture.request, estimator=Estimator())
    for chunk in chunks:
        parser.feed(chunk)
    return parser.finish()


def _records(module: ModuleType, capture: Capture, mode: str) -> list[Any]:
    if mode == "whole":
        one = module.parse_usage(
            capture.body, capture.provider, request=capture.request, estimator=Estimator()
        )
        return [one, _read(module, capture, [capture.body])]
    if mode == "bytewise":
        return [_read(module, capture, _chunks(capture.body, mode))]
    return [_read(module, capture, _chunks(capture.body, mode, seed)) for seed in SEEDS]


def _actual(record: Any, name: str) -> Any:
    value = getattr(record, name)
    if name == "estimated":
        return sorted(value)
    if name == "iterations":
        return [dict(item) for item in record.to_dict()["iterations"]]
    return value


def _matches(name: str, actual: Any, expected: Any) -> bool:
    if name == "estimated":
        return actual == sorted(expected)
    if name == "provider_cost":
        return actual is None if expected is None else actual == Decimal(expected)
    if name == "iterations":
        if len(actual) != len(expected):
            return False
        return all({k: a.get(k) for k in e} == e for a, e in zip(actual, expected))
    return bool(actual == expected)


def _check(record: Any, expected: dict[str, Any], where: str) -> None:
    # A bucket the provider did not report (expected None) may hold the parser's estimate when
    # the field is named in `estimated`: its value is the estimator's business, not this suite's.
    estimated = set(getattr(record, "estimated", ()))
    wrong = {
        name: (_actual(record, name), want)
        for name, want in expected.items()
        if not (want is None and name in estimated)
        and not _matches(name, _actual(record, name), want)
    }
    assert not wrong, f"{where}: (got, expected) {wrong}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("capture", _params(additions=False))
def test_capture_reads_as_documented(backend: ModuleType, capture: Capture, mode: str) -> None:
    for record in _records(backend, capture, mode):
        _check(record, capture.expected, f"{capture.name} {mode}")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("capture", _params(additions=True))
def test_capture_additions(backend: ModuleType, capture: Capture, mode: str) -> None:
    for record in _records(backend, capture, mode):
        _check(record, capture.expected_additions, f"{capture.name} {mode}")


@pytest.mark.parametrize("capture", _params(additions=None))
def test_native_equals_pure(both: tuple[ModuleType, ModuleType], capture: Capture) -> None:
    native, pure_module = both
    for mode in ("whole", "random"):
        n = [r.to_dict() for r in _records(native, capture, mode)]
        p = [r.to_dict() for r in _records(pure_module, capture, mode)]
        assert n == p, f"{capture.name} {mode}"
        assert all(d == n[0] for d in n), f"{capture.name} {mode}: chunking changed the record"


_BLANK_LINE = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def _long_event_cuts(body: bytes) -> list[int]:
    """Places inside the recorded events of 513 bytes to 4 KiB that follow another event, five
    bytes apart: a read that ends there leaves an event the native framer holds, whose rest
    is longer than the next read's first bytes it is joined with first (512), or shorter."""
    starts = [0] + [m.end() for m in _BLANK_LINE.finditer(body)]
    return [
        cut
        for start, end in pairwise(starts)
        if start > 0 and 512 < end - start <= 4096
        for cut in range(start + 1, end, 5)
    ]


LONG_EVENT_CAPTURES = [
    pytest.param(c, id=c.name)
    for c in CAPTURES
    if c.framing == "sse" and _provider_supported(c.provider) and _long_event_cuts(c.body)
]


@pytest.mark.parametrize("capture", LONG_EVENT_CAPTURES)
def test_long_events_cut_by_a_read_read_as_whole(backend: ModuleType, capture: Capture) -> None:
    whole = _read(backend, capture, [capture.body]).to_dict()
    for cut in _long_event_cuts(capture.body):
        got = _read(backend, capture, [capture.body[:cut], capture.body[cut:]]).to_dict()
        assert got == whole, f"{capture.name} cut at {cut}"


# --------------------------------------------------------------------------------------------
# The captures themselves


def test_enough_captures_with_sources() -> None:
    assert len(CAPTURES) >= 60
    for capture in CAPTURES:
        source = capture.meta["source"]
        assert len(source["commit"]) == 40 and int(source["commit"], 16) >= 0
        assert source["repository"].count("/") == 1 and source["path"] and source["license"]
        assert capture.framing in ("sse", "json", "json-array", "ndjson", "aws-eventstream")
        assert capture.expected.get("status") in ("complete", "partial", "no_usage", "error")
        assert capture.body, capture.name


@pytest.mark.parametrize("capture", [pytest.param(c, id=c.name) for c in CAPTURES])
def test_strip_usage_removes_every_figure(backend: ModuleType, capture: Capture) -> None:
    """The stripped copy (for estimate benchmarks) keeps the framing and reports no usage."""
    stripped = strip_usage(capture)
    assert stripped and stripped != capture.body or capture.expected["no_usage_data"]
    if not _provider_supported(capture.provider):
        return
    record = backend.parse_usage(
        stripped, capture.provider, request=capture.request, estimator=Estimator()
    )
    assert record.no_usage_data, capture.name
    assert record.message_id == capture.expected.get("message_id", record.message_id)


# --------------------------------------------------------------------------------------------
# The official SDKs' accumulators on the same bytes


def _sse_json(body: bytes) -> list[tuple[str, Any]]:
    decoder = pure.SSEDecoder()
    events = decoder.feed(body) + decoder.flush()
    out = []
    for event in events:
        try:
            out.append((event.event, json.loads(event.data)))
        except ValueError:
            continue
    return out


def _anthropic_sdk_usage(body: bytes) -> dict[str, Any]:
    import inspect

    import httpx
    from anthropic.lib.streaming._beta_messages import accumulate_event

    # The accumulator's keyword arguments grew over SDK releases; pass the ones it takes.
    takes = inspect.signature(accumulate_event).parameters
    extra: dict[str, Any] = {}
    if "json_bufs" in takes:
        extra["json_bufs"] = {}
    if "request_headers" in takes:
        extra["request_headers"] = httpx.Headers()
    snapshot = None
    for name, data in _sse_json(body):
        if name == "error" or data.get("type") in ("ping", "error"):
            continue
        snapshot = accumulate_event(event=data, current_snapshot=snapshot, **extra)
    assert snapshot is not None
    usage = snapshot.usage
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "output_tokens": usage.output_tokens,
        "model": snapshot.model,
        "message_id": snapshot.id,
        "stop_reason": snapshot.stop_reason,
    }


def _openai_sdk_usage(body: bytes) -> dict[str, Any]:
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state: Any = ChatCompletionStreamState()
    for _, data in _sse_json(body):
        if "error" in data and "choices" not in data:
            continue
        state.handle_chunk(ChatCompletionChunk.construct(**data))
    snapshot = state.current_completion_snapshot
    usage = snapshot.usage
    out: dict[str, Any] = {"model": snapshot.model, "message_id": snapshot.id}
    if usage is None:
        out.update(input_tokens=None, output_tokens=None, cache_read_input_tokens=None)
        return out
    usage = usage if isinstance(usage, dict) else usage.to_dict()
    # The SDK keeps the provider's object; its buckets by OpenAI's documented totals: the prompt
    # includes the cached tokens, and a usage without details has none cached.
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    out.update(
        input_tokens=usage["prompt_tokens"] - cached,
        output_tokens=usage["completion_tokens"],
        cache_read_input_tokens=cached,
    )
    return out


SDK_READERS = {"anthropic": _anthropic_sdk_usage, "openai": _openai_sdk_usage}
SDK_CAPTURES = [
    pytest.param(c, id=c.name)
    for c in CAPTURES
    if c.framing == "sse"
    and c.provider in SDK_READERS
    and c.meta.get("sdk") != "none"
    and c.expected["status"] == "complete"
]


@pytest.mark.parametrize("capture", SDK_CAPTURES)
def test_sdk_accumulator_cross_check(capture: Capture) -> None:
    sdk = SDK_READERS[capture.provider](capture.body)
    expected = capture.expected
    differ = {k: (v, expected.get(k)) for k, v in sdk.items() if k in expected and v != expected[k]}
    reason = capture.meta.get("sdk_disagrees")
    if reason:
        assert differ, f"{capture.name}: the SDK now agrees; drop sdk_disagrees ({reason})"
    else:
        assert not differ, f"{capture.name}: (sdk, expected) {differ}"
