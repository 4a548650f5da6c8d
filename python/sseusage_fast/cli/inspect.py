"""`sseusage inspect FILE|-`: what a captured stream or response body holds, and why usage is
missing when it is.

The record comes from `parse_usage`; the events summary and the diagnosis read the same bytes
again with `SSEDecoder`, so they explain the record rather than compete with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

from sseusage_fast import SSEDecoder, parse_usage
from sseusage_fast.record import PROVIDERS, TOKEN_FIELDS, UsageRecord

INCLUDE_USAGE_HINT = (
    "OpenAI stream without the usage chunk: ask for stream_options.include_usage "
    '(send "stream_options": {"include_usage": true} with "stream": true)'
)
STRIPPED = "stripped upstream (a proxy or gateway removed usage)"


@dataclass
class StreamFacts:
    """What the event layer shows, independent of the usage extractor."""

    size: int = 0
    line_endings: str = "none"
    format: str = "event stream"
    counts: Counter[str] = field(default_factory=Counter)
    unterminated: bool = False  # the last event was cut before its blank line
    # Per provider shape: whatever the diagnosis needs.
    anthropic_start_usage: bool | None = None  # None: no message_start
    anthropic_delta: int = 0
    anthropic_delta_usage: int = 0
    anthropic_stop: bool = False
    openai_chunks: int = 0
    openai_usage_chunk: bool = False
    openai_finish: bool = False
    done_marker: bool = False
    responses_events: int = 0
    responses_final: str | None = None  # response.completed / .incomplete / .failed
    responses_final_usage: bool = False
    gemini_chunks: int = 0
    gemini_usage_chunks: int = 0
    gemini_finish: bool = False
    error_events: int = 0

    def events_dict(self) -> dict[str, Any]:
        return {
            "count": sum(self.counts.values()),
            "by_type": dict(self.counts),
            "bytes": self.size,
            "line_endings": self.line_endings,
            "format": self.format,
            "unterminated_last_event": self.unterminated,
        }


def line_ending_style(body: bytes) -> str:
    """LF, CRLF, CR, "mixed (...)" or "none"."""
    crlf = body.count(b"\r\n")
    cr = body.count(b"\r") - crlf
    lf = body.count(b"\n") - crlf
    styles = [name for name, n in (("LF", lf), ("CRLF", crlf), ("CR", cr)) if n]
    if not styles:
        return "none"
    return styles[0] if len(styles) == 1 else f"mixed ({', '.join(styles)})"


def _json_obj(data: str) -> dict[str, Any] | None:
    if not data.lstrip().startswith("{"):
        return None
    try:
        obj = json.loads(data)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _label(name: str, obj: dict[str, Any] | None, data: str) -> str:
    """An event's type: its `event:` name, else the data's "type"/"object" field."""
    if name != "message":
        return name
    if obj is not None:
        for key in ("type", "object"):
            value = obj.get(key)
            if isinstance(value, str) and value:
                return value
    if data.strip() == "[DONE]":
        return "[DONE]"
    return "message"


def scan(body: bytes) -> StreamFacts:
    """Decode the events and note the facts the diagnosis relies on."""
    facts = StreamFacts(size=len(body), line_endings=line_ending_style(body))
    decoder = SSEDecoder()
    events = decoder.feed(body) + decoder.flush()
    # Two more line ends dispatch an event that lacked its blank line.
    probe = SSEDecoder()
    facts.unterminated = len(probe.feed(body + b"\n\n")) > len(events)
    if not events:
        head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        facts.format = "JSON body" if head in (b"{", b"[") else "not an event stream"
    for ev in events:
        obj = _json_obj(ev.data)
        label = _label(ev.event, obj, ev.data)
        facts.counts[label] += 1
        if label == "[DONE]":
            facts.done_marker = True
        elif label == "error" or (obj is not None and isinstance(obj.get("error"), dict)):
            facts.error_events += 1
        if obj is not None:
            _note_shape(facts, label, obj)
    return facts


def _note_shape(facts: StreamFacts, label: str, obj: dict[str, Any]) -> None:
    if label == "message_start":
        msg = obj.get("message")
        usage = msg.get("usage") if isinstance(msg, dict) else None
        facts.anthropic_start_usage = isinstance(usage, dict) and bool(usage)
    elif label == "message_delta":
        facts.anthropic_delta += 1
        usage = obj.get("usage")
        facts.anthropic_delta_usage += isinstance(usage, dict) and bool(usage)
    elif label == "message_stop":
        facts.anthropic_stop = True
    elif label == "chat.completion.chunk":
        facts.openai_chunks += 1
        facts.openai_usage_chunk |= isinstance(obj.get("usage"), dict)
        choices = obj.get("choices")
        if isinstance(choices, list):
            facts.openai_finish |= any(
                isinstance(c, dict) and c.get("finish_reason") for c in choices
            )
    elif label.startswith("response."):
        facts.responses_events += 1
        if label in ("response.completed", "response.incomplete", "response.failed"):
            facts.responses_final = label
            resp = obj.get("response")
            facts.responses_final_usage = isinstance(resp, dict) and isinstance(
                resp.get("usage"), dict
            )
    elif "candidates" in obj or "usageMetadata" in obj:
        facts.gemini_chunks += 1
        facts.gemini_usage_chunks += isinstance(obj.get("usageMetadata"), dict)
        cands = obj.get("candidates")
        if isinstance(cands, list):
            facts.gemini_finish |= any(isinstance(c, dict) and c.get("finishReason") for c in cands)


def diagnose(facts: StreamFacts, rec: UsageRecord, *, has_request: bool) -> list[str]:
    """Plain-language reasons why usage is missing or doubtful; empty when all is well."""
    out: list[str] = []
    if rec.status == "not_sse":
        out.append(f"not an event stream: {rec.error_message or 'unrecognised body'}")
    elif rec.status == "error":
        what = ": ".join(x for x in (rec.error_type, rec.error_message) if x) or "unknown error"
        if facts.counts:
            out.append(f"error event mid-stream: {what}; usage seen before it is kept")
        else:
            out.append(f"error response body: {what} (an error response bills nothing)")

    # Anthropic Messages.
    if facts.anthropic_start_usage is False:
        out.append(f"{STRIPPED}: message_start carries no usage fields")
        if facts.anthropic_delta and not facts.anthropic_delta_usage:
            out.append("message_delta carries no usage either")
    elif facts.anthropic_delta and not facts.anthropic_delta_usage:
        out.append(f"{STRIPPED}: message_delta carries no usage (no final output count)")
    if (
        facts.anthropic_start_usage is not None
        and not facts.anthropic_delta
        and rec.status != "error"
    ):
        out.append(
            "cut stream: message_start but no message_delta; the stream ended before the "
            "final usage (client disconnect, timeout or a proxy cut it)"
        )

    # OpenAI Chat Completions.
    if facts.openai_chunks and not facts.openai_usage_chunk:
        if not (facts.openai_finish or facts.done_marker) and rec.status != "error":
            out.append("cut stream: no final chunk (no finish_reason, no [DONE])")
        out.append(INCLUDE_USAGE_HINT)
    elif facts.openai_usage_chunk and not facts.done_marker and rec.status == "partial":
        out.append("cut stream: no [DONE] after the usage chunk")

    # OpenAI Responses.
    if facts.responses_events:
        if facts.responses_final is None and rec.status != "error":
            out.append("cut stream: no response.completed event")
        elif facts.responses_final is not None and not facts.responses_final_usage:
            out.append(f"{STRIPPED}: {facts.responses_final} carries no response.usage")

    # Gemini.
    if facts.gemini_chunks:
        if not facts.gemini_usage_chunks:
            out.append(f"{STRIPPED}: no chunk carries usageMetadata")
        if not facts.gemini_finish and rec.status != "error":
            out.append("cut stream: no chunk with a finishReason")

    if facts.unterminated and facts.counts:
        out.append("the last event was cut before its blank line")

    # Usage is on the wire but the extractor did not take it: a shape it does not know.
    on_wire = facts.openai_usage_chunk or facts.gemini_usage_chunks or facts.responses_final_usage
    if on_wire and rec.no_usage_data:
        out.append(
            f"usage is in the stream but was not extracted (provider {rec.provider or 'unknown'}"
            "); try --provider"
        )
    # Whatever the shapes above did not explain.
    if not out and rec.status == "no_usage":
        out.append("no usage fields anywhere in the stream")
    elif not out and rec.status == "partial":
        out.append("cut stream: usage seen, but not the final figures")

    if rec.estimated:
        out.append("estimated, not reported: " + ", ".join(rec.estimated))
    if rec.input_tokens is None and rec.status in ("no_usage", "partial") and not has_request:
        out.append("input tokens unknown: pass --request FILE (the request body) to estimate them")
    out.extend(f"note: {n}" for n in rec.notes)
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_text(
    source: str, facts: StreamFacts, rec: UsageRecord, diagnosis: list[str], cost: str | None
) -> str:
    lines = [
        f"{source}: {facts.size:,} bytes, {facts.format}, line endings {facts.line_endings}",
        "",
        f"events: {sum(facts.counts.values())}",
    ]
    width = max((len(k) for k in facts.counts), default=0)
    lines += [f"  {name:<{width}}  {n}" for name, n in facts.counts.items()]

    lines += ["", "record:"]
    meta = ("status", "provider", "model", "message_id", "stop_reason", "service_tier", "speed")
    tokens = [f for f in TOKEN_FIELDS if getattr(rec, f) is not None or f in _ALWAYS]
    width = max(len(f) for f in (*meta, *tokens, "requires_manual_review"))
    for name in meta:
        value = getattr(rec, name)
        if value is not None or name in ("status", "provider", "model"):
            lines.append(f"  {name:<{width}}  {_fmt(value)}")
    for name in tokens:
        mark = "  (estimated)" if name in rec.estimated else ""
        bounds = rec.estimate_ranges.get(name)
        if bounds is not None:
            low, high = bounds
            mark += f"  range {low} to {high}" if high is not None else f"  at least {low}"
        lines.append(f"  {name:<{width}}  {_fmt(getattr(rec, name))}{mark}")
    for name in ("error_type", "error_message", "interrupted"):
        if getattr(rec, name) is not None:
            lines.append(f"  {name:<{width}}  {getattr(rec, name)}")
    lines.append(f"  {'no_usage_data':<{width}}  {_fmt(rec.no_usage_data)}")
    lines.append(f"  {'requires_manual_review':<{width}}  {_fmt(rec.requires_manual_review)}")
    lines.append(f"  {'estimated':<{width}}  {', '.join(rec.estimated) or '-'}")
    if rec.estimate_reasons:
        lines.append(f"  {'estimate_reasons':<{width}}  {', '.join(rec.estimate_reasons)}")
    if cost is None:
        cost = "- (unknown model)"
    elif rec.requires_manual_review:
        cost += "  (doubtful: some figures are estimated or missing)"
    lines.append(f"  {'cost_usd':<{width}}  {cost}")

    lines += ["", "diagnosis:"]
    if diagnosis:
        lines += [f"  - {d}" for d in diagnosis]
    else:
        lines.append("  none: usage complete, as the provider reported it")
    return "\n".join(lines) + "\n"


# Token fields shown even when unreported: their absence is the news.
_ALWAYS = ("input_tokens", "output_tokens")


def _cost(rec: UsageRecord) -> str | None:
    try:
        from sseusage_fast.pricing import Pricing

        pricing = Pricing.default()
        value = pricing.cost(rec)
        span = pricing.cost_range(rec) if rec.estimate_ranges else None
    except Exception:  # noqa: BLE001 - pricing is a convenience here, never a failure
        return None
    if value is None:
        return None
    if span is None or span == (value, value):
        return str(value)
    low, high = span
    return f"{value} (range {low} to {high})" if high is not None else f"{value} (at least {low})"


def _read(path: str, stdin: IO[bytes]) -> bytes:
    if path == "-":
        return stdin.read()
    with open(path, "rb") as f:
        return f.read()


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "inspect",
        help="show the events, the usage record and a diagnosis of a captured stream or body",
        description="Read a captured SSE stream or a JSON response body (a file, or - for "
        "stdin) and print its events summary, its usage record and, when usage is missing "
        "or doubtful, why.",
    )
    p.add_argument("file", metavar="FILE", help="captured stream or response body; - for stdin")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--provider", choices=PROVIDERS, default="auto", help="default: auto")
    p.add_argument(
        "--request", metavar="FILE", help="the request body (JSON), to estimate input tokens"
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    try:
        body = _read(args.file, sys.stdin.buffer)
        request = _read(args.request, sys.stdin.buffer) if args.request else None
    except OSError as exc:
        name = exc.filename if exc.filename is not None else args.file
        sys.stderr.write(f"sseusage inspect: cannot read {name}: {exc.strerror or exc}\n")
        return 2
    rec = parse_usage(body, args.provider, request=request)
    facts = scan(body)
    diagnosis = diagnose(facts, rec, has_request=request is not None)
    cost = _cost(rec)
    if args.json:
        out = {
            "events": facts.events_dict(),
            "record": rec.to_dict(),
            "diagnosis": diagnosis,
            "cost_usd": cost,
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        source = "<stdin>" if args.file == "-" else args.file
        sys.stdout.write(format_text(source, facts, rec, diagnosis, cost))
    return 0
