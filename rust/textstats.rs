//! Character classes of streamed text, counted without keeping the text (twin of
//! `pure/textstats.py`). The Python `Estimator` turns the counts into tokens. The vector
//! kernels that find and classify the bytes are in `simd`; the counting is here.

use crate::simd::{self, text, Narrow, Vector};

/// Code points counted as CJK (the pure twin's `CJK_RANGES`, which a test compares).
#[inline]
fn is_cjk(cp: u32) -> bool {
    // The main ideograph block first, on its own: most CJK text is in it.
    (0x4E00..=0x9FFF).contains(&cp)
        || matches!(
            cp,
            0x1100..=0x11FF
                | 0x2E80..=0x2FDF
                | 0x3000..=0x30FF
                | 0x3100..=0x31FF
                | 0x3400..=0x4DBF
                | 0xAC00..=0xD7AF
                | 0xF900..=0xFAFF
                | 0xFF00..=0xFFEF
                | 0x20000..=0x3FFFF
        )
}

/// The multi-byte character at `b[i]` (a byte >= 0x80) and its length, with the checks of
/// the Unicode standard's table of well-formed sequences: no overlong forms, no surrogates,
/// nothing past U+10FFFF, every continuation byte in 0x80..=0xBF.
#[inline]
fn decode_utf8(b: &[u8], i: usize) -> Option<(u32, usize)> {
    let lead = b[i];
    let (len, second) = match lead {
        0xC2..=0xDF => (2, 0x80..=0xBF),
        0xE0 => (3, 0xA0..=0xBF),
        0xE1..=0xEC | 0xEE..=0xEF => (3, 0x80..=0xBF),
        0xED => (3, 0x80..=0x9F),
        0xF0 => (4, 0x90..=0xBF),
        0xF1..=0xF3 => (4, 0x80..=0xBF),
        0xF4 => (4, 0x80..=0x8F),
        _ => return None,
    };
    let tail = b.get(i + 1..i + len)?;
    if !second.contains(&tail[0]) || !tail[1..].iter().all(|c| (0x80..=0xBF).contains(c)) {
        return None;
    }
    let first = u32::from(lead) & (0x7F >> len);
    let cp = tail
        .iter()
        .fold(first, |acc, &c| (acc << 6) | u32::from(c & 0x3F));
    Some((cp, len))
}

/// The code point of the three-byte character at `b[i]` when its lead byte is one of those
/// whose second byte may be any continuation byte (E1..EC, EE, EF: the CJK blocks among
/// them): [`decode_utf8`]'s answer for these, in fewer steps. `None` for any other sequence.
#[inline(always)]
fn three_byte_char(b: &[u8], i: usize) -> Option<u32> {
    let &[lead, second, third] = b.get(i..i + 3)? else {
        return None;
    };
    let lead_ok = matches!(lead, 0xE1..=0xEC | 0xEE..=0xEF);
    let tail_ok = second & 0xC0 == 0x80 && third & 0xC0 == 0x80;
    (lead_ok && tail_ok).then(|| {
        u32::from(lead & 0x0F) << 12 | u32::from(second & 0x3F) << 6 | u32::from(third & 0x3F)
    })
}

/// No two of the four counts a block adds to (`words`, `alnum`, `space`, `ascii`) are next to
/// each other: adjacent, LLVM packed their additions into vector additions, more instructions
/// a block than scalar additions (four adjacent: 6 more an event on the Anthropic API layout;
/// `space` and the punctuation alone: 3 more a block).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TextStats {
    /// Runs of ASCII word characters (letters, digits, `_`).
    pub words: u64,
    pub cjk: u64,
    pub alnum: u64,
    /// Other non-ASCII code points.
    pub other: u64,
    /// ASCII white space: space, tab, LF, CR, VT, FF.
    pub space: u64,
    /// Runs of ASCII word characters that start with a digit: numbers, mostly, which
    /// tokenizers split from letters and into pieces of a few digits (tiktoken's
    /// `\p{N}{1,3}`), so they cost more than a word of the same length.
    pub numbers: u64,
    /// ASCII characters, of all classes: the punctuation ([`TextStats::punct`]) is what is
    /// neither word character nor white space, worked out when it is read (a block adds the
    /// number of its bytes, with no subtraction).
    ascii: u64,
    in_word: bool,
}

/// Bits of an ASCII byte's class, looked up instead of branched on (punctuation is what is
/// neither word nor space).
const WORD: u8 = 1;
const SPACE: u8 = 2;

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
        } else {
            0
        };
        b += 1;
    }
    table
};

/// The first lane set in `mask` among its first `lanes` (1..=32), `lanes` when none is: a
/// single `tzcnt` for 32 lanes (the wide vector's functions have BMI1).
#[inline(always)]
fn first_of(mask: u32, lanes: usize) -> usize {
    match lanes {
        32 => mask.trailing_zeros() as usize,
        _ => (mask | 1 << lanes).trailing_zeros() as usize,
    }
}

impl TextStats {
    /// Counts the bytes at the start of the 16-byte `block` up to the first one that is not
    /// plain text inside a JSON string (a quote, a backslash, a control character or a
    /// non-ASCII byte) and is not one of the simple escapes [`TextStats::add_plain`] counts;
    /// returns how many it counted (16 when there is none). One pass does what finding the
    /// string's end, checking UTF-8 and counting would do in three.
    #[inline]
    pub fn add_plain_block(&mut self, block: &[u8; 16]) -> usize {
        // SAFETY: the narrow vector is the baseline's; the load reads the 16 bytes of `block`.
        unsafe { self.add_plain::<Narrow>(block.as_ptr()).0 }
    }

    /// [`TextStats::add_plain_block`] for any vector, for readers generic over [`Vector`]
    /// (entered through [`simd::dispatch!`]), and the byte it stopped at (when it counted
    /// fewer than `V::LANES`: the caller's next step, read once here). When the run stops at
    /// a backslash, the block's escapes of quotes, backslashes and white space are counted
    /// too ([`TextStats::add_escaped`]). `block` must be valid for reading `V::LANES` bytes,
    /// and `V`'s instructions available.
    #[inline(always)]
    pub(crate) unsafe fn add_plain<V: Vector>(&mut self, block: *const u8) -> (usize, u8) {
        // SAFETY: the caller's contract.
        let x = unsafe { V::load(block) };
        // SAFETY: as above, register operations from here on.
        let stops = unsafe { text::string_stops(x) };
        let n = first_of(stops, V::LANES);
        // SAFETY: as above: a lane of the block (the first when there is no stop, unused).
        let stop = unsafe { *block.add(n & (V::LANES - 1)) };
        // SAFETY: as above (the byte after the backslash, when the block holds it).
        if stop == b'\\' && n + 1 < V::LANES && unsafe { *block.add(n + 1) } != b'u' {
            // SAFETY: as above.
            let n = unsafe { self.add_escaped::<V>(x, 0, V::LANES) };
            // SAFETY: as above.
            return (n, unsafe { *block.add(n & (V::LANES - 1)) });
        }
        // An empty run adds nothing: skipped on the narrow vector only, whose bit counts are
        // table lookups (the wide one's test costs more than the rare empty run).
        if V::LANES == 32 || n > 0 {
            // SAFETY: as above; the counted lanes are printable ASCII (the stops end them).
            let (word, space, digit) = unsafe { text::string_classes(x) };
            // SAFETY: as above.
            unsafe {
                let (word, space) = (V::first_lanes(word, n), V::first_lanes(space, n));
                self.add_masks::<V>(n, n, word, space, digit)
            };
        }
        (n, stop)
    }

    /// [`TextStats::add_plain`] of a run that a backslash stops: the lanes `shift..` of `x`
    /// (at most `left`) counted up to the first stop that is not an escape of a quote, a
    /// backslash or white space (`\\n`, `\\t`, `\\r`) whose two bytes are in the lanes; returns
    /// how many it counted. The escapes are found from the backslashes' mask (simdjson's odd
    /// runs): so the deltas' line ends and a tool's escaped JSON are counted from the one
    /// block, where each escape cost a block of its own.
    #[inline(always)]
    unsafe fn add_escaped<V: Vector>(&mut self, x: V, shift: usize, left: usize) -> usize {
        const ODD: u32 = 0xAAAA_AAAA;
        // SAFETY (both): the caller's contract: register operations.
        let (quote, backslash, other, space_letter) = unsafe { text::escape_classes(x) };
        let (word, space, digit) = unsafe { text::string_classes(x) };
        let (quote, backslash, other) = (quote >> shift, backslash >> shift, other >> shift);
        let space_letter = space_letter >> shift;
        // The lanes that a backslash escapes (one after each odd run of backslashes, every
        // second of a run), and the backslashes that escape them; the run starts outside any.
        let escape_and_terminal = ((backslash << 1 | ODD).wrapping_sub(backslash)) ^ ODD;
        let escaped = escape_and_terminal ^ backslash;
        let escape = escape_and_terminal & backslash;
        let simple = escaped & (quote | backslash | space_letter);
        // A `\\u` or other escape, or one whose second byte is past the lanes, stops the run at
        // its backslash; an escaped quote does not stop it.
        let stops = (quote | other) & !escaped | escape & !(simple >> 1);
        let n = first_of(stops, left);
        if n > 0 {
            // The escapes' two bytes are one character, white space or punctuation, no
            // word character (a word ends at it as at one lane).
            // SAFETY: as above.
            let keep = unsafe { V::first_lanes(u32::MAX, n) };
            let word = word >> shift & !escaped & keep;
            let space = (space >> shift | simple & space_letter) & keep;
            // SAFETY: as above.
            let chars = n - unsafe { V::count_ones(escape & keep) } as usize;
            // SAFETY: as above.
            unsafe { self.add_masks::<V>(chars, n, word, space, digit >> shift) };
        }
        n
    }

    /// [`TextStats::add_plain`] for the last bytes of `buf`, from `pos` (fewer than
    /// `V::LANES`): the block that ends at `buf`'s end is loaded (the bytes before `pos`
    /// shifted out of its masks), or, when `buf` is shorter than a block, a copy of the bytes
    /// padded with NUL (a control character: a stop). `None` when no byte from `pos` on ends
    /// the plain run (the string goes on past `buf`: cut), else how many it counted and the
    /// byte it stopped at. `V`'s instructions must be available.
    #[inline(always)]
    pub(crate) unsafe fn add_plain_tail<V: Vector>(
        &mut self,
        buf: &[u8],
        pos: usize,
    ) -> Option<(usize, u8)> {
        let left = buf.len().checked_sub(pos).filter(|&n| n > 0)?;
        debug_assert!(left < V::LANES);
        let (x, shift) = match buf.len().checked_sub(V::LANES) {
            // SAFETY: the caller's contract; the load reads the last `V::LANES` bytes of `buf`.
            Some(last) => (unsafe { V::load(buf.as_ptr().add(last)) }, pos - last),
            None => {
                let mut padded = [0u8; 32];
                padded[..left].copy_from_slice(&buf[pos..]);
                // SAFETY: as above; the load reads `V::LANES` <= 32 bytes of `padded`.
                (unsafe { V::load(padded.as_ptr()) }, 0)
            }
        };
        // SAFETY: as above, register operations from here on.
        let stops = unsafe { text::string_stops(x) } >> shift;
        let n = first_of(stops, left);
        if n == left {
            return None;
        }
        let stop = buf[pos + n];
        if stop == b'\\' && buf.get(pos + n + 1) != Some(&b'u') {
            // SAFETY: as above.
            let n = unsafe { self.add_escaped::<V>(x, shift, left) };
            return buf.get(pos + n).map(|&stop| (n, stop));
        }
        if n > 0 {
            // SAFETY: as above; the counted lanes are printable ASCII (the stops end them).
            let (word, space, digit) = unsafe { text::string_classes(x) };
            // SAFETY (both): as above.
            let keep = unsafe { V::first_lanes(u32::MAX, n) };
            unsafe {
                self.add_masks::<V>(
                    n,
                    n,
                    word >> shift & keep,
                    space >> shift & keep,
                    digit >> shift,
                )
            };
        }
        Some((n, stop))
    }

    /// Counts `chars` ASCII characters in the first `n` (0..=`V::LANES`) lanes from their
    /// word and white-space masks (none past the `n`th) and their digit mask (bits past the
    /// `n`th ignored: a digit is a word character, so the word mask keeps them out).
    #[inline(always)]
    unsafe fn add_masks<V: Vector>(
        &mut self,
        chars: usize,
        n: usize,
        word: u32,
        space: u32,
        digit: u32,
    ) {
        // SAFETY: the caller's contract: `V`'s instructions are available.
        let bits = |mask: u32| u64::from(unsafe { V::count_ones(mask) });
        self.alnum += bits(word);
        self.space += bits(space);
        self.ascii += chars as u64;
        // Each lane's previous one, the last counted before them at bit 0.
        let previous = u64::from(word) << 1 | u64::from(self.in_word);
        let starts = word & !(previous as u32);
        self.words += bits(starts);
        // Most blocks start no number: a test instead of a count (the narrow vector counts
        // bits by table lookups).
        let numbers = starts & digit;
        if numbers != 0 {
            self.numbers += bits(numbers);
        }
        // The last lane's word bit (with no lane, the one before).
        self.in_word = previous >> n & 1 == 1;
    }

    /// Counts a whole text: blocks of 32 bytes with AVX2 where the processor has it.
    pub fn add(&mut self, text: &str) {
        let (stats, buf) = (self, text.as_bytes());
        simd::dispatch!(count_text::<V>(stats: &mut TextStats, buf: &[u8]))
    }

    /// Counts `buf[start..end]`, which the caller has checked is UTF-8 text. `buf` may go on
    /// past `end`: blocks of 16 bytes are then loaded across the end and the extra bytes not
    /// counted, which beats a byte loop for the short texts of streamed deltas. Out of line:
    /// inlined, it takes registers from its callers' loops over plain text.
    #[inline(never)]
    pub fn add_within(&mut self, buf: &[u8], start: usize, end: usize) {
        // SAFETY: the narrow vector is the baseline's.
        unsafe { self.add_within_with::<Narrow>(buf, start, end) }
    }

    /// [`TextStats::add_within`] with `V`'s blocks (16-byte ones where `buf` has no more);
    /// `V`'s instructions must be available.
    #[inline(always)]
    unsafe fn add_within_with<V: Vector>(&mut self, buf: &[u8], start: usize, end: usize) {
        let mut i = start;
        while i < end {
            let left = end - i;
            // SAFETY (both): the caller's contract, and the narrow vector is the baseline's.
            let (counted, lanes) = if let Some(block) = buf.get(i..i + V::LANES) {
                (unsafe { self.add_ascii_prefix::<V>(block, left) }, V::LANES)
            } else if let Some(block) = buf.get(i..i + 16).filter(|_| V::LANES > 16) {
                (unsafe { self.add_ascii_prefix::<Narrow>(block, left) }, 16)
            } else {
                (0, 0)
            };
            i += counted;
            if counted == left.min(lanes) && counted > 0 {
                continue;
            }
            // Byte by byte up to the next block boundary (non-ASCII text, the buffer's end).
            let stop = (i + 16).min(end);
            while i < stop {
                i += self.add_char(buf, i);
            }
        }
    }

    /// Counts the ASCII bytes at the start of `block` (which holds `V::LANES`), at most
    /// `left`; returns how many it counted.
    #[inline(always)]
    unsafe fn add_ascii_prefix<V: Vector>(&mut self, block: &[u8], left: usize) -> usize {
        debug_assert!(block.len() >= V::LANES && left > 0);
        // SAFETY: the caller's contract; the load reads `V::LANES` bytes of `block`.
        let x = unsafe { V::load(block.as_ptr()) };
        // SAFETY: as above, register operations.
        let non_ascii = unsafe { text::non_ascii(x) };
        let n = (u64::from(non_ascii) | 1 << left.min(V::LANES)).trailing_zeros() as usize;
        if n > 0 {
            // SAFETY: as above.
            let (word, space, digit) = unsafe { text::ascii_classes(x) };
            // SAFETY: as above.
            unsafe {
                let (word, space) = (V::first_lanes(word, n), V::first_lanes(space, n));
                self.add_masks::<V>(n, n, word, space, digit)
            };
        }
        n
    }

    /// Counts one ASCII character (`b` < 0x80).
    #[inline]
    pub fn add_ascii(&mut self, b: u8) {
        let class = ASCII_CLASS[usize::from(b & 0x7F)];
        let word = class & WORD != 0;
        self.alnum += u64::from(word);
        self.space += u64::from(class >> 1 & 1);
        self.ascii += 1;
        let start = word && !self.in_word;
        self.words += u64::from(start);
        self.numbers += u64::from(start && b.is_ascii_digit());
        self.in_word = word;
    }

    /// Counts the character starting at `bytes[i]`; returns its length in bytes.
    #[inline]
    fn add_char(&mut self, bytes: &[u8], i: usize) -> usize {
        let b = bytes[i];
        if b < 0x80 {
            self.add_ascii(b);
            return 1;
        }
        // `bytes` is valid UTF-8: the lead byte gives the length.
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
        self.in_word = false;
        len
    }

    /// Counts the non-ASCII characters from `bytes[i]` up to the next ASCII byte or the end,
    /// checking them as `str::from_utf8` would; returns where it stopped, or `None` at the
    /// first byte that is not valid UTF-8. One pass instead of a check and then a count, for
    /// streamed CJK text.
    pub fn add_non_ascii(&mut self, bytes: &[u8], mut i: usize) -> Option<usize> {
        let start = i;
        while let Some(&lead) = bytes.get(i) {
            if lead < 0x80 {
                break;
            }
            if let Some(block) = bytes.get(i..i + 16) {
                // SAFETY: the narrow vector is the baseline's; the load reads `block`'s 16 bytes.
                if unsafe { text::five_main_ideographs(Narrow::load(block.as_ptr())) } {
                    self.cjk += 5;
                    i += 15;
                    continue;
                }
            }
            let (cp, len) = match three_byte_char(bytes, i) {
                Some(cp) => (cp, 3),
                None => decode_utf8(bytes, i)?,
            };
            if is_cjk(cp) {
                self.cjk += 1;
            } else {
                self.other += 1;
            }
            i += len;
        }
        if i > start {
            self.in_word = false;
        }
        Some(i)
    }

    /// Other ASCII: neither word character nor white space.
    pub fn punct(&self) -> u64 {
        self.ascii - self.alnum - self.space
    }

    /// The counts in the order of the Python `STAT_FIELDS`.
    pub fn as_tuple(&self) -> (u64, u64, u64, u64, u64, u64, u64) {
        (
            self.words,
            self.alnum,
            self.space,
            self.punct(),
            self.cjk,
            self.other,
            self.numbers,
        )
    }

    pub fn is_empty(&self) -> bool {
        self.ascii + self.cjk + self.other == 0
    }

    /// Empty counts that go on from where `self` ended (inside a word or not): counting a
    /// text into these and then [`TextStats::append`]-ing them to `self` counts as counting
    /// the text into `self`, but leaves `self` as it was until the text is known to be good.
    pub fn continued(&self) -> Self {
        TextStats {
            in_word: self.in_word,
            ..TextStats::default()
        }
    }

    /// Adds counts made from [`TextStats::continued`].
    pub fn append(&mut self, later: &TextStats) {
        self.words += later.words;
        self.alnum += later.alnum;
        self.space += later.space;
        self.ascii += later.ascii;
        self.cjk += later.cjk;
        self.other += later.other;
        self.numbers += later.numbers;
        self.in_word = later.in_word;
    }
}

/// [`TextStats::add`] with `V`'s blocks: the kernel [`simd::dispatch!`] compiles for each
/// vector; `V`'s instructions must be available.
#[inline(always)]
unsafe fn count_text<V: Vector>(stats: &mut TextStats, buf: &[u8]) {
    // SAFETY: the caller's contract.
    unsafe { stats.add_within_with::<V>(buf, 0, buf.len()) }
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
        assert_eq!(stats.as_tuple(), (3, 13, 3, 1, 2, 1, 1));
        stats.add("\u{1}\u{7f}😀");
        assert_eq!(stats.as_tuple(), (3, 13, 3, 3, 2, 2, 1));
        // A number split across calls is one; digits inside a word start none.
        stats.add("20");
        stats.add("25 a1 _9 1b");
        assert_eq!(stats.as_tuple().6, 3);
    }

    #[test]
    fn blocks_count_like_single_characters() {
        let pieces = [
            "Hello",
            " ",
            "wor_ld",
            "42",
            "\t\n",
            "{\"a\":1}",
            "你好",
            "é",
            "\u{1}",
            "😀",
            "x",
            "7",
            "2025",
            "v2",
            "-",
        ];
        let mut seed = 7u32;
        let mut text = String::new();
        for _ in 0..4000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            text.push_str(pieces[(seed >> 16) as usize % pieces.len()]);
        }
        let mut whole = TextStats::default();
        whole.add(&text);
        let mut one_by_one = TextStats::default();
        for ch in text.chars() {
            one_by_one.add(ch.encode_utf8(&mut [0; 4]));
        }
        assert_eq!(whole, one_by_one);
    }

    /// Every lead byte with every second byte, and third/fourth bytes at the edges of the
    /// valid ranges: accepted exactly when `from_utf8` accepts, counted as `add` counts.
    #[test]
    fn non_ascii_runs_check_and_count_like_from_utf8() {
        let edges = [
            0x00u8, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF,
        ];
        for lead in 0x80..=0xFFu8 {
            for second in 0..=0xFFu8 {
                for &third in &edges {
                    for &fourth in &edges {
                        assert_non_ascii_run_reads_as_from_utf8(&[
                            lead, second, third, fourth, b'"',
                        ]);
                    }
                }
            }
        }
    }

    /// Runs long enough for the five-ideograph step, mixing characters at the edges of the
    /// main block and of its lead bytes with others, valid or not: checked and counted as
    /// `from_utf8` and `add` would.
    #[test]
    fn long_non_ascii_runs_check_and_count_like_from_utf8() {
        let pieces: [&[u8]; 14] = [
            "一".as_bytes(), // U+4E00, E4 B8 80
            "䷿".as_bytes(),  // U+4DFF, E4 B7 BF: not CJK
            "鿿".as_bytes(), // U+9FFF, E9 BF BF
            "ꀀ".as_bytes(), // U+A000, EA 80 80: not CJK
            "你好".as_bytes(),
            "。".as_bytes(), // U+3002
            "㐀".as_bytes(), // U+3400
            "，".as_bytes(), // U+FF0C
            "é".as_bytes(),
            "😀".as_bytes(),
            b"\xE5\xBF",     // cut short
            b"\xE5\x80\xC0", // a bad continuation
            b"\xED\xA0\x80", // a surrogate
            b"\xE0\x80\x80", // overlong
        ];
        let mut seed = 11u32;
        for _ in 0..20_000 {
            let mut bytes = Vec::new();
            let mut n = 0;
            loop {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let pick = (seed >> 16) as usize % (pieces.len() * 4);
                // Mostly the main block, as real text is.
                bytes.extend_from_slice(pieces.get(pick).copied().unwrap_or("的".as_bytes()));
                n += 1;
                if n > (seed >> 8) as usize % 24 {
                    break;
                }
            }
            bytes.push(b'"');
            assert_non_ascii_run_reads_as_from_utf8(&bytes);
        }
    }

    /// `add_non_ascii` from the start of `bytes` (which end in ASCII): it stops where the run of
    /// non-ASCII characters that `from_utf8` accepts ends, counted as `add` counts them, or
    /// gives `None` when that run ends at a byte that is not valid UTF-8.
    fn assert_non_ascii_run_reads_as_from_utf8(bytes: &[u8]) {
        let mut fused = TextStats::default();
        let stop = fused.add_non_ascii(bytes, 0);
        let valid = match std::str::from_utf8(bytes) {
            Ok(_) => bytes.len(),
            Err(e) => e.valid_up_to(),
        };
        let text = std::str::from_utf8(&bytes[..valid]).unwrap();
        let run: String = text.chars().take_while(|c| !c.is_ascii()).collect();
        if bytes.get(run.len()).is_some_and(|&b| b < 0x80) {
            assert_eq!(stop, Some(run.len()), "{bytes:02x?}");
            let mut counted = TextStats::default();
            counted.add(&run);
            assert_eq!(fused, counted, "{bytes:02x?}");
        } else {
            assert_eq!(stop, None, "{bytes:02x?}");
        }
    }

    /// Counting with each vector type (the plain-Rust one, SSE2, AVX2 where the processor
    /// has it) counts as the narrow one does: whole ranges, and plain runs block by block.
    #[test]
    fn every_vector_type_counts_alike() {
        let text = "Some words, 42 of_them\t\"quoted\" \\ 你好世界 é 😀 and a tail long enough \
                    for a few 32-byte blocks: 2025-12-05, v2 7x9 the end.\n";
        let bytes = text.as_bytes();
        let bounds: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for (a_at, &a) in bounds.iter().enumerate() {
            for &b in &bounds[a_at..] {
                simd::each_vector!(check_within::<V>(bytes: &[u8], a: usize, b: usize));
            }
        }
        for at in 0..bytes.len() - 32 {
            simd::each_vector!(check_plain::<V>(bytes: &[u8], at: usize));
        }
    }

    /// `buf[start..end]` counted with `V` as with the narrow vector.
    #[inline(always)]
    unsafe fn check_within<V: Vector>(buf: &[u8], start: usize, end: usize) {
        let mut narrow = TextStats::default();
        narrow.add_within(buf, start, end);
        let mut with = TextStats::default();
        // SAFETY: `each_vector!` runs `V` where its instructions are available.
        unsafe { with.add_within_with::<V>(buf, start, end) };
        assert_eq!(with, narrow, "{start}..{end} {}", V::LANES);
    }

    /// The plain run at `at` counted with one block of `V` as with the 16-byte blocks.
    #[inline(always)]
    unsafe fn check_plain<V: Vector>(bytes: &[u8], at: usize) {
        let mut with = TextStats::default();
        // SAFETY: as above; the load reads `V::LANES` <= 32 bytes of `bytes` from `at`.
        let n = unsafe { with.add_plain::<V>(bytes[at..at + 32].as_ptr()) }.0;
        let mut narrow = TextStats::default();
        let mut m = 0;
        while m < V::LANES {
            let k = narrow.add_plain_block(bytes[at + m..at + m + 16].try_into().unwrap());
            m += k;
            if k < 16 {
                break;
            }
        }
        assert_eq!((n, with), (m, narrow), "{at} {}", V::LANES);
    }

    #[test]
    fn counting_within_a_longer_buffer_equals_counting_the_slice() {
        let text = "word 你好 _x9 \t{\"k\": 1}😀 é 31.5 tail of the buffer, 2 long enough";
        let bounds: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for (a_at, &a) in bounds.iter().enumerate() {
            for &b in &bounds[a_at..] {
                let mut within = TextStats::default();
                within.add_within(text.as_bytes(), a, b);
                let mut alone = TextStats::default();
                for ch in text[a..b].chars() {
                    alone.add(ch.encode_utf8(&mut [0; 4]));
                }
                assert_eq!(within, alone, "{a}..{b}");
            }
        }
    }

    /// The numbers of a text (word runs that start with an ASCII digit), by definition.
    fn numbers_of(text: &str) -> u64 {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut previous = None;
        let mut numbers = 0;
        for b in text.bytes() {
            let starts = word(b) && !previous.is_some_and(word);
            numbers += u64::from(starts && b.is_ascii_digit());
            previous = Some(b);
        }
        numbers
    }

    /// A number, a word with digits in it and a run of digits after a non-word byte at every
    /// offset of the blocks (16 and 32 bytes, the tail block, the byte path), counted whole,
    /// split at every byte into two calls, and with every vector type: the definition's count.
    #[test]
    fn numbers_count_at_every_offset_and_split() {
        for piece in [
            "1", "42", "2025", "a1", "_9", "9z", "-7", "é3", "你9", "x 9",
        ] {
            for at in 0..70 {
                let text = format!("{}{piece}{}", "w".repeat(at), " tail".repeat(at % 3));
                let expected = numbers_of(&text);
                let mut whole = TextStats::default();
                whole.add(&text);
                assert_eq!(whole.numbers, expected, "{text:?}");
                for cut in (0..=text.len()).filter(|&c| text.is_char_boundary(c)) {
                    let mut split = TextStats::default();
                    split.add(&text[..cut]);
                    split.add(&text[cut..]);
                    assert_eq!(split, whole, "{text:?} cut at {cut}");
                }
                let (bytes, start, end) = (text.as_bytes(), 0, text.len());
                simd::each_vector!(check_within::<V>(bytes: &[u8], start: usize, end: usize));
            }
        }
    }
}
