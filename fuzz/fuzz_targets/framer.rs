//! The framer (`Framer` + `EventBuilder`) on arbitrary bytes and arbitrary chunkings.
//!
//! Input layout: byte 0 picks the size bound (small bounds exercise the oversized paths) and an
//! initial last event id, bytes 1..3 seed the chunking, the rest is the stream.
//!
//! Checked: no panic; the events (type, data, last event id), the dropped-event count, the final
//! last event id and `retry` from chunked feeding equal those from one-shot feeding and those of
//! a slow reference that reads the whole stream at once, written here from WHATWG HTML
//! "interpreting an event stream". With no bound in play, the reference is also run on the
//! decoded text (decode first, then split lines, as the spec orders it) and must agree once the
//! implementation's byte events are decoded the same way.

#![no_main]

#[path = "chunking.rs"]
mod chunking;
use chunking::chunks;

use libfuzzer_sys::fuzz_target;
use sseusage_fast::event::{EventBuilder, EventSink, Lines};
use sseusage_fast::framer::Framer;

/// The longest `retry` value (digits, leading zeros dropped) the implementation keeps.
const MAX_RETRY_DIGITS: usize = sseusage_fast::event::MAX_RETRY_DIGITS;
const UNBOUNDED: usize = 16 << 20;

#[derive(Debug, PartialEq, Eq)]
struct Outcome<T> {
    /// (type, data, last event id) per dispatched event; an empty type means "message".
    events: Vec<(Vec<T>, Vec<T>, Vec<T>)>,
    last_event_id: Vec<T>,
    retry: Option<Vec<T>>,
    oversized: usize,
}

/// A unit of the stream: a byte (the implementation's view) or a decoded char (the spec's).
trait Unit: Copy + Eq {
    const CR: Self;
    const LF: Self;
    const COLON: Self;
    const SPACE: Self;
    const NUL: Self;
    const ZERO: Self;
    fn is_digit(self) -> bool;
    fn from_ascii(b: u8) -> Self;
}

impl Unit for u8 {
    const CR: u8 = b'\r';
    const LF: u8 = b'\n';
    const COLON: u8 = b':';
    const SPACE: u8 = b' ';
    const NUL: u8 = 0;
    const ZERO: u8 = b'0';
    fn is_digit(self) -> bool {
        self.is_ascii_digit()
    }
    fn from_ascii(b: u8) -> u8 {
        b
    }
}

impl Unit for char {
    const CR: char = '\r';
    const LF: char = '\n';
    const COLON: char = ':';
    const SPACE: char = ' ';
    const NUL: char = '\0';
    const ZERO: char = '0';
    fn is_digit(self) -> bool {
        self.is_ascii_digit()
    }
    fn from_ascii(b: u8) -> char {
        char::from(b)
    }
}

/// The spec, literally, on a whole stream whose BOM is already stripped. Bounds (in units): a
/// line longer than `max_line`, or a data buffer that would exceed `max_event`, drops the event.
fn reference<T: Unit>(
    text: &[T],
    initial_id: &[T],
    max_line: usize,
    max_event: usize,
) -> Outcome<T> {
    let mut lines: Vec<&[T]> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        if text[i] == T::CR || text[i] == T::LF {
            lines.push(&text[start..i]);
            if text[i] == T::CR && i + 1 < text.len() && text[i + 1] == T::LF {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    // text[start..] is unterminated: "pending data must be discarded".

    let mut out = Outcome {
        events: Vec::new(),
        last_event_id: initial_id.to_vec(),
        retry: None,
        oversized: 0,
    };
    let mut data: Vec<T> = Vec::new();
    let mut event_type: Vec<T> = Vec::new();
    let mut id_buffer: Vec<T> = initial_id.to_vec();
    let mut oversized = false;
    for line in lines {
        if line.len() > max_line {
            oversized = true;
            data.clear();
            continue;
        }
        if line.is_empty() {
            out.last_event_id = id_buffer.clone();
            if oversized {
                oversized = false;
                out.oversized += 1;
            } else if !data.is_empty() {
                data.pop(); // the last LF
                out.events
                    .push((event_type.clone(), data.clone(), out.last_event_id.clone()));
            }
            data.clear();
            event_type.clear();
            continue;
        }
        if line[0] == T::COLON {
            continue;
        }
        let (name, value) = match line.iter().position(|&u| u == T::COLON) {
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = if value.first() == Some(&T::SPACE) {
                    &value[1..]
                } else {
                    value
                };
                (&line[..colon], value)
            }
            None => (line, &line[line.len()..]),
        };
        let is = |word: &str| {
            name.len() == word.len()
                && name
                    .iter()
                    .zip(word.bytes())
                    .all(|(&u, b)| T::from_ascii(b) == u)
        };
        if is("event") {
            event_type = value.to_vec();
        } else if is("data") {
            if oversized {
                // The event is already dropped; its data is not kept.
            } else if data.len() + value.len() + 1 > max_event {
                oversized = true;
                data.clear();
            } else {
                data.extend_from_slice(value);
                data.push(T::LF);
            }
        } else if is("id") {
            if !value.contains(&T::NUL) {
                id_buffer = value.to_vec();
            }
        } else if is("retry") && !value.is_empty() && value.iter().all(|u| u.is_digit()) {
            let zeros = value.iter().take_while(|&&u| u == T::ZERO).count();
            let digits = &value[zeros.min(value.len() - 1)..];
            if digits.len() <= MAX_RETRY_DIGITS {
                out.retry = Some(digits.to_vec());
            }
        }
    }
    out
}

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
    let mut framer = Framer::new(max_event.saturating_add(64));
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
    // End of stream: the decoder discards the unfinished line (the spec's "pending data").
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
    let bytewise = run(stream.chunks(1), initial_id, max_event);
    assert_eq!(
        whole, bytewise,
        "byte-at-a-time feeding differs from one-shot"
    );

    let body = stream.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(stream);
    let expected = reference(body, initial_id, max_event + 64, max_event);
    assert_eq!(whole, expected, "differs from the byte reference");

    if max_event == UNBOUNDED {
        // Decode first, as the spec orders it: one leading U+FEFF stripped, errors replaced.
        let text = lossy(stream);
        let text = text.strip_prefix(&['\u{FEFF}']).unwrap_or(&text);
        let by_text = reference(text, &lossy(initial_id), usize::MAX, usize::MAX);
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
