//! Reading one event by a learned skeleton: each literal compared a block at a time, each
//! hole checked (or its text counted) by its kind's reader, and the check at learning time
//! that a skeleton reads its own event.

use super::{Seg, Shape, Skeleton};
use crate::scan::holes::Hole;
use crate::scan::segments::{
    blanks_end, id_end, literal_equal, small_number_end, string_end, text_end,
};
use crate::scan::skim::value_end;
use crate::simd::{Narrow, Vector};
use crate::textstats::TextStats;

impl<E: PartialEq> Skeleton<E> {
    /// Past `seg`'s literal at `b[pos..]`, if it is there. `V`'s instructions must be
    /// available.
    #[inline(always)]
    pub(super) unsafe fn literal_at<V: Vector>(
        &self,
        b: &[u8],
        pos: usize,
        seg: Seg,
    ) -> Option<usize> {
        let (start, len) = (
            seg.lit_start as usize,
            (seg.lit_end - seg.lit_start) as usize,
        );
        let avail = b.len().checked_sub(pos)?;
        if avail < len {
            return None;
        }
        // SAFETY: the caller's contract; `b` holds `len` bytes from `pos`, the skeleton's
        // bytes `len` and its padding from `start`.
        let same = unsafe {
            literal_equal::<V>(
                b.as_ptr().add(pos),
                avail,
                self.bytes.as_ptr().add(start),
                len,
            )
        };
        same.then_some(pos + len)
    }

    /// If `b` starts with an event of this layout: where it ends, its counted holes counted
    /// into `counted` (which a miss may leave partly updated; only checked as strings without
    /// `COUNT`), where its `id` value is (the last, if several) set in `id`. `V`'s instructions
    /// must be available.
    #[inline(always)]
    pub(super) unsafe fn read<V: Vector, const COUNT: bool>(
        &self,
        b: &[u8],
        counted: &mut TextStats,
        id: &mut Option<(usize, usize)>,
    ) -> Option<usize> {
        match self.shape {
            // The usual delta: a literal, the counted text, a literal; without a loop.
            Shape::Text => {
                let [first, last] = [self.segs[0], self.segs[1]];
                // SAFETY (all three): the caller's contract.
                let pos = unsafe { self.literal_at::<V>(b, 0, first)? };
                let pos = unsafe { text_end::<V, COUNT>(b, pos, counted)? };
                return unsafe { self.literal_at::<V>(b, pos, last) };
            }
            // The same with padding before the closing brace.
            Shape::PaddedText => {
                let [first, second, last] = [self.segs[0], self.segs[1], self.segs[2]];
                // SAFETY (all five): the caller's contract.
                let pos = unsafe { self.literal_at::<V>(b, 0, first)? };
                let pos = unsafe { text_end::<V, COUNT>(b, pos, counted)? };
                let pos = unsafe { self.literal_at::<V>(b, pos, second)? };
                let pos = unsafe { blanks_end::<V>(b, pos) };
                return unsafe { self.literal_at::<V>(b, pos, last) };
            }
            // Two holes of known kinds: the same without a loop.
            Shape::IdText => {
                return unsafe {
                    self.read_two::<V, COUNT>(b, [Hole::Id, Hole::Count], counted, id)
                }
            }
            Shape::TextStr => {
                return unsafe {
                    self.read_two::<V, COUNT>(b, [Hole::Count, Hole::Str], counted, id)
                }
            }
            Shape::Segments => {}
        }
        let mut pos = 0;
        for &seg in &self.segs[..self.n_segs] {
            debug_assert!(seg.lit_end <= self.len);
            // SAFETY (both): the caller's contract (`compile` and the padding make every
            // literal a range of the skeleton's bytes, rounded up to a block).
            pos = unsafe { self.literal_at::<V>(b, pos, seg)? };
            pos = unsafe { hole_end::<V, COUNT>(b, pos, seg.hole, counted, id)? };
        }
        Some(pos)
    }
}

impl<E: PartialEq> Skeleton<E> {
    /// [`Skeleton::read`] for a shape of two holes of kinds `kinds`.
    #[inline(always)]
    unsafe fn read_two<V: Vector, const COUNT: bool>(
        &self,
        b: &[u8],
        kinds: [Hole; 2],
        counted: &mut TextStats,
        id: &mut Option<(usize, usize)>,
    ) -> Option<usize> {
        debug_assert!(self.n_segs == 3 && kinds == [self.segs[0].hole, self.segs[1].hole]);
        let [first, second, last] = [self.segs[0], self.segs[1], self.segs[2]];
        // SAFETY (all five): the caller's contract.
        let pos = unsafe { self.literal_at::<V>(b, 0, first)? };
        let pos = unsafe { hole_end::<V, COUNT>(b, pos, kinds[0], counted, id)? };
        let pos = unsafe { self.literal_at::<V>(b, pos, second)? };
        let pos = unsafe { hole_end::<V, COUNT>(b, pos, kinds[1], counted, id)? };
        unsafe { self.literal_at::<V>(b, pos, last) }
    }
}

/// Past a hole of kind `hole` at `b[pos..]`, if it holds a value of that kind: counted holes
/// counted into `counted` (only checked without `COUNT`), an `id` value's place set in `id`.
/// `V`'s instructions must be available.
#[inline(always)]
pub(super) unsafe fn hole_end<V: Vector, const COUNT: bool>(
    b: &[u8],
    pos: usize,
    hole: Hole,
    counted: &mut TextStats,
    id: &mut Option<(usize, usize)>,
) -> Option<usize> {
    // SAFETY (the four calls): the caller's contract.
    Some(match hole {
        Hole::Count => unsafe { text_end::<V, COUNT>(b, pos, counted)? },
        Hole::Blanks => unsafe { blanks_end::<V>(b, pos) },
        Hole::End => pos,
        Hole::Str => unsafe { string_end::<V>(b, pos)? },
        Hole::Num => small_number_end(b, pos)?,
        Hole::Value => value_end(b, pos)?,
        Hole::Id => {
            let end = unsafe { id_end::<V>(b, pos)? };
            *id = Some((pos, end));
            end
        }
    })
}

/// Whether `holes` are sorted, do not overlap and are within `event`, and each hole's reader
/// (as [`Skeleton::read`] reads it, texts checked, not counted) ends at the hole's end: then
/// the skeleton made of `event` reads `event` with all its holes open, its literals being
/// `event`'s own bytes (what a read of the whole event would check, without comparing them).
pub(super) fn holes_read(event: &[u8], holes: &[(usize, usize, Hole)]) -> bool {
    let mut at = 0;
    holes.iter().all(|&(start, end, hole)| {
        let ordered = at <= start && start <= end && end <= event.len();
        at = end;
        // SAFETY (the three calls): the narrow vector is the baseline's.
        let read = match hole {
            _ if !ordered => None,
            Hole::Count | Hole::Str => unsafe { string_end::<Narrow>(event, start) },
            Hole::Blanks => Some(unsafe { blanks_end::<Narrow>(event, start) }),
            Hole::Num => small_number_end(event, start),
            Hole::Value => value_end(event, start),
            Hole::Id => unsafe { id_end::<Narrow>(event, start) },
            Hole::End => None,
        };
        read == Some(end)
    })
}
