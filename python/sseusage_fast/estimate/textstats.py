"""Text statistics to tokens: the `text_stats` 7-tuple
`(words, alnum, space, punct, cjk, other, numbers)` that the parsers count streamed text into
(they never keep the text), and the fitted coefficients that turn it into an uncalibrated
token count."""

from __future__ import annotations

from collections.abc import Callable, Sequence

Stats = tuple[int, int, int, int, int, int, int]
# The order of pure.textstats.STAT_FIELDS (a test checks they agree).
STAT_FIELDS = ("words", "alnum", "space", "punct", "cjk", "other", "numbers")


def text_stats(text: str) -> Stats:
    """The counts of a whole text: the Rust counter when built (30x faster on a long prompt,
    same result: a test checks), else the pure one. Imported on first use: importing the
    `pure` package at module load would run its __init__, which imports this module."""
    global _text_stats_impl
    if _text_stats_impl is None:
        try:
            from .._native import text_stats as impl
        except ImportError:
            from ..pure.textstats import text_stats as impl
        _text_stats_impl = impl
    return _text_stats_impl(text)


_text_stats_impl: Callable[[str], Stats] | None = None


# Tokens per unit of each STAT_FIELDS count. Non-negative least squares on relative error, fitted
# to the mean of two real tokenizers (Anthropic's published Claude tokenizer.json from the
# `anthropic` SDK <= 0.38, and OpenAI's cl100k_base) over benches/estimator_samples/ (English
# prose, code, JSON, Chinese, other scripts); `python benches/estimate_text_accuracy.py --fit`
# recomputes them (fitted 0.788, 0.0346, 0.1546, 0.7835, 1.0632, 0.7324). Reading: a word and
# the space before it cost about one token, plus a little per letter (long words split);
# punctuation is most of a token each; a CJK character about one token.
# A number (a word that starts with a digit) costs three quarters of a token more than a word
# of its length: tokenizers split numbers from letters, from the space before them and into
# pieces of a few digits (tiktoken's cl100k and o200k patterns join a space to letters, not to
# `\p{N}{1,3}`; SentencePiece models split every digit). Fitted apart, on what the six above
# leave over (the same samples and target, the six held as they were: 0.7534; fitted with them
# it moved the others and so every prose estimate), by `--fit` too. "2 + 2 equals 4." is 8
# tokens in cl100k: 5.7 without it, 7.9 with it; "Tomorrow is November 20, 2025." 10: 7.0 and
# 8.5.
COEF_WORDS = 0.788
COEF_ALNUM = 0.0346
COEF_SPACE = 0.155
COEF_PUNCT = 0.784
COEF_CJK = 1.063
COEF_OTHER = 0.732
COEF_NUMBERS = 0.753
COEFFICIENTS: tuple[float, ...] = (
    COEF_WORDS,
    COEF_ALNUM,
    COEF_SPACE,
    COEF_PUNCT,
    COEF_CJK,
    COEF_OTHER,
    COEF_NUMBERS,
)
# Stats counted before `numbers` was (six counts) still read: with no number counted.
_OLD_FIELDS = len(STAT_FIELDS) - 1


def check_stats(stats: Sequence[int]) -> Stats:
    if len(stats) == _OLD_FIELDS:
        stats = (*stats, 0)
    elif len(stats) != len(STAT_FIELDS):
        raise ValueError(f"stats must have {len(STAT_FIELDS)} counts {STAT_FIELDS}")
    return tuple(map(int, stats))  # type: ignore[return-value]


def base_tokens(stats: Sequence[int]) -> float:
    """The uncalibrated estimate of a text's tokens from its `text_stats` tuple."""
    return core_base_tokens(check_stats(stats))


def core_base_tokens(stats: Sequence[int]) -> float:
    """`Estimator.base_tokens` of stats that a core counted (`text_stats`, a parser's output
    stats), which are always a 7-tuple of ints: nothing to check, and int() of an int is the
    int, so no conversion. The products added left to right in one expression, as the native
    core adds them (`learn::base_tokens`), so the same float on every Python (3.12's sum()
    compensates rounding, and would not always match). A test checks the two agree."""
    words, alnum, space, punct, cjk, other, numbers = stats
    return (
        COEF_WORDS * words
        + COEF_ALNUM * alnum
        + COEF_SPACE * space
        + COEF_PUNCT * punct
        + COEF_CJK * cjk
        + COEF_OTHER * other
        + COEF_NUMBERS * numbers
    )


def has_chars(stats: Sequence[int]) -> bool:
    # words counts runs of alnum, so the characters are everything after it (numbers are
    # among them). For ints, the same as any(v > 0 ...), without a generator.
    return max(stats[1:]) > 0
