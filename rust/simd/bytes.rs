//! The kernels over byte slices, each written once over [`Vector`]: where the first lane a
//! block kernel marks is, and whether two slices are equal.

use super::vector::Vector;
use super::Narrow;

/// The first index of `b` that `stops` marks: `V::LANES` bytes a step with the block kernel
/// `stops` (from [`super::text`]), then the last bytes (fewer than a block) as the block that
/// ends with `b`, or, in a `b` shorter than a block, one by one with `stop`, its definition
/// for one byte.
///
/// # Safety
/// `V`'s instructions must be available.
#[inline(always)]
pub(crate) unsafe fn first_stop<V: Vector>(
    b: &[u8],
    stops: impl Fn(V) -> u32,
    stop: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut i = 0;
    while i + V::LANES <= b.len() {
        // SAFETY: the caller's contract; the load reads `V::LANES` bytes of `b` from `i`.
        let mask = stops(unsafe { V::load(b.as_ptr().add(i)) });
        if mask != 0 {
            return Some(i + mask.trailing_zeros() as usize);
        }
        i += V::LANES;
    }
    if i == b.len() {
        return None;
    }
    if let Some(last) = b.len().checked_sub(V::LANES) {
        // The block that ends with `b` (overlapping), the bytes before `i` shifted out.
        // SAFETY: the caller's contract; the load reads the last `V::LANES` bytes of `b`.
        let mask = stops(unsafe { V::load(b.as_ptr().add(last)) }) >> (i - last);
        return (mask != 0).then(|| i + mask.trailing_zeros() as usize);
    }
    b[i..].iter().position(|&c| stop(c)).map(|p| i + p)
}

/// [`first_stop`] of `b[pos..]`, as an index of `b`; when fewer than a block of bytes are
/// left from `pos`, the block that ends with `b` is read (the bytes before `pos` shifted out)
/// where `b` holds a whole block: the usual end of a one-event read, not byte by byte.
///
/// # Safety
/// `V`'s instructions must be available; `pos <= b.len()`.
#[inline(always)]
pub(crate) unsafe fn first_stop_from<V: Vector>(
    b: &[u8],
    pos: usize,
    stops: impl Fn(V) -> u32,
    stop: impl Fn(u8) -> bool,
) -> Option<usize> {
    debug_assert!(pos <= b.len());
    match b.len().checked_sub(V::LANES) {
        Some(last) if last < pos && pos < b.len() => {
            // SAFETY: the caller's contract; the load reads the last `V::LANES` bytes of `b`.
            let mask = stops(unsafe { V::load(b.as_ptr().add(last)) }) >> (pos - last);
            (mask != 0).then(|| pos + mask.trailing_zeros() as usize)
        }
        // SAFETY: the caller's contract.
        _ => unsafe { first_stop::<V>(&b[pos..], stops, stop) }.map(|at| pos + at),
    }
}

/// `a == b`, inlined and `V::LANES` bytes at a time (16 for slices shorter than that), the
/// last block overlapping, two blocks a test; shorter slices in words.
///
/// # Safety
/// `V`'s instructions must be available.
#[inline(always)]
pub(crate) unsafe fn equal<V: Vector>(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() >= V::LANES {
        // SAFETY: the caller's contract; the slices have the same length, at least a block.
        return unsafe { equal_blocks::<V>(a, b) };
    }
    if V::LANES > 16 && a.len() >= 16 {
        // SAFETY: the narrow vector is the baseline's; the same length, at least 16 bytes.
        return unsafe { equal_blocks::<Narrow>(a, b) };
    }
    if a.len() >= 8 {
        let word = |x: &[u8], at: usize| u64::from_le_bytes(x[at..at + 8].try_into().expect("8"));
        let last = a.len() - 8;
        // Up to 16 bytes in two words (the vectors compare longer ones above).
        let mut diff = (word(a, 0) ^ word(b, 0)) | (word(a, last) ^ word(b, last));
        let mut at = 8;
        while at < last {
            diff |= word(a, at) ^ word(b, at);
            at += 8;
        }
        return diff == 0;
    }
    if a.len() >= 4 {
        let word = |x: &[u8], at: usize| u32::from_le_bytes(x[at..at + 4].try_into().expect("4"));
        let last = a.len() - 4;
        return (word(a, 0) ^ word(b, 0)) | (word(a, last) ^ word(b, last)) == 0;
    }
    match a.len() {
        0 => true,
        // The first, middle and last bytes: all of them.
        n => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
    }
}

/// [`equal`] for slices of the same length, at least `V::LANES` bytes: the last block first
/// (overlapping), then two blocks a step, one test each.
#[inline(always)]
pub(crate) unsafe fn equal_blocks<V: Vector>(a: &[u8], b: &[u8]) -> bool {
    debug_assert!(a.len() == b.len() && a.len() >= V::LANES);
    let last = a.len() - V::LANES;
    // SAFETY: the caller's contract; every load reads `V::LANES` bytes at an offset of at most
    // `len - V::LANES` of `a` or `b`, which have the same length. A function, not a closure:
    // a closure does not take its kernel's target features (out of line, its vector
    // operations were calls).
    #[inline(always)]
    unsafe fn diff<V: Vector>(a: &[u8], b: &[u8], at: usize) -> V {
        // SAFETY: as above.
        unsafe { V::load(a.as_ptr().add(at)).xor(V::load(b.as_ptr().add(at))) }
    }
    let diff = |at: usize| unsafe { diff::<V>(a, b, at) };
    let mut any = diff(last);
    let mut at = 0;
    // SAFETY (all three): register operations, the caller's contract.
    while at + V::LANES < last {
        any = unsafe { any.or(diff(at).or(diff(at + V::LANES))) };
        if unsafe { !any.is_zero() } {
            return false;
        }
        at += 2 * V::LANES;
    }
    if at < last {
        any = unsafe { any.or(diff(at)) };
    }
    unsafe { any.is_zero() }
}

/// The longest slices [`equal_short`] compares: four blocks of the widest vector.
pub(crate) const SHORT: usize = 128;

/// Where [`equal_short`] loads its blocks in slices of `len` bytes (`V::LANES <= len <=
/// SHORT`): block `k` at `k * V::LANES`, but none past the last block (`len - V::LANES`).
#[inline(always)]
pub(crate) fn short_starts<V: Vector>(len: usize) -> [usize; SHORT / 16] {
    debug_assert!((V::LANES..=SHORT).contains(&len));
    std::array::from_fn(|k| (k * V::LANES).min(len - V::LANES))
}

/// Whether the slices at `a` and `b` are equal, of a length `starts` was made for
/// ([`short_starts`]): `SHORT / V::LANES` blocks, no loop, one test.
///
/// # Safety
/// `V`'s instructions must be available; `a` and `b` valid for reading that length.
#[inline(always)]
pub(crate) unsafe fn equal_short<V: Vector>(
    a: *const u8,
    b: *const u8,
    starts: &[usize; SHORT / 16],
) -> bool {
    // SAFETY (all): the caller's contract; every start is at most the length less a block.
    // A function, not a closure: see `equal_blocks`.
    #[inline(always)]
    unsafe fn diff<V: Vector>(a: *const u8, b: *const u8, at: usize) -> V {
        // SAFETY: as above.
        unsafe { V::load(a.add(at)).xor(V::load(b.add(at))) }
    }
    let diff = |at: usize| unsafe { diff::<V>(a, b, at) };
    let mut any = diff(starts[0]);
    for &at in &starts[1..SHORT / V::LANES] {
        any = unsafe { any.or(diff(at)) };
    }
    unsafe { any.is_zero() }
}

/// The first LF or CR of `b`, 16 bytes a step, inlined (`memchr2`, its call and set-up, costs
/// more on a short line).
#[inline(always)]
pub(crate) fn first_line_end(b: &[u8]) -> Option<usize> {
    // SAFETY: the narrow vector is the baseline's.
    unsafe {
        first_stop::<Narrow>(
            b,
            |x| super::text::line_ends(x),
            |c| c == b'\n' || c == b'\r',
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_is_slice_equality_on_every_vector_type() {
        let a: Vec<u8> = (0..200u32).map(|i| (i * 7 % 251) as u8).collect();
        for len in 0..a.len() {
            let a = &a[..len];
            let mut bs = vec![(a.to_vec(), true), ([a, b"x"].concat(), false)];
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                bs.push((b, false));
            }
            for (b, same) in &bs {
                let (b, same) = (b.as_slice(), *same);
                crate::simd::each_vector!(check::<V>(a: &[u8], b: &[u8], same: bool));
            }
        }
    }

    /// The first LF or CR of lines of every length, with CR, LF, both or neither at every
    /// place: found as `memchr2` finds it.
    #[test]
    fn first_line_end_is_memchr2() {
        let text: Vec<u8> = (0..90u32)
            .map(|i| b"data: {\"x\xc3\xa9\":1}"[i as usize % 15])
            .collect();
        for len in 0..text.len() {
            for at in 0..=len {
                for ends in [&b"\n"[..], b"\r", b"\r\n", b""] {
                    let mut line = text[..len].to_vec();
                    line.splice(at..at, ends.iter().copied());
                    assert_eq!(first_line_end(&line), memchr::memchr2(b'\n', b'\r', &line));
                }
            }
        }
    }

    /// Runs of padding (spaces and tabs) up to a byte that is not, at every length and place:
    /// found as the first lane that is not blank (the skeletons' padding hole).
    #[test]
    fn first_stop_finds_the_end_of_padding_on_every_vector_type() {
        for len in 0..100 {
            for end in 0..=len {
                let mut pad: Vec<u8> = (0..len).map(|i| [b' ', b'\t'][i % 3 / 2]).collect();
                if end < len {
                    pad[end] = [b'x', b'\n', 0x80][end % 3];
                }
                let pad = pad.as_slice();
                crate::simd::each_vector!(check_pad::<V>(pad: &[u8], end: usize));
            }
        }
    }

    #[inline(always)]
    unsafe fn check_pad<V: Vector>(pad: &[u8], end: usize) {
        let lanes = u32::MAX >> (32 - V::LANES);
        // SAFETY: `each_vector!` runs `V` where its instructions are available.
        let not_blank = |x: V| unsafe { !super::super::text::blanks(x) & lanes };
        // SAFETY: as above.
        let found = unsafe { first_stop::<V>(pad, not_blank, |c| c != b' ' && c != b'\t') };
        assert_eq!(
            found,
            (end < pad.len()).then_some(end),
            "{} {pad:?}",
            V::LANES
        );
        // From `pos` in longer bytes: what is before `pos` (not padding) is not found.
        for before in [0, 1, 5, 15, 16, 31, 32, 40] {
            let b = [&vec![b'x'; before][..], pad].concat();
            // SAFETY: as above; `before <= b.len()`.
            let found =
                unsafe { first_stop_from::<V>(&b, before, not_blank, |c| c != b' ' && c != b'\t') };
            assert_eq!(
                found,
                (end < pad.len()).then_some(before + end),
                "{} {before} {pad:?}",
                V::LANES
            );
        }
    }

    #[inline(always)]
    unsafe fn check<V: Vector>(a: &[u8], b: &[u8], same: bool) {
        // SAFETY: `each_vector!` runs `V` where its instructions are available.
        assert_eq!(unsafe { equal::<V>(a, b) }, same, "{} {a:?}", V::LANES);
        // SAFETY: as above.
        let stops = |x: V| unsafe { super::super::text::blanks(x) };
        let blank = |c: u8| c == b' ' || c == b'\t';
        let first = a.iter().position(|&c| blank(c));
        // SAFETY: as above.
        assert_eq!(unsafe { first_stop::<V>(a, stops, blank) }, first);
    }
}
