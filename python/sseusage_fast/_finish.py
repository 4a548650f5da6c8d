"""The Python half of `UsageParser`, shared by both backends: turns a core's raw record into a
`UsageRecord`, estimating what the provider did not report (and saying so), and teaching the
estimator from complete records. One code path, so both backends estimate identically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from .estimate import estimator as _estimator_module
from .estimate.bounds import estimate_input, estimate_output
from .estimate.estimator import Estimator, default_estimator
from .estimate.textstats import core_base_tokens as _core_base_tokens
from .record import (
    ESTIMATE_REASONS,
    FIELD_NAMES,
    RAW_FIELDS,
    RAW_SHARED,
    SECOND_ROUND,
    TOKEN_COUNT_FIELDS,
    TOKEN_FIELDS,
    Iteration,
    UsageRecord,
    record_from_values,
)

# Positions in a raw record (`RAW_FIELDS`), whose first `RAW_SHARED` are the record's first.
_RAW = {name: at for at, name in enumerate(RAW_FIELDS)}
_INPUT, _OUTPUT, _STATUS = _RAW["input_tokens"], _RAW["output_tokens"], _RAW["status"]
_PROVIDER, _MODEL, _BODY_KIND = _RAW["provider"], _RAW["model"], _RAW["body_kind"]
_STOP_REASON = _RAW["stop_reason"]
_OUTPUT_FINAL, _RAW_USAGE, _NOTES = _RAW["output_final"], _RAW["raw_usage"], _RAW["notes"]
_OUTPUT_STATS, _THINKING, _TOOLS = _RAW["output_stats"], _RAW["saw_thinking"], _RAW["saw_tool_use"]
_ENCRYPTED = _RAW["encrypted_reasoning"]
_N_COUNTS = len(TOKEN_COUNT_FIELDS)
_CACHE_WRITE, _CACHE_READ = _RAW["cache_creation_input_tokens"], _RAW["cache_read_input_tokens"]
_CACHE_5M, _CACHE_1H = (
    _RAW["cache_creation_5m_input_tokens"],
    _RAW["cache_creation_1h_input_tokens"],
)
_REASONING = _RAW["reasoning_tokens"]
_AUDIO_IN, _AUDIO_OUT = _RAW["audio_input_tokens"], _RAW["audio_output_tokens"]
_ITERATIONS, _PROVIDER_COST = _RAW["iterations"], _RAW["provider_cost"]
_GEO, _FRAMING = _RAW["inference_geo"], _RAW["framing"]
_COUNTS = (_OUTPUT, _INPUT, _CACHE_WRITE, _CACHE_READ, _CACHE_5M, _CACHE_1H, _REASONING)
_REASON_RANK = {reason: rank for rank, reason in enumerate(ESTIMATE_REASONS)}
# The record's fields after the raw record's shared ones, in the order `finish` appends.
_APPENDED = (
    "no_usage_data",
    "requires_manual_review",
    "estimated",
    "estimate_ranges",
    "estimate_reasons",
    "interrupted",
)
if (
    FIELD_NAMES[: len(TOKEN_FIELDS)] != TOKEN_FIELDS
    or TOKEN_FIELDS[:_N_COUNTS] != TOKEN_COUNT_FIELDS
    or FIELD_NAMES[RAW_SHARED:] != (*_APPENDED, "raw_usage", "notes", *SECOND_ROUND)
    or sorted(_COUNTS) != list(range(_N_COUNTS))
):
    raise ImportError("finish's field order no longer matches UsageRecord")


def _base_of(estimator: Estimator) -> Callable[[Sequence[int]], float]:
    """How stats that a core counted (seven ints) become a base estimate: unchecked for a plain
    Estimator; a subclass may refine `base_tokens`, so it gets the public call."""
    return _core_base_tokens if type(estimator) is Estimator else estimator.base_tokens


class FinishMixin:
    """`finish()` and the Python-side settings of a `UsageParser`."""

    # How the record is built from its values in field order (the native backend has a
    # faster builder for the same record).
    _new_record: Callable[[Sequence[Any], tuple[Any, ...]], UsageRecord] = staticmethod(
        record_from_values
    )

    # The settings' defaults; `UsageParser.__init__` stores only the ones given otherwise.
    _request: Any = None
    _estimator: Estimator | None = None
    _estimate: bool = True
    _record: UsageRecord | None = None

    def finish(self, *, interrupted: str | None = None) -> UsageRecord:
        """End of stream: the one record of this request. Later calls return the same record
        (with `interrupted` updated when given).

        The native core's own `finish` makes the record itself for a parser without a request
        body whose estimator is a plain `Estimator` (the usual parser), and calls this method
        for any other and for later calls; the parity suites compare the two."""
        record = self._record
        if record is not None:
            if interrupted is not None and interrupted != record.interrupted:
                return replace(record, interrupted=interrupted)
            return record
        # The process-wide default, read without a call to `default_estimator()` once it
        # exists (the call costs more than any line here).
        estimator = self._estimator or _estimator_module._default or default_estimator()
        request = self._request
        # One function, once per request: the record built here rather than in a helper of
        # six arguments that returns two values (a tenth of the cost of `finish`).
        raw = self._finish_raw()  # type: ignore[attr-defined]  # the core's
        status, model = raw[_STATUS], raw[_MODEL]
        # Any token count proper reported (`raw[:_N_COUNTS] != (None,) * _N_COUNTS`, unrolled:
        # the slice and its compare cost more than the rest of this block). Output first: the
        # count most often reported.
        reported = not (
            raw[_OUTPUT] is None
            and raw[_INPUT] is None
            and raw[_CACHE_WRITE] is None
            and raw[_CACHE_READ] is None
            and raw[_CACHE_5M] is None
            and raw[_CACHE_1H] is None
            and raw[_REASONING] is None
        )
        # A JSON error response (HTTP 4xx/5xx body) bills nothing: nothing to estimate or review.
        error_body = status == "error" and raw[_BODY_KIND] == "json" and not reported
        info = None if request is None else Estimator.request_info(request, raw[_PROVIDER], model)
        if not model and info is not None:
            model = info.model  # calibrated as the model the request named

        estimated: tuple[str, ...] = ()
        ranges: dict[str, tuple[int, int | None]] = {}
        reasons: tuple[str, ...] = ()
        input_tokens, output_tokens = raw[_INPUT], raw[_OUTPUT]
        if self._estimate and not error_body:
            # How stats become a base, looked up only where an estimate needs it.
            base_of = None
            if not raw[_OUTPUT_FINAL] and status != "not_sse":
                base_of = _base_of(estimator)
                # A message_start placeholder is not the output; the streamed text is a floor.
                guess = estimate_output(
                    estimator,
                    raw[_OUTPUT_STATS],
                    base_of,
                    model=model,
                    provider=raw[_PROVIDER],
                    saw_thinking=raw[_THINKING],
                    saw_tool_use=raw[_TOOLS],
                    request=info,
                    # Cut before its end: the provider may have billed what was not streamed.
                    truncated=interrupted is not None
                    or (status != "complete" and raw[_STOP_REASON] is None),
                    floor=output_tokens or 0,
                    encrypted=raw[_ENCRYPTED],
                )
                output_tokens = guess.value
                estimated = ("output_tokens",)
                ranges["output_tokens"] = (guess.low, guess.high)
                reasons = guess.reasons
            if input_tokens is None and info is not None:
                guess = estimate_input(estimator, info, base_of or _base_of(estimator), model=model)
                input_tokens = guess.value
                estimated += ("input_tokens",)
                ranges["input_tokens"] = (guess.low, guess.high)
                reasons += guess.reasons
            elif input_tokens is None and request is None:
                reasons += ("no_request",)
            if len(reasons) > 1:
                # In ESTIMATE_REASONS order, each once: sorted by rank (half the cost of a
                # pass over all ESTIMATE_REASONS).
                reasons = tuple(sorted(set(reasons), key=_REASON_RANK.__getitem__))

        # The figures a bill is made of: when one of these is unknown or estimated, a human
        # looks.
        review = not error_body and (
            status != "complete" or input_tokens is None or output_tokens is None or estimated != ()
        )
        # The record's first fields are the raw record's (estimates put in a copy), the rest:
        head = raw
        if estimated:
            head = list(raw)
            head[_INPUT], head[_OUTPUT] = input_tokens, output_tokens
        iterations = raw[_ITERATIONS]
        cost = raw[_PROVIDER_COST]
        tail = (
            not reported,
            review,
            estimated,
            ranges,
            reasons,
            interrupted,
            raw[_RAW_USAGE],
            raw[_NOTES],
            raw[_AUDIO_IN],
            raw[_AUDIO_OUT],
            tuple(Iteration(*item) for item in iterations) if iterations else (),
            None if cost is None else Decimal(cost),
            raw[_GEO],
            raw[_FRAMING],
        )
        record = self._new_record(head, tail)

        if info is None:
            input_stats, overhead, media = None, 0, False
        else:
            input_stats, overhead, media = info.stats, info.overhead, bool(info.media)
            # Claude's structured outputs add a prompt the request does not show (`bounds`).
            unshown_schema = info.output_schema is not None and info.provider == "anthropic"
            if info.tools or info.stored_context or info.opaque_chars or unshown_schema:
                # Input is learned only where the request shows all of it: tool definitions
                # and prompts, and earlier turns the provider keeps, are billed apart from its
                # text (on the real captures, learning from them moved the held-out input
                # median from 23.5% to 38.5%: benches/estimate_accuracy.py, seeded halves);
                # hex and base64 runs are far more tokens than their text statistics say.
                input_stats = None
                if info.tools and status == "complete":
                    estimator.observe_tool_prompt(record, info, model=model)
        if type(estimator) is Estimator:
            if status != "complete":  # `_observe` learns only from complete records
                self._record = record
                return record
            # Every stats tuple here was counted by a core (text_stats for the request): seven
            # ints, so `base_tokens` needs no check.
            estimator._observe(
                record,
                input_stats,
                overhead,
                media,
                raw[_OUTPUT_STATS],
                raw[_THINKING],
                raw[_TOOLS],
                _core_base_tokens,
                info is not None and info.server_tools,
                model,
                info is not None and info.output_schema is not None,
                raw[_ENCRYPTED],
            )
        else:  # a subclass may refine `observe` or `base_tokens`: the public call, as before
            estimator.observe(
                record,
                input_stats=input_stats,
                input_overhead=overhead,
                input_has_media=media,
                output_stats=raw[_OUTPUT_STATS],
                output_has_thinking=raw[_THINKING],
                output_has_tools=raw[_TOOLS],
                server_tools=info is not None and info.server_tools,
                model=model,
                output_schema=info is not None and info.output_schema is not None,
                encrypted_reasoning=raw[_ENCRYPTED],
            )
        self._record = record
        return record
