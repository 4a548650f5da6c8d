"""The old home of the Estimator, kept so that `from sseusage_fast.estimator import Estimator`
(in users' code and in branches written before the move) still works: everything lives in the
`estimate` package now."""

from __future__ import annotations

from .estimate import (
    ANTHROPIC_TOOLS_SYSTEM_TOKENS,
    FILE_TOKENS,
    IMAGE_TOKENS,
    MIN_BASE_TOKENS,
    RATIO_MAX,
    RATIO_MIN,
    STAT_FIELDS,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_REQUEST,
    WINDOW,
    Estimator,
    RequestInfo,
    Stats,
    default_estimator,
    normalize_model,
    text_stats,
)

__all__ = [
    "ANTHROPIC_TOOLS_SYSTEM_TOKENS",
    "FILE_TOKENS",
    "IMAGE_TOKENS",
    "MIN_BASE_TOKENS",
    "RATIO_MAX",
    "RATIO_MIN",
    "STAT_FIELDS",
    "TOKENS_PER_MESSAGE",
    "TOKENS_PER_REQUEST",
    "WINDOW",
    "Estimator",
    "RequestInfo",
    "Stats",
    "default_estimator",
    "normalize_model",
    "text_stats",
]
