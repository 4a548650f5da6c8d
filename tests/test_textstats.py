"""The character counts behind every estimate: the Rust counter (16-byte blocks, lookup
tables) and the pure one must agree on any text, and counting in pieces equals counting whole."""

from __future__ import annotations

from types import ModuleType

from hypothesis import given, settings
from hypothesis import strategies as st
from sseusage_fast.pure.textstats import TextStats, text_stats

PIECES = st.sampled_from(
    [
        "word",
        "Under_score",
        "42",
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


@settings(max_examples=500, deadline=None)
@given(TEXT, st.integers(0, 200))
def test_counting_in_pieces_equals_counting_whole(text: str, cut: int) -> None:
    stats = TextStats()
    stats.add(text[:cut])
    stats.add(text[cut:])
    assert stats.as_tuple() == text_stats(text)


def test_known_counts() -> None:
    # words, alnum, space, punct, cjk, other
    assert text_stats("Hello, wor_ld 42\n你好é") == (3, 13, 3, 1, 2, 1)
    assert text_stats("") == (0, 0, 0, 0, 0, 0)


def test_every_code_point_is_classed_as_the_pure_twin_classes_it() -> None:
    from conftest import load_backend

    native: ModuleType = load_backend("native")
    # In blocks of 64 code points (a misclassified one changes its block's counts), over
    # everything up to past the last CJK range; surrogates are not text.
    for first in range(0x80, 0x40100, 64):
        text = "".join(chr(cp) for cp in range(first, first + 64) if not 0xD800 <= cp < 0xE000)
        assert native.text_stats(text) == text_stats(text), hex(first)
