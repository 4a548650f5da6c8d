"""Character classes of streamed text, counted without keeping the text (twin of textstats.rs).

The estimator turns these counts into tokens. Counting is incremental: a word split across two
deltas ("Hel" + "lo") is still one word, so the in-word state carries over between calls.
"""

from __future__ import annotations

# (first, last) code points counted as CJK: one token each, or close to it, in every tokenizer.
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3000, 0x30FF),  # CJK punctuation, Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Hangul compatibility Jamo, Katakana extension
    (0x3400, 0x4DBF),  # CJK Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # half- and full-width forms
    (0x20000, 0x3FFFF),  # CJK Extensions B and later
)

STAT_FIELDS = ("words", "alnum", "space", "punct", "cjk", "other", "numbers")


def is_cjk(cp: int) -> bool:
    for first, last in CJK_RANGES:
        if cp < first:
            return False
        if cp <= last:
            return True
    return False


class TextStats:
    """Counts: ASCII word runs, ASCII word characters, ASCII white space, other ASCII, CJK,
    other non-ASCII code points, and the word runs that start with a digit (numbers, mostly:
    tokenizers split numbers from letters and into pieces of a few digits). `_` counts as a
    word character (identifiers in code)."""

    __slots__ = ("_in_word", "alnum", "cjk", "numbers", "other", "punct", "space", "words")

    def __init__(self) -> None:
        self.words = self.alnum = self.space = self.punct = self.cjk = self.other = 0
        self.numbers = 0
        self._in_word = False

    def add(self, text: str) -> None:
        in_word = self._in_word
        for ch in text:
            cp = ord(ch)
            if cp < 0x80:
                if ch.isalnum() or ch == "_":
                    self.alnum += 1
                    if not in_word:
                        self.words += 1
                        if "0" <= ch <= "9":
                            self.numbers += 1
                        in_word = True
                    continue
                if ch in " \t\n\r\x0b\x0c":
                    self.space += 1
                else:
                    self.punct += 1
            elif is_cjk(cp):
                self.cjk += 1
            else:
                self.other += 1
            in_word = False
        self._in_word = in_word

    def as_tuple(self) -> tuple[int, int, int, int, int, int, int]:
        return (
            self.words,
            self.alnum,
            self.space,
            self.punct,
            self.cjk,
            self.other,
            self.numbers,
        )


def text_stats(text: str) -> tuple[int, int, int, int, int, int, int]:
    """The counts of one whole text, as a tuple in STAT_FIELDS order."""
    stats = TextStats()
    stats.add(text)
    return stats.as_tuple()
