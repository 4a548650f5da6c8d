//! Reading JSON strings in place, without a tree: a string found, checked and counted in one
//! pass. Anything unusual returns `None`, and the caller reads the event with the full JSON
//! parser instead, so the result is always the one a full parse gives.

use crate::simd::{bytes, text, Narrow, Vector};
use crate::textstats::TextStats;

/// The first byte of `b` that ends a plain run inside a JSON string: a quote, a backslash or
/// a control character (which JSON forbids raw). 16 bytes at a time.
#[inline]
pub fn string_stop(b: &[u8]) -> Option<usize> {
    // SAFETY: the narrow vector is the baseline's.
    unsafe {
        bytes::first_stop::<Narrow>(
            b,
            |x| text::utf8_string_stops(x),
            |c| c == b'"' || c == b'\\' || c < 0x20,
        )
    }
}

/// As [`string_stop`], but a byte >= 0x80 stops the run too: plain ASCII found without a
/// UTF-8 check (names, types, ids), 16 bytes at a time.
#[inline(always)]
pub fn ascii_stop(b: &[u8]) -> Option<usize> {
    // SAFETY: the narrow vector is the baseline's.
    unsafe { ascii_stop_with::<Narrow>(b) }
}

/// [`ascii_stop`] `V::LANES` bytes at a time; `V`'s instructions must be available.
#[inline(always)]
pub(crate) unsafe fn ascii_stop_with<V: Vector>(b: &[u8]) -> Option<usize> {
    // SAFETY: the caller's contract.
    unsafe {
        bytes::first_stop::<V>(
            b,
            |x| text::string_stops(x),
            |c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c),
        )
    }
}

/// Counts a JSON string body (between the quotes, escapes undecoded) into `stats`; returns the
/// index just past the closing quote. `stats` may be partly updated when it returns `None`.
/// Inlined: most streamed strings are short plain ASCII, read here without a call; the rest
/// (escapes, non-ASCII text, the buffer's last bytes) continues in [`count_string_rest`].
#[inline(always)]
pub fn count_string(bytes: &[u8], start: usize, stats: &mut TextStats) -> Option<usize> {
    // SAFETY: the narrow vector is the baseline's.
    unsafe { count_string_with::<Narrow>(bytes, start, stats) }
}

/// [`count_string`], `V::LANES` bytes a step; `V`'s instructions must be available (the
/// readers generic over [`Vector`], entered through [`crate::simd::dispatch!`]).
#[inline(always)]
pub(crate) unsafe fn count_string_with<V: Vector>(
    bytes: &[u8],
    start: usize,
    stats: &mut TextStats,
) -> Option<usize> {
    let mut pos = start;
    #[cfg(target_arch = "x86_64")]
    while let Some(block) = bytes.get(pos..pos + V::LANES) {
        // SAFETY: the caller's contract; the load reads the `V::LANES` bytes of `block`.
        let n = unsafe { stats.add_plain::<V>(block.as_ptr()) };
        pos += n;
        if n < V::LANES {
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
