"""The native core's own record (`_finish_simple`): where `finish()` has nothing to estimate
(no request body, a plain Estimator, a final output count or estimates off), the native core
builds the record itself. It must be the record the general path builds, and teach the
estimator the same: checked on every real capture and on the edge cases of `finish`'s rules
(error bodies, `not_sse`, cut streams, no usage, estimates off, `interrupted`), against the
native parser with the shortcut turned off and against the pure twin.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from capture_index import load_captures
from sseusage_fast import pure
from sseusage_fast.estimate import Estimator

native: ModuleType = pytest.importorskip("sseusage_fast.native")

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

    _finish_simple = None


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
    fast_est, slow_est, pure_est = Estimator(), Estimator(), Estimator()
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
    assert fast_est._learned > 0 or kwargs.get("provider") == "anthropic"


def test_the_shortcut_is_taken_where_nothing_is_estimated() -> None:
    taken: list[bool] = []

    class Counting(native.UsageParser):  # type: ignore[misc, name-defined]
        def _finish_simple(self, builder: Any, interrupted: Any) -> Any:
            done = super()._finish_simple(builder, interrupted)
            taken.append(done is not None)
            return done

    est = Estimator()
    for _, body in bodies():
        records(Counting, body, est)
    assert sum(taken) > len(taken) // 2, (sum(taken), len(taken))
    assert not all(taken)  # the cut streams estimate their output: the general path
    # With a request body, or an Estimator subclass, the general path: never called.
    taken.clear()
    records(Counting, ANTHROPIC + ANTHROPIC_END, est, request={"messages": []})

    class Sub(Estimator):
        pass

    records(Counting, ANTHROPIC + ANTHROPIC_END, Sub())
    assert taken == []
