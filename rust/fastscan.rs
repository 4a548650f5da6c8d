//! Reading the bulk of a stream without a JSON tree: the canonical text-delta event is checked
//! byte by byte and its string counted in place. Anything that deviates from the canonical
//! layout returns `None`, and the caller reads the event with the full JSON parser instead, so
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

/// A piece of a JSON string body: a plain run `bytes[from..to]` (checked to be UTF-8), or one
/// escaped character.
enum Piece {
    Run(usize, usize),
    Escaped(char),
}

/// Walks a JSON string body from `start` (just after its opening quote), piece by piece.
/// Returns the index just past the closing quote, or `None` for anything unusual (invalid
/// UTF-8, a raw control character, a lone surrogate, a bad escape), which callers leave to the
/// full JSON parser.
fn walk_string(bytes: &[u8], start: usize, mut piece: impl FnMut(Piece)) -> Option<usize> {
    let mut pos = start;
    loop {
        let stop = string_stop(&bytes[pos..])?;
        std::str::from_utf8(&bytes[pos..pos + stop]).ok()?;
        piece(Piece::Run(pos, pos + stop));
        pos += stop;
        match bytes[pos] {
            b'"' => return Some(pos + 1),
            b'\\' => {}
            _ => return None, // a raw control character is not JSON
        }
        let (ch, len) = unescape(&bytes[pos..])?;
        piece(Piece::Escaped(ch));
        pos += len;
    }
}

/// Counts a JSON string body (between the quotes, escapes undecoded) into `stats`; returns the
/// index just past the closing quote. `stats` may be partly updated when it returns `None`.
pub fn count_string(bytes: &[u8], start: usize, stats: &mut TextStats) -> Option<usize> {
    walk_string(bytes, start, |piece| match piece {
        Piece::Run(from, to) => stats.add_within(bytes, from, to),
        Piece::Escaped(ch) => stats.add(ch.encode_utf8(&mut [0u8; 4])),
    })
}

/// Checks a JSON string body without counting it; returns the index past the closing quote.
pub fn skip_string(bytes: &[u8], start: usize) -> Option<usize> {
    walk_string(bytes, start, |_| {})
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

/// The text field of an Anthropic delta: which bucket it feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaKind {
    Text,
    Thinking,
    ToolInput,
    /// A field that holds no billed text (`signature`).
    Ignored,
}

/// `{"type":"content_block_delta","index":N,"delta":{"type":"T","K":"...“}}` exactly (white
/// space allowed before the closing braces, as Anthropic pads them). Counts the string into
/// `stats` and says which kind it was; `None` when the event is laid out any other way (then
/// `stats` is untouched).
pub fn anthropic_delta(data: &[u8], stats: &mut TextStats) -> Option<DeltaKind> {
    anthropic_delta_in(data, data.len(), stats)
}

/// [`anthropic_delta`] on `buf[..len]`; the rest of `buf` (the read it came in) lets the text
/// be counted in whole 16-byte blocks.
fn anthropic_delta_in(buf: &[u8], len: usize, stats: &mut TextStats) -> Option<DeltaKind> {
    // Only the strings need a UTF-8 check: everything else is matched byte for byte.
    let b = &buf[..len];
    let mut pos = skip_prefix(b, 0, br#"{"type":"content_block_delta","index":"#)?;
    let digits = b[pos..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || (digits > 1 && b[pos] == b'0') {
        return None; // JSON has no leading zeros
    }
    pos = skip_prefix(b, pos + digits, br#","delta":{"type":""#)?;
    let type_end = pos + string_stop(&b[pos..])?; // the delta type, any name without escapes
    if b[type_end] != b'"' || std::str::from_utf8(&b[pos..type_end]).is_err() {
        return None;
    }
    pos = type_end;
    pos = skip_prefix(b, pos, br#"",""#)?;
    let key_end = pos + string_stop(&b[pos..])?;
    let kind = match &b[pos..key_end] {
        b"text" => DeltaKind::Text,
        b"thinking" => DeltaKind::Thinking,
        b"partial_json" => DeltaKind::ToolInput,
        b"signature" => DeltaKind::Ignored,
        _ => return None,
    };
    pos = skip_prefix(b, key_end, br#"":""#)?;
    let mut counted = *stats;
    let mut ignored = TextStats::default();
    let target = if kind == DeltaKind::Ignored {
        &mut ignored
    } else {
        &mut counted
    };
    // A string ends at its quote, before the line's end (a control character) at the latest.
    pos = count_string(buf, pos, target)?;
    // Two closing braces, JSON white space around them (Anthropic pads), nothing else.
    for _ in 0..2 {
        pos = skip_prefix(b, skip_space(b, pos), b"}")?;
    }
    if skip_space(b, pos) != b.len() {
        return None;
    }
    *stats = counted;
    Some(kind)
}

/// A whole LF-framed text-delta event at the start of `rest`:
/// `event: content_block_delta\ndata: <canonical delta JSON>\n\n`. Returns the bytes used and
/// the kind, having counted the text into `stats`; `None` (stats untouched) for anything else,
/// which then goes through the line-by-line path.
pub fn anthropic_event(
    rest: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
) -> Option<(usize, DeltaKind)> {
    const EVENT: &[u8] = b"event: content_block_delta";
    let after = rest.strip_prefix(EVENT)?;
    // The event's one line ending, LF or CRLF, used by all three lines (else: general path).
    let eol: &[u8] = match after {
        [b'\n', ..] => b"\n",
        [b'\r', b'\n', ..] => b"\r\n",
        _ => return None,
    };
    let data = after[eol.len()..].strip_prefix(b"data: ")?;
    let line_len = memchr::memchr2(b'\n', b'\r', data)?;
    let tail = data.get(line_len..line_len + 2 * eol.len())?;
    if tail[..eol.len()] != *eol || tail[eol.len()..] != *eol || line_len >= max_event_bytes {
        return None;
    }
    let kind = anthropic_delta_in(data, line_len, stats)?;
    let used = rest.len() - data.len() + line_len + 2 * eol.len();
    Some((used, kind))
}

fn skip_prefix(b: &[u8], pos: usize, prefix: &[u8]) -> Option<usize> {
    b[pos..].starts_with(prefix).then_some(pos + prefix.len())
}

fn skip_space(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && matches!(b[pos], b' ' | b'\t' | b'\n' | b'\r') {
        pos += 1;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via_parser(text: &str) -> TextStats {
        let mut stats = TextStats::default();
        stats.add(text);
        stats
    }

    #[test]
    fn counts_like_a_full_parse() {
        for (json_body, decoded) in [
            (r#"Hello, world"#, "Hello, world"),
            (r#"a\"b\\c\/d\n\t\u00e9\ud83d\ude00"#, "a\"b\\c/d\n\té😀"),
            ("你好 é", "你好 é"),
        ] {
            let data = format!(
                r#"{{"type":"content_block_delta","index":3,"delta":{{"type":"text_delta","text":"{json_body}"}}      }}"#
            );
            let mut stats = TextStats::default();
            assert_eq!(
                anthropic_delta(data.as_bytes(), &mut stats),
                Some(DeltaKind::Text)
            );
            assert_eq!(stats, via_parser(decoded), "{json_body}");
        }
    }

    #[test]
    fn anything_unusual_falls_back() {
        let mut stats = TextStats::default();
        for data in [
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\ud800"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","x":1}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}} x"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\q"}}"#,
            "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\x01\"}}",
        ] {
            assert_eq!(anthropic_delta(data.as_bytes(), &mut stats), None, "{data}");
        }
        assert_eq!(stats, TextStats::default());
    }
}
