//! The kernels of text reading, each written once over [`Vector`]: which bytes of a block end
//! a plain run of a JSON string, which are word characters, white space or padding, and
//! whether a block starts with five ideographs of the main CJK block. `textstats` does the
//! counting, `scan` the reading.

use super::vector::Vector;

/// The lanes that end a plain run inside a JSON string: a quote, a backslash, a control
/// character (which JSON forbids raw) or a byte of 0x80 and more (UTF-8 to check).
#[inline(always)]
pub(crate) unsafe fn string_stops<V: Vector>(x: V) -> u32 {
    let quote_or_backslash = x.cmpeq(V::splat(b'"')).or(x.cmpeq(V::splat(b'\\')));
    // Signed: bytes of 0x80 and more are negative, below 0x20 like the control characters.
    x.lt_signed(V::splat(0x20))
        .or(quote_or_backslash)
        .movemask()
}

/// The lanes that end a run of text inside a JSON string whose UTF-8 is checked apart: a
/// quote, a backslash or a control character; bytes of 0x80 and more do not stop it.
#[inline(always)]
pub(crate) unsafe fn utf8_string_stops<V: Vector>(x: V) -> u32 {
    let quote_or_backslash = x.cmpeq(V::splat(b'"')).or(x.cmpeq(V::splat(b'\\')));
    // Below 0x20 (unsigned) is no bit of 0xE0 set.
    let control = x.and(V::splat(0xE0)).cmpeq(V::splat(0));
    control.or(quote_or_backslash).movemask()
}

/// The lanes holding a space or a tab: padding between JSON tokens.
#[inline(always)]
pub(crate) unsafe fn blanks<V: Vector>(x: V) -> u32 {
    x.cmpeq(V::splat(b' '))
        .or(x.cmpeq(V::splat(b'\t')))
        .movemask()
}

/// The lanes holding a line end of an event stream: LF or CR.
#[inline(always)]
pub(crate) unsafe fn line_ends<V: Vector>(x: V) -> u32 {
    x.cmpeq(V::splat(b'\n'))
        .or(x.cmpeq(V::splat(b'\r')))
        .movemask()
}

/// The lanes holding a byte of 0x80 and more (not ASCII).
#[inline(always)]
pub(crate) unsafe fn non_ascii<V: Vector>(x: V) -> u32 {
    x.movemask()
}

/// The ASCII word characters (letters, digits, `_`), the ASCII white space (space, tab, LF,
/// VT, FF, CR) and the ASCII digits among the lanes, as three masks. A byte of 0x80 and more
/// is in none.
#[inline(always)]
pub(crate) unsafe fn ascii_classes<V: Vector>(x: V) -> (u32, u32, u32) {
    // OR-ing 0x20 folds upper case onto lower case and maps no other byte into a..z.
    let letter = x.or(V::splat(0x20)).between_signed(b'a', b'z');
    let digit = x.between_signed(b'0', b'9');
    let word = letter.or(digit).or(x.cmpeq(V::splat(b'_')));
    let space = x.cmpeq(V::splat(b' ')).or(x.between_signed(0x09, 0x0d));
    (word.movemask(), space.movemask(), digit.movemask())
}

/// [`ascii_classes`] of the lanes that a plain run of a JSON string counts (0x20..=0x7F: the
/// lanes before [`string_stops`]' first): there the only white space is the space itself, the
/// others being control characters, which stop the run. Other lanes' bits are left unspecified.
#[inline(always)]
pub(crate) unsafe fn string_classes<V: Vector>(x: V) -> (u32, u32, u32) {
    let letter = x.or(V::splat(0x20)).between_signed(b'a', b'z');
    let digit = x.between_signed(b'0', b'9');
    let word = letter.or(digit).or(x.cmpeq(V::splat(b'_')));
    let space = x.cmpeq(V::splat(b' '));
    (word.movemask(), space.movemask(), digit.movemask())
}

/// For a plain run that a backslash stops: its lanes' quotes, backslashes and other stops (a
/// control character or a byte of 0x80 and more), and the letters of the escapes that stand
/// for white space (`n`, `t`, `r`), as four masks.
#[inline(always)]
pub(crate) unsafe fn escape_classes<V: Vector>(x: V) -> (u32, u32, u32, u32) {
    let quote = x.cmpeq(V::splat(b'"')).movemask();
    let backslash = x.cmpeq(V::splat(b'\\')).movemask();
    let other = x.lt_signed(V::splat(0x20)).movemask();
    let space_letter = x
        .cmpeq(V::splat(b'n'))
        .or(x.cmpeq(V::splat(b't')))
        .or(x.cmpeq(V::splat(b'r')));
    (quote, backslash, other, space_letter.movemask())
}

/// Whether the first 15 bytes are five characters of the main ideograph block
/// U+4E00..=U+9FFF, the bulk of Chinese text: each a lead byte E5..E9, or E4 with a second
/// byte from B8, and two continuation bytes (no such sequence is overlong or a surrogate).
#[inline(always)]
pub(crate) unsafe fn five_main_ideographs<V: Vector>(x: V) -> bool {
    const LEADS: u32 = 0b001_001_001_001_001; // bytes 0, 3, 6, 9, 12 (bit i is byte i)
    const TAILS: u32 = 0b110_110_110_110_110;
    let first15 = |v: V| v.movemask() & 0x7FFF;
    // Unsigned ranges by signed compares once 0x80 is flipped.
    let flipped = x.xor(V::splat(0x80));
    let at_least = |lo: u8| flipped.gt_signed(V::splat((lo ^ 0x80).wrapping_sub(1)));
    let at_most = |hi: u8| flipped.lt_signed(V::splat((hi ^ 0x80).wrapping_add(1)));
    let tails = first15(x.and(V::splat(0xC0)).cmpeq(V::splat(0x80)));
    let e5_to_e9 = first15(at_least(0xE5).and(at_most(0xE9)));
    let e4 = first15(x.cmpeq(V::splat(0xE4)));
    let from_b8 = first15(at_least(0xB8));
    let e4_main = e4 & (from_b8 >> 1);
    tails == TAILS && (e5_to_e9 | e4_main) & LEADS == LEADS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernels on every vector type this processor runs, against byte-by-byte definitions,
    /// on blocks that mix the bytes at the edges of each class.
    #[test]
    fn kernels_agree_with_their_definitions_on_every_vector_type() {
        let edges: Vec<u8> = [
            0x00, 0x08, 0x09, 0x0d, 0x0e, 0x1f, 0x20, 0x21, b'"', b'/', b'0', b'9', b':', b'@',
            b'A', b'Z', b'[', b'\\', b'_', b'`', b'a', b'n', b'r', b't', b'z', b'{', 0x7f, 0x80,
            0xb7, 0xb8, 0xbf, 0xc0, 0xe3, 0xe4, 0xe5, 0xe9, 0xea, 0xff,
        ]
        .into();
        let mut seed = 5u64;
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        for _ in 0..20_000 {
            let block = (0..32)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    edges[(seed >> 33) as usize % edges.len()]
                })
                .collect();
            blocks.push(block);
        }
        // Runs of main-block ideographs, some broken, for the five-character step.
        for (i, text) in [
            "一丁七万丈三",
            "你好世界和平",
            "䷿一二三四五",
            "鿿鿿鿿鿿鿿鿿",
        ]
        .iter()
        .enumerate()
        {
            blocks.push([text.as_bytes(), &[b'x'; 32]].concat()[..32].to_vec());
            for cut in 0..18 {
                let mut block = text.as_bytes()[..18].to_vec();
                block[cut] ^= [0x40, 0x01, 0x80, 0x20][i];
                block.resize(32, b'x');
                blocks.push(block);
            }
        }
        for block in &blocks {
            let block = block.as_slice();
            crate::simd::each_vector!(check::<V>(block: &[u8]));
        }
    }

    #[inline(always)]
    unsafe fn check<V: Vector>(block: &[u8]) {
        let lanes = &block[..V::LANES];
        let mask = |f: &dyn Fn(u8) -> bool| {
            lanes
                .iter()
                .enumerate()
                .fold(0u32, |m, (i, &b)| m | u32::from(f(b)) << i)
        };
        let word = mask(&|b| b.is_ascii_alphanumeric() || b == b'_');
        let space = mask(&|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'));
        let digit = mask(&|b| b.is_ascii_digit());
        let stops = mask(&|b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b));
        let utf8_stops = mask(&|b| b == b'"' || b == b'\\' || b < 0x20);
        let five = (0..5).all(|k| {
            let ch = &lanes[3 * k..3 * k + 3];
            std::str::from_utf8(ch)
                .ok()
                .and_then(|s| s.chars().next())
                .is_some_and(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
        });
        // SAFETY: `each_vector!` runs `V` where its instructions are available; the load reads
        // the block's first `V::LANES` bytes.
        unsafe {
            let x = V::load(lanes.as_ptr());
            assert_eq!(ascii_classes(x), (word, space, digit), "{lanes:02x?}");
            let printable = mask(&|b| (0x20..0x80).contains(&b));
            let (w, s, d) = string_classes(x);
            assert_eq!(
                (w & printable, s & printable, d & printable),
                (word & printable, space & printable, digit & printable),
                "{lanes:02x?}"
            );
            assert_eq!(string_stops(x), stops, "{lanes:02x?}");
            let escape = (
                mask(&|b| b == b'"'),
                mask(&|b| b == b'\\'),
                mask(&|b| !(0x20..0x80).contains(&b)),
                mask(&|b| matches!(b, b'n' | b't' | b'r')),
            );
            assert_eq!(escape_classes(x), escape, "{lanes:02x?}");
            assert_eq!(utf8_string_stops(x), utf8_stops, "{lanes:02x?}");
            assert_eq!(
                blanks(x),
                mask(&|b| b == b' ' || b == b'\t'),
                "{lanes:02x?}"
            );
            assert_eq!(x.is_zero(), lanes.iter().all(|&b| b == 0), "{lanes:02x?}");
            assert_eq!(non_ascii(x), mask(&|b| b >= 0x80), "{lanes:02x?}");
            assert_eq!(five_main_ideographs(x), five, "{lanes:02x?}");
            assert_eq!(V::count_ones(word), word.count_ones(), "{word:b}");
            for n in 0..=V::LANES {
                let first = (0..n).fold(0u32, |m, i| m | 1 << i);
                assert_eq!(V::first_lanes(word, n), word & first, "{word:b} {n}");
            }
        }
    }
}
