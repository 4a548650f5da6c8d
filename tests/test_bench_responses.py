"""The benchmark's OpenAI Responses streams are laid out as the API writes them (the recording
`tests/captures/openai-responses/lf_responses_stream.sse`; the sorted layout as
`streaming_with_content.sse`), and every usage peer reads their usage."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
import corpus
import layouts
import peers

CAPTURES = Path(__file__).resolve().parent / "captures" / "openai-responses"
RESPONSES = [layout for layout in layouts.LAYOUTS if layout.provider == "openai-responses"]


def _events(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in body.decode().split("\n\n"):
        if block:
            name, data = block.split("\n")
            assert name.startswith("event: ") and data.startswith("data: {")
            out.append((name[7:], json.loads(data[6:])))
    return out


def _shape(body: bytes) -> list[tuple[str, list[str]]]:
    """Each event's type and top-level keys, runs of deltas as one."""
    out: list[tuple[str, list[str]]] = []
    for name, obj in _events(body):
        assert obj["type"] == name
        if not out or out[-1] != (name, list(obj)):
            out.append((name, list(obj)))
    return out


@pytest.mark.parametrize(
    ("key", "capture"),
    [
        ("responses_api", "lf_responses_stream.sse"),
        ("responses_sorted", "streaming_with_content.sse"),
    ],
)
def test_layout_is_the_recorded_one(key: str, capture: str) -> None:
    layout = next(layout for layout in layouts.LAYOUTS if layout.key == key)
    recorded = (CAPTURES / capture).read_bytes()
    for s in layouts.layout_corpus(layout, seed=5, target_bytes=64 * corpus.KIB):
        assert _shape(s.body) == _shape(recorded), s.name
        events = _events(s.body)
        if key == "responses_api":
            assert [obj["sequence_number"] for _, obj in events] == list(range(len(events)))
            # The response objects' keys, and the usage's, as recorded.
            assert list(events[-1][1]["response"]) == list(_events(recorded)[-1][1]["response"])
        deltas = [obj for name, obj in events if name == "response.output_text.delta"]
        assert len(deltas) > 10
        assert len({d["obfuscation"] for d in deltas}) > len(deltas) // 2
        usage = events[-1][1]["response"]["usage"]
        assert list(usage) == list(_events(recorded)[-1][1]["response"]["usage"])
        assert s.expected == peers.normalize(usage)


@pytest.mark.parametrize("layout", RESPONSES, ids=lambda layout: layout.key)
@pytest.mark.parametrize("key", [key for key, *_ in peers.USAGE_PEERS])
def test_peer_gets_the_generator_usage(layout: layouts.Layout, key: str) -> None:
    fn, module = next((fn, module) for k, _, fn, module in peers.USAGE_PEERS if k == key)
    if module is not None:
        pytest.importorskip(module)
    for s in layouts.layout_corpus(layout, seed=6, target_bytes=128 * corpus.KIB):
        assert s.expected is not None
        for chunking in ("16k", "event", "64"):
            assert fn(corpus.cut(s.body, chunking)) == s.expected, (key, s.name, chunking)
