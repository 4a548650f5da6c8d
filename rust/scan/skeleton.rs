//! Learned skeletons: the byte layout of an event that a general reader has read, kept as
//! literal segments and holes, to read later events of the same layout by comparing bytes.
//!
//! A provider's general reader notes, while it reads an event, the values whose bytes may
//! change without changing what it makes of them ([`Holes`]): the strings whose text it
//! counts, and the strings and numbers it checks and skips. The meter adds the framing's
//! holes (the `id` value, the padding before the closing brace) and keeps the whole event,
//! framing included, as a [`Skeleton`]: the bytes between the holes are literals. A later
//! event that is each literal in turn, with a valid value of its kind in each hole, is the
//! same document as the learned one but for values the reader only checks or counts: it reads
//! the same, so the skeleton reads it by comparing the literals and checking (or counting)
//! the holes, one pass, no search. Anything else is a miss: the general reader reads it (and
//! may learn its layout). A stream keeps at most [`SKELETONS`], each at most [`MAX_SKELETON`]
//! bytes: memory is bounded whatever the stream.

use crate::scan::holes::{Hole, MAX_HOLES};
pub(crate) use crate::scan::segments::same_bytes;
use crate::simd::{self, Narrow, Vector};
use crate::textstats::TextStats;

mod comments;
mod learn;
mod read;
mod text_run;

use read::holes_read;
use text_run::{text_run_with, TextRun};

/// The most literal bytes a skeleton keeps: a real event's are a few hundred.
pub const MAX_SKELETON: usize = 4 << 10;
/// Skeletons a stream keeps at once (each kind of event, and the layouts a relay mixes).
pub const SKELETONS: usize = 8;
/// Zero bytes after a skeleton's bytes: the widest vector's block, so that a block loaded at
/// any literal's start is within them.
const PAD: usize = 32;

/// A literal (`lit_start..lit_end` in the skeleton's bytes) and the hole after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seg {
    lit_start: u32,
    lit_end: u32,
    hole: Hole,
}

const NO_SEG: Seg = Seg {
    lit_start: 0,
    lit_end: 0,
    hole: Hole::End,
};

/// The most holes of a skeleton: the reader's, and the framing's two (id, padding).
const SLOTS: usize = MAX_HOLES + 2;

/// One learned layout: literals and holes, and what an event of it says (`effect`, the
/// provider's).
///
/// Counted text and `id` values are holes from the start; a string or a number the reader
/// skips, or the padding, is kept as a literal until an event of the same layout but for it
/// holds another value there (an index, a pad that changes every chunk), then it becomes a
/// hole: values that never change (a type, a fingerprint) stay literals, compared with the
/// rest.
#[derive(Debug, Clone)]
pub struct Skeleton<E> {
    /// The learned event without the text of the holes that are always holes, then
    /// [`PAD`] zero bytes: a literal is compared a whole block at a time.
    bytes: Box<[u8]>,
    /// The learned bytes' length (without the padding).
    len: u32,
    /// Every hole, where it is in `bytes` (an always-hole is empty there).
    holes: [(u32, u32, Hole); SLOTS],
    n_holes: usize,
    /// Which of the other holes are holes by now.
    open: u16,
    /// The literals and holes to compare, made from the above.
    segs: [Seg; SLOTS + 1],
    n_segs: usize,
    /// How `read` goes through the segments (told once, by `compile`).
    shape: Shape,
    /// For the skeletons [`Skeleton::text_run`] reads: the last literal then the first, then
    /// [`PAD`] zero bytes (one event's end and the next one's start, compared as one).
    joined: Box<[u8]>,
    pub effect: E,
    /// When it last read an event: the least recent is replaced first.
    used_at: u64,
}

/// The segments' shape, for `read` and [`Skeleton::text_run`]: the usual delta's two (a
/// literal, the counted text, a literal; the same with padding before the closing brace), the
/// counted text after an `id` value, and a skipped string after the text (a relay's extra
/// field, OpenAI's obfuscation) read straight, any other by the segment loop. One test an
/// event, whatever the skeleton.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Text,
    PaddedText,
    IdText,
    TextStr,
    Segments,
}

/// Holes of these kinds are holes from the start (the others, padding included, once they
/// change: a stream that never pads compares its last bytes as one literal).
fn always(hole: Hole) -> bool {
    matches!(hole, Hole::Count | Hole::Id)
}

/// How many bytes of `event` a skeleton with `holes` keeps (the always-holes' text is not
/// kept); `None` when the holes are too many, not sorted and within `event`, not read by
/// their readers ([`holes_read`]), or the bytes kept over [`MAX_SKELETON`].
fn kept_len(event: &[u8], holes: &[(usize, usize, Hole)]) -> Option<usize> {
    if holes.len() > SLOTS || !holes_read(event, holes) {
        return None;
    }
    let dropped: usize = holes
        .iter()
        .filter(|h| always(h.2))
        .map(|h| h.1 - h.0)
        .sum();
    Some(event.len() - dropped).filter(|&kept| kept <= MAX_SKELETON)
}

/// What a read of whole events took.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The bytes the events took, through the blank line of the last.
    pub used: usize,
    pub events: u64,
    /// Where the last `id` value read is in the bytes, when an event had one.
    pub last_id: Option<(usize, usize)>,
}

impl<E: PartialEq> Skeleton<E> {
    /// The skeleton of `event` with `holes` (sorted, not overlapping, within `event`); `None`
    /// when they are not, when its literals are over [`MAX_SKELETON`], or when it does not
    /// read `event` itself with all its holes open (its literals being `event`'s bytes, when a
    /// hole's reader does not end at the hole's end).
    #[cfg(test)]
    pub fn learn(event: &[u8], holes: &[(usize, usize, Hole)], effect: E) -> Option<Self> {
        let kept = kept_len(event, holes)?;
        Some(Skeleton::build(event, holes, kept, effect, 0))
    }

    /// The skeleton of `event` with `holes` (checked by [`holes_read`]), `kept` bytes long
    /// (the always-holes' text is not kept; at most [`MAX_SKELETON`]), the holes in `open`
    /// open.
    fn build(
        event: &[u8],
        holes: &[(usize, usize, Hole)],
        kept: usize,
        effect: E,
        open: u16,
    ) -> Self {
        let mut skeleton = Skeleton {
            bytes: Box::default(),
            len: kept as u32,
            holes: [(0, 0, Hole::End); SLOTS],
            n_holes: holes.len(),
            open: 0,
            segs: [NO_SEG; SLOTS + 1],
            n_segs: 0,
            shape: Shape::Segments,
            joined: Box::default(),
            effect,
            used_at: 0,
        };
        // Its exact size, so that the boxed slice is the allocation itself, not a copy
        // shrunk into another.
        let mut bytes = Vec::with_capacity(kept + PAD);
        let mut at = 0;
        for (slot, &(start, end, hole)) in skeleton.holes.iter_mut().zip(holes) {
            bytes.extend_from_slice(&event[at..start]);
            let kept = bytes.len();
            if !always(hole) {
                bytes.extend_from_slice(&event[start..end]);
            }
            *slot = (kept as u32, bytes.len() as u32, hole);
            at = end;
        }
        bytes.extend_from_slice(&event[at..]);
        debug_assert_eq!(bytes.len(), kept);
        bytes.resize(kept + PAD, 0);
        skeleton.bytes = bytes.into_boxed_slice();
        skeleton.compile(open);
        skeleton
    }

    /// The segments to compare, with the holes in `open` (and the always-holes) open.
    fn compile(&mut self, open: u16) {
        self.open = open;
        let (mut n, mut lit_start) = (0, 0);
        for (i, &(start, end, hole)) in self.holes[..self.n_holes].iter().enumerate() {
            if always(hole) || open & (1 << i) != 0 {
                self.segs[n] = Seg {
                    lit_start,
                    lit_end: start,
                    hole,
                };
                n += 1;
                lit_start = end;
            }
        }
        self.segs[n] = Seg {
            lit_start,
            lit_end: self.len,
            hole: Hole::End,
        };
        self.n_segs = n + 1;
        self.shape = match self.segs[..self.n_segs] {
            [Seg {
                hole: Hole::Count, ..
            }, _] => Shape::Text,
            [Seg {
                hole: Hole::Count, ..
            }, Seg {
                hole: Hole::Blanks, ..
            }, _] => Shape::PaddedText,
            [Seg { hole: Hole::Id, .. }, Seg {
                hole: Hole::Count, ..
            }, _] => Shape::IdText,
            [Seg {
                hole: Hole::Count, ..
            }, Seg {
                hole: Hole::Str, ..
            }, _] => Shape::TextStr,
            _ => Shape::Segments,
        };
        self.joined = self.join();
    }

    /// The bytes around hole `i` (`i == n_holes`: after the last).
    fn gap(&self, i: usize) -> &[u8] {
        let start = i.checked_sub(1).map_or(0, |p| self.holes[p].1 as usize);
        let end = self.holes.get(i).filter(|_| i < self.n_holes);
        &self.bytes[start..end.map_or(self.len as usize, |h| h.0 as usize)]
    }

    fn value(&self, i: usize) -> &[u8] {
        &self.bytes[self.holes[i].0 as usize..self.holes[i].1 as usize]
    }

    /// Whether `other` is this layout but for the values in its holes (open or not).
    #[cfg(test)]
    fn same_shape(&self, other: &Self) -> bool {
        self.effect == other.effect
            && self.n_holes == other.n_holes
            && (0..self.n_holes).all(|i| self.holes[i].2 == other.holes[i].2)
            && (0..=self.n_holes).all(|i| self.gap(i) == other.gap(i))
    }

    /// Opens the holes where `other` (of the same shape) holds another value.
    #[cfg(test)]
    fn widen(&mut self, other: &Self) {
        let mut open = self.open;
        for i in 0..self.n_holes {
            if self.value(i) != other.value(i) {
                open |= 1 << i;
            }
        }
        if open != self.open {
            self.compile(open);
        }
    }

    /// Whether it holds padding where it was learned.
    #[cfg(test)]
    fn padded(&self) -> bool {
        let holes = &self.holes[..self.n_holes];
        holes
            .iter()
            .any(|&(start, end, hole)| hole == Hole::Blanks && start < end)
    }

    /// Opens its padding holes.
    #[cfg(test)]
    fn open_blanks(&mut self) {
        let mut open = self.open;
        for (i, h) in self.holes[..self.n_holes].iter().enumerate() {
            if h.2 == Hole::Blanks {
                open |= 1 << i;
            }
        }
        if open != self.open {
            self.compile(open);
        }
    }
}

/// The skeletons of one stream.
#[derive(Debug, Clone)]
pub struct Skeletons<E> {
    items: Vec<Skeleton<E>>,
    /// The one that read the last event, tried first: events come in runs of one kind. It
    /// holds the newest `used_at` (every stamp makes its skeleton this one), so a read by it
    /// needs no stamp to keep the order of use.
    last: usize,
    clock: u64,
}

impl<E> Default for Skeletons<E> {
    fn default() -> Self {
        Skeletons {
            items: Vec::new(),
            last: 0,
            clock: 0,
        }
    }
}

impl<E: PartialEq> Skeletons<E> {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Keeps `skeleton`; one of the same shape as a kept one instead opens the kept one's
    /// holes where they differ (what [`Skeletons::learn_event`] does from the event).
    #[cfg(test)]
    pub fn learn(&mut self, mut skeleton: Skeleton<E>) {
        if let Some(kept) = self.items.iter_mut().find(|s| s.same_shape(&skeleton)) {
            kept.widen(&skeleton);
            return;
        }
        if skeleton.padded() {
            skeleton.open_blanks();
        }
        self.keep(skeleton);
    }

    /// Keeps `skeleton`, in place of the least recently used when [`SKELETONS`] are kept.
    fn keep(&mut self, mut skeleton: Skeleton<E>) {
        self.clock += 1;
        skeleton.used_at = self.clock;
        if self.items.len() < SKELETONS {
            // Room for two at first (a stream's usual count), then doubled: two fit the
            // allocator's small, cached sizes, eight (all it may keep) do not.
            if self.items.len() == self.items.capacity() {
                let room = self
                    .items
                    .capacity()
                    .max(2)
                    .min(SKELETONS - self.items.len());
                self.items.reserve_exact(room);
            }
            self.items.push(skeleton);
            self.last = self.items.len() - 1;
            return;
        }
        let oldest = (0..self.items.len())
            .min_by_key(|&at| self.items[at].used_at)
            .unwrap_or(0);
        self.items[oldest] = skeleton;
        self.last = oldest;
    }

    /// Whether a skeleton whose effect `fits` reads all of `data` (an event dispatched by the
    /// line path): its counted holes then counted into `stats`, `hit` called with its effect.
    pub fn read_data(
        &mut self,
        data: &[u8],
        stats: &mut TextStats,
        fits: impl Fn(&E) -> bool,
        hit: impl FnOnce(&E),
    ) -> bool {
        for (at, skeleton) in self.items.iter().enumerate() {
            if !fits(&skeleton.effect) {
                continue;
            }
            let mut counted = stats.continued();
            // SAFETY: the narrow vector is the baseline's.
            let end = unsafe { skeleton.read::<Narrow, true>(data, &mut counted, &mut None) };
            if end == Some(data.len()) {
                stats.append(&counted);
                hit(&skeleton.effect);
                self.clock += 1;
                self.items[at].used_at = self.clock;
                self.last = at;
                return true;
            }
        }
        false
    }

    /// The whole events at the start of `rest` that the skeletons read, one after another:
    /// their counted holes counted into `sink.stats()`, `sink.hit` called with each event's
    /// skeleton (its effect, and its slot). Only skeletons whose effect `fits` are tried. An
    /// event is taken only when shorter than `max_event_bytes` and not ended by a CR that ends
    /// `rest` (an LF may follow in the next read: the framer's line path reads that). 32 bytes
    /// a step with AVX2 where the processor has it.
    #[inline(always)]
    pub fn run<S: RunSink<E>>(
        &mut self,
        rest: &[u8],
        sink: S,
        max_event_bytes: usize,
        fits: impl Fn(&E) -> bool,
    ) -> Run {
        if self.items.is_empty() {
            return Run::default();
        }
        let skeletons = self;
        simd::dispatch!([E: PartialEq, S: RunSink<E>, F: Fn(&E) -> bool] run_with::<V, E>(
            skeletons: &mut Skeletons<E>,
            rest: &[u8],
            sink: S,
            max_event_bytes: usize,
            fits: F,
        ) -> Run)
    }
}

/// What [`Skeletons::run`] reads events into: their text counts, counted in place (no copy in
/// and out a read), and what each event says. Handed over by value (a few references, kept in
/// registers by the kernel).
pub trait RunSink<E> {
    fn stats(&mut self) -> &mut TextStats;
    /// An event of the skeleton in slot `at`, whose effect is `effect`, was read: called once
    /// for events of one skeleton in a row, so a second call right after the first must
    /// change nothing (the events are counted by the run's `events`).
    fn hit(&mut self, effect: &E, at: usize);
}

/// [`Skeletons::run`] with `V`'s blocks: the kernel [`simd::dispatch!`] compiles for each
/// vector; `V`'s instructions must be available.
#[inline(always)]
unsafe fn run_with<V: Vector, E: PartialEq>(
    skeletons: &mut Skeletons<E>,
    rest: &[u8],
    mut sink: impl RunSink<E>,
    max_event_bytes: usize,
    fits: impl Fn(&E) -> bool,
) -> Run {
    let mut run = Run::default();
    let (mut at, mut last, mut missed) = (skeletons.last, skeletons.last, false);
    loop {
        // One event at a time, until the end or a run for `text_run` (no call in this loop:
        // it would cost the one-event reads their registers).
        let text_run = loop {
            if run.used >= rest.len() {
                break false;
            }
            // The one that read the last event first, then the others in order.
            let skeleton = &skeletons.items[at];
            let fit = !missed && fits(&skeleton.effect);
            // A run of events, where more than one event may follow (one
            // event is read below: the run's set-up costs more than it saves there).
            if fit && skeleton.runs_text() && rest.len() - run.used > 2 * skeleton.len as usize {
                break true;
            }
            let next = &rest[run.used..];
            // Counted in place; put back on a miss (which may have counted part of an event).
            let (saved, mut id) = (*sink.stats(), None);
            // SAFETY (both): the caller's contract.
            let mut end = match fit {
                true => unsafe { skeleton.read::<V, true>(next, sink.stats(), &mut id) },
                false => None,
            };
            if end.is_none() {
                for other in (0..skeletons.items.len()).filter(|&other| other != at) {
                    let skeleton = &skeletons.items[other];
                    if !fits(&skeleton.effect) {
                        continue;
                    }
                    (*sink.stats(), id) = (saved, None);
                    end = unsafe { skeleton.read::<V, true>(next, sink.stats(), &mut id) };
                    if end.is_some() {
                        at = other;
                        break;
                    }
                }
            }
            // Over the bound, or its last CR ends `rest`: the line path reads it.
            let taken = end.filter(|&end| {
                end < max_event_bytes && (end < next.len() || next[end - 1] != b'\r')
            });
            let Some(end) = taken else {
                *sink.stats() = saved;
                break false;
            };
            (last, missed) = (at, false);
            sink.hit(&skeletons.items[at].effect, at);
            if let Some((start, end)) = id {
                run.last_id = Some((run.used + start, run.used + end));
            }
            run.used += end;
            run.events += 1;
        };
        if !text_run {
            break;
        }
        let (skeleton, b, stats) = (&skeletons.items[at], &rest[run.used..], sink.stats());
        let read = simd::out_of_line!(V; [E: PartialEq] text_run_with::<V, E>(
            skeleton: &Skeleton<E>,
            b: &[u8],
            stats: &mut TextStats,
            max_event_bytes: usize,
        ) -> TextRun);
        if read.events > 0 {
            // Once for the events of one skeleton in a row: `hit` again would change nothing
            // (see `RunSink::hit`).
            sink.hit(&skeleton.effect, at);
            if let Some((start, end)) = read.last_id {
                run.last_id = Some((run.used + start, run.used + end));
            }
            (last, run.used, run.events) = (at, run.used + read.used, run.events + read.events);
        }
        if read.stopped || run.used == rest.len() {
            break;
        }
        // It does not read the next event: the others may.
        missed = true;
    }
    // The one at `last` is the most recently used already (see `last`): stamped only when
    // another takes its place, not on every read.
    if last != skeletons.last {
        skeletons.last = last;
        skeletons.clock += 1;
        skeletons.items[last].used_at = skeletons.clock;
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::segments::literal_equal;

    /// The counts of `texts` counted one after another.
    fn counted(texts: &[&str]) -> TextStats {
        let mut stats = TextStats::default();
        for text in texts {
            let value: String = serde_json::from_str(&format!("\"{text}\"")).expect("a string");
            stats.add(&value);
        }
        stats
    }

    /// The event and its holes, learned: `parts` alternate literal and hole text.
    fn learned(parts: &[(&str, Option<Hole>)]) -> (Vec<u8>, Skeleton<u8>) {
        let (mut event, mut holes) = (Vec::new(), Vec::new());
        for &(text, hole) in parts {
            let start = event.len();
            event.extend_from_slice(text.as_bytes());
            if let Some(hole) = hole {
                holes.push((start, event.len(), hole));
            }
        }
        let mut skeleton = Skeleton::learn(&event, &holes, 7).expect("learned");
        skeleton.compile(u16::MAX); // every hole open, as if learned from varied events
        (event, skeleton)
    }

    /// The run of `skeletons` over `rest`, read with every vector type (the same with each),
    /// then read as dispatched, which updates `skeletons` as a stream's would be.
    fn run_of(skeletons: &mut Skeletons<u8>, rest: &[u8], max: usize) -> (Run, TextStats) {
        let (mut list, all) = (Vec::new(), &*skeletons);
        let runs = &mut list;
        simd::each_vector!(run_each::<V>(
            all: &Skeletons<u8>,
            rest: &[u8],
            max: usize,
            runs: &mut Vec<(Run, TextStats)>
        ));
        assert!(
            list.windows(2).all(|w| w[0] == w[1]),
            "the same with each vector"
        );
        let mut stats = TextStats::default();
        let run = skeletons.run(rest, &mut stats, max, |_| true);
        assert_eq!((run, stats), list[0], "as dispatched");
        (run, stats)
    }

    const DELTA: [(&str, Option<Hole>); 9] = [
        ("id: ", None),
        ("7", Some(Hole::Id)),
        ("\ndata: {\"type\":\"content_block_delta\",\"index\":", None),
        ("12", Some(Hole::Num)),
        (",\"delta\":{\"type\":\"", None),
        ("text_delta\"", Some(Hole::Str)),
        (",\"text\":\"", None),
        ("Hello\"", Some(Hole::Count)),
        ("}}\n\n", None),
    ];

    /// Events of the layout read as the learned one, their holes checked and counted; the
    /// last `id` value found.
    #[test]
    fn reads_events_of_its_layout_with_any_valid_holes() {
        let (event, skeleton) = learned(&DELTA);
        let mut skeletons = Skeletons::default();
        skeletons.learn(skeleton);
        let (run, stats) = run_of(&mut skeletons, &event, usize::MAX);
        assert_eq!((run.used, run.events), (event.len(), 1));
        assert_eq!(stats, counted(&["Hello"]));
        let other = "id: 8\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"x\\u00e9\",\"text\":\"a\\\"b \\ud83d\\ude00 你好\"}}\n\n";
        let two = [&event[..], other.as_bytes()].concat();
        let (run, stats) = run_of(&mut skeletons, &two, usize::MAX);
        assert_eq!((run.used, run.events), (two.len(), 2));
        assert_eq!(run.last_id, Some((event.len() + 4, event.len() + 5)));
        assert_eq!(stats, counted(&["Hello", "a\\\"b \\ud83d\\ude00 你好"]));
    }

    /// A change in any literal, or a hole that holds what its kind does not take, is a miss:
    /// the run stops before that event, its counts untouched.
    #[test]
    fn a_mismatch_anywhere_is_a_miss() {
        let (event, skeleton) = learned(&DELTA);
        let mut skeletons = Skeletons::default();
        skeletons.learn(skeleton);
        let text = String::from_utf8(event.clone()).expect("text");
        let mut misses = vec![];
        // Every literal byte changed in turn.
        let holes: Vec<(usize, usize)> = {
            let mut at = 0;
            DELTA
                .iter()
                .filter_map(|&(t, h)| {
                    at += t.len();
                    h.map(|_| (at - t.len(), at))
                })
                .collect()
        };
        for i in 0..event.len() {
            if holes.iter().any(|&(s, e)| (s..e).contains(&i)) {
                continue;
            }
            let mut bad = event.clone();
            bad[i] = if bad[i] == b'x' { b'y' } else { b'x' };
            misses.push(bad);
        }
        for (from, to) in [
            ("\"index\":12", "\"index\":012"),
            ("\"index\":12", "\"index\":1e2"),
            ("\"index\":12", "\"index\":\"12\""),
            ("\"index\":12", "\"index\":1234567890123456"),
            ("text_delta\"", "text\u{1}delta\""),
            ("text_delta\"", "text\\qdelta\""),
            ("Hello\"", "Hel\\ud800lo\""),
            ("Hello\"", "Hel\nlo\""),
            ("id: 7", "id:  7"),
            ("id: 7", "id: 7\u{0}"),
        ] {
            misses.push(text.replacen(from, to, 1).into_bytes());
        }
        let mut bad_utf8 = text.replacen("Hello", "Hel\u{1}lo", 1).into_bytes();
        let at = bad_utf8.iter().position(|&c| c == 1).expect("marked");
        bad_utf8[at] = 0xFF;
        misses.push(bad_utf8);
        // At the end of the read, and followed by more bytes (each literal then compared a
        // whole block at a time).
        for bad in misses {
            for more in [&b""[..], &[b'x'; 40]] {
                let two = [&event[..], &bad, more].concat();
                let (run, stats) = run_of(&mut skeletons, &two, usize::MAX);
                assert_eq!(
                    (run.used, run.events),
                    (event.len(), 1),
                    "{:?}",
                    String::from_utf8_lossy(&bad)
                );
                assert_eq!(stats, counted(&["Hello"]));
            }
        }
    }

    /// An event cut anywhere (in a literal, in a hole, in the blank line) is not read; nor one
    /// over the size bound, nor one whose last CR ends the read.
    #[test]
    fn a_cut_event_is_not_read() {
        let (event, skeleton) = learned(&DELTA);
        let mut skeletons = Skeletons::default();
        skeletons.learn(skeleton);
        for cut in 0..event.len() {
            let (run, stats) = run_of(&mut skeletons, &event[..cut], usize::MAX);
            assert_eq!(run, Run::default(), "{cut}");
            assert_eq!(stats, TextStats::default());
            // The same bytes, the event cut there by a control character: a miss (but in the
            // `id` value, `7` at 4, where it is a valid value).
            if cut == 4 {
                continue;
            }
            let mut other = event.clone();
            other[cut] = if other[cut] == b'\x01' {
                b'\x02'
            } else {
                b'\x01'
            };
            other.extend_from_slice(&[b' '; 40]);
            let (run, stats) = run_of(&mut skeletons, &other, usize::MAX);
            assert_eq!(run, Run::default(), "{cut}");
            assert_eq!(stats, TextStats::default());
        }
        let (run, _) = run_of(&mut skeletons, &event, event.len());
        assert_eq!(run.events, 0);
        let (run, _) = run_of(&mut skeletons, &event, event.len() + 1);
        assert_eq!(run.events, 1);
        let (cr, skeleton) = learned(&[
            ("data: {\"a\":", None),
            ("1", Some(Hole::Num)),
            ("}\r\r", None),
        ]);
        let mut skeletons = Skeletons::default();
        skeletons.learn(skeleton);
        assert_eq!(run_of(&mut skeletons, &cr, usize::MAX).0.events, 0);
        let more = [&cr[..], b"x"].concat();
        assert_eq!(run_of(&mut skeletons, &more, usize::MAX).0.used, cr.len());
    }

    /// A layout of one counted text between two literals (read without the segment loop):
    /// any text, counted; a change in either literal, or a cut anywhere, is not read.
    #[test]
    fn one_counted_text_between_literals() {
        let (event, skeleton) = learned(&[
            ("data: {\"type\":\"text_delta\",\"text\":\"", None),
            ("Hi\"", Some(Hole::Count)),
            ("}\n\n", None),
        ]);
        let mut skeletons = Skeletons::default();
        skeletons.learn(skeleton);
        for text in [
            "",
            "a longer text, \\n and more than a block of it",
            "é你\\u00e9",
        ] {
            let other = String::from_utf8(event.clone())
                .expect("text")
                .replace("Hi", text);
            for more in ["", "x", &" ".repeat(40)] {
                let bytes = [other.as_bytes(), more.as_bytes()].concat();
                let (run, stats) = run_of(&mut skeletons, &bytes, usize::MAX);
                assert_eq!(
                    (run.used, run.events),
                    (other.len(), 1),
                    "{text:?} {more:?}"
                );
                assert_eq!(stats, counted(&[text]));
            }
            for cut in 0..other.len() {
                let (run, _) = run_of(&mut skeletons, &other.as_bytes()[..cut], usize::MAX);
                assert_eq!(run.events, 0, "{cut}");
                // A control character is wrong anywhere: in a literal, and raw in the text.
                let mut bad = other.clone().into_bytes();
                bad[cut] = b'\x01';
                let (run, _) = run_of(&mut skeletons, &bad, usize::MAX);
                assert_eq!(run.events, 0, "{cut}");
            }
        }
    }

    /// Runs of events of any shape `text_run` reads (the counted text alone, padded, with an
    /// `id` value, skipped strings and numbers; LF, CR or CRLF line ends), with comment lines
    /// between them or not: read whole, counted as their texts, the last `id` value found;
    /// cut at any byte, damaged at any byte, or bounded in size (an event's, a comment
    /// line's), the run stops exactly before the first event not read (before the comment
    /// lines ahead of it), the counts those of the events before it.
    #[test]
    fn runs_stop_exactly_before_the_first_event_not_read() {
        let texts = [
            "a",
            "a longer text, 42 words and more than a block of them to count",
            "é\\n\\u00e9 你好",
            "",
            "x y_9",
            "tail",
        ];
        let pads = ["", " ", "\t  ", &" ".repeat(40), "", "  "];
        let ids = [
            "7",
            "12",
            "x-9",
            "0",
            "a longer id, past a block of bytes: 0123456789",
            "1",
        ];
        let strs = ["t1", "a longer value", "", "é", "a\\\"b", "z"];
        let nums = ["0", "12", "7", "3", "2048", "9"];
        let layouts: [&[(&str, Option<Hole>)]; 8] = [
            &[
                ("data: {\"type\":\"text_delta\",\"text\":\"", None),
                ("Hi\"", Some(Hole::Count)),
                ("}\n\n", None),
            ],
            &[
                ("event: delta\rdata: {\"text\":\"", None),
                ("Hi\"", Some(Hole::Count)),
                ("}\r\r", None),
            ],
            &[
                ("data: {\"delta\":{\"text\":\"", None),
                ("Hi\"", Some(Hole::Count)),
                ("}", None),
                ("  ", Some(Hole::Blanks)),
                ("}\n\n", None),
            ],
            &[
                ("event: delta\nid: ", None),
                ("7", Some(Hole::Id)),
                ("\ndata: {\"text\":\"", None),
                ("Hi\"", Some(Hole::Count)),
                ("}\n\n", None),
            ],
            &[
                ("data: {\"text\":\"", None),
                ("Hi\"", Some(Hole::Count)),
                (",\"trace\":\"", None),
                ("t0\"", Some(Hole::Str)),
                ("}\r\r", None),
            ],
            // OpenAI Responses' delta, in the API's and in sorted key order.
            &[
                ("event: d\ndata: {\"n\":", None),
                ("1", Some(Hole::Num)),
                (",\"item\":\"m\",\"delta\":\"", None),
                ("Hi\"", Some(Hole::Count)),
                (",\"obfuscation\":\"", None),
                ("x\"", Some(Hole::Str)),
                ("}\n\n", None),
            ],
            &[
                ("data: {\"delta\":\"", None),
                ("Hi\"", Some(Hole::Count)),
                (",\"obfuscation\":\"", None),
                ("x\"", Some(Hole::Str)),
                (",\"n\":", None),
                ("1", Some(Hole::Num)),
                ("}\r\n\r\n", None),
            ],
            &[
                ("id: ", None),
                ("7", Some(Hole::Id)),
                ("\r\ndata: {\"i\":", None),
                ("1", Some(Hole::Num)),
                (",\"t\":\"", None),
                ("x\"", Some(Hole::Str)),
                (",\"text\":\"", None),
                ("Hi\"", Some(Hole::Count)),
                ("}", None),
                ("  ", Some(Hole::Blanks)),
                ("}\r\n\r\n", None),
            ],
        ];
        for (parts, comments) in layouts.iter().flat_map(|&l| [(l, false), (l, true)]) {
            let (_, skeleton) = learned(parts);
            let mut skeletons = Skeletons::default();
            skeletons.learn(skeleton);
            let eol = match parts[parts.len() - 1].0 {
                end if end.ends_with("\r\n") => "\r\n",
                end if end.ends_with('\r') => "\r",
                _ => "\n",
            };
            // The comment lines before each event: none, one, two (an empty one, one ended
            // by CRLF whatever the layout's line ends).
            let lines_before = |k: usize| -> Vec<String> {
                match (comments, k) {
                    (true, 1 | 3) => vec![format!(": keep-alive{eol}")],
                    (true, 4) => vec![format!(":{eol}"), ": x\r\n".to_owned()],
                    _ => vec![],
                }
            };
            let (mut all, mut ends, mut id_at, mut skip) = (vec![], vec![], vec![], vec![]);
            let mut sizes = vec![]; // each event's size, and its comment lines' longest
            for k in 0..texts.len() {
                let lines = lines_before(k);
                for line in &lines {
                    // A comment line's bytes after its colon: any byte may be there.
                    skip.extend(all.len() + 1..all.len() + line.len());
                    all.extend_from_slice(line.as_bytes());
                }
                let (start, mut id) = (all.len(), None);
                for &(part, hole) in parts.iter() {
                    let value = match hole {
                        Some(Hole::Count) => format!("{}\"", texts[k]),
                        Some(Hole::Str) => format!("{}\"", strs[k]),
                        Some(Hole::Blanks) => pads[k].to_owned(),
                        Some(Hole::Num) => nums[k].to_owned(),
                        Some(Hole::Id) => ids[k].to_owned(),
                        _ => part.to_owned(),
                    };
                    if hole == Some(Hole::Id) {
                        // Any byte but NUL, CR and LF may be in an `id` value too.
                        id = Some((all.len(), all.len() + value.len()));
                        skip.extend(all.len()..all.len() + value.len());
                    }
                    all.extend_from_slice(value.as_bytes());
                }
                let longest = lines.iter().map(|l| l.trim_end().len()).max();
                sizes.push((all.len() - start, longest.unwrap_or(0)));
                ends.push(all.len());
                id_at.push(id);
            }
            let cr = all.last() == Some(&b'\r');
            // The events a read of `n` bytes takes whole.
            let whole = |n: usize| {
                ends.iter()
                    .filter(|&&end| end < n || (end == n && !cr))
                    .count()
            };
            let check = |skeletons: &mut Skeletons<u8>, bytes: &[u8], max: usize, want: usize| {
                let (run, stats) = run_of(skeletons, bytes, max);
                let used = want.checked_sub(1).map_or(0, |k| ends[k]);
                let last_id = want.checked_sub(1).and_then(|k| id_at[k]);
                assert_eq!(
                    (run.used, run.events, run.last_id),
                    (used, want as u64, last_id),
                    "{:?} {max}",
                    String::from_utf8_lossy(bytes)
                );
                assert_eq!(stats, counted(&texts[..want]), "{bytes:?} {max}");
            };
            check(&mut skeletons, &all, usize::MAX, whole(all.len()));
            for cut in 0..=all.len() {
                check(&mut skeletons, &all[..cut], usize::MAX, whole(cut));
                if cut < all.len() && !skip.contains(&cut) {
                    let mut bad = all.clone();
                    bad[cut] = 1;
                    let hit = ends.iter().filter(|&&end| end <= cut).count();
                    check(&mut skeletons, &bad, usize::MAX, hit);
                }
            }
            for &(event, comment) in &sizes {
                for max in [event, event + 1, comment, comment + 1] {
                    let fits = |&&(event, comment): &&(usize, usize)| event < max && comment < max;
                    let taken = sizes.iter().take_while(fits).count();
                    check(&mut skeletons, &all, max, taken.min(whole(all.len())));
                }
            }
        }
    }

    /// Comment lines between events that the framer would not skip alone end the run before
    /// them: at the read's end (cut, or ended by a CR that may start a CRLF), followed by a
    /// blank line or by an event of another layout.
    #[test]
    fn comment_lines_the_framer_reads_end_the_run() {
        let (event, skeleton) = learned(&[
            ("data: {\"text\":\"", None),
            ("Hi\"", Some(Hole::Count)),
            ("}\n\n", None),
        ]);
        let mut skeletons = Skeletons::default();
        skeletons.learn(skeleton);
        let event = String::from_utf8(event).expect("text");
        let (e, n) = (event.as_str(), event.len());
        for (bytes, events, used) in [
            (format!("{e}: ping\n{e}{e}"), 3, 0),
            (format!("{e}: ping\r: pong\r\n:\n{e}{e}"), 3, 0),
            (format!("{e}: ping\r{e}"), 2, 0),
            (format!("{e}: ping"), 1, n),
            (format!("{e}: ping\r"), 1, n),
            (format!("{e}: ping\n"), 1, n),
            (format!("{e}: ping\n\n{e}"), 1, n),
            (format!("{e}: ping\r\r{e}"), 1, n),
            (format!("{e}: ping\ndata: {{\"other\":\"x\"}}\n\n{e}"), 1, n),
            (format!("{e}\n: ping\n{e}"), 1, n),
            (format!("{e} : ping\n{e}"), 1, n),
        ] {
            let (run, stats) = run_of(&mut skeletons, bytes.as_bytes(), usize::MAX);
            assert_eq!(run.events, events, "{bytes:?}");
            assert_eq!(stats, counted(&vec!["Hi"; events as usize]), "{bytes:?}");
            let used = if used == 0 { bytes.len() } else { used };
            assert_eq!(run.used, used, "{bytes:?}");
        }
        // A comment line as long as the bound or longer is left to the framer; shorter, skipped.
        let comment = format!(":{}", "x".repeat(n + 5));
        let bytes = format!("{e}{comment}\n{e}");
        let c = comment.len();
        for (max, events) in [(n + 1, 1), (c, 1), (c + 1, 2)] {
            let (run, _) = run_of(&mut skeletons, bytes.as_bytes(), max);
            assert_eq!(run.events, events, "{max}");
        }
    }

    /// Blanks take any run of spaces and tabs, none included.
    #[test]
    fn blanks_take_any_padding() {
        let (_, skeleton) = learned(&[
            ("data: {\"a\":\"", None),
            ("x\"", Some(Hole::Count)),
            ("  ", Some(Hole::Blanks)),
            ("}\n\n", None),
        ]);
        let mut skeletons = Skeletons::default();
        skeletons.learn(skeleton);
        for pad in ["", " ", "\t \t", &" ".repeat(40)] {
            let event = format!("data: {{\"a\":\"yz\"{pad}}}\n\n");
            let (run, stats) = run_of(&mut skeletons, event.as_bytes(), usize::MAX);
            assert_eq!(run.used, event.len(), "{pad:?}");
            assert_eq!(stats, counted(&["yz"]));
        }
        // Any byte changed but in the text is a miss: the literals on both sides of the
        // padding, and the padding itself.
        let event = format!("data: {{\"a\":\"yz\"{}}}\n\n", " ".repeat(5));
        let text_at = "data: {\"a\":\"".len();
        for cut in (0..event.len()).filter(|&at| !(text_at..text_at + 2).contains(&at)) {
            let mut bad = event.clone().into_bytes();
            bad[cut] = b'#';
            let (run, _) = run_of(&mut skeletons, &bad, usize::MAX);
            assert_eq!(run.events, 0, "{cut}");
        }
        let event = "data: {\"a\":\"yz\"\n}\n\n";
        assert_eq!(
            run_of(&mut skeletons, event.as_bytes(), usize::MAX)
                .0
                .events,
            0
        );
    }

    /// Padding learned is a hole at once (the next event pads by another width, or not at
    /// all); no padding learned is a literal until an event of the layout pads.
    #[test]
    fn padding_learned_is_a_hole_at_once() {
        let event = |key: &str, text: &str, pad: usize| {
            format!("data: {{\"{key}\":\"{text}\"{}}}\n\n", " ".repeat(pad))
        };
        let learn = |e: &str| {
            let (t, brace) = (e.find(":\"").expect("text") + 2, e.len() - 3);
            let quote = e[..brace].trim_end().len();
            let holes = [(t, quote, Hole::Count), (quote, brace, Hole::Blanks)];
            Skeleton::learn(e.as_bytes(), &holes, 0u8).expect("learned")
        };
        let reads = |skeletons: &mut Skeletons<u8>, e: String| {
            run_of(skeletons, e.as_bytes(), usize::MAX).0.events == 1
        };
        let mut skeletons = Skeletons::default();
        skeletons.learn(learn(&event("a", "x", 0)));
        skeletons.learn(learn(&event("b", "x", 3)));
        assert!(reads(&mut skeletons, event("a", "yz", 0)));
        assert!(!reads(&mut skeletons, event("a", "yz", 3)));
        for pad in [0, 1, 3, 7, 40] {
            assert!(reads(&mut skeletons, event("b", "yz", pad)), "{pad}");
        }
        assert!(!reads(&mut skeletons, event("b", "yz\"\"", 5)));
        assert!(!reads(
            &mut skeletons,
            event("b", "yz", 5).replace(" }", "\t\n}")
        ));
        skeletons.learn(learn(&event("a", "x", 2)));
        assert_eq!(skeletons.len(), 2, "widened, not added");
        assert!(reads(&mut skeletons, event("a", "yz", 9)));
    }

    /// Holes that are not in order or not in the event, or an event its own skeleton does not
    /// read, are not learned; at most `SKELETONS` are kept, the least recently used replaced,
    /// the same layout kept once.
    #[test]
    fn learning_is_checked_and_bounded() {
        let event = b"data: {\"a\":12}\n\n";
        for holes in [
            vec![(13, 15, Hole::Num), (10, 12, Hole::Num)],
            vec![(13, 40, Hole::Num)],
            vec![(12, 14, Hole::Num)], // `2}`: not a number
            vec![(12, 13, Hole::End)],
        ] {
            assert!(Skeleton::learn(event, &holes, 0).is_none(), "{holes:?}");
        }
        // A counted text is checked (not counted) when learned: a raw control character or a
        // lone surrogate is no text.
        for bad in [&b"x\x01y\""[..], b"\\ud800\"", b"x"] {
            let event = [&b"data: {\"a\":\""[..], bad, b"}\n\n"].concat();
            let hole = [(12, 12 + bad.len(), Hole::Count)];
            assert!(Skeleton::learn(&event, &hole, 0).is_none(), "{bad:?}");
        }
        let good = b"data: {\"a\":\"x\\u00e9\"}\n\n";
        assert!(Skeleton::learn(good, &[(12, 20, Hole::Count)], 0).is_some());
        let long = format!("data: {{\"a\":\"{}\"}}\n\n", "x".repeat(MAX_SKELETON));
        assert!(Skeleton::learn(long.as_bytes(), &[], 0).is_none());
        let start = long.find("xx").expect("x");
        let hole = [(start, start + MAX_SKELETON + 1, Hole::Count)];
        assert!(Skeleton::learn(long.as_bytes(), &hole, 0).is_some());

        let mut skeletons = Skeletons::default();
        let event = |k: usize| format!("data: {{\"k{k}\":1}}\n\n");
        for k in 0..SKELETONS + 3 {
            let e = event(k);
            skeletons.learn(Skeleton::learn(e.as_bytes(), &[], 0u8).expect("learned"));
            skeletons.learn(Skeleton::learn(e.as_bytes(), &[], 0u8).expect("learned"));
            // The first one is read after each learning: never the least recently used.
            assert_eq!(
                run_of(&mut skeletons, event(0).as_bytes(), usize::MAX)
                    .0
                    .events,
                1
            );
        }
        assert_eq!(skeletons.len(), SKELETONS);
        let kept = (0..SKELETONS + 3)
            .filter(|&k| {
                run_of(&mut skeletons, event(k).as_bytes(), usize::MAX)
                    .0
                    .events
                    == 1
            })
            .count();
        assert_eq!(kept, SKELETONS);
    }

    /// A skipped value is a literal until an event of the same shape holds another value there:
    /// then that hole (only) opens.
    #[test]
    fn skipped_values_open_when_they_change() {
        let event = |index: &str, kind: &str, text: &str| {
            format!("data: {{\"index\":{index},\"type\":\"{kind}\",\"text\":\"{text}\"}}\n\n")
        };
        let learn = |e: &str| {
            let at = |part: &str| e.find(part).expect("in event");
            let (i, k, t) = (
                at("\"index\":") + 8,
                at("\"type\":\"") + 8,
                at("\"text\":\"") + 8,
            );
            let holes = [
                (i, at(",\"type"), Hole::Num),
                (k, at(",\"text"), Hole::Str),
                (t, e.len() - 3, Hole::Count),
            ];
            Skeleton::learn(e.as_bytes(), &holes, 0u8).expect("learned")
        };
        let mut skeletons = Skeletons::default();
        skeletons.learn(learn(&event("0", "a", "x")));
        let reads = |skeletons: &mut Skeletons<u8>, e: String| {
            run_of(skeletons, e.as_bytes(), usize::MAX).0.events == 1
        };
        assert!(reads(&mut skeletons, event("0", "a", "other text")));
        assert!(!reads(&mut skeletons, event("1", "a", "x")));
        assert!(!reads(&mut skeletons, event("0", "b", "x")));
        skeletons.learn(learn(&event("1", "a", "y")));
        assert_eq!(skeletons.len(), 1, "widened, not added");
        assert!(reads(&mut skeletons, event("1", "a", "x")));
        assert!(reads(&mut skeletons, event("25", "a", "x")));
        assert!(!reads(&mut skeletons, event("0", "b", "x")));
        skeletons.learn(learn(&event("0", "b", "x")));
        assert!(reads(&mut skeletons, event("7", "c", "z")));
        // Another shape is another skeleton.
        skeletons.learn(learn(&event("0", "a", "x").replace("data: ", "data:")));
        assert_eq!(skeletons.len(), 2);
    }

    /// Literals of every length against bytes with as many more bytes after them as a block
    /// holds or fewer, equal or differing at any one byte: compared as slices are.
    #[test]
    fn literals_compare_as_slices_on_every_vector_type() {
        let lit: Vec<u8> = (0..100u32).map(|i| (i * 7 % 251) as u8).collect();
        for len in 0..lit.len() {
            let padded = [&lit[..len], &[0u8; PAD]].concat();
            for extra in [0, 1, 3, 15, 16, 31, 32, 40] {
                let mut bytes = [&lit[..len], &vec![b'z'; extra]].concat();
                let (lit, want) = (padded.as_slice(), true);
                let b = bytes.as_slice();
                simd::each_vector!(check_literal::<V>(b: &[u8], lit: &[u8], len: usize, want: bool));
                for at in 0..len {
                    bytes[at] ^= 0x41;
                    let (b, want) = (bytes.as_slice(), false);
                    simd::each_vector!(check_literal::<V>(b: &[u8], lit: &[u8], len: usize, want: bool));
                    bytes[at] ^= 0x41;
                }
            }
        }
    }

    #[inline(always)]
    unsafe fn check_literal<V: Vector>(b: &[u8], lit: &[u8], len: usize, want: bool) {
        // SAFETY: `each_vector!` runs `V` where its instructions are available; `b` holds at
        // least `len` bytes, `lit` `len` and `PAD` more.
        let same = unsafe { literal_equal::<V>(b.as_ptr(), b.len(), lit.as_ptr(), len) };
        assert_eq!(same, want, "{} {len} {}", V::LANES, b.len());
    }

    /// The counts alone.
    impl RunSink<u8> for &mut TextStats {
        fn stats(&mut self) -> &mut TextStats {
            self
        }

        fn hit(&mut self, _: &u8, _: usize) {}
    }

    /// [`run_with`] on a copy of `all`, pushed to `runs`.
    #[inline(always)]
    unsafe fn run_each<V: Vector>(
        all: &Skeletons<u8>,
        rest: &[u8],
        max: usize,
        runs: &mut Vec<(Run, TextStats)>,
    ) {
        let (mut copy, mut stats) = (all.clone(), TextStats::default());
        // SAFETY: `each_vector!` runs `V` where its instructions are available.
        let run = unsafe { run_with::<V, u8>(&mut copy, rest, &mut stats, max, |_| true) };
        runs.push((run, stats));
    }
}
