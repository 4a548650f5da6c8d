"""Text the estimate reads where a provider does not put it in `content` as a string: Mistral's
thinking parts (`delta.content` as an array of thinking and text parts), the transcript of an
audio reply and a legacy completion's `choices[].text` (issue 17: a stream whose usage is lost
was estimated at 0 or 1 token for 40 to 139 billed). Both backends, whole, one event per read
and 16 KiB reads, give the same record; it is the record of the same words sent as plain
strings."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from capture_index import load_captures, strip_usage
from sseusage_fast.estimate import Estimator
from sseusage_fast.record import UsageRecord

WORDS = [
    "Okay, the",
    " user asks for 17 * 23.",
    " 17 * 20 = 340, 17 * 3 = 51,",
    " so 340 + 51 = 391.",
]
ANSWER = ["17 × 23 = ", "391", "."]
CHUNK_16K = 16 * 1024


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {
        "id": "cmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "mistral-small-latest",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _stream(thinking_delta: Any, repeat: int) -> bytes:
    """A stream of `repeat` rounds of thinking chunks then the answer (no usage: estimated)."""
    events = [_chunk({"role": "assistant", "content": ""})]
    for _ in range(repeat):
        events += [_chunk(thinking_delta(w)) for w in WORDS]
    events += [_chunk({"content": a}) for a in ANSWER]
    events.append(_chunk({}, "stop"))
    return b"".join(events) + b"data: [DONE]\n\n"


def _mistral(word: str) -> dict[str, Any]:
    return {
        "content": [
            {"type": "thinking", "thinking": [{"type": "text", "text": word}], "closed": True}
        ]
    }


def _reasoning(word: str) -> dict[str, Any]:
    return {"reasoning_content": word}


def _reads(backend: ModuleType, body: bytes, provider: str = "auto") -> list[UsageRecord]:
    """The record of `body` read whole, one event per feed and in 16 KiB reads."""
    out = [backend.parse_usage(body, provider, estimator=Estimator())]
    for pieces in (
        [e + b"\n\n" for e in body.split(b"\n\n") if e],
        [body[at : at + CHUNK_16K] for at in range(0, len(body), CHUNK_16K)],
    ):
        parser = backend.UsageParser(provider, estimator=Estimator())
        for piece in pieces:
            parser.feed(piece)
        out.append(parser.finish())
    return out


@pytest.mark.parametrize("repeat", [1, 400])
def test_mistral_thinking_parts_count_as_streamed_thinking(
    backend: ModuleType, repeat: int
) -> None:
    body = _stream(_mistral, repeat)
    if repeat > 1:
        assert len(body) > 4 * CHUNK_16K  # the reads split chunks
    records = _reads(backend, body)
    same_words = backend.parse_usage(_stream(_reasoning, repeat), estimator=Estimator())
    assert same_words.output_tokens is not None and same_words.output_tokens > 10 * repeat
    for record in records:
        assert record.estimated == ("output_tokens",)
        assert record.output_tokens == same_words.output_tokens
        assert record.estimate_ranges == same_words.estimate_ranges
        assert record.estimate_reasons == same_words.estimate_reasons


def test_text_parts_and_thinking_as_a_string(backend: ModuleType) -> None:
    """A text part counts as content; a thinking part whose `thinking` is a string counts."""
    parts = _stream(
        lambda w: {"content": [{"type": "thinking", "thinking": w}, {"type": "text", "text": w}]},
        3,
    )
    plain = _stream(lambda w: {"reasoning_content": w, "content": w}, 3)
    # The order differs (content before reasoning in a plain delta), the words do not.
    got = _reads(backend, parts)
    want = backend.parse_usage(plain, estimator=Estimator()).output_tokens
    assert all(abs((r.output_tokens or 0) - want) <= 1 for r in got)
    assert all(r.output_tokens == got[0].output_tokens for r in got)


def _body(message: dict[str, Any] | None, model: str, **choice: Any) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion" if message is not None else "text_completion",
        "model": model,
        "choices": [
            {"index": 0, **({"message": message} if message else {}), **choice},
        ],
    }
    body["choices"][0]["finish_reason"] = "stop"
    return json.dumps(body).encode()


SENTENCE = "The quick brown fox jumps over the lazy dog, and then it naps in the sun."


def test_audio_transcript_of_a_body_is_counted(backend: ModuleType) -> None:
    audio = {"id": "a1", "data": "UklGRg==", "expires_at": 1, "transcript": SENTENCE}
    body = _body({"role": "assistant", "content": None, "audio": audio}, "gpt-audio-1.5")
    text = _body({"role": "assistant", "content": SENTENCE}, "gpt-audio-1.5")
    want = backend.parse_usage(text, "openai", estimator=Estimator()).output_tokens
    assert want is not None and want > 10
    for record in _reads(backend, body, "openai"):
        assert record.output_tokens == want, record


def test_legacy_completion_text_of_a_body_is_counted(backend: ModuleType) -> None:
    body = _body(None, "pangu", text=SENTENCE)
    text = _body({"role": "assistant", "content": SENTENCE}, "pangu")
    want = backend.parse_usage(text, "openai", estimator=Estimator()).output_tokens
    for provider in ("openai", "auto"):
        for record in _reads(backend, body, provider):
            assert record.provider == "openai"
            assert record.output_tokens == want, record


@pytest.mark.parametrize(
    "name, at_least",
    [
        ("mistral/thinking_stream.sse", 100),
        ("openai/audio_completion.json", 3),
        ("vllm/completion_pangu.json", 40),
        ("anthropic/compaction_message.json", 1700),
        ("anthropic/compaction_stream.sse", 80),
    ],
)
def test_real_captures_without_usage_are_estimated_from_their_text(
    both: tuple[ModuleType, ModuleType], name: str, at_least: int
) -> None:
    """The captures of the accuracy bench that were estimated at 0 or 1 token: the same
    record on both backends, at every read size, and no longer near nothing."""
    cap = next(c for c in load_captures() if c.name == name)
    body = strip_usage(cap)
    native, pure = (_reads(b, body, cap.provider) for b in both)
    assert native == pure
    assert all(r == native[0] for r in native)
    assert native[0].estimated[:1] == ("output_tokens",)
    assert native[0].output_tokens is not None and native[0].output_tokens >= at_least


def test_streamed_audio_transcripts_and_completion_text_are_counted(
    both: tuple[ModuleType, ModuleType],
) -> None:
    """`delta.audio.transcript` and a legacy completion stream's `choices[].text`: the fast
    reader declines such chunks and the tree counts them, the same on both backends and as
    the same words sent as content."""

    def completion(text: str | None, finish: str | None = None) -> bytes:
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
        if text is not None:
            choice["text"] = text
        payload = {
            "id": "cmpl-1",
            "object": "text_completion",
            "model": "pangu",
            "choices": [choice],
        }
        return b"data: " + json.dumps(payload).encode() + b"\n\n"

    audio = b"".join(_chunk({"audio": {"id": "a", "transcript": w}}) for w in WORDS * 50) + _chunk(
        {}, "stop"
    )
    texts = b"".join(completion(w) for w in WORDS * 50) + completion(None, "length")
    content = b"".join(_chunk({"content": w}) for w in WORDS * 50) + _chunk({}, "stop")
    for body in (audio, texts):
        native, pure = (_reads(b, body, "openai") for b in both)
        assert native == pure
        want = both[1].parse_usage(content, "openai", estimator=Estimator()).output_tokens
        assert want is not None and want > 100
        assert all(r.output_tokens == want for r in native), [r.output_tokens for r in native]
