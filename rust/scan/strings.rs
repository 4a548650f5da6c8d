//! Reading JSON strings in place, without a tree: a string found, checked and counted in one
//! pass. Anything unusual returns `None`, and the caller reads the event with the full JSON
//! parser instead, so the result is always the one a full parse gives.

#[cfg(test)]
use crate::simd;
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
/// Inlined: most streamed strings are short plain ASCII, read here without a call.
#[inline(always)]
pub fn count_string(bytes: &[u8], start: usize, stats: &mut TextStats) -> Option<usize> {
    // SAFETY: the narrow vector is the baseline's.
    unsafe { count_string_with::<Narrow>(bytes, start, stats) }
}

/// [`count_string`], `V::LANES` bytes a step; `V`'s instructions must be available (the
/// readers generic over [`Vector`], entered through [`crate::simd::dispatch!`]).
///
/// One loop: plain runs counted a block at a time, the buffer's last bytes as one block that
/// ends at the buffer's end (or, in a buffer shorter than a block, copied into a block padded
/// with a control character): a stop past the end is a cut string. The simple escapes (`\n`,
/// `\"` and the like) are counted in the loop; `\u` escapes and non-ASCII text out of line.
#[inline(always)]
pub(crate) unsafe fn count_string_with<V: Vector>(
    bytes: &[u8],
    start: usize,
    stats: &mut TextStats,
) -> Option<usize> {
    let mut pos = start;
    // Where the last whole block starts (`pos` never passes `bytes.len()`): one compare a
    // block.
    let last_block = bytes.len() as isize - V::LANES as isize;
    loop {
        let (n, stop) = if pos as isize <= last_block {
            // SAFETY: the caller's contract; `pos + V::LANES <= bytes.len()`: the load reads
            // `V::LANES` bytes of `bytes`.
            unsafe { stats.add_plain::<V>(bytes.as_ptr().add(pos)) }
        } else {
            // SAFETY: the caller's contract.
            unsafe { stats.add_plain_tail::<V>(bytes, pos)? }
        };
        pos += n;
        if n == V::LANES {
            continue;
        }
        // `stop` (`bytes[pos]`) ends the plain run: the closing quote, mostly, tested first.
        if stop == b'"' {
            return Some(pos + 1);
        }
        // Out of line with the narrow vector (measured less on its paths), inline with the
        // wide one.
        pos = match V::LANES {
            32 => past_stop(bytes, pos, stats)?,
            _ => past_stop_out_of_line(bytes, pos, stats)?,
        };
    }
}

/// Past the stop at `bytes[pos]` that is not a quote: an escape the block did not count (a
/// `\\u`, one cut by the block's end), non-ASCII text; `None` for anything else (a raw control
/// character is not JSON).
#[inline(always)]
fn past_stop(bytes: &[u8], pos: usize, stats: &mut TextStats) -> Option<usize> {
    match bytes[pos] {
        b'\\' => match UNESCAPED[usize::from(*bytes.get(pos + 1)?)] {
            0 => count_unicode_escape(bytes, pos, stats),
            ascii => {
                stats.add_ascii(ascii);
                Some(pos + 2)
            }
        },
        0x80.. => stats.add_non_ascii(bytes, pos),
        _ => None,
    }
}

#[inline(never)]
fn past_stop_out_of_line(bytes: &[u8], pos: usize, stats: &mut TextStats) -> Option<usize> {
    past_stop(bytes, pos, stats)
}

/// The character a two-byte escape stands for, by its second byte (`n` for `\n`...); 0 for
/// `u` and for the bytes that make no escape.
const UNESCAPED: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'/' as usize] = b'/';
    table[b'b' as usize] = 0x08;
    table[b'f' as usize] = 0x0c;
    table[b'n' as usize] = b'\n';
    table[b'r' as usize] = b'\r';
    table[b't' as usize] = b'\t';
    table
};

/// A `\u` escape (one or a surrogate pair) at `bytes[pos]` counted; past it, or `None` when it
/// is not one (a bad escape, a lone surrogate: the full parser decides).
#[inline(never)]
fn count_unicode_escape(bytes: &[u8], pos: usize, stats: &mut TextStats) -> Option<usize> {
    let (ch, len) = unescape(&bytes[pos..])?;
    match u8::try_from(ch).ok().filter(u8::is_ascii) {
        Some(ascii) => stats.add_ascii(ascii),
        None => stats.add(ch.encode_utf8(&mut [0u8; 4])),
    }
    Some(pos + len)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// String bodies (as JSON writes them, closing quote included) that put escapes,
    /// non-ASCII text and plain runs on every side of the block edges once shifted.
    fn bodies() -> Vec<String> {
        let pieces = [
            "plain words ",
            "\\n",
            "\\\"",
            "\\\\",
            "\\/\\b\\f\\r\\t",
            "\\u00e9",
            "\\u4f60",
            "\\ud83d\\ude00",
            "\\u0041",
            "é",
            "你好世界和平",
            "😀",
            "x",
            "_9",
            "  ",
            " 2025",
            "\\u0031",
            "7",
        ];
        let mut out = vec!["\"".to_owned(), "a\"".to_owned()];
        let mut seed = 3u32;
        for len in 1..40 {
            let mut body = String::new();
            for _ in 0..len % 9 + 1 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                body.push_str(pieces[(seed >> 16) as usize % pieces.len()]);
            }
            body.push('"');
            out.push(body);
        }
        out.push(format!("{}\"", "long run of plain text ".repeat(5)));
        out
    }

    /// The counts of a string body as the full parser decodes it; `None` if it refuses it.
    fn reference(body: &[u8]) -> Option<TextStats> {
        let quoted = [b"\"", body].concat();
        let value: String = serde_json::from_slice(&quoted).ok()?;
        let mut stats = TextStats::default();
        stats.add(&value);
        Some(stats)
    }

    /// Every body at every offset of a buffer, followed by 0 to 40 more bytes (so that its
    /// end falls in a full block, in the buffer's last block and in a buffer shorter than a
    /// block), and cut at every byte: counted as the full parser decodes it, a cut one `None`.
    #[test]
    fn counts_as_the_full_parse_at_every_offset_and_cut_on_every_vector_type() {
        for body in bodies() {
            let body = body.as_bytes();
            let expected = reference(body).expect("valid");
            for before in [0, 1, 5, 15, 16, 17, 31, 32, 33] {
                for after in [0, 1, 2, 4, 15, 16, 31, 32, 40] {
                    let buf = [&vec![b'x'; before], body, &vec![b'}'; after]].concat();
                    let (buf, start) = (buf.as_slice(), before);
                    let want = Some((before + body.len(), expected));
                    simd::each_vector!(check::<V>(buf: &[u8], start: usize, want: Option<(usize, TextStats)>));
                }
                for cut in 0..body.len() {
                    let buf = [&vec![b'x'; before], &body[..cut]].concat();
                    let (buf, start, want) = (buf.as_slice(), before, None);
                    simd::each_vector!(check::<V>(buf: &[u8], start: usize, want: Option<(usize, TextStats)>));
                }
            }
        }
    }

    /// What the full parser refuses is refused (a raw control character, a bad escape, a lone
    /// surrogate, invalid UTF-8), wherever it falls; a NUL in the buffer past the string (as in
    /// the padding of a short buffer) changes nothing.
    #[test]
    fn refuses_what_the_full_parse_refuses_on_every_vector_type() {
        let bad: [&[u8]; 9] = [
            b"ab\x01cd\"",
            b"ab\ncd\"",
            b"ab\\qcd\"",
            b"ab\\u12g4\"",
            b"ab\\ud800cd\"",
            b"ab\\ud800\\u0041\"",
            b"ab\xffcd\"",
            b"ab\xe4\xbd\"",
            b"ab\xed\xa0\x80\"",
        ];
        for body in bad {
            assert!(reference(body).is_none(), "{body:?}");
            for before in [0, 3, 14, 15, 30, 31] {
                let buf = [&vec![b'x'; before], body, b"}\n\n"].concat();
                let (buf, start, want) = (buf.as_slice(), before, None);
                simd::each_vector!(check::<V>(buf: &[u8], start: usize, want: Option<(usize, TextStats)>));
            }
        }
        for after in 0..40 {
            let buf = [&b"abc\""[..], &vec![0u8; after]].concat();
            let (buf, start) = (buf.as_slice(), 0);
            let want = Some((4, reference(b"abc\"").expect("valid")));
            simd::each_vector!(check::<V>(buf: &[u8], start: usize, want: Option<(usize, TextStats)>));
        }
    }

    /// Escapes next to each other and to words, digits, quotes and the block edges (an
    /// escaped backslash before a letter, before a quote, a run of them; the last lane of a
    /// block a backslash), after every length of plain text: counted as the full parser
    /// decodes them, in a full block, in the buffer's last bytes and cut.
    #[test]
    fn escapes_at_every_lane_count_as_the_full_parse_on_every_vector_type() {
        let snippets = [
            "ab\\ncd",
            "\\n\\n9x",
            "a\\\\b",
            "\\\\\\\"x",
            "x\\\\\\\\\\\\\\\\",
            "9\\t9 \\r\\/\\b\\f_",
            "\\\"\\\",\\\"k\\\":",
            "w\\u0041w\\u00e9\\u4f60z",
            "e\\n你好\\n",
            "12\\\"34",
        ];
        for snippet in snippets {
            for at in 0..70 {
                let body = format!("{}{snippet}{}\"", "w ".repeat(at / 2), "y".repeat(at % 2));
                let body = body.as_bytes();
                let expected = reference(body).expect("valid");
                for after in [0, 3, 33] {
                    let buf = [body, &vec![b'}'; after]].concat();
                    let (buf, start) = (buf.as_slice(), 0);
                    let want = Some((body.len(), expected));
                    simd::each_vector!(check::<V>(buf: &[u8], start: usize, want: Option<(usize, TextStats)>));
                }
                for cut in body.len().saturating_sub(40)..body.len() {
                    let (buf, start, want) = (&body[..cut], 0, None);
                    simd::each_vector!(check::<V>(buf: &[u8], start: usize, want: Option<(usize, TextStats)>));
                }
            }
        }
    }

    /// Strings counted one after another into the same counts (the deltas of a stream) count
    /// as their decoded texts joined: a word or a number goes on across them, an escape or a
    /// space at the end of one ends it.
    #[test]
    fn words_go_on_across_strings_on_every_vector_type() {
        let parts = [
            "wor", "ds", "4", "2x", " ", "\\n", "ab\\", "\\\\", "_", "é", "z9", "\\u0041", "",
        ];
        for (i, a) in parts.iter().enumerate() {
            for b in &parts[i..] {
                for c in parts {
                    let (a, b, c) = (format!("{a}\""), format!("{b}\""), format!("{c}\""));
                    let texts = [&a, &b, &c].map(|s| {
                        serde_json::from_slice::<String>(format!("\"{s}").as_bytes()).ok()
                    });
                    let Some(joined) = texts.iter().cloned().collect::<Option<String>>() else {
                        continue;
                    };
                    let mut expected = TextStats::default();
                    expected.add(&joined);
                    let buf = format!("{a}{b}{c}");
                    let buf = buf.as_bytes();
                    let starts = [0, a.len(), a.len() + b.len()];
                    simd::each_vector!(check_joined::<V>(buf: &[u8], starts: [usize; 3], expected: TextStats));
                }
            }
        }
    }

    /// The three strings of `buf` at `starts` counted in turn into one `TextStats` with `V`.
    #[inline(always)]
    unsafe fn check_joined<V: Vector>(buf: &[u8], starts: [usize; 3], expected: TextStats) {
        let mut stats = TextStats::default();
        for (k, &start) in starts.iter().enumerate() {
            // SAFETY: `each_vector!` runs `V` where its instructions are available.
            let end = unsafe { count_string_with::<V>(buf, start, &mut stats) };
            assert_eq!(end, starts.get(k + 1).copied().or(Some(buf.len())));
        }
        assert_eq!(
            stats,
            expected,
            "{} {:?}",
            V::LANES,
            String::from_utf8_lossy(buf)
        );
    }

    /// [`count_string_with`] with `V` gives `want` (the end and the counts), or `None`.
    #[inline(always)]
    unsafe fn check<V: Vector>(buf: &[u8], start: usize, want: Option<(usize, TextStats)>) {
        let mut stats = TextStats::default();
        // SAFETY: `each_vector!` runs `V` where its instructions are available.
        let end = unsafe { count_string_with::<V>(buf, start, &mut stats) };
        let got = end.map(|end| (end, stats));
        assert_eq!(
            got,
            want,
            "{} {start} {:?}",
            V::LANES,
            String::from_utf8_lossy(buf)
        );
    }
}
