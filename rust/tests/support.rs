//! What the crate-internal suites share: a counting allocator (to show what is not buffered),
//! feeding a body in pieces, a small random generator, and the chunking-invariance check.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use crate::meter::{parse_usage, UsageCore, DEFAULT_MAX_EVENT_BYTES};
use crate::providers::facts::Provider;
use crate::record::RawRecord;

// ---------------------------------------------------------------------------------------------
// A counting allocator (per thread), to show that an oversized event is not buffered.

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        track(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Resets this thread's peak to its live bytes; returns the live bytes.
pub(crate) fn mark() -> isize {
    let live = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(live));
    live
}

pub(crate) fn peak_since(start: isize) -> isize {
    PEAK.with(Cell::get) - start
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Every field of a record, for comparing records (RawRecord has no PartialEq).
pub(crate) fn show(r: &RawRecord) -> String {
    format!(
        "status={:?} body_kind={:?} provider={:?} tokens={:?} output_final={} model={:?} \
         message_id={:?} stop_reason={:?} service_tier={:?} speed={:?} error_type={:?} \
         error_message={:?} raw_usage={:?} output_text={:?} saw_thinking={} saw_tool_use={} \
         encrypted_reasoning={:?} events={} notes={:?} billing={:?} framing={:?}",
        r.status,
        r.body_kind,
        r.provider,
        r.tokens,
        r.output_final,
        r.model,
        r.message_id,
        r.stop_reason,
        r.service_tier,
        r.speed,
        r.error_type,
        r.error_message,
        r.raw_usage,
        r.output_text.as_tuple(),
        r.saw_thinking,
        r.saw_tool_use,
        r.encrypted_reasoning,
        r.events,
        r.notes,
        r.billing,
        r.framing,
    )
}

pub(crate) fn feed_chunks<'a>(
    provider: Provider,
    max: usize,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> RawRecord {
    let mut core = UsageCore::new(provider, max);
    for chunk in chunks {
        core.feed(chunk);
    }
    core.finish()
}

/// A small deterministic PRNG (splitmix64): good enough for test input, the same in every suite.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    pub(crate) fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// The record of `body` fed whole; asserts that every two-chunk split, one-byte-at-a-time
/// feeding (with empty chunks between) and random chunkings give the very same record.
pub(crate) fn stable_with(provider: Provider, max: usize, body: &[u8]) -> RawRecord {
    let whole = parse_usage(body, provider, max);
    let expected = show(&whole);
    let fed = feed_chunks(provider, max, [body]);
    assert_eq!(show(&fed), expected, "feed+finish differs from parse_usage");
    for i in 0..=body.len() {
        let got = feed_chunks(provider, max, [&body[..i], &body[i..]]);
        assert_eq!(
            show(&got),
            expected,
            "split at byte {i} of {:?}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    let bytes = body.chunks(1).flat_map(|b| [b, &b""[..]]);
    assert_eq!(
        show(&feed_chunks(provider, max, bytes)),
        expected,
        "one byte at a time"
    );
    let mut rng = Rng(body.len() as u64 ^ 0x5EED);
    for _ in 0..20 {
        let mut chunks = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let n = rng.below(12).min(body.len() - at);
            chunks.push(&body[at..at + n]);
            at += n;
        }
        assert_eq!(
            show(&feed_chunks(provider, max, chunks)),
            expected,
            "random chunking"
        );
    }
    whole
}

pub(crate) fn stable(provider: Provider, body: &[u8]) -> RawRecord {
    stable_with(provider, DEFAULT_MAX_EVENT_BYTES, body)
}
