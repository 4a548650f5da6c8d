"""Token estimates for what a provider did not report: text statistics (`textstats`), the
calibrating `Estimator` (`estimator`), request-body readers per provider (`requests`), and the
one model-name normaliser that pricing uses too (`model_names`)."""

from __future__ import annotations

from .estimator import Estimator, default_estimator
from .learned import KINDS, MIN_BASE_TOKENS, MIN_SAMPLES, RATIO_MAX, RATIO_MIN, WINDOW
from .model_names import calibration_key, normalize_model_name, parse_model_name
from .requests import (
    ANTHROPIC_TOOLS_SYSTEM_TOKENS,
    FILE_TOKENS,
    IMAGE_TOKENS,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_REQUEST,
    RequestInfo,
    request_info,
)
from .textstats import COEFFICIENTS, STAT_FIELDS, Stats, base_tokens, text_stats

# The estimator's name for the calibration key (kept: it is what the tests and users knew).
normalize_model = calibration_key

__all__ = [
    "ANTHROPIC_TOOLS_SYSTEM_TOKENS",
    "COEFFICIENTS",
    "FILE_TOKENS",
    "IMAGE_TOKENS",
    "KINDS",
    "MIN_BASE_TOKENS",
    "MIN_SAMPLES",
    "RATIO_MAX",
    "RATIO_MIN",
    "STAT_FIELDS",
    "TOKENS_PER_MESSAGE",
    "TOKENS_PER_REQUEST",
    "WINDOW",
    "Estimator",
    "RequestInfo",
    "Stats",
    "base_tokens",
    "calibration_key",
    "default_estimator",
    "normalize_model",
    "normalize_model_name",
    "parse_model_name",
    "request_info",
    "text_stats",
]
