//! Chat chunks read against the layouts of the stream's earlier chunks: a chunk that is an
//! earlier one but for its text string is read by comparing bytes and counting the string.

use crate::providers::facts::Facts;
use crate::scan::strings::{count_string_with, skip_string};
use crate::textstats::TextStats;

/// The field name of a data line, as each layout's head starts with it.
const DATA_FIELD: &[u8] = b"data: ";

/// One layout of a stream's chunks: a whole chunk but for its one text string (the content,
/// the reasoning, a tool call's arguments), the only part that changes from chunk to chunk.
/// Learned from a chunk the full reader accepted: a later chunk that is the head, a valid
/// string and the end is the same document but for the string, so only the string is read.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `data: `, the chunk up to the string's body (the head: a whole event's first bytes; a
    /// dispatched event's data is compared from `DATA_FIELD.len()` on), then the chunk from
    /// just past the string's closing quote (the end). One allocation: learning is part of the
    /// slow path, two or three times a stream.
    bytes: Vec<u8>,
    head_len: usize,
    /// What the string is: reasoning text, and whether the chunk streams a tool call.
    reasoning: bool,
    tool_call: bool,
    /// Where the chunk's id, model and service tier are in `bytes`, when it has them.
    identity: [Option<(usize, usize)>; 3],
}

/// The most bytes a layout keeps (its head and end): a real chunk's are a few hundred.
pub(super) const MAX_LAYOUT: usize = 16 << 10;

/// Layouts kept at once, one per kind of text: content, reasoning, tool call.
const LAYOUTS: usize = 3;

/// The layouts of a stream's chunks, the latest of each kind.
#[derive(Debug, Clone, Default)]
pub struct Layouts {
    layouts: [Option<Layout>; LAYOUTS],
    /// The layout the last chunk matched, tried first: chunks come in runs of one kind.
    last: usize,
    /// The layout whose identity fields `ex` holds. A chunk no layout reads reaches
    /// [`from_template`] (a whole event [`whole_events`] declines is then dispatched line by
    /// line), which clears this on its miss: only such a chunk can have changed them since.
    identity_of: Option<usize>,
}

impl Layout {
    /// The layout of a chunk the full reader has just read: its one text string starts at
    /// `start`; `identity` are its id, model and service tier.
    pub(super) fn learn(
        data: &[u8],
        (start, reasoning): (usize, bool),
        tool_call: bool,
        identity: [Option<&str>; 3],
    ) -> Option<Layout> {
        let string_end = skip_string(data, start)?;
        let (head, end) = (&data[..start], &data[string_end..]);
        if head.len() + end.len() > MAX_LAYOUT {
            return None;
        }
        // From offsets in the chunk to offsets in the layout, which leaves the string out.
        let gap = string_end - start;
        let at = |i: usize| DATA_FIELD.len() + i - if i < start { 0 } else { gap };
        let span = |text: Option<&str>| span_in(data, text?).map(|(a, b)| (at(a), at(b)));
        Some(Layout {
            bytes: [DATA_FIELD, head, end].concat(),
            head_len: DATA_FIELD.len() + head.len(),
            reasoning,
            tool_call,
            identity: identity.map(span),
        })
    }

    /// The identity field at `at` (id, model, service tier), as the chunk gave it.
    fn identity(&self, at: usize) -> Option<&str> {
        let (start, end) = self.identity[at]?;
        std::str::from_utf8(&self.bytes[start..end]).ok()
    }

    fn kind(&self) -> usize {
        if self.tool_call {
            2
        } else {
            usize::from(self.reasoning)
        }
    }

    /// If `b` is the head from byte `skip` on, a string and the end, and `accept` takes the
    /// index past the end (it returns the bytes used): counts the string into `stats` and
    /// returns the bytes used; `None` leaves `stats` as it was. The string is counted into
    /// fresh counts appended on success: no copy of `stats` to make before and restore after a
    /// miss.
    #[inline(always)]
    fn read<const WIDE: bool>(
        &self,
        b: &[u8],
        skip: usize,
        stats: &mut TextStats,
        accept: impl Fn(usize) -> Option<usize>,
    ) -> Option<usize> {
        let head = &self.bytes[skip..self.head_len];
        if !same_bytes::<WIDE>(b.get(..head.len())?, head) {
            return None;
        }
        let mut counted = stats.continued();
        let string_end = count_string_with::<WIDE>(b, head.len(), &mut counted)?;
        let layout_end = &self.bytes[self.head_len..];
        let end = string_end + layout_end.len();
        if !same_bytes::<WIDE>(b.get(string_end..end)?, layout_end) {
            return None;
        }
        let used = accept(end)?;
        stats.append(&counted);
        Some(used)
    }

    /// The whole events at the start of `rest` that this layout reads, one after another
    /// (chunks come in runs of one kind): counts their strings into `stats`.
    #[inline(always)]
    fn read_run<const WIDE: bool>(
        &self,
        rest: &[u8],
        stats: &mut TextStats,
        max_event_bytes: usize,
    ) -> ChunkRun {
        let mut run = ChunkRun::default();
        loop {
            let next = &rest[run.used..];
            let framed = |end| framed_end(next, end, max_event_bytes);
            let Some(used) = self.read::<WIDE>(next, 0, stats, framed) else {
                return run;
            };
            run.used += used;
            run.events += 1;
        }
    }
}

/// What a run of whole events held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRun {
    /// The bytes the events took, through the blank line of the last.
    pub used: usize,
    pub events: u64,
}

/// [`Layout::read_run`], compiled for AVX2 and POPCNT when `wide` ([`crate::simd::wide`]):
/// heads compared and text counted 32 bytes a step.
#[inline]
fn layout_run(
    layout: &Layout,
    rest: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
    wide: bool,
) -> ChunkRun {
    #[cfg(target_arch = "x86_64")]
    if wide {
        // SAFETY: `wide` is `simd::wide()`: the processor has AVX2 and POPCNT.
        return unsafe { layout_run_wide(layout, rest, stats, max_event_bytes) };
    }
    let _ = wide;
    layout.read_run::<false>(rest, stats, max_event_bytes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn layout_run_wide(
    layout: &Layout,
    rest: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
) -> ChunkRun {
    layout.read_run::<true>(rest, stats, max_event_bytes)
}

impl Layouts {
    /// Keeps the layout of a chunk just read by the full reader (which set `ex`'s identity
    /// fields from it), in place of the one of its kind.
    pub(super) fn learn(&mut self, layout: Layout) {
        let kind = layout.kind();
        self.layouts[kind] = Some(layout);
        (self.last, self.identity_of) = (kind, Some(kind));
    }

    /// The layouts, the one the last chunk matched first: chunks come in runs of one kind.
    fn in_turn(&self) -> impl Iterator<Item = (usize, &Layout)> {
        let others = (0..LAYOUTS).filter(|&at| at != self.last);
        std::iter::once(self.last)
            .chain(others)
            .filter_map(|at| Some((at, self.layouts.get(at)?.as_ref()?)))
    }
}

/// Sets what a chunk of layout `at` says beside its text: its kind, and the layout's identity
/// fields (once after each miss).
#[inline]
fn take_hit(ex: &mut Facts, template: &mut Layouts, at: usize) {
    let Some(layout) = template.layouts.get(at).and_then(Option::as_ref) else {
        return;
    };
    template.last = at;
    ex.saw_thinking |= layout.reasoning;
    ex.saw_tool_use |= layout.tool_call;
    if template.identity_of != Some(at) {
        set_identity(ex, template, at);
    }
}

#[cold]
fn set_identity(ex: &mut Facts, template: &mut Layouts, at: usize) {
    let Some(layout) = &template.layouts[at] else {
        return;
    };
    set(&mut ex.message_id, layout.identity(0));
    set(&mut ex.model, layout.identity(1));
    set(&mut ex.service_tier, layout.identity(2));
    template.identity_of = Some(at);
}

/// A dispatched event's data that one of the stream's layouts reads.
pub(super) fn from_template(ex: &mut Facts, template: &mut Layouts, data: &[u8]) -> bool {
    let whole = |end| (end == data.len()).then_some(end);
    let stats = &mut ex.output_text;
    let hit = template.in_turn().find(|(_, layout)| {
        layout
            .read::<false>(data, DATA_FIELD.len(), stats, whole)
            .is_some()
    });
    let Some((at, _)) = hit else {
        // This chunk goes on to a reader that may set the identity fields.
        template.identity_of = None;
        return false;
    };
    take_hit(ex, template, at);
    true
}

/// `data: <a chunk that one of the layouts reads>` and a blank line, LF or CRLF framed, whole
/// at the start of `rest`, and as many such events after it as the layouts read: reads each as
/// [`from_template`] reads its data and returns the bytes used and the events; none for
/// anything else (a bare CR, an event over `max_event_bytes`), which the framer then reads
/// line by line. Out of line: the framer's loop, which the Anthropic reader shares, keeps one
/// shape whatever this one grows to.
#[inline(never)]
pub fn whole_events(
    ex: &mut Facts,
    template: &mut Layouts,
    rest: &[u8],
    max_event_bytes: usize,
    wide: bool,
) -> ChunkRun {
    let mut run = ChunkRun::default();
    while let Some((at, part)) = next_run(ex, template, &rest[run.used..], max_event_bytes, wide) {
        take_hit(ex, template, at);
        run.used += part.used;
        run.events += part.events;
    }
    run
}

/// The events at the start of `rest` that one layout reads (the last one's first): which
/// layout, and what they held.
#[inline]
fn next_run(
    ex: &mut Facts,
    template: &Layouts,
    rest: &[u8],
    max_event_bytes: usize,
    wide: bool,
) -> Option<(usize, ChunkRun)> {
    template.in_turn().find_map(|(at, layout)| {
        let run = layout_run(layout, rest, &mut ex.output_text, max_event_bytes, wide);
        (run.events > 0).then_some((at, run))
    })
}

/// Past the blank line that must follow a whole event's data line ending at `end`, if the
/// data is within `max_event_bytes` (as the event builder bounds a data line).
#[inline(always)]
fn framed_end(rest: &[u8], end: usize, max_event_bytes: usize) -> Option<usize> {
    if end - DATA_FIELD.len() >= max_event_bytes {
        return None;
    }
    match rest.get(end..end + 2) {
        Some(b"\n\n") => Some(end + 2), // the usual framing, in one compare
        _ => lf_or_crlf_end(rest, end).and_then(|at| lf_or_crlf_end(rest, at)),
    }
}

/// Past an LF or CRLF at `at`; `None` for anything else (a bare CR may be the first half of a
/// CRLF split across reads: the framer handles it).
#[inline]
fn lf_or_crlf_end(b: &[u8], at: usize) -> Option<usize> {
    match b.get(at..)? {
        [b'\n', ..] => Some(at + 1),
        [b'\r', b'\n', ..] => Some(at + 2),
        _ => None,
    }
}

/// How many bytes `same_bytes` compares before it checks whether they all matched.
const WINDOW: usize = 512;

/// `a == b`, inlined and 16 bytes at a time (32 with AVX2 when `WIDE`; the last block
/// overlapping): a layout's head is some 250 bytes, compared on every chunk. A longer pattern
/// is compared `WINDOW` bytes at a time, stopping at the first window that differs, so that a
/// long layout compared with the rest of a read that holds many short chunks costs each no
/// more than what matches of it. Only the AVX2 paths may instantiate it with `WIDE`.
#[inline(always)]
pub(super) fn same_bytes<const WIDE: bool>(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if WIDE && a.len() >= 32 {
            // SAFETY: `WIDE` code runs only where AVX2 is available (above).
            return unsafe { same_bytes32(a, b) };
        }
        if a.len() >= 16 {
            return same_bytes16(a, b);
        }
    }
    same_short(a, b)
}

/// [`same_bytes`] for slices of the same length, at least 16 bytes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn same_bytes16(a: &[u8], b: &[u8]) -> bool {
    use std::arch::x86_64::*;
    debug_assert!(a.len() == b.len() && a.len() >= 16);
    let last = a.len() - 16;
    // SAFETY: SSE2 is part of the x86_64 baseline; every load reads 16 bytes at an offset
    // of at most `len - 16` of `a` or `b`, which have the same length.
    unsafe {
        let load = |x: &[u8], at: usize| _mm_loadu_si128(x.as_ptr().add(at).cast());
        let same_at = |at: usize| _mm_cmpeq_epi8(load(a, at), load(b, at));
        let all = |same: __m128i| _mm_movemask_epi8(same) == 0xFFFF;
        let mut same = same_at(last);
        let mut at = 0;
        while last - at > WINDOW {
            let window_end = at + WINDOW;
            while at < window_end {
                same = _mm_and_si128(same, same_at(at));
                at += 16;
            }
            if !all(same) {
                return false;
            }
        }
        while at < last {
            same = _mm_and_si128(same, same_at(at));
            at += 16;
        }
        all(same)
    }
}

/// [`same_bytes`] for slices of the same length, at least 32 bytes, with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn same_bytes32(a: &[u8], b: &[u8]) -> bool {
    use std::arch::x86_64::*;
    debug_assert!(a.len() == b.len() && a.len() >= 32);
    let last = a.len() - 32;
    // SAFETY: this function's own target feature; every load reads 32 bytes at an offset of
    // at most `len - 32` of `a` or `b`, which have the same length.
    let load = |x: &[u8], at: usize| unsafe { _mm256_loadu_si256(x.as_ptr().add(at).cast()) };
    let same_at = |at: usize| _mm256_cmpeq_epi8(load(a, at), load(b, at));
    let all = |same: __m256i| _mm256_movemask_epi8(same) == -1;
    let mut same = same_at(last);
    let mut at = 0;
    while last - at > WINDOW {
        let window_end = at + WINDOW;
        while at < window_end {
            same = _mm256_and_si256(same, same_at(at));
            at += 32;
        }
        if !all(same) {
            return false;
        }
    }
    // Two blocks a step: a head of some 250 bytes takes four steps.
    while at + 32 < last {
        same = _mm256_and_si256(same, _mm256_and_si256(same_at(at), same_at(at + 32)));
        at += 64;
    }
    if at < last {
        same = _mm256_and_si256(same, same_at(at));
    }
    all(same)
}

/// [`same_bytes`] for slices of the same length under 16 bytes (a test's tiny layouts): no
/// `memcmp` call.
#[inline]
fn same_short(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// Where `part`, a slice of `whole`, lies in it.
pub(super) fn span_in(whole: &[u8], part: &str) -> Option<(usize, usize)> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start + part.len();
    // `part` points into `whole` (no byte compare, which calls `memcmp` even when empty).
    (end <= whole.len()).then_some((start, end))
}

pub(super) fn set(slot: &mut Option<String>, value: Option<&str>) {
    // An empty id or model never replaces a named one (Azure's filter chunks).
    if let Some(v) = value.filter(|v| !v.is_empty() && slot.as_deref() != Some(*v)) {
        *slot = Some(v.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `same_bytes` in the AVX2 build, entered only where the processor has it.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn same_bytes_wide(a: &[u8], b: &[u8]) -> bool {
        same_bytes::<true>(a, b)
    }

    fn same_bytes_both(a: &[u8], b: &[u8]) -> bool {
        let narrow = same_bytes::<false>(a, b);
        #[cfg(target_arch = "x86_64")]
        if crate::simd::wide() {
            // SAFETY: `simd::wide()`: the processor has AVX2 and POPCNT.
            assert_eq!(unsafe { same_bytes_wide(a, b) }, narrow);
        }
        narrow
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        let a: Vec<u8> = (0..700u32).map(|i| (i * 7 % 251) as u8).collect();
        for len in 0..a.len() {
            let a = &a[..len];
            assert!(same_bytes_both(a, a), "{len}");
            assert!(!same_bytes_both(a, &[a, b"x"].concat()), "{len}");
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes_both(a, &b), "{len} {at}");
            }
        }
    }
}
