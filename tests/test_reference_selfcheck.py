"""The oracle checked against hand-worked readings of the spec, so that the property tests in
test_decoder.py compare the decoders with something trustworthy. No backend is involved here."""

from __future__ import annotations

import pytest
from sse_reference import ReferenceResult, parse_stream, split_lines, utf8_decode

M = "message"


def test_spec_stock_example_joins_data_lines_with_lf() -> None:
    result = parse_stream(b"data: YHOO\ndata: +2\ndata: 10\n\n")
    assert result.events == [(M, "YHOO\n+2\n10", "")]


def test_spec_four_block_example() -> None:
    # A comment block (no event), an event with id 1, an event whose bare `id` line resets the id,
    # and a last block without its blank line (never dispatched).
    stream = (
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n"
    )
    result = parse_stream(stream)
    assert result.events == [(M, "first event", "1"), (M, "second event", "")]
    assert result.last_event_id == ""


def test_spec_empty_data_examples() -> None:
    # "data" with no colon appends an empty value plus LF; one trailing LF is then removed.
    result = parse_stream(b"data\n\ndata\ndata\n\ndata:\n")
    assert result.events == [(M, "", ""), (M, "\n", "")]


def test_spec_space_after_colon_is_optional() -> None:
    result = parse_stream(b"data:test\n\ndata: test\n\n")
    assert result.events == [(M, "test", ""), (M, "test", "")]


def test_only_one_space_removed() -> None:
    assert parse_stream(b"data:  x \n\n").events == [(M, " x ", "")]


def test_line_endings() -> None:
    assert split_lines("a\rb\nc\r\nd\n\re") == ["a", "b", "c", "d", ""]
    assert split_lines("\r\n\r\n") == ["", ""]
    assert split_lines("\n\r") == ["", ""]
    assert split_lines("x") == []
    assert split_lines("x\r") == ["x"]


def test_utf8_decode_bom_and_replacement() -> None:
    assert utf8_decode(b"\xef\xbb\xbfa") == "a"
    assert utf8_decode(b"\xef\xbb\xbf\xef\xbb\xbfa") == "\ufeffa"
    assert utf8_decode(b"a\xef\xbb\xbf") == "a\ufeff"
    assert utf8_decode(b"\xef\xbba") == "\ufffda"  # a truncated BOM is one maximal subpart
    assert utf8_decode(b"\xe2\x82") == "\ufffd"
    assert utf8_decode(b"\xed\xa0\x80") == "\ufffd" * 3  # surrogate: each byte replaced
    assert utf8_decode(b"\xc0\xaf") == "\ufffd" * 2  # overlong
    assert utf8_decode(b"\xf4\x90\x80\x80") == "\ufffd" * 4  # above U+10FFFF
    assert utf8_decode(b"\xf0\x9f\x98\x80") == "\U0001f600"


def test_dispatch_sets_last_event_id_string_even_without_event() -> None:
    result = parse_stream(b"id: 7\n\n")
    assert result == ReferenceResult(
        events=[], last_event_id="7", retry=None, last_event_id_buffer="7"
    )


def test_id_line_without_blank_line_only_reaches_the_buffer() -> None:
    result = parse_stream(b"retry:1000\ndata:test1\n\nid:test\ndata:test2")
    assert result.events == [(M, "test1", "")]
    assert result.last_event_id == ""
    assert result.last_event_id_buffer == "test"
    assert result.retry == 1000


def test_retry_only_ascii_digits() -> None:
    assert parse_stream(b"retry: 12\n").retry == 12
    assert parse_stream(b"retry: 0012\n").retry == 12
    for bogus in ("", " 1", "1 ", "-1", "+1", "1.0", "\u0663", "\uff15", "\u00b2", "1e3"):
        assert parse_stream(f"retry: 5\nretry: {bogus}\n".encode()).retry == 5, bogus


def test_retry_without_line_end_at_eof_is_discarded() -> None:
    assert parse_stream(b"retry: 5").retry is None


def test_id_with_null_ignored() -> None:
    result = parse_stream(b"id: a\ndata: 1\n\nid: b\x00c\ndata: 2\n\n")
    assert result.events == [(M, "1", "a"), (M, "2", "a")]


def test_event_type_reset_after_dispatch_and_after_empty_dispatch() -> None:
    stream = b"event: e1\ndata: 1\n\ndata: 2\n\nevent: lost\n\ndata: 3\n\n"
    assert parse_stream(stream).events == [("e1", "1", ""), (M, "2", ""), (M, "3", "")]


def test_seeded_last_event_id() -> None:
    result = parse_stream(b"data: a\n\nid\ndata: b\n\n", last_event_id="seed")
    assert result.events == [(M, "a", "seed"), (M, "b", "")]


@pytest.mark.parametrize(
    ("stream", "data"),
    [
        (b"\xef\xbb\xbf\xef\xbb\xbfdata:1\n\ndata:2\n\n", ["2"]),
        (b"data:1\r:\x00\n:\r\ndata:2\n:xx\rdata:3\n:data:fail\r:yy\ndata:4\n\n", ["1\n2\n3\n4"]),
        (b"data:\x00\n\n", ["\x00"]),
    ],
)
def test_wpt_style_cases(stream: bytes, data: list[str]) -> None:
    assert [e[1] for e in parse_stream(stream).events] == data


def test_retry_beyond_int_max_str_digits() -> None:
    assert parse_stream(b"retry: " + b"0" * 9000 + b"12\n").retry == 12
    assert parse_stream(b"retry: 1" + b"0" * 5000 + b"\n").retry == 10**5000
