//! Reading JSON text in place, without a tree: a string found, checked and counted in one
//! pass, and the literal compares that the whole-event readers match layouts with. Anything
//! unusual returns `None`, and the caller reads the event with the full JSON parser instead, so
//! the result is always the one a full parse gives.

use crate::textstats::TextStats;

/// The first byte of `b` that ends a plain run inside a JSON string: a quote, a backslash or
/// a control character (which JSON forbids raw). 16 bytes at a time with SSE2 on x86_64.
#[inline]
pub fn string_stop(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86_64 baseline; loads are unaligned and stay in `b`.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let high3 = _mm_set1_epi8(0xE0u8 as i8);
            let zero = _mm_setzero_si128();
            while i + 16 <= b.len() {
                let x = _mm_loadu_si128(b.as_ptr().add(i).cast());
                let control = _mm_cmpeq_epi8(_mm_and_si128(x, high3), zero); // x < 0x20
                let hits = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                    control,
                );
                let mask = _mm_movemask_epi8(hits);
                if mask != 0 {
                    return Some(i + mask.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

/// Counts a JSON string body (between the quotes, escapes undecoded) into `stats`; returns the
/// index just past the closing quote. `stats` may be partly updated when it returns `None`.
/// Inlined: most streamed strings are short plain ASCII, read here without a call; the rest
/// (escapes, non-ASCII text, the buffer's last bytes) continues in [`count_string_rest`].
#[inline(always)]
pub fn count_string(bytes: &[u8], start: usize, stats: &mut TextStats) -> Option<usize> {
    count_string_with::<false>(bytes, start, stats)
}

/// [`count_string`], 32 bytes a step with AVX2 when `WIDE`. Only the AVX2 paths (functions
/// compiled with the `avx2` and `popcnt` target features, entered when [`crate::simd::wide`]
/// says so) may instantiate it with `WIDE`.
#[inline(always)]
pub(crate) fn count_string_with<const WIDE: bool>(
    bytes: &[u8],
    start: usize,
    stats: &mut TextStats,
) -> Option<usize> {
    let mut pos = start;
    #[cfg(target_arch = "x86_64")]
    loop {
        let n = if WIDE {
            let Some(block) = bytes.get(pos..pos + 32) else {
                break;
            };
            // SAFETY: `WIDE` code runs only where AVX2 and POPCNT are available (above).
            unsafe { stats.add_plain_block32(block.try_into().expect("32 bytes")) }
        } else {
            let Some(block) = bytes.get(pos..pos + 16) else {
                break;
            };
            stats.add_plain_block(block.try_into().expect("16 bytes"))
        };
        pos += n;
        if n < if WIDE { 32 } else { 16 } {
            if bytes[pos] == b'"' {
                return Some(pos + 1);
            }
            break;
        }
    }
    count_string_rest(bytes, pos, stats)
}

/// [`count_string`] from `pos` on.
#[inline(never)]
fn count_string_rest(bytes: &[u8], mut pos: usize, stats: &mut TextStats) -> Option<usize> {
    loop {
        // Plain ASCII, the bulk of streamed text: found and counted 16 bytes at a time.
        #[cfg(target_arch = "x86_64")]
        while let Some(block) = bytes.get(pos..pos + 16) {
            let n = stats.add_plain_block(block.try_into().expect("16 bytes"));
            pos += n;
            if n < 16 {
                break;
            }
        }
        match *bytes.get(pos)? {
            b'"' => return Some(pos + 1),
            b'\\' => {
                let (ch, len) = unescape(&bytes[pos..])?;
                match u8::try_from(ch).ok().filter(u8::is_ascii) {
                    Some(ascii) => stats.add_ascii(ascii), // `\n`, `\"` and the like
                    None => stats.add(ch.encode_utf8(&mut [0u8; 4])),
                }
                pos += len;
            }
            0x80.. => pos = stats.add_non_ascii(bytes, pos)?,
            // ASCII in the buffer's last 15 bytes, or a control character.
            _ => {
                let stop = string_stop(&bytes[pos..])?;
                if stop == 0 {
                    return None; // a raw control character is not JSON
                }
                std::str::from_utf8(&bytes[pos..pos + stop]).ok()?;
                stats.add_within(bytes, pos, pos + stop);
                pos += stop;
            }
        }
    }
}

/// Checks a JSON string body from `start` (just after its opening quote) without counting it.
/// Returns the index just past the closing quote, or `None` for anything unusual (invalid
/// UTF-8, a raw control character, a lone surrogate, a bad escape), which callers leave to the
/// full JSON parser.
pub fn skip_string(bytes: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    loop {
        let stop = string_stop(&bytes[pos..])?;
        std::str::from_utf8(&bytes[pos..pos + stop]).ok()?;
        pos += stop;
        match bytes[pos] {
            b'"' => return Some(pos + 1),
            b'\\' => pos += unescape(&bytes[pos..])?.1,
            _ => return None, // a raw control character is not JSON
        }
    }
}

/// One escape sequence at the start of `b` (which starts with a backslash).
fn unescape(b: &[u8]) -> Option<(char, usize)> {
    let simple = match *b.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = hex4(b.get(2..6)?)?;
            if (0xD800..0xDC00).contains(&hi) {
                if b.get(6..8)? != b"\\u" {
                    return None; // a lone surrogate: let the full parser decide
                }
                let lo = hex4(b.get(8..12)?)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return None;
                }
                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Some((char::from_u32(cp)?, 12));
            }
            return Some((char::from_u32(hi)?, 6));
        }
        _ => return None,
    };
    Some((simple, 2))
}

fn hex4(b: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(b).ok()?;
    if !text.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

/// Whether `b[pos..]` starts with `lit`. Inlined and compared 16 or 8 bytes at a time (the
/// last ones overlapping), so that a constant `lit` becomes a few loads, not a `memcmp` call.
#[inline(always)]
pub(crate) fn has_at(b: &[u8], pos: usize, lit: &[u8]) -> bool {
    let Some(s) = b.get(pos..pos + lit.len()) else {
        return false;
    };
    if lit.len() < 8 {
        return s == lit;
    }
    #[cfg(target_arch = "x86_64")]
    if lit.len() >= 16 {
        use std::arch::x86_64::*;
        let last = lit.len() - 16;
        // SAFETY: SSE2 is always available on x86_64; every load reads 16 bytes at an offset
        // of at most `len - 16` of `s` or `lit`, which have the same length.
        unsafe {
            let load = |x: &[u8], at: usize| _mm_loadu_si128(x.as_ptr().add(at).cast());
            let mut same = _mm_cmpeq_epi8(load(s, last), load(lit, last));
            let mut at = 0;
            while at < last {
                same = _mm_and_si128(same, _mm_cmpeq_epi8(load(s, at), load(lit, at)));
                at += 16;
            }
            return _mm_movemask_epi8(same) == 0xFFFF;
        }
    }
    let last = lit.len() - 8;
    let mut diff = word_at(s, last) ^ word_at(lit, last);
    let mut at = 0;
    while at < last {
        diff |= word_at(s, at) ^ word_at(lit, at);
        at += 8;
    }
    diff == 0
}

#[inline(always)]
fn word_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The index past `lit` if `b[pos..]` starts with it.
#[inline(always)]
pub(crate) fn eat(b: &[u8], pos: usize, lit: &[u8]) -> Option<usize> {
    has_at(b, pos, lit).then_some(pos + lit.len())
}

/// Past the spaces and tabs at `pos` (JSON white space that cannot end a line), 16 bytes at a
/// time: the padding Anthropic writes runs to dozens.
#[inline]
pub(crate) fn skip_blanks(b: &[u8], mut pos: usize) -> usize {
    if !matches!(b.get(pos), Some(b' ' | b'\t')) {
        return pos; // the usual case: no padding
    }
    #[cfg(target_arch = "x86_64")]
    while let Some(block) = b.get(pos..pos + 16) {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is always available on x86_64; the load reads the 16 bytes of `block`.
        let blanks = unsafe {
            let x = _mm_loadu_si128(block.as_ptr().cast());
            let blank = _mm_or_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b' ' as i8)),
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\t' as i8)),
            );
            _mm_movemask_epi8(blank) as u32
        };
        let run = (!blanks).trailing_zeros() as usize; // 16 when all are blank
        if run < 16 {
            return pos + run;
        }
        pos += 16;
    }
    while matches!(b.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

pub(crate) fn skip_space(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && matches!(b[pos], b' ' | b'\t' | b'\n' | b'\r') {
        pos += 1;
    }
    pos
}
