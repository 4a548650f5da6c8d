//! A run of events read by one skeleton: one loop over the events, the skeleton's parts
//! hoisted out of it, each event's end and the next one's start compared as one literal,
//! each event's text counted in place into the stream's counts and put back unless the event
//! is whole (counts kept in registers and added at the end measured worse: LLVM made vector
//! additions of them). The skeleton's shape read straight where it is one of the four
//! `Shape` names (the counted text; padded; after an `id` value; before a skipped string),
//! any other (several holes of any kind) by the segment loop; comment lines between events
//! skipped as the framer skips them. What [`Skeleton::read`] reads, event after event, without its
//! per-event set-up (the bulk of a 16 KiB read's events).

use super::comments::comments_end;
use super::read::hole_end;
use super::{Seg, Shape, Skeleton, PAD};
use crate::scan::holes::Hole;
use crate::scan::segments::{blanks_end, literal_equal, string_end};
use crate::scan::strings::{count_string_with, skip_string};
use crate::simd::bytes::{equal_short, short_starts, SHORT};
use crate::simd::{text, Vector};
use crate::textstats::TextStats;

/// The readers of one event's holes (`text_run`'s `SHAPE`, one kernel each): the counted
/// text; the text then padding; an `id` value, a literal, the text; the text, a literal, a
/// skipped string; every hole by its kind.
const TEXT: u8 = 0;
const PADDED: u8 = 1;
const ID_TEXT: u8 = 2;
const TEXT_STR: u8 = 3;
const HOLES: u8 = 4;

/// What [`Skeleton::text_run`] read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextRun {
    /// The bytes of the events read, through the blank line of the last.
    pub used: usize,
    pub events: u64,
    /// The event after them is whole and of this layout, but over the size bound or ended by
    /// the read's last CR: no skeleton may take it (the line path reads it).
    pub stopped: bool,
    /// Where the last `id` value read is in the bytes, when the skeleton has one.
    pub last_id: Option<(usize, usize)>,
}

/// A literal compared at any place of the reads of a run: one of up to `SHORT` bytes (a block
/// or more) in a fixed number of blocks, their starts worked out once a run.
struct Fixed {
    ptr: *const u8,
    len: usize,
    short: bool,
    starts: [usize; SHORT / 16],
}

impl Fixed {
    /// The `len` bytes at `ptr`, which holds `PAD` more. `V`'s instructions must be available.
    #[inline(always)]
    unsafe fn new<V: Vector>(ptr: *const u8, len: usize) -> Self {
        Fixed {
            ptr,
            len,
            short: (V::LANES..=SHORT).contains(&len),
            starts: short_starts::<V>(len.clamp(V::LANES, SHORT)),
        }
    }

    /// `seg`'s literal in `bytes` (a skeleton's). `V`'s instructions must be available.
    #[inline(always)]
    unsafe fn of<V: Vector>(bytes: &[u8], seg: Seg) -> Self {
        let len = (seg.lit_end - seg.lit_start) as usize;
        // SAFETY: a skeleton's bytes hold each literal and `PAD` more.
        unsafe { Fixed::new::<V>(bytes.as_ptr().add(seg.lit_start as usize), len) }
    }

    /// Whether `b` holds it at `at` (`at <= b.len()`). `V`'s instructions must be available.
    #[inline(always)]
    unsafe fn at<V: Vector>(&self, b: &[u8], at: usize) -> bool {
        // SAFETY: the caller's contract.
        at < self.starts_before(b) && unsafe { self.there::<V>(b, at) }
    }

    /// The places of `b` where it may start (those before): worked out once a run, to test
    /// an event's end against. `V`'s instructions must be available.
    #[inline(always)]
    fn starts_before(&self, b: &[u8]) -> usize {
        (b.len() + 1).saturating_sub(self.len)
    }

    /// Whether `b` holds it at `at`, which is before [`Fixed::starts_before`]. `V`'s
    /// instructions must be available.
    #[inline(always)]
    unsafe fn there<V: Vector>(&self, b: &[u8], at: usize) -> bool {
        debug_assert!(at + self.len <= b.len());
        // SAFETY (all three): the caller's contract; `b` holds `self.len` bytes from `at`.
        let ptr = unsafe { b.as_ptr().add(at) };
        match self.short {
            true => unsafe { equal_short::<V>(ptr, self.ptr, &self.starts) },
            false => unsafe { literal_equal::<V>(ptr, b.len() - at, self.ptr, self.len) },
        }
    }
}

/// A literal shorter than a block and the skipped string after it (`TEXT_STR`'s middle and
/// last hole: a relay's `","trace":"` and its value): both read from the one block loaded at
/// the literal, where `b` holds one from there.
struct MiddleStr<V> {
    lit: V,
    /// The literal's lanes, where it is shorter than a block (else none: it is not read so).
    lanes: u32,
    len: usize,
}

impl<V: Vector> MiddleStr<V> {
    /// `seg`'s literal in `bytes` (a skeleton's). `V`'s instructions must be available.
    #[inline(always)]
    unsafe fn of(bytes: &[u8], seg: Seg) -> Self {
        let len = (seg.lit_end - seg.lit_start) as usize;
        MiddleStr {
            // SAFETY: the caller's contract; a skeleton's bytes hold each literal and `PAD`
            // more.
            lit: unsafe { V::load(bytes.as_ptr().add(seg.lit_start as usize)) },
            lanes: match len < V::LANES {
                true => (1u32 << len) - 1,
                false => 0,
            },
            len,
        }
    }

    /// Past the literal at `b[at..]` (`at <= b.len()`) and the string after it, as
    /// [`Fixed::at`] and [`string_end`] read them (`middle` being the same literal): the
    /// string's first stop found in the literal's block. `V`'s instructions must be available.
    #[inline(always)]
    unsafe fn end(&self, b: &[u8], at: usize, middle: &Fixed) -> Option<usize> {
        if self.lanes != 0 && b.len() - at >= V::LANES {
            // SAFETY (all three): the caller's contract; `b` holds a block from `at`.
            let x = unsafe { V::load(b.as_ptr().add(at)) };
            if !unsafe { x.cmpeq(self.lit).movemask() } & self.lanes != 0 {
                return None;
            }
            let stops = unsafe { text::string_stops(x) } >> self.len;
            if stops == 0 {
                // The string's bytes in the block are plain: on from the next.
                return unsafe { string_end::<V>(b, at + V::LANES) };
            }
            let stop = at + self.len + stops.trailing_zeros() as usize;
            return match b[stop] {
                b'"' => Some(stop + 1),
                _ => skip_string(b, stop),
            };
        }
        // SAFETY (both): the caller's contract.
        if !unsafe { middle.at::<V>(b, at) } {
            return None;
        }
        unsafe { string_end::<V>(b, at + middle.len) }
    }
}

/// Past an event's two holes of kinds `kinds` (its first at `b[pos..]`) and the literal
/// `middle` between them, as [`Skeleton::holes_end`] reads them: the kinds known, no loop and
/// no test of them. `V`'s instructions must be available.
#[inline(always)]
unsafe fn two_holes<V: Vector>(
    b: &[u8],
    pos: usize,
    kinds: [Hole; 2],
    middle: &Fixed,
    stats: &mut TextStats,
    id: &mut Option<(usize, usize)>,
) -> Option<usize> {
    // SAFETY (all three): the caller's contract.
    let pos = unsafe { hole_end::<V, true>(b, pos, kinds[0], stats, id)? };
    if !unsafe { middle.at::<V>(b, pos) } {
        return None;
    }
    unsafe { hole_end::<V, true>(b, pos + middle.len, kinds[1], stats, id) }
}

impl<E: PartialEq> Skeleton<E> {
    /// Whether [`Skeleton::text_run`] reads its events.
    #[inline(always)]
    pub(super) fn runs_text(&self) -> bool {
        self.joined.len() > PAD
    }

    /// The events at the start of `b` that [`Skeleton::read`] reads one after another (with
    /// comment lines between them), each shorter than `max_event_bytes` and not ended by a
    /// CR that ends `b`: their texts counted into `stats` (only whole events' counts). `V`'s
    /// instructions must be available, [`Skeleton::runs_text`] hold, and `SHAPE` be the
    /// skeleton's (`TEXT` and `PADDED` for their shapes, `HOLES` for any).
    #[inline(always)]
    unsafe fn text_run<V: Vector, const SHAPE: u8, const BOUNDED: bool>(
        &self,
        b: &[u8],
        stats: &mut TextStats,
        max_event_bytes: usize,
    ) -> TextRun {
        debug_assert!(BOUNDED || b.len() < max_event_bytes);
        // Unbounded, no event (nor comment line) of `b` is as long as the bound: none tested.
        let max_event_bytes = if BOUNDED { max_event_bytes } else { usize::MAX };
        debug_assert!(self.runs_text());
        debug_assert!(match SHAPE {
            TEXT => self.shape == Shape::Text,
            PADDED => self.shape == Shape::PaddedText,
            ID_TEXT => self.shape == Shape::IdText,
            TEXT_STR => self.shape == Shape::TextStr,
            _ => true,
        });
        let (first, second, last) = (self.segs[0], self.segs[1], self.segs[self.n_segs - 1]);
        let last_len = (last.lit_end - last.lit_start) as usize;
        // SAFETY (both): `joined` holds its length and `PAD` more, the skeleton's bytes the
        // second literal and `PAD` more.
        let joined = unsafe { Fixed::new::<V>(self.joined.as_ptr(), self.joined.len() - PAD) };
        let middle = unsafe { Fixed::of::<V>(&self.bytes, second) };
        let middle_str = unsafe { MiddleStr::<V>::of(&self.bytes, second) };
        // Where the joined literal may start in `b`.
        let joined_before = joined.starts_before(b);
        // The run so far, in locals (kept in registers, not in the returned struct).
        let (mut used, mut events, mut last_id) = (0, 0, None);
        // SAFETY (every call below): the caller's contract.
        let Some(mut pos) = (unsafe { self.literal_at::<V>(b, 0, first) }) else {
            return TextRun {
                used: 0,
                events,
                stopped: false,
                last_id,
            };
        };
        macro_rules! done {
            ($stopped:expr) => {
                return TextRun {
                    used,
                    events,
                    stopped: $stopped,
                    last_id,
                }
            };
        }
        // Where the event being read starts (after the comment lines before it).
        let mut start = 0;
        loop {
            // Counted in place; put back unless the event is whole.
            let (saved, mut id) = (*stats, None);
            let at = match SHAPE {
                TEXT => unsafe { count_string_with::<V>(b, pos, stats) },
                PADDED => unsafe { count_string_with::<V>(b, pos, stats) }
                    .and_then(|at| unsafe { self.padding_end::<V>(b, at, second) }),
                ID_TEXT => unsafe {
                    two_holes::<V>(b, pos, [Hole::Id, Hole::Count], &middle, stats, &mut id)
                },
                TEXT_STR => unsafe { count_string_with::<V>(b, pos, stats) }
                    .and_then(|at| unsafe { middle_str.end(b, at, &middle) }),
                _ => unsafe { self.holes_end::<V>(b, pos, stats, &mut id) },
            };
            let Some(at) = at else {
                *stats = saved;
                done!(false);
            };
            // This event's end and the next one's start, compared as one literal: the run
            // goes on at the next one's first hole (the next one's first literal is not
            // empty: this one's last byte is not the last of `b`).
            if at < joined_before && unsafe { joined.there::<V>(b, at) } {
                let end = at + last_len;
                if BOUNDED && end - start >= max_event_bytes {
                    *stats = saved;
                    done!(true);
                }
                (used, events) = (end, events + 1);
                last_id = id.or(last_id);
                (start, pos) = (end, at + joined.len);
                continue;
            }
            // The run's last event, if it ends here (or comment lines follow it).
            let Some(end) = (unsafe { self.literal_at::<V>(b, at, last) }) else {
                *stats = saved;
                done!(false);
            };
            // Over the bound, or its last CR ends `b`: the line path reads it.
            let over = BOUNDED && end - start >= max_event_bytes;
            if over || (end == b.len() && b[end - 1] == b'\r') {
                *stats = saved;
                done!(true);
            }
            (used, events) = (end, events + 1);
            last_id = id.or(last_id);
            // Comment lines, then the next event's start: the run goes on after them.
            start = unsafe { comments_end::<V>(b, end, max_event_bytes) };
            pos = match start > end {
                true => match unsafe { self.literal_at::<V>(b, start, first) } {
                    Some(pos) => pos,
                    None => done!(false),
                },
                false => done!(false),
            };
        }
    }

    /// Past the holes of an event of any shape from its first (at `b[pos..]`, after the
    /// first literal) through its last, with the literals between them: counted holes counted
    /// into `stats`, the `id` value's place set in `id`. `V`'s instructions must be available.
    #[inline(always)]
    unsafe fn holes_end<V: Vector>(
        &self,
        b: &[u8],
        pos: usize,
        stats: &mut TextStats,
        id: &mut Option<(usize, usize)>,
    ) -> Option<usize> {
        let holes = &self.segs[..self.n_segs - 1];
        // SAFETY (all three): the caller's contract.
        let mut pos = unsafe { hole_end::<V, true>(b, pos, holes[0].hole, stats, id)? };
        for &seg in &holes[1..] {
            pos = unsafe { self.literal_at::<V>(b, pos, seg)? };
            pos = unsafe { hole_end::<V, true>(b, pos, seg.hole, stats, id)? };
        }
        Some(pos)
    }

    /// Past the literal `middle` at `b[at..]` (if it is there) and the padding after it: a
    /// short literal and its padding read from one block where `b` holds one.
    #[inline(always)]
    unsafe fn padding_end<V: Vector>(&self, b: &[u8], at: usize, middle: Seg) -> Option<usize> {
        let len = (middle.lit_end - middle.lit_start) as usize;
        if len < V::LANES && b.len() - at >= V::LANES {
            // SAFETY: the caller's contract; `b` holds a block from `at`, the skeleton's bytes
            // one from the literal's start (its padding).
            let (x, lit) = unsafe {
                (
                    V::load(b.as_ptr().add(at)),
                    V::load(self.bytes.as_ptr().add(middle.lit_start as usize)),
                )
            };
            let lanes = u32::MAX >> (32 - V::LANES);
            // SAFETY (both): register operations.
            let differ = !unsafe { x.cmpeq(lit).movemask() } & ((1u32 << len) - 1);
            let not_blank = (!unsafe { text::blanks(x) } & lanes) >> len;
            return match (differ, not_blank) {
                (0, 0) => Some(unsafe { blanks_end::<V>(b, at + V::LANES) }),
                (0, _) => Some(at + len + not_blank.trailing_zeros() as usize),
                _ => None,
            };
        }
        // SAFETY (both): the caller's contract.
        let after = unsafe { self.literal_at::<V>(b, at, middle)? };
        Some(unsafe { blanks_end::<V>(b, after) })
    }

    /// The joined literal (see `joined`) of a skeleton [`Skeleton::text_run`] reads, else
    /// none: one with holes (without, its first literal is its last) and literals at both
    /// ends (an event starts with a field's name and ends with its blank line: there are).
    pub(super) fn join(&self) -> Box<[u8]> {
        let (first, last) = (self.segs[0], self.segs[self.n_segs - 1]);
        let part = |seg: Seg| &self.bytes[seg.lit_start as usize..seg.lit_end as usize];
        match self.n_segs > 1 && first.lit_start < first.lit_end && last.lit_start < last.lit_end {
            true => [part(last), part(first), &[0; PAD]]
                .concat()
                .into_boxed_slice(),
            false => Box::default(),
        }
    }
}

/// [`Skeleton::text_run`] for the skeleton's shape, the kernel [`crate::simd::dispatch!`]
/// compiles for each vector; `V`'s instructions must be available.
#[inline(always)]
pub(super) unsafe fn text_run_with<V: Vector, E: PartialEq>(
    skeleton: &Skeleton<E>,
    b: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
) -> TextRun {
    // Reads shorter than the bound (all but the longest) hold no event as long: a kernel
    // without the test of each event's size.
    macro_rules! kernel {
        ($shape:expr) => {
            match b.len() >= max_event_bytes {
                // SAFETY (both): the caller's contract; the shape's kernel.
                true => unsafe { skeleton.text_run::<V, $shape, true>(b, stats, max_event_bytes) },
                false => unsafe {
                    skeleton.text_run::<V, $shape, false>(b, stats, max_event_bytes)
                },
            }
        };
    }
    match skeleton.shape {
        Shape::Text => kernel!(TEXT),
        Shape::PaddedText => kernel!(PADDED),
        Shape::IdText => kernel!(ID_TEXT),
        Shape::TextStr => kernel!(TEXT_STR),
        Shape::Segments => kernel!(HOLES),
    }
}
