//! The framer (`Framer` + `EventBuilder`) on arbitrary bytes and arbitrary chunkings.
//!
//! Input layout: byte 0 picks the size bound (small bounds exercise the oversized paths) and an
//! initial last event id, bytes 1..3 seed the chunking, the rest is the stream.
//!
//! Checked: no panic; the events (type, data, last event id), the dropped-event count, the final
//! last event id and `retry` from chunked feeding (also with cut events held, as the meter
//! frames) equal those from one-shot feeding and those of
//! a slow reference that reads the whole stream at once, written here from WHATWG HTML
//! "interpreting an event stream". With no bound in play, the reference is also run on the
//! decoded text (decode first, then split lines, as the spec orders it) and must agree once the
//! implementation's byte events are decoded the same way.

#![no_main]

#[path = "chunking.rs"]
mod chunking;
use chunking::chunks;

use libfuzzer_sys::fuzz_target;
use sseusage_fast::{EventBuilder, EventSink, Framer, Lines};

/// The longest `retry` value (digits, leading zeros dropped) the implementation keeps.
const MAX_RETRY_DIGITS: usize = sseusage_fast::MAX_RETRY_DIGITS;
const UNBOUNDED: usize = 16 << 20;

#[path = "../../rust/tests/whatwg.rs"]
mod whatwg;
use whatwg::{reference, Outcome};

// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Collect {
    events: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    oversized: usize,
}

impl EventSink for Collect {
    fn event(&mut self, event_type: &[u8], data: &[u8], last_event_id: &[u8]) {
        self.events
            .push((event_type.to_vec(), data.to_vec(), last_event_id.to_vec()));
    }
    fn oversized_event(&mut self) {
        self.oversized += 1;
    }
}

fn run<'a>(
    chunks: impl Iterator<Item = &'a [u8]>,
    initial_id: &[u8],
    max_event: usize,
) -> Outcome<u8> {
    run_with(Framer::new(max_event.saturating_add(64)), chunks, initial_id, max_event)
}

/// [`run`] with a framer that holds an event cut by a read's end (the meter's).
fn run_holding<'a>(
    chunks: impl Iterator<Item = &'a [u8]>,
    initial_id: &[u8],
    max_event: usize,
) -> Outcome<u8> {
    let framer = Framer::new(max_event.saturating_add(64)).holding_cut_events();
    run_with(framer, chunks, initial_id, max_event)
}

fn run_with<'a>(
    mut framer: Framer,
    chunks: impl Iterator<Item = &'a [u8]>,
    initial_id: &[u8],
    max_event: usize,
) -> Outcome<u8> {
    let mut builder = EventBuilder::new(initial_id, max_event);
    let mut sink = Collect::default();
    for chunk in chunks {
        framer.feed(
            chunk,
            &mut Lines {
                builder: &mut builder,
                sink: &mut sink,
            },
        );
    }
    // End of stream: a held event framed, then the unfinished line discarded (the spec's
    // "pending data").
    framer.flush_held(&mut Lines {
        builder: &mut builder,
        sink: &mut sink,
    });
    let _ = framer.take_tail();
    Outcome {
        events: sink.events,
        last_event_id: builder.last_event_id.clone(),
        retry: builder.retry.map(String::into_bytes),
        oversized: sink.oversized,
    }
}

fn lossy(units: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(units).chars().collect()
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let mode = input[0];
    let seed = u16::from_le_bytes([input[1], input[2]]);
    let stream = &input[3..];
    let max_event = if mode & 0x80 == 0 {
        usize::from(mode & 0x3f) + 1
    } else {
        UNBOUNDED
    };
    let initial_id: &[u8] = if mode & 0x40 != 0 { b"seed-id" } else { b"" };

    let whole = run(std::iter::once(stream), initial_id, max_event);
    let split = run(chunks(stream, seed).into_iter(), initial_id, max_event);
    assert_eq!(whole, split, "chunked feeding differs from one-shot");
    let held = run_holding(chunks(stream, seed).into_iter(), initial_id, max_event);
    assert_eq!(whole, held, "chunked feeding, cut events held, differs from one-shot");
    let bytewise = run(stream.chunks(1), initial_id, max_event);
    assert_eq!(
        whole, bytewise,
        "byte-at-a-time feeding differs from one-shot"
    );

    let body = stream.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(stream);
    let expected = reference(body, initial_id, max_event + 64, max_event, MAX_RETRY_DIGITS);
    assert_eq!(whole, expected, "differs from the byte reference");

    if max_event == UNBOUNDED {
        // Decode first, as the spec orders it: one leading U+FEFF stripped, errors replaced.
        let text = lossy(stream);
        let text = text.strip_prefix(&['\u{FEFF}']).unwrap_or(&text);
        let by_text = reference(text, &lossy(initial_id), usize::MAX, usize::MAX, MAX_RETRY_DIGITS);
        let decoded = Outcome {
            events: whole
                .events
                .iter()
                .map(|(t, d, id)| (lossy(t), lossy(d), lossy(id)))
                .collect(),
            last_event_id: lossy(&whole.last_event_id),
            retry: whole.retry.as_deref().map(lossy),
            oversized: whole.oversized,
        };
        assert_eq!(decoded, by_text, "differs from the decode-first reference");
    }
});
