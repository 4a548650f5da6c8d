//! The readers of a learned skeleton's parts (`scan::skeleton`): its literals,
//! compared a block at a time, and each kind of hole, checked (or counted) as the general
//! readers check it. Generic over [`Vector`]; `V`'s instructions must be available wherever a
//! function here says so.

use crate::scan::cursor::number_end;
use crate::scan::strings::{ascii_stop_with, count_string_with, skip_string};
use crate::simd::{bytes, text, Narrow, Vector};
use crate::textstats::TextStats;

/// Whether the `len` bytes at `a` (of which `avail` >= `len` may be read) are those at `lit`
/// (which may be read to `len` rounded up to `V::LANES`): blocks, two a test, the last one
/// overlapping ([`bytes::equal_blocks`]); a literal shorter than a block as one block, masked,
/// where `a` has a whole block left, else word by word.
/// `V`'s instructions must be available.
#[inline(always)]
pub(super) unsafe fn literal_equal<V: Vector>(
    a: *const u8,
    avail: usize,
    lit: *const u8,
    len: usize,
) -> bool {
    // SAFETY (both): the caller's contract: `len` bytes of each.
    let (a_bytes, lit_bytes) = unsafe {
        (
            std::slice::from_raw_parts(a, len),
            std::slice::from_raw_parts(lit, len),
        )
    };
    if len >= V::LANES {
        // SAFETY: the caller's contract; the same length, at least a block.
        return unsafe { bytes::equal_blocks::<V>(a_bytes, lit_bytes) };
    }
    if avail >= V::LANES {
        let full = u32::MAX >> (32 - V::LANES);
        // SAFETY: the caller's contract: a block of `a` (`avail`) and of `lit` (the padding).
        let same = unsafe { V::load(a).cmpeq(V::load(lit)).movemask() };
        return len == 0 || !same & full >> (V::LANES - len) == 0;
    }
    // SAFETY: the narrow vector is the baseline's.
    unsafe { bytes::equal::<Narrow>(a_bytes, lit_bytes) }
}

/// Past a number at `pos`, as [`number_end`] reads it: one or two digits (an index), the usual
/// case, at once.
#[inline(always)]
pub(super) fn small_number_end(b: &[u8], pos: usize) -> Option<usize> {
    let ends = |c: Option<&u8>| {
        c.is_some_and(|&c| !c.is_ascii_digit() && !matches!(c, b'.' | b'e' | b'E'))
    };
    match b.get(pos..pos + 2) {
        Some(&[d, _]) if d.is_ascii_digit() && ends(b.get(pos + 1)) => Some(pos + 1),
        Some(&[b'1'..=b'9', d]) if d.is_ascii_digit() && ends(b.get(pos + 2)) => Some(pos + 2),
        _ => number_end(b, pos),
    }
}

/// Past a counted string's body and closing quote at `pos`: counted into `counted` with
/// `COUNT`, else only checked. `V`'s instructions must be available.
#[inline(always)]
pub(super) unsafe fn text_end<V: Vector, const COUNT: bool>(
    b: &[u8],
    pos: usize,
    counted: &mut TextStats,
) -> Option<usize> {
    // SAFETY (both): the caller's contract.
    match COUNT {
        true => unsafe { count_string_with::<V>(b, pos, counted) },
        false => unsafe { string_end::<V>(b, pos) },
    }
}

/// Past a string's body and closing quote at `pos`, checked: plain ASCII at once, the rest
/// (escapes, non-ASCII text) by the full check. `V`'s instructions must be available.
#[inline(always)]
pub(super) unsafe fn string_end<V: Vector>(b: &[u8], pos: usize) -> Option<usize> {
    // SAFETY: the caller's contract.
    let stop = pos + unsafe { ascii_stop_with::<V>(b.get(pos..)?)? };
    match b[stop] {
        b'"' => Some(stop + 1),
        _ => skip_string(b, stop),
    }
}

/// The end of an `id` value at `pos` (its line's end), if it holds no NUL and does not start
/// with a space: a block at a time, the value being a few bytes. `V`'s instructions must be
/// available.
#[inline(always)]
pub(super) unsafe fn id_end<V: Vector>(b: &[u8], pos: usize) -> Option<usize> {
    if b.get(pos) == Some(&b' ') {
        return None;
    }
    let line_end_or_nul = |c: u8| matches!(c, b'\n' | b'\r' | 0);
    // SAFETY: the caller's contract (register operations).
    let stops = |x: V| unsafe {
        let line_end = x.cmpeq(V::splat(b'\n')).or(x.cmpeq(V::splat(b'\r')));
        line_end.or(x.cmpeq(V::splat(0))).movemask()
    };
    // SAFETY: the caller's contract; `pos <= b.len()` (the literal before it was in `b`).
    let end = unsafe { bytes::first_stop_from::<V>(b, pos, stops, line_end_or_nul)? };
    (b[end] != 0).then_some(end)
}

/// Past the spaces and tabs at `pos`: the padding some streams write runs to dozens, and is
/// there in one event and not in the next. One block is read whether or not there is any (the
/// block at `pos` or, fewer than a block of bytes being left, the one that ends with `b`): no
/// branch on it, nor on how many bytes are left; longer padding a block at a time. `V`'s
/// instructions must be available.
#[inline(always)]
pub(super) unsafe fn blanks_end<V: Vector>(b: &[u8], pos: usize) -> usize {
    let lanes = u32::MAX >> (32 - V::LANES);
    if let Some(last) = b.len().checked_sub(V::LANES).filter(|_| pos < b.len()) {
        let at = pos.min(last);
        // SAFETY: the caller's contract; `at <= last`: the load reads `V::LANES` bytes of `b`.
        let mask = unsafe { !text::blanks(V::load(b.as_ptr().add(at))) & lanes } >> (pos - at);
        if mask != 0 {
            return pos + mask.trailing_zeros() as usize;
        }
        if at == last {
            return b.len();
        }
    }
    let not_blank = |c: u8| c != b' ' && c != b'\t';
    // SAFETY (both): the caller's contract, register operations. The block kernel is always
    // inlined: a closure does not take its kernel's target features, and out of line each
    // vector operation in it was a call (90 instructions a block of padding).
    unsafe {
        bytes::first_stop_from::<V>(
            b,
            pos,
            #[inline(always)]
            |x| !text::blanks(x) & lanes,
            not_blank,
        )
    }
    .unwrap_or(b.len())
}

/// `a == b`, inlined and 16 bytes at a time, the last block overlapping ([`bytes::equal`]).
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    // SAFETY: the narrow vector is the baseline's.
    unsafe { bytes::equal::<Narrow>(a, b) }
}
