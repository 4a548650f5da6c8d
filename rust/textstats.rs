//! Character classes of streamed text, counted without keeping the text (twin of
//! `pure/textstats.py`). The Python `Estimator` turns the counts into tokens.

/// (first, last) code points counted as CJK.
const CJK_RANGES: [(u32, u32); 10] = [
    (0x1100, 0x11FF),
    (0x2E80, 0x2FDF),
    (0x3000, 0x30FF),
    (0x3100, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3FFFF),
];

fn is_cjk(cp: u32) -> bool {
    CJK_RANGES
        .iter()
        .any(|&(first, last)| (first..=last).contains(&cp))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TextStats {
    /// Runs of ASCII word characters (letters, digits, `_`).
    pub words: u64,
    pub alnum: u64,
    /// ASCII white space: space, tab, LF, CR, VT, FF.
    pub space: u64,
    /// Other ASCII.
    pub punct: u64,
    pub cjk: u64,
    /// Other non-ASCII code points.
    pub other: u64,
    in_word: bool,
}

impl TextStats {
    pub fn add(&mut self, text: &str) {
        let mut in_word = self.in_word;
        for ch in text.chars() {
            if ch.is_ascii() {
                if ch.is_ascii_alphanumeric() || ch == '_' {
                    self.alnum += 1;
                    self.words += u64::from(!in_word);
                    in_word = true;
                    continue;
                }
                if matches!(ch, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c') {
                    self.space += 1;
                } else {
                    self.punct += 1;
                }
            } else if is_cjk(ch as u32) {
                self.cjk += 1;
            } else {
                self.other += 1;
            }
            in_word = false;
        }
        self.in_word = in_word;
    }

    pub fn as_tuple(&self) -> (u64, u64, u64, u64, u64, u64) {
        (
            self.words, self.alnum, self.space, self.punct, self.cjk, self.other,
        )
    }

    pub fn is_empty(&self) -> bool {
        self.alnum + self.space + self.punct + self.cjk + self.other == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_words_across_calls() {
        let mut stats = TextStats::default();
        stats.add("Hel");
        stats.add("lo, wor_ld 42\n");
        stats.add("你好é");
        assert_eq!(stats.as_tuple(), (3, 13, 3, 1, 2, 1));
    }
}
