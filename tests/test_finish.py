"""`finish()` and the settings it reads. On its fast path (a plain Estimator: the core's stats
taken unchecked, positional calls) it gives exactly what the public path gives (an Estimator
subclass takes that one): the same records, and the same learned state after the same
streams."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sseusage_fast import pure
from sseusage_fast.estimate import STAT_FIELDS, Estimator
from sseusage_fast.estimate import estimator as estimator_module
from sseusage_fast.record import RAW_FIELDS, TOKEN_COUNT_FIELDS

# benches/ is not a package (it runs as scripts): import its corpus by path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
import corpus

TEXTS = ("a prompt about streams, tokens and bills. " * 20, "天气很好，温度 21°C " * 30, "x")


class PublicPath(Estimator):
    """Overrides nothing, but is not `Estimator` itself: `finish` calls its public methods."""


def request_for(provider: str, rng: random.Random) -> Any:
    text = rng.choice(TEXTS) + str(rng.random())
    if provider == "anthropic":
        body: dict[str, Any] = {
            "system": "be brief",
            "messages": [{"role": "user", "content": text}],
        }
    else:
        body = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": text}]}
    return rng.choice([body, json.dumps(body), json.dumps(body).encode()])


@pytest.fixture(scope="module")
def streams() -> list[corpus.Stream]:
    return corpus.build_corpus(seed=31, target_bytes=256 * corpus.KIB)


def test_core_stats_are_seven_ints(backend: ModuleType, streams: list[corpus.Stream]) -> None:
    # What the fast path trusts: every stats tuple a core counts is a 7-tuple of exact ints.
    at = RAW_FIELDS.index("output_stats")
    for stream in streams:
        parser = backend.UsageParser()
        parser.feed(stream.body[: len(stream.body) // 2])
        stats = parser._finish_raw()[at]
        assert type(stats) is tuple and len(stats) == len(STAT_FIELDS)
        assert all(type(v) is int for v in stats)
    stats = estimator_module.text_stats(TEXTS[0] + TEXTS[1])
    assert type(stats) is tuple and len(stats) == len(STAT_FIELDS)
    assert all(type(v) is int for v in stats)


def test_fast_path_is_the_public_path(backend: ModuleType, streams: list[corpus.Stream]) -> None:
    rng = random.Random(8)
    fast, public = Estimator(), PublicPath()
    estimated: set[str] = set()
    for _ in range(3):  # later rounds estimate with what earlier ones learned
        for stream in streams:
            body = stream.body
            if rng.random() < 0.3:  # cut: partial and no-usage records, output estimates
                body = body[: rng.randrange(len(body) + 1)]
            request = request_for(stream.provider, rng) if rng.random() < 0.6 else None
            interrupted = rng.choice([None, "cancelled"])
            records = []
            for est in (fast, public):
                parser = backend.UsageParser(request=request, estimator=est)
                parser.feed(body)
                records.append(parser.finish(interrupted=interrupted))
            assert records[0] == records[1]
            estimated.update(records[0].estimated)
    # Both estimates and both kinds of learning took place.
    assert estimated == {"input_tokens", "output_tokens"}
    state = json.loads(fast.to_json())
    assert {kind for kinds in state["ratios"].values() for kind in kinds} >= {"input", "output"}
    assert fast.to_json() == public.to_json()


def test_default_settings_are_not_stored(backend: ModuleType) -> None:
    # Defaults are class attributes; given ones are stored and used.
    parser = backend.UsageParser()
    assert "_request" not in getattr(parser, "__dict__", {})
    est = Estimator()
    parser = backend.UsageParser("openai", request={"messages": []}, estimator=est, estimate=False)
    assert (parser._request, parser._estimator, parser._estimate) == ({"messages": []}, est, False)
    parser.feed(b'data: {"id":"c","model":"gpt-4o","choices":[]}\n\n')
    assert parser.finish().estimated == ()


def test_settings_are_kept_as_given(backend: ModuleType) -> None:
    # The native core's __new__ keeps them (no Python __init__): the same objects, `None` and
    # other falsy values of `estimate` included, and the same estimates from them.
    parser = backend.UsageParser()
    assert (parser._request, parser._estimator, parser._estimate) == (None, None, True)
    assert parser._estimate is True
    body = b'data: {"id":"c","model":"gpt-4o","choices":[{"delta":{"content":"Hi"}}]}\n\n'
    request = {"messages": [{"role": "user", "content": "Hello there"}]}
    for estimate in (True, False, None, 0, 1, "yes"):
        est = Estimator()
        parser = backend.UsageParser(
            provider="openai", request=request, estimator=est, estimate=estimate
        )
        assert parser._request is request and parser._estimator is est
        assert parser._estimate is estimate
        parser.feed(body)
        assert parser.finish().estimated == (("output_tokens", "input_tokens") if estimate else ())


def test_parser_signature_and_refusals_are_the_same_on_both(
    both: tuple[ModuleType, ModuleType],
) -> None:
    import inspect

    native, pure = both
    assert str(inspect.signature(native.UsageParser)) == str(inspect.signature(pure.UsageParser))
    assert native.UsageParser.__doc__ == pure.UsageParser.__doc__
    for backend in both:
        with pytest.raises(TypeError):
            backend.UsageParser("auto", None)
        with pytest.raises(TypeError):
            backend.UsageParser(no_such_setting=1)
        with pytest.raises(ValueError, match="unknown provider"):
            backend.UsageParser("nope")
        with pytest.raises(ValueError, match="max_event_bytes"):
            backend.UsageParser(max_event_bytes=0)
        parser = backend.UsageParser(max_event_bytes=64)
        parser.feed(b"data: " + b"x" * 100 + b"\n\n")
        # `finish` takes one keyword, and nothing else (refused before anything is finished).
        with pytest.raises(TypeError):
            parser.finish("cancelled")
        with pytest.raises(TypeError):
            parser.finish(no_such_argument=1)
        with pytest.raises(TypeError):
            parser.finish(interrupted=None, no_such_argument=1)
        assert parser.finish().error_type == "event_too_large"
        # The keyword by any string of its name, and None as not given.
        name = "interrupted!".rstrip("!")  # made at run time: not the interned name
        assert parser.finish(**{name: "cancelled"}).interrupted == "cancelled"
        assert parser.finish(interrupted=None).interrupted is None


@pytest.mark.parametrize("count", [None, *TOKEN_COUNT_FIELDS, "web_search_requests"])
def test_no_usage_data_sees_each_count(count: str | None) -> None:
    # finish tells "no count reported" from the raw record's counts one by one.
    from sseusage_fast._api import make_parser_class

    raw = list(pure.UsageParser()._finish_raw())
    if count is not None:
        raw[RAW_FIELDS.index(count)] = 0

    class Core:
        def __init__(self, provider: str, max_event_bytes: int, content_type: str | None) -> None:
            pass

        def _finish_raw(self) -> tuple[Any, ...]:
            return tuple(raw)

    record = make_parser_class(Core, __name__)(estimate=False).finish()
    assert record.no_usage_data is (count is None or count not in TOKEN_COUNT_FIELDS)


def test_without_an_estimator_the_default_one_learns(
    backend: ModuleType, streams: list[corpus.Stream]
) -> None:
    default = estimator_module.default_estimator()
    for stream in streams:
        given = Estimator()
        parser = backend.UsageParser(estimator=given)
        parser.feed(stream.body)
        parser.finish()
        before = default.learned
        parser = backend.UsageParser()
        parser.feed(stream.body)
        parser.finish()
        assert default.learned - before == given.learned
    assert default.learned > 0


def test_the_one_provider_list_is_what_both_parsers_take(
    both: tuple[ModuleType, ModuleType],
) -> None:
    # `inspect --provider` and the proxy's routes read sseusage_fast.record.PROVIDERS: a name
    # there that a parser refuses, or a parser's name missing there, is a mismatch.
    from sseusage_fast.cli import inspect as inspect_command
    from sseusage_fast.proxy import config
    from sseusage_fast.pure.providers.facts import PROVIDERS as PURE_PROVIDERS
    from sseusage_fast.record import PROVIDERS

    assert inspect_command.PROVIDERS is PROVIDERS and config.PROVIDERS is PROVIDERS
    assert set(PURE_PROVIDERS) == set(PROVIDERS)
    for backend in both:
        for name in PROVIDERS:
            assert backend.UsageParser(name).finish().status == "no_usage"
