"""One suite for both backends: every test that takes `backend` runs on native and pure."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterator
from types import ModuleType

import pytest

# Fixtures of the proxy tests (upstream, ledger), shared by their files.
pytest_plugins = ["proxy_harness", "ledger_data"]

BACKENDS = ("native", "pure")


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A command run in-process (`sseusage proxy ...`) sets up the root logger for the whole
    process, bound to the stderr of its test; later tests must not log into that stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def load_backend(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"sseusage_fast.{name}")
    except ImportError:
        if os.environ.get("SSEUSAGE_REQUIRE_NATIVE") == "1":
            raise
        pytest.skip("the native extension is not built")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> ModuleType:
    """`sseusage_fast.native` or `sseusage_fast.pure`: same classes, same results."""
    return load_backend(request.param)


@pytest.fixture
def both() -> tuple[ModuleType, ModuleType]:
    """Both backends at once, for differential tests (native first)."""
    return load_backend("native"), load_backend("pure")
