"""The benchmark's layouts (`layouts.LAYOUTS`: the corpus re-serialised as relays and providers
write it) read the same on both backends, whole and in random chunkings, and report the usage
the generator put in: the layouts table measures correct readers, not fast wrong ones."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
import corpus
import layouts
from sseusage_fast import pure

LAYOUT_KEYS = [layout.key for layout in layouts.LAYOUTS]


def _chunks(body: bytes, rng: random.Random) -> list[bytes]:
    out, at = [], 0
    while at < len(body):
        n = rng.choice((1, 2, 7, 64, 500, 16384))
        out.append(body[at : at + n])
        at += n
    return out


@pytest.mark.parametrize("key", LAYOUT_KEYS)
def test_layout_reads_as_the_pure_twin_and_the_generator(backend, key: str) -> None:
    layout = next(layout for layout in layouts.LAYOUTS if layout.key == key)
    streams = layouts.layout_corpus(layout, seed=4242, target_bytes=96 * corpus.KIB)
    assert streams and all(s.body for s in streams)
    rng = random.Random(key)
    for s in streams:
        whole = backend.parse_usage(s.body)
        assert whole == pure.parse_usage(s.body), s.name
        parser = backend.UsageParser()
        for chunk in _chunks(s.body, rng):
            parser.feed(chunk)
        assert parser.finish() == whole, s.name
        expected = corpus.core(s.expected)
        if expected is None:
            assert whole.status == "no_usage", s.name  # the figures are estimates then
            continue
        got = {f: getattr(whole, f) for f in corpus.CORE_FIELDS if getattr(whole, f) is not None}
        assert got == expected, s.name


def test_layouts_change_the_bytes_not_the_events() -> None:
    """Each layout really is another byte layout of the same stream."""
    stream = corpus.build_corpus(seed=7, target_bytes=8 * corpus.KIB, providers=("anthropic",))[0]
    bodies = {key: layouts.relayout(stream, key) for key in LAYOUT_KEYS if key.startswith("anth")}
    assert len(set(bodies.values())) == len(bodies)
    assert b"event:" not in bodies["anthropic_no_event"]
    assert b"\nid: " in bodies["anthropic_id"]
    assert b"data:{" in bodies["anthropic_data_nospace"]
    assert b'"trace"' in bodies["anthropic_extra_field"]


def _relayout_gemini(body: bytes, style: int, rng: random.Random) -> bytes:
    """A recorded Gemini stream with each chunk's JSON written again: keys reversed and
    `json.dumps` spacing; compact with `\\uXXXX` escapes and CR line ends; keys shuffled and
    CRLF line ends."""

    def reorder(value: object, shuffle: bool) -> object:
        if isinstance(value, dict):
            items = [(k, reorder(v, shuffle)) for k, v in value.items()]
            if shuffle:
                rng.shuffle(items)
            else:
                items.reverse()
            return dict(items)
        if isinstance(value, list):
            return [reorder(v, shuffle) for v in value]
        return value

    eol = (b"\n", b"\r", b"\r\n")[style]
    out = []
    for line in body.splitlines():
        if not line.startswith(b"data:"):
            out.append(line)
            continue
        obj = json.loads(line[5:])
        if style == 0:
            text = json.dumps(reorder(obj, False))
        elif style == 1:
            text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
        else:
            text = json.dumps(reorder(obj, True), separators=(",", ":"), ensure_ascii=False)
        out.append(b"data: " + text.encode())
    return eol.join(out) + eol


@pytest.mark.parametrize("style", [0, 1, 2])
def test_gemini_recordings_in_other_layouts_read_as_the_pure_twin(backend, style: int) -> None:
    """The native skim reader of Gemini chunks against the pure twin's tree, on the real
    recordings written again in other layouts, whole and in random chunkings: the same record
    as the recording's own bytes give."""
    streams = layouts.capture_corpus(1, layouts.GEMINI_CAPTURES)
    assert len(streams) >= 10
    rng = random.Random(style)
    changed = 0
    for s in streams:
        body = _relayout_gemini(s.body, style, rng)
        changed += body != s.body
        whole = backend.parse_usage(body)
        assert whole == pure.parse_usage(body), s.name
        original = pure.parse_usage(s.body)
        for field in (*corpus.CORE_FIELDS, "status", "model", "stop_reason", "output_tokens"):
            assert getattr(whole, field) == getattr(original, field), (s.name, field)
        parser = backend.UsageParser()
        for chunk in _chunks(body, rng):
            parser.feed(chunk)
        assert parser.finish() == whole, s.name
    assert changed == len(streams)
