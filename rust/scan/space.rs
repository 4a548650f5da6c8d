//! JSON white space as both in-place readers ([`super::cursor`], [`super::skim`]) step over
//! it, written once: each reader keeps its bytes and position and calls these. The usual
//! case, compact JSON, is told first (the byte at hand is not white space).

/// Past any white space at `pos`.
#[inline(always)]
pub(super) fn skip(b: &[u8], pos: &mut usize) {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(*pos) {
        *pos += 1;
    }
}

/// The next byte that is not white space (the white space before it skipped).
#[inline(always)]
pub(super) fn peek(b: &[u8], pos: &mut usize) -> Option<u8> {
    match b.get(*pos) {
        Some(&c) if c > b' ' => Some(c),
        _ => {
            skip(b, pos);
            b.get(*pos).copied()
        }
    }
}

/// `byte` (never white space) next, eaten.
#[inline(always)]
pub(super) fn eat(b: &[u8], pos: &mut usize, byte: u8) -> bool {
    match b.get(*pos) {
        Some(&c) if c == byte => {
            *pos += 1;
            true
        }
        Some(&c) if c > b' ' => false,
        _ => {
            skip(b, pos);
            let hit = b.get(*pos) == Some(&byte);
            *pos += usize::from(hit);
            hit
        }
    }
}
