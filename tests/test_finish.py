"""`finish()` and the settings it reads."""

from __future__ import annotations

from types import ModuleType

from sseusage_fast.estimator import Estimator


def test_default_settings_are_not_stored(backend: ModuleType) -> None:
    # Defaults are class attributes; given ones are stored and used.
    parser = backend.UsageParser()
    assert "_request" not in getattr(parser, "__dict__", {})
    est = Estimator()
    parser = backend.UsageParser("openai", request={"messages": []}, estimator=est, estimate=False)
    assert (parser._request, parser._estimator, parser._estimate) == ({"messages": []}, est, False)
    parser.feed(b'data: {"id":"c","model":"gpt-4o","choices":[]}\n\n')
    assert parser.finish().estimated == ()
