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
    // Most non-ASCII text is either below the first range (accents, Cyrillic) or in the main
    // ideograph block: answer those without walking the table.
    cp >= 0x1100
        && ((0x4E00..=0x9FFF).contains(&cp)
            || CJK_RANGES.iter().any(|&(first, last)| (first..=last).contains(&cp)))
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

/// Bits of an ASCII byte's class, looked up instead of branched on (punctuation is what is
/// neither word nor space).
const WORD: u8 = 1;
const SPACE: u8 = 2;
/// A control character, not allowed raw inside a JSON string.
const CONTROL: u8 = 4;

const ASCII_CLASS: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let space = matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
        table[b] = if c.is_ascii_alphanumeric() || c == b'_' {
            WORD
        } else if space {
            SPACE
        } else if c < 0x20 {
            CONTROL
        } else {
            0
        };
        b += 1;
    }
    table
};

impl TextStats {
    pub fn add(&mut self, text: &str) {
        self.count::<false>(text);
    }

    /// Counts the raw body of a JSON string (no escapes in it); `false`, with `self` partly
    /// updated, when it holds a raw control character, which JSON does not allow.
    pub fn add_json_raw(&mut self, text: &str) -> bool {
        self.count::<true>(text)
    }

    fn count<const JSON_RAW: bool>(&mut self, text: &str) -> bool {
        let bytes = text.as_bytes();
        let (mut ascii, mut alnum, mut space, mut words) = (0u64, 0u64, 0u64, 0u64);
        let mut in_word = u64::from(self.in_word);
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                let class = ASCII_CLASS[usize::from(b)];
                if JSON_RAW && class == CONTROL {
                    return false;
                }
                let word = u64::from(class & WORD);
                ascii += 1;
                alnum += word;
                space += u64::from(class >> 1 & 1);
                words += word & !in_word;
                in_word = word;
                i += 1;
                continue;
            }
            // `text` is valid UTF-8: the lead byte gives the length.
            let (cp, len) = match b {
                0xC0..=0xDF => (u32::from(b & 0x1F), 2),
                0xE0..=0xEF => (u32::from(b & 0x0F), 3),
                _ => (u32::from(b & 0x07), 4),
            };
            let cp = bytes[i + 1..i + len]
                .iter()
                .fold(cp, |acc, &c| (acc << 6) | u32::from(c & 0x3F));
            if is_cjk(cp) {
                self.cjk += 1;
            } else {
                self.other += 1;
            }
            in_word = 0;
            i += len;
        }
        self.alnum += alnum;
        self.space += space;
        self.punct += ascii - alnum - space;
        self.words += words;
        self.in_word = in_word == 1;
        true
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
        stats.add("\u{1}\u{7f}😀");
        assert_eq!(stats.as_tuple(), (3, 13, 3, 3, 2, 2));
        assert!(!TextStats::default().add_json_raw("a\u{1f}"));
        assert!(TextStats::default().add_json_raw("a\u{7f}\u{80}"));
    }
}
