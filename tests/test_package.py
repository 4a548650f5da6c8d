"""The package surface the contract fixes: the backend choice at import, the switch that forces
the pure one, the fallback when the extension is missing, and the exported names."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

EXPORTS = (
    "Event",
    "Estimator",
    "Pricing",
    "SSEDecoder",
    "UsageParser",
    "UsageRecord",
    "atap",
    "parse_usage",
    "tap",
    "BACKEND",
)


def run(code: str, **env: str) -> str:
    """Runs `code` in a fresh interpreter (imports are decided once per process)."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_both_backends_offer_the_same_names() -> None:
    from sseusage_fast import pure

    for name in ("Event", "SSEDecoder", "UsageParser", "parse_usage"):
        assert hasattr(pure, name)
    try:
        from sseusage_fast import native
    except ImportError:
        pytest.skip("the native extension is not built")
    for name in ("Event", "SSEDecoder", "UsageParser", "parse_usage"):
        assert hasattr(native, name)


def test_top_level_prefers_native_and_exports_the_contract() -> None:
    out = run(
        """
        import sseusage_fast as s
        missing = [n for n in EXPORTS if not hasattr(s, n)]
        try:
            import sseusage_fast.native as native
            expected = "native"
            same = s.UsageParser is native.UsageParser and s.SSEDecoder is native.SSEDecoder
        except ImportError:
            expected, same = "pure", True
        print(s.BACKEND == expected, same, missing)
        """.replace("EXPORTS", repr(EXPORTS)),
        SSEUSAGE_FAST_PURE="",
    )
    assert out == "True True []"


def test_environment_switch_forces_pure() -> None:
    out = run(
        """
        import sseusage_fast as s, sseusage_fast.pure as pure
        print(s.BACKEND, s.UsageParser is pure.UsageParser, s.parse_usage is pure.parse_usage)
        """,
        SSEUSAGE_FAST_PURE="1",
    )
    assert out == "pure True True"


def test_missing_extension_falls_back_to_pure() -> None:
    out = run(
        """
        import sys
        sys.modules["sseusage_fast._native"] = None  # as if the extension were not built
        import sseusage_fast as s
        try:
            import sseusage_fast.native
            native = "imported"
        except ImportError:
            native = "ImportError"
        print(s.BACKEND, native, s.parse_usage(b"data: {}\\n\\n").status)
        """,
        SSEUSAGE_FAST_PURE="",
    )
    assert out == "pure ImportError no_usage"


def test_core_import_pulls_in_no_dependency() -> None:
    out = run(
        """
        import sys, sseusage_fast
        print(sorted(m for m in ("anyio", "httpx", "starlette", "uvicorn", "psycopg")
                     if m in sys.modules))
        """
    )
    assert out == "[]"
