"""The Python half of `UsageParser`, shared by both backends: turns a core's raw record into a
`UsageRecord`, estimating what the provider did not report (and saying so), and teaching the
estimator from complete records. One code path, so both backends estimate identically."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .estimator import Estimator, RequestInfo, default_estimator
from .record import (
    FIELD_NAMES,
    TOKEN_COUNT_FIELDS,
    TOKEN_FIELDS,
    UsageRecord,
    record_from_values,
)

# Positions in the record's values (`record.FIELD_NAMES` order; checked below).
_INPUT = TOKEN_FIELDS.index("input_tokens")
_OUTPUT = TOKEN_FIELDS.index("output_tokens")
_N_COUNTS = len(TOKEN_COUNT_FIELDS)
_FROM_RAW = ("service_tier", "speed", "provider", "model", "message_id", "stop_reason", "status")
_REST = ("error_type", "error_message", "no_usage_data", "requires_manual_review", "estimated")
_LAST = ("interrupted", "raw_usage", "notes")
if TOKEN_FIELDS[:_N_COUNTS] != TOKEN_COUNT_FIELDS or FIELD_NAMES != (
    TOKEN_FIELDS + _FROM_RAW + _REST + _LAST
):
    raise ImportError("build_record's field order no longer matches UsageRecord")


def build_record(
    raw: dict[str, Any],
    *,
    request: Any,
    estimator: Estimator,
    estimate: bool,
    interrupted: str | None,
) -> tuple[UsageRecord, RequestInfo | None]:
    status = raw["status"]
    provider = raw["provider"]
    model = raw["model"]
    tokens = [raw[name] for name in TOKEN_FIELDS]
    reported = tokens[:_N_COUNTS].count(None) != _N_COUNTS
    # A JSON error response (HTTP 4xx/5xx body) bills nothing: nothing to estimate or review.
    error_body = status == "error" and raw["body_kind"] == "json" and not reported
    info = Estimator.request_info(request, provider) if request is not None else None

    estimated: list[str] = []
    if estimate and not error_body:
        if not raw["output_final"] and status != "not_sse":
            # A message_start placeholder is not the output; the streamed text is a floor.
            guess = estimator.estimate(raw["output_stats"], model=model, kind="output")
            tokens[_OUTPUT] = max(guess, tokens[_OUTPUT] or 0)
            estimated.append("output_tokens")
        if tokens[_INPUT] is None and info is not None:
            tokens[_INPUT] = estimator.estimate(info.stats, model=model, kind="input")
            tokens[_INPUT] += info.overhead
            estimated.append("input_tokens")

    # The figures a bill is made of: when one of these is unknown or estimated, a human looks.
    review = not error_body and (
        status != "complete" or bool(estimated) or tokens[_INPUT] is None or tokens[_OUTPUT] is None
    )
    record = record_from_values(
        (
            *tokens,
            raw["service_tier"],
            raw["speed"],
            provider,
            model,
            raw["message_id"],
            raw["stop_reason"],
            status,
            raw["error_type"],
            raw["error_message"],
            not reported,
            review,
            tuple(estimated),
            interrupted,
            raw["raw_usage"],
            tuple(raw["notes"]),
        )
    )
    return record, info


class FinishMixin:
    """`finish()` and the Python-side settings of a `UsageParser`."""

    _request: Any
    _estimator: Estimator | None
    _estimate: bool
    _record: UsageRecord | None

    def _setup(self, request: Any, estimator: Estimator | None, estimate: bool) -> None:
        self._request = request
        self._estimator = estimator
        self._estimate = estimate
        self._record = None

    def finish(self, *, interrupted: str | None = None) -> UsageRecord:
        """End of stream: the one record of this request. Later calls return the same record
        (with `interrupted` updated when given)."""
        if self._record is not None:
            if interrupted is not None and interrupted != self._record.interrupted:
                return replace(self._record, interrupted=interrupted)
            return self._record
        raw = self._finish_raw()  # type: ignore[attr-defined]  # the core's
        estimator = self._estimator or default_estimator()
        record, info = build_record(
            raw,
            request=self._request,
            estimator=estimator,
            estimate=self._estimate,
            interrupted=interrupted,
        )
        estimator.observe(
            record,
            input_stats=info.stats if info is not None else None,
            input_overhead=info.overhead if info is not None else 0,
            input_has_media=bool(info is not None and info.media),
            output_stats=raw["output_stats"],
            output_has_thinking=raw["saw_thinking"],
            output_has_tools=raw["saw_tool_use"],
        )
        self._record = record
        return record
