//! A run of events read by one skeleton of the usual delta's shapes (a literal, the counted
//! text, a literal; or with padding before the closing brace): one loop over the events, the
//! skeleton's parts hoisted out of it, each event's text counted in place into the stream's
//! counts and put back unless the event is whole (counts kept in registers and added at the
//! end measured worse: LLVM made vector additions of them). What [`Skeleton::read`] reads,
//! event after event, without its per-event set-up (the bulk of a 16 KiB read's events).

use super::{Seg, Shape, Skeleton, PAD};
use crate::scan::segments::{blanks_end, literal_equal};
use crate::scan::strings::count_string_with;
use crate::simd::bytes::{equal_short, short_starts, SHORT};
use crate::simd::{text, Vector};
use crate::textstats::TextStats;

/// What [`Skeleton::text_run`] read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextRun {
    /// The bytes of the events read, through the blank line of the last.
    pub used: usize,
    pub events: u64,
    /// The event after them is whole and of this layout, but over the size bound or ended by
    /// the read's last CR: no skeleton may take it (the line path reads it).
    pub stopped: bool,
}

impl<E: PartialEq> Skeleton<E> {
    /// Whether [`Skeleton::text_run`] reads its events.
    #[inline(always)]
    pub(super) fn runs_text(&self) -> bool {
        self.joined.len() > PAD
    }

    /// The events at the start of `b` that [`Skeleton::read`] reads one after another, each
    /// shorter than `max_event_bytes` and not ended by a CR that ends `b`: their texts counted
    /// into `stats` (only whole events' counts). `V`'s instructions must be available, and
    /// [`Skeleton::runs_text`] hold.
    #[inline(always)]
    pub(super) unsafe fn text_run<V: Vector>(
        &self,
        b: &[u8],
        stats: &mut TextStats,
        max_event_bytes: usize,
    ) -> TextRun {
        debug_assert!(self.runs_text());
        let (first, middle, last) = (self.segs[0], self.segs[1], self.segs[self.n_segs - 1]);
        let padded = self.shape == Shape::PaddedText;
        let last_len = (last.lit_end - last.lit_start) as usize;
        let (joined, joined_len) = (self.joined.as_ptr(), self.joined.len() - PAD);
        // A joined literal of up to `SHORT` bytes compared in a fixed number of blocks.
        let short = (V::LANES..=SHORT).contains(&joined_len);
        let starts = short_starts::<V>(joined_len.clamp(V::LANES, SHORT));
        let mut run = TextRun {
            used: 0,
            events: 0,
            stopped: false,
        };
        // SAFETY (every call below): the caller's contract; `joined` holds `joined_len` bytes
        // and `PAD` more.
        let Some(mut pos) = (unsafe { self.literal_at::<V>(b, 0, first) }) else {
            return run;
        };
        loop {
            // Counted in place; put back unless the event is whole.
            let saved = *stats;
            let Some(mut at) = (unsafe { count_string_with::<V>(b, pos, stats) }) else {
                *stats = saved;
                return run;
            };
            if padded {
                let Some(after) = (unsafe { self.padding_end::<V>(b, at, middle) }) else {
                    *stats = saved;
                    return run;
                };
                at = after;
            }
            // This event's end and the next one's start, compared as one literal: the run
            // goes on at the next one's text (its last byte is not the last of `b`).
            let avail = b.len() - at;
            let ptr = unsafe { b.as_ptr().add(at) };
            let both = avail >= joined_len
                && match short {
                    true => unsafe { equal_short::<V>(ptr, joined, &starts) },
                    false => unsafe { literal_equal::<V>(ptr, avail, joined, joined_len) },
                };
            if both {
                if at + last_len - run.used >= max_event_bytes {
                    *stats = saved;
                    run.stopped = true;
                    return run;
                }
                run.used = at + last_len;
                run.events += 1;
                pos = at + joined_len;
                continue;
            }
            // The run's last event, if it ends here.
            let Some(end) = (unsafe { self.literal_at::<V>(b, at, last) }) else {
                *stats = saved;
                return run;
            };
            // Over the bound, or its last CR ends `b`: the line path reads it.
            if end - run.used >= max_event_bytes || (end == b.len() && b[end - 1] == b'\r') {
                *stats = saved;
                run.stopped = true;
                return run;
            }
            run.used = end;
            run.events += 1;
            return run;
        }
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

    /// The joined literal (see `joined`) of a shape [`Skeleton::text_run`] reads, else none.
    pub(super) fn join(&self) -> Box<[u8]> {
        let (first, last) = (self.segs[0], self.segs[self.n_segs - 1]);
        let part = |seg: Seg| &self.bytes[seg.lit_start as usize..seg.lit_end as usize];
        match self.shape {
            Shape::Segments => Box::default(),
            // An event ends with its blank line, in its last literal: there is one.
            _ if last.lit_start < last.lit_end => [part(last), part(first), &[0; PAD]]
                .concat()
                .into_boxed_slice(),
            _ => Box::default(),
        }
    }
}

/// [`Skeleton::text_run`], the kernel [`crate::simd::dispatch!`] compiles for each vector;
/// `V`'s instructions must be available.
#[inline(always)]
pub(super) unsafe fn text_run_with<V: Vector, E: PartialEq>(
    skeleton: &Skeleton<E>,
    b: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
) -> TextRun {
    // SAFETY: the caller's contract.
    unsafe { skeleton.text_run::<V>(b, stats, max_event_bytes) }
}
