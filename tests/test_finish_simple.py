"""The native core's own record (`finish` in the core): for a parser without a request body
and a plain Estimator, the native core builds the record itself, the output estimate of a
stream without a final count included, and teaches the estimator's native store what
`_observe` would. It
must be the record the general path builds, and teach the estimator the same: checked on every
real capture, on the edge cases of `finish`'s rules (error bodies, `not_sse`, cut streams, no
usage, estimates off, `interrupted`) and on random streams of every kind learned (small windows
filled past their size), against the native parser with the shortcut turned off and against
the pure twin with the pure store.
"""

from __future__ import annotations

import json
import random
from types import ModuleType
from typing import Any

import pytest
from capture_index import load_captures
from sseusage_fast import pure
from sseusage_fast._finish import FinishMixin
from sseusage_fast.estimate import Estimator
from sseusage_fast.estimate.learned import _Windows
from sseusage_fast.estimate.model_names import calibration_key

native: ModuleType = pytest.importorskip("sseusage_fast.native")
_native: ModuleType = pytest.importorskip("sseusage_fast._native")

ANTHROPIC = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5",'
    b'"usage":{"input_tokens":12,"output_tokens":1}}}\n\n'
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta",'
    b'"text":"Hello there, this is a reply of some length to learn a ratio from."}}\n\n'
)
ANTHROPIC_END = (
    b"event: message_delta\n"
    b'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    b'"usage":{"output_tokens":17}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)
EDGE_BODIES: list[tuple[str, bytes]] = [
    ("complete", ANTHROPIC + ANTHROPIC_END),
    ("cut before the final usage", ANTHROPIC),
    ("cut inside an event", ANTHROPIC + ANTHROPIC_END[:40]),
    ("empty", b""),
    ("html", b"<html><body>502 Bad Gateway</body></html>"),
    ("gzip", b"\x1f\x8b\x08\x00garbage"),
    ("json error", b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
    (
        "stream error",
        ANTHROPIC + b'event: error\ndata: {"type":"error","error":{"type":"api_error"}}\n\n',
    ),
    ("no usage", b'data: {"choices":[{"delta":{"content":"hi"}}],"object":"x"}\n\n'),
    (
        "openai no input",
        (
            b'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4.1","choices":[],'
            b'"usage":{"completion_tokens":5}}\n\ndata: [DONE]\n\n'
        ),
    ),
    ("comments only", b": keep-alive\n\n: keep-alive\n\n"),
]


class NoShortcut(native.UsageParser):  # type: ignore[misc, name-defined]
    """The native parser with the core's own record turned off: the general path."""

    finish = FinishMixin.finish


def native_estimator(window: int = 64, min_samples: int = 3) -> Estimator:
    """An Estimator with the extension's store (which the core's path needs), whatever
    `SSEUSAGE_FAST_PURE` chose."""
    est = Estimator(window=window, min_samples=min_samples)
    est._ratios = _native.WindowStore(window, calibration_key)
    return est


def pure_estimator(window: int = 64, min_samples: int = 3) -> Estimator:
    """An Estimator with the pure store (`learned._Windows`) whatever is built."""
    est = Estimator(window=window, min_samples=min_samples)
    est._ratios = _Windows(window)
    return est


def records(parser_class: Any, body: bytes, estimator: Estimator, **kwargs: Any) -> tuple[Any, Any]:
    interrupted = kwargs.pop("interrupted", None)
    parser = parser_class(estimator=estimator, **kwargs)
    for at in range(0, len(body), 997):
        parser.feed(body[at : at + 997])
    first = parser.finish(interrupted=interrupted)
    # A later call gives the same record (with `interrupted` updated when given).
    assert parser.finish() is first
    return first, parser.finish(interrupted="cancelled")


def bodies() -> list[tuple[str, bytes]]:
    caps = [(c.name, c.body) for c in load_captures()]
    assert len(caps) > 50
    return caps + EDGE_BODIES


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"estimate": False}, {"interrupted": "client_disconnect"}, {"provider": "anthropic"}],
    ids=["default", "estimate-off", "interrupted", "anthropic"],
)
def test_the_cores_record_is_the_general_paths(kwargs: dict[str, Any]) -> None:
    fast_est, slow_est, pure_est = native_estimator(), Estimator(), pure_estimator()
    for name, body in bodies():
        fast = records(native.UsageParser, body, fast_est, **kwargs)
        slow = records(NoShortcut, body, slow_est, **kwargs)
        twin = records(pure.UsageParser, body, pure_est, **kwargs)
        assert fast == slow == twin, name
        # Field by field, types included (True is not 1 to a ledger that stores JSON).
        for a, b in zip(fast, slow):
            assert [type(v) for v in a.to_dict().values()] == [
                type(v) for v in b.to_dict().values()
            ], name
    # The same samples learned, in the same order.
    assert fast_est.to_json() == slow_est.to_json() == pure_est.to_json()
    assert fast_est.learned > 0 or kwargs.get("provider") == "anthropic"


def test_the_shortcut_is_taken_without_a_request() -> None:
    general: list[bool] = []

    class Counting(native.UsageParser):  # type: ignore[misc, name-defined]
        def _finish_raw(self) -> Any:  # what only the general path asks for
            general.append(True)
            return super()._finish_raw()

    est = native_estimator()
    for _, body in bodies():
        records(Counting, body, est)
    assert general == []  # the cut streams too: their output estimated in the core
    # With a request body, or an Estimator subclass: the general path.
    records(Counting, ANTHROPIC + ANTHROPIC_END, est, request={"messages": []})
    assert general == [True]

    class Sub(Estimator):
        pass

    records(Counting, ANTHROPIC + ANTHROPIC_END, Sub())
    assert general == [True, True]


# ---- random streams: every kind the core learns, windows past their size ---------------------

MODELS = ("claude-sonnet-4-5-20250929", "gpt-4.1-2025-04-14", "o4-mini", "Claude-Sonnet-4.5", "")
WORDS = (
    "the",
    "of",
    "token",
    "usage",
    "parser",
    "42",
    "3.14",
    "x_y",
    "{}",
    ":",
    ",",
    "的一是",
    "émigré",
)


def random_text(rng: random.Random) -> str:
    # From nothing to a few hundred base tokens: short replies (offsets), long ones (ratios),
    # markup-heavy ones (structured), CJK.
    n = rng.choice((0, 1, 3, 8, 30, 80, 200))
    sep = rng.choice((" ", "", "\n"))
    return sep.join(rng.choice(WORDS) for _ in range(n))


def maybe(rng: random.Random, value: int) -> int | None:
    return None if rng.random() < 0.2 else value


def anthropic_body(rng: random.Random) -> bytes:
    model = rng.choice(MODELS)
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "model": model,
                    "usage": {"input_tokens": rng.randint(0, 500), "output_tokens": 1},
                },
            },
        )
    ]
    for index in range(rng.randint(0, 3)):
        kind = rng.choice(("text", "thinking", "tool_use", "server_tool_use"))
        if kind == "text":
            start: dict[str, Any] = {"type": "text", "text": ""}
            delta: dict[str, Any] = {"type": "text_delta", "text": random_text(rng)}
        elif kind == "thinking":
            start = {"type": "thinking", "thinking": ""}
            delta = {"type": "thinking_delta", "thinking": random_text(rng)}
        else:
            start = {"type": kind, "id": "t", "name": "web_search", "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(random_text(rng))}
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            )
        )
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    usage: dict[str, Any] = {"output_tokens": rng.choice((0, 1, 5, 40, rng.randint(1, 3000)))}
    if rng.random() < 0.3:
        usage["server_tool_use"] = {"web_search_requests": rng.randint(0, 2)}
    events.append(
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage},
        )
    )
    if rng.random() < 0.9:
        events.append(("message_stop", {"type": "message_stop"}))
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


def openai_body(rng: random.Random) -> bytes:
    model = rng.choice(MODELS)
    chunks: list[dict[str, Any]] = []
    base = {"id": "c", "object": "chat.completion.chunk", "model": model}
    for _ in range(rng.randint(0, 3)):
        if rng.random() < 0.3:
            call = {"index": 0, "id": "call", "type": "function"}
            call["function"] = {"name": "f", "arguments": json.dumps(random_text(rng))}
            delta: dict[str, Any] = {"tool_calls": [call]}
        else:
            delta = {"content": random_text(rng)}
        chunks.append({**base, "choices": [{"index": 0, "delta": delta}]})
    usage: dict[str, Any] = {
        "prompt_tokens": rng.randint(0, 500),
        "completion_tokens": rng.choice((0, 1, 7, 60, rng.randint(1, 4000))),
    }
    reasoning = maybe(rng, rng.choice((0, 3, rng.randint(0, 3000))))
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        usage["completion_tokens"] += reasoning
    chunks.append({**base, "choices": [], "usage": usage})
    body = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)
    return body + b"data: [DONE]\n\n"


@pytest.mark.parametrize("window", [1, 3, 64])
def test_random_streams_teach_both_stores_the_same(window: int) -> None:
    rng = random.Random(window)
    fast_est, slow_est = native_estimator(window), Estimator(window=window)
    pure_est = pure_estimator(window)
    taken = 0
    for _ in range(600):
        body = anthropic_body(rng) if rng.random() < 0.5 else openai_body(rng)
        fast = records(native.UsageParser, body, fast_est)
        slow = records(NoShortcut, body, slow_est)
        twin = records(pure.UsageParser, body, pure_est)
        assert fast == slow == twin, body
        taken += fast[0].estimated == ()
        # Learned alike after every stream, not only at the end.
        assert fast_est.to_json() == slow_est.to_json() == pure_est.to_json(), body
    assert taken > 300
    state = json.loads(fast_est.to_json())
    kinds = {kind for windows in state["ratios"].values() for kind in windows}
    # Every kind learned without a request: the output ratios, a short reply's offset, the
    # hidden reasoning and its rate.
    assert kinds == {
        "output",
        "output:thinking",
        "output:tools",
        "output:structured",
        "output:offset",
        "reasoning",
        "reasoning:per_token",
    }
    if window < 64:  # the windows overflowed
        assert max(len(v) for w in state["ratios"].values() for v in w.values()) == window
        assert fast_est.learned > window


# ---- output estimates: every learned figure they read --------------------------------------


def cut_before_usage(body: bytes) -> bytes:
    """The body up to its last event that reports usage: no final output count."""
    at = body.rfind(b'usage"')
    return body[: body.rfind(b"\n\n", 0, at) + 2] if at > 0 else body


@pytest.mark.parametrize("seed", range(8))
def test_output_estimates_read_the_learned_windows_alike(seed: int) -> None:
    """Streams whose output is estimated (cut ones, and every capture), against estimators
    whose windows hold random learned figures of every kind (both stores given the same),
    small `min_samples` and windows of every fill: every branch of `estimate_output` that
    reads a learned ratio, spread or offset."""
    from sseusage_fast.estimate.learned import _LIMITS, KINDS

    rng = random.Random(seed)
    min_samples = rng.choice((1, 3, 5))
    fast_est, slow_est = (
        native_estimator(16, min_samples),
        Estimator(window=16, min_samples=min_samples),
    )
    pure_est = pure_estimator(16, min_samples)
    caps = [(c.name, c.body) for c in load_captures()]
    models = {pure.parse_usage(body).model for _, body in caps} | set(MODELS)
    keys = {calibration_key(m) for m in models} - {None}
    for key in sorted(keys):  # type: ignore[type-var]
        for kind in KINDS:
            if rng.random() < 0.6:
                low, high = _LIMITS[kind]
                top = min(high, low + 3 if low >= 0 else 60)
                values = [rng.uniform(low, top) for _ in range(rng.randint(1, 12))]
                for est in (fast_est, slow_est, pure_est):
                    est._ratios.put((key, kind), values)
    bodies_ = [cut_before_usage(body) for _, body in caps] + [body for _, body in caps]
    for _ in range(150):
        body = anthropic_body(rng) if rng.random() < 0.5 else openai_body(rng)
        bodies_.append(cut_before_usage(body) if rng.random() < 0.7 else body)
    estimated = set()
    for body in bodies_:
        kwargs = {"interrupted": "client_disconnect"} if rng.random() < 0.2 else {}
        fast = records(native.UsageParser, body, fast_est, **kwargs)
        slow = records(NoShortcut, body, slow_est, **kwargs)
        twin = records(pure.UsageParser, body, pure_est, **kwargs)
        assert fast == slow == twin, body
        # Types too (an int is not a float that equals it).
        shown = [repr([(r.output_tokens, r.estimate_ranges) for r in rs]) for rs in (fast, twin)]
        assert shown[0] == shown[1], body
        if fast[0].estimated:
            estimated.add(fast[0].estimate_reasons)
        assert fast_est.to_json() == slow_est.to_json() == pure_est.to_json(), body
    assert len(estimated) >= 5, estimated


# ---- the stores alone -------------------------------------------------------------------------


def test_the_stores_learn_by_the_same_constants() -> None:
    assert _native.WindowStore.constants() == _Windows.constants()


def test_the_core_estimates_by_the_same_constants() -> None:
    from sseusage_fast.estimate import bounds, families, learned
    from sseusage_fast.record import ESTIMATE_REASONS

    assert _native.WindowStore.estimate_constants() == (
        (bounds.TEXT_SPREAD, bounds.MARGIN, bounds.SLACK, families.ENCRYPTED_SPREAD),
        (learned.MIN_BASE_TOKENS, learned.SPREAD_SAMPLES),
        (
            families.TOOL_CALL_RATIO,
            families.SUMMARIZED_THINKING_RATIO,
            families.HIDDEN_REASONING_DEFAULT,
        ),
        (sorted(families.TOOL_CALL_TOKENS.items()), families.TOOL_CALL_TOKENS_DEFAULT),
        (sorted(families._SHORT_REPLY_TOKENS.items()), families.SHORT_REPLY_TOKENS),
        list(ESTIMATE_REASONS[:6]),
    )
    # A short reply's prior is learned as `output:offset` with weight 1 (`Reads.with_prior`).
    assert learned._PRIOR_WEIGHT["output:offset"] == 1
    assert families.reasoning_prior(None, None) == families.HIDDEN_REASONING_DEFAULT


@pytest.mark.parametrize("seed", range(20))
def test_the_stores_keep_the_same_windows(seed: int) -> None:
    from sseusage_fast.estimate.learned import KINDS

    rng = random.Random(seed)
    size = rng.randint(1, 6)
    stores = [_native.WindowStore(size, calibration_key), _Windows(size)]
    # Few distinct values, signed zeros among them: ties, and which equal value goes out.
    values = (0.0, -0.0, 1.0, 1.0, 2.5, -3.0, 1e-300)
    keys = [(m, k) for m in ("a", "b") for k in rng.sample(KINDS, 3)]

    def same() -> None:
        windows = [sorted(s.snapshot()[0], key=repr) for s in stores]
        assert repr(windows[0]) == repr(windows[1])
        for key in keys:
            need = rng.randint(0, size + 1)
            prior, weight = rng.choice(values), rng.randint(0, 2)
            assert repr(stores[0].median(key, need, prior, weight)) == repr(
                stores[1].median(key, need, prior, weight)
            )
            assert repr(stores[0].spread(key, need)) == repr(stores[1].spread(key, need))
            assert stores[0].count(key) == stores[1].count(key)
        assert stores[0].learned == stores[1].learned

    for _ in range(60):
        step = rng.random()
        if step < 0.7:
            batch = [
                (rng.choice(keys), rng.choice(values), rng.random() < 0.5)
                for _ in range(rng.randint(0, 4))
            ]
            for s in stores:
                s.add_all(batch)
        elif step < 0.85:
            key, vals = rng.choice(keys), [rng.choice(values) for _ in range(rng.randint(1, 9))]
            for s in stores:
                s.put(key, vals)
        else:
            older = [(rng.choice(keys), [rng.choice(values) for _ in range(rng.randint(1, 4))])]
            for s in stores:
                s.merge(older, 2)
        same()
    for s in stores:
        with pytest.raises(ValueError):
            s.add_all([(("a", "no such kind"), 1.0, True)])
        # Read, a kind never learned has an empty window.
        assert s.count(("a", "no such kind")) == 0
        assert s.median(("a", "no such kind"), 0) is None
        assert s.spread(("a", "no such kind"), 0) is None
