"""The character counts behind every estimate: the Rust counter (16-byte blocks, lookup
tables) and the pure one must agree on any text, and counting in pieces equals counting whole."""

from __future__ import annotations

import re
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sseusage_fast.pure.textstats import STAT_FIELDS, TextStats, text_stats

PIECES = st.sampled_from(
    [
        "word",
        "Under_score",
        "42",
        "2025",
        "v2",
        "-7",
        "3.14",
        " ",
        "\t\n",
        '{"k": [1, 2]}',
        "你好",
        "カタカナ",
        "é",
        "😀",
        "\x01",
    ]
)
TEXT = st.one_of(st.text(), st.lists(PIECES, max_size=60).map("".join))


@settings(max_examples=2000, deadline=None)
@given(TEXT)
def test_native_counts_equal_pure(text: str) -> None:
    from conftest import load_backend

    native: ModuleType = load_backend("native")
    assert native.text_stats(text) == text_stats(text)
    assert text_stats(text)[STAT_FIELDS.index("numbers")] == numbers_of(text)


@settings(max_examples=500, deadline=None)
@given(TEXT, st.integers(0, 200))
def test_counting_in_pieces_equals_counting_whole(text: str, cut: int) -> None:
    stats = TextStats()
    stats.add(text[:cut])
    stats.add(text[cut:])
    assert stats.as_tuple() == text_stats(text)


def test_known_counts() -> None:
    # words, alnum, space, punct, cjk, other, numbers
    assert text_stats("Hello, wor_ld 42\n你好é") == (3, 13, 3, 1, 2, 1, 1)
    assert text_stats("") == (0, 0, 0, 0, 0, 0, 0)


def numbers_of(text: str) -> int:
    """Word runs (ASCII letters, digits, `_`) that start with a digit, by definition."""
    return len(re.findall(r"(?<![A-Za-z0-9_])[0-9]", text))


@pytest.mark.parametrize("piece", ["7", "2025", "a1", "_9", "9z", "-42", "é3", "你9", "1.5"])
def test_numbers_at_every_offset_and_split_on_both_backends(piece: str) -> None:
    # Every offset of the native counter's 16- and 32-byte blocks, the text cut at every
    # character into two pieces (a number split across deltas is one number).
    from conftest import load_backend

    native: ModuleType = load_backend("native")
    for at in range(70):
        text = "w" * at + piece + " tail" * (at % 3)
        whole = text_stats(text)
        assert whole[STAT_FIELDS.index("numbers")] == numbers_of(text), text
        assert native.text_stats(text) == whole, text
        for cut in range(len(text) + 1):
            stats = TextStats()
            stats.add(text[:cut])
            stats.add(text[cut:])
            assert stats.as_tuple() == whole, (text, cut)


def test_every_code_point_is_classed_as_the_pure_twin_classes_it() -> None:
    from conftest import load_backend

    native: ModuleType = load_backend("native")
    # In blocks of 64 code points (a misclassified one changes its block's counts), over
    # everything up to past the last CJK range; surrogates are not text.
    for first in range(0x80, 0x40100, 64):
        text = "".join(chr(cp) for cp in range(first, first + 64) if not 0xD800 <= cp < 0xE000)
        assert native.text_stats(text) == text_stats(text), hex(first)
