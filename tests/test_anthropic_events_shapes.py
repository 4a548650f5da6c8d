"""The events that open and close an Anthropic stream and its blocks, in every layout a server
or a proxy could give them: the native reader takes the usual ones without a JSON tree, and
must read each exactly as the pure twin (a full parse) does. Each case is one event placed in
an otherwise ordinary stream; the records of both backends must be equal, field for field."""

from __future__ import annotations

import json
import re
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sseusage_fast.estimate import Estimator
from sseusage_fast.record import RAW_FIELDS

START = (
    '{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",'
    '"content":[],"model":"claude-x","stop_reason":null,"stop_sequence":null,'
    '"usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":0,'
    '"output_tokens":1}}}'
)
DELTA = (
    '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
    '"usage":{"output_tokens":42}}'
)
TEXT_START = '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'
TEXT = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}'
STOP = '{"type":"content_block_stop","index":0}'
MESSAGE_STOP = '{"type":"message_stop"}'

# One event in an unusual layout, replacing the usual one of the same kind.
SHAPES: dict[str, str] = {
    # message_start
    "start_padded": START.replace('"usage":', ' "usage" : '),
    "start_duplicate_id": START.replace('"id":"msg_1"', '"id":"msg_0","id":"msg_1"'),
    "start_duplicate_usage": START.replace('"usage":{', '"usage":{"input_tokens":1},"usage":{'),
    "start_id_escaped": START.replace("msg_1", "msg_\\u0031"),
    "start_id_number": START.replace('"msg_1"', "7"),
    "start_model_null": START.replace('"claude-x"', "null"),
    "start_stop_reason_set": START.replace('"stop_reason":null', '"stop_reason":"max_tokens"'),
    "start_usage_null": START[: START.index('"usage"')] + '"usage":null}}',
    "start_usage_list": START[: START.index('"usage"')] + '"usage":[1,2]}}',
    "start_usage_bad_count": START.replace('"input_tokens":25', '"input_tokens":-3'),
    "start_usage_float": START.replace('"input_tokens":25', '"input_tokens":25.0'),
    "start_usage_exponent": START.replace('"input_tokens":25', '"input_tokens":2.5e1'),
    "start_usage_nested": START.replace(
        '"output_tokens":1}', '"output_tokens":1,"cache_creation":{"ephemeral_5m_input_tokens":3}}'
    ),
    "start_message_null": '{"type":"message_start","message":null}',
    "start_message_string": '{"type":"message_start","message":"x"}',
    "start_no_type": START.replace('"type":"message_start",', ""),
    "start_type_twice": START.replace(
        '{"type":"message_start"', '{"type":"x","type":"message_start"'
    ),
    "start_extra_top": START[:-1] + ',"extra":{"a":[true,false,null]}}',
    "start_trailing_garbage": START + " x",
    "start_invalid_utf8": START.replace("claude-x", "claude-\udcff"),
    # message_delta
    "delta_usage_first": (
        '{"type":"message_delta","usage":{"output_tokens":42},'
        '"delta":{"stop_reason":"end_turn","stop_sequence":null}}'
    ),
    "delta_padded": DELTA[:-1] + "            }",
    "delta_duplicate_stop_reason": DELTA.replace(
        '"stop_reason":"end_turn"', '"stop_reason":"x","stop_reason":"end_turn"'
    ),
    "delta_stop_reason_number": DELTA.replace('"end_turn"', "3"),
    "delta_stop_reason_escaped": DELTA.replace('"end_turn"', '"end\\u005fturn"'),
    "delta_delta_null": DELTA.replace('{"stop_reason":"end_turn","stop_sequence":null}', "null"),
    "delta_no_usage": DELTA[: DELTA.index(',"usage"')] + "}",
    "delta_usage_string": DELTA.replace('{"output_tokens":42}', '"42"'),
    "delta_usage_bad": DELTA.replace("42", '"42"'),
    "delta_usage_huge": DELTA.replace("42", "1000000000001"),
    "delta_usage_full": DELTA.replace(
        '{"output_tokens":42}',
        '{"input_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":9,'
        '"output_tokens":42,"server_tool_use":{"web_search_requests":2},"service_tier":"priority"}',
    ),
    "delta_duplicate_usage": DELTA.replace('"usage":{', '"usage":{"output_tokens":1},"usage":{'),
    # the usage object's fields, read without a tree on the skim path
    "delta_usage_key_twice": DELTA.replace(
        '{"output_tokens":42}', '{"output_tokens":1,"output_tokens":42}'
    ),
    "delta_usage_key_twice_bad_last": DELTA.replace(
        '{"output_tokens":42}', '{"output_tokens":42,"output_tokens":-1}'
    ),
    "delta_usage_null_count": DELTA.replace("42", "null"),
    "delta_usage_zero": DELTA.replace("42", "0"),
    "delta_usage_leading_zero": DELTA.replace("42", "042"),
    "delta_usage_negative_zero": DELTA.replace("42", "-0"),
    "delta_usage_true": DELTA.replace("42", "true"),
    "delta_usage_max_count": DELTA.replace("42", "1000000000000"),
    "delta_usage_14_digits": DELTA.replace("42", "10000000000000"),
    "delta_usage_spaces": DELTA.replace(
        '{"output_tokens":42}', '{ "output_tokens" : 42 , "x" : [ ] }'
    ),
    "delta_usage_every_field": DELTA.replace(
        '{"output_tokens":42}',
        '{"input_tokens":30,"cache_creation_input_tokens":5,"cache_read_input_tokens":9,'
        '"output_tokens":42,"cache_creation":{"ephemeral_5m_input_tokens":2,'
        '"ephemeral_1h_input_tokens":3},"server_tool_use":{"web_search_requests":2,'
        '"web_fetch_requests":1},"output_tokens_details":{"thinking_tokens":7},'
        '"service_tier":"batch","speed":"fast","unknown":{"a":[1,2.5,"x"]}}',
    ),
    "delta_usage_nested_twice": DELTA.replace(
        '{"output_tokens":42}',
        '{"output_tokens":42,"cache_creation":{"ephemeral_5m_input_tokens":2},'
        '"cache_creation":{"ephemeral_1h_input_tokens":3}}',
    ),
    "delta_usage_nested_key_twice": DELTA.replace(
        '{"output_tokens":42}',
        '{"output_tokens":42,"server_tool_use":{"web_search_requests":2,"web_search_requests":4}}',
    ),
    "delta_usage_nested_not_object": DELTA.replace(
        '{"output_tokens":42}', '{"output_tokens":42,"cache_creation":7,"server_tool_use":null}'
    ),
    "delta_usage_nested_bad_count": DELTA.replace(
        '{"output_tokens":42}',
        '{"output_tokens":42,"output_tokens_details":{"thinking_tokens":"7"}}',
    ),
    "delta_usage_tier_escaped": DELTA.replace(
        '{"output_tokens":42}', '{"output_tokens":42,"service_tier":"prio\\u0072ity"}'
    ),
    "delta_usage_tier_null": DELTA.replace(
        '{"output_tokens":42}', '{"output_tokens":42,"service_tier":null,"speed":3}'
    ),
    "delta_usage_tier_twice": DELTA.replace(
        '{"output_tokens":42}', '{"output_tokens":42,"speed":"fast","speed":"standard"}'
    ),
    "start_usage_zero_input": START.replace('"input_tokens":25', '"input_tokens":0'),
    "delta_deep": DELTA[:-1] + ',"x":' + "[" * 70 + "]" * 70 + "}",
    # content_block_start
    "block_text_nonempty": TEXT_START.replace('"text":""', '"text":"Hi \\"you\\" 你好"'),
    "block_text_null": TEXT_START.replace('"text":""', '"text":null'),
    "block_text_number": TEXT_START.replace('"text":""', '"text":5'),
    "block_thinking": (
        '{"type":"content_block_start","index":0,'
        '"content_block":{"type":"thinking","thinking":"","signature":""}}'
    ),
    "block_thinking_text": (
        '{"type":"content_block_start","index":0,'
        '"content_block":{"type":"thinking","thinking":"hmm","text":"not counted"}}'
    ),
    "block_thinking_null": (
        '{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":null}}'
    ),
    "block_redacted": (
        '{"type":"content_block_start","index":0,'
        '"content_block":{"type":"redacted_thinking","data":"xyz"}}'
    ),
    "block_tool_use": (
        '{"type":"content_block_start","index":1,"content_block":{"type":"tool_use",'
        '"id":"toolu_1","name":"get_weather","input":{}}}'
    ),
    "block_no_type": '{"type":"content_block_start","index":0,"content_block":{"text":"abc"}}',
    "block_type_null": (
        '{"type":"content_block_start","index":0,"content_block":{"type":null,"text":"abc"}}'
    ),
    "block_duplicate_text": TEXT_START.replace('"text":""', '"text":"a","text":"b"'),
    "block_lone_surrogate": TEXT_START.replace('"text":""', '"text":"\\ud800"'),
    "block_not_object": '{"type":"content_block_start","index":0,"content_block":[]}',
    # content_block_delta laid out otherwise than the API does (the canonical one has its own
    # reader): white space, key order, several text fields, odd values
    "text_spaced": json.dumps(json.loads(TEXT)),
    "text_spaced_escapes": json.dumps(
        {**json.loads(TEXT), "delta": {"type": "text_delta", "text": 'a "q" é 你\n'}}
    ),
    "text_delta_first": '{"type":"content_block_delta","delta":{"text":"Hi","type":"text_delta"},"index":0}',
    "text_type_not_first": '{"index":0,"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}}',
    "text_null": TEXT.replace('"Hello"', "null"),
    "text_number": TEXT.replace('"Hello"', "7"),
    "text_duplicate": TEXT.replace('"text":"Hello"', '"text":"a","text":"Hello"'),
    "text_and_thinking": TEXT.replace(
        '"text":"Hello"', '"thinking":"hm","text":"Hi ","partial_json":"{}"'
    ),
    "thinking_spaced": '{ "type" : "content_block_delta" , "index" : 0 , "delta" : { "type" : "thinking_delta" , "thinking" : "so" } }',
    "thinking_dumped": json.dumps(
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "so"},
        }
    ),
    "tool_input_spaced": '{"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\\"a\\": 1"}}',
    "signature_spaced": '{"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}}',
    "text_delta_null": '{"type":"content_block_delta","index":0,"delta":null}',
    "text_lone_surrogate": TEXT.replace("Hello", "\\ud800"),
    "text_invalid_utf8": TEXT.replace("Hello", "H\udcffi"),
    "text_trailing_comma": TEXT[:-2] + ",}}",
    # every other event, spaced as Python's json.dumps writes it
    "start_spaced": json.dumps(json.loads(START)),
    "delta_spaced": json.dumps(json.loads(DELTA)),
    "block_spaced": json.dumps(json.loads(TEXT_START)),
    "stop_spaced": json.dumps(json.loads(STOP)),
    "message_spaced": json.dumps(json.loads(MESSAGE_STOP)),
    # the no-op events
    "stop_extra": STOP[:-1] + ',"x":{"y":[1.5,-2]}}',
    "stop_bad_number": STOP.replace("0", "01"),
    "stop_twice_typed": STOP.replace(
        '{"type":"content_block_stop"', '{"type":"ping","type":"content_block_stop"'
    ),
    "message_stop_bedrock": (
        '{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":11,'
        '"outputTokenCount":40}}'
    ),
}

KIND_OF_SHAPE = {
    "text": "content_block_delta",
    "thinking": "content_block_delta",
    "tool": "content_block_delta",
    "signature": "content_block_delta",
    "start": "message_start",
    "delta": "message_delta",
    "block": "content_block_start",
    "stop": "content_block_stop",
    "message": "message_stop",
}


def stream(events: list[str], newline: str = "\n", event_lines: bool = True) -> bytes:
    """As the API sends them (`event:` lines, which the whole-event readers need), or without."""
    out = []
    for data in events:
        name = re.search(r'"type"\s*:\s*"(\w+)"', data)
        if event_lines and name:
            out.append(f"event: {name.group(1)}{newline}")
        out.append(f"data: {data}{newline}{newline}")
    return "".join(out).encode("utf-8", "surrogateescape")


def ordinary(replace: dict[str, str]) -> list[str]:
    usual = {
        "message_start": START,
        "content_block_start": TEXT_START,
        "content_block_delta": TEXT,
        "content_block_stop": STOP,
        "message_delta": DELTA,
        "message_stop": MESSAGE_STOP,
    }
    usual.update(replace)
    return [
        usual["message_start"],
        usual["content_block_start"],
        TEXT,
        usual["content_block_delta"],
        usual["content_block_stop"],
        usual["message_delta"],
        usual["message_stop"],
    ]


def record(backend: ModuleType, body: bytes) -> dict[str, object]:
    parser = backend.UsageParser(estimator=Estimator())
    parser.feed(body)
    result: dict[str, object] = parser.finish().to_dict()
    # What the record does not show but the estimator learns from: text counts, tool use.
    result["raw"] = dict(zip(RAW_FIELDS, parser._finish_raw(), strict=True))
    return result


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("event_lines", [True, False])
def test_each_shape_reads_as_a_full_parse_reads_it(
    both: tuple[ModuleType, ModuleType], shape: str, newline: str, event_lines: bool
) -> None:
    native, pure = both
    events = ordinary({KIND_OF_SHAPE[shape.split("_")[0]]: SHAPES[shape]})
    body = stream(events, newline, event_lines)
    got = record(native, body)
    assert got == record(pure, body)
    assert got["provider"] == "anthropic"


def test_usual_stream_reads_its_values(both: tuple[ModuleType, ModuleType]) -> None:
    for backend in both:
        got = record(backend, stream(ordinary({})))
        assert (got["input_tokens"], got["output_tokens"], got["status"]) == (25, 42, "complete")
        assert (got["message_id"], got["model"], got["stop_reason"]) == (
            "msg_1",
            "claude-x",
            "end_turn",
        )
        assert got["raw_usage"] == {"output_tokens": 42}


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    picks=st.lists(st.sampled_from(sorted(SHAPES)), min_size=1, max_size=6),
    cuts=st.lists(st.integers(0, 3000), max_size=6),
)
def test_any_mix_of_shapes_native_equals_pure(
    both: tuple[ModuleType, ModuleType], picks: list[str], cuts: list[int]
) -> None:
    native, pure = both
    events = ordinary({})
    for pick in picks:
        events.insert(len(events) - 1, SHAPES[pick])
    body = stream(events)
    cuts = sorted(c for c in cuts if c < len(body))
    parser = native.UsageParser(estimator=Estimator())
    for a, b in zip([0, *cuts], [*cuts, len(body)]):
        parser.feed(body[a:b])
    fed = {**parser.finish().to_dict(), "raw": dict(zip(RAW_FIELDS, parser._finish_raw()))}
    assert fed == record(pure, body) == record(native, body)


PING = '{"type": "ping"}'


@pytest.mark.parametrize(
    "events",
    [
        [PING, PING, PING],
        [PING, PING, STOP, MESSAGE_STOP],
        [TEXT_START, STOP],
        [PING, START, TEXT_START, TEXT, PING, TEXT, STOP, DELTA, MESSAGE_STOP],
    ],
    ids=["pings", "quiet_only", "block_only", "ping_first"],
)
def test_quiet_events_before_the_provider_is_known(
    both: tuple[ModuleType, ModuleType], events: list[str]
) -> None:
    # Events that carry nothing (ping, a block's stop) must not decide the provider.
    native, pure = both
    body = stream(events)
    assert record(native, body) == record(pure, body)
