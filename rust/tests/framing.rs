//! Framing (`Framer` + `EventBuilder`) against a slow, literal reference of WHATWG HTML
//! "interpreting an event stream" that decodes the whole stream at once, on many pseudo-random
//! streams and chunkings: CR, LF and CRLF (split across chunks), BOMs, NUL in `id`, invalid
//! UTF-8, `retry` values, and the size bounds.

use super::support::Rng;
use super::whatwg;
use crate::sse::{EventBuilder, EventSink, Framer, Lines, BOM, MAX_RETRY_DIGITS};

// ---------------------------------------------------------------------------------------------
// The reference: whole stream, no chunks.

#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    /// (type, data, last event id) per dispatched event.
    events: Vec<(String, String, String)>,
    last_event_id: String,
    /// The digits of the last valid `retry` field, without leading zeros.
    retry: Option<String>,
    /// Events dropped for exceeding a bound (not a spec notion: the implementation's bound).
    oversized: usize,
}

const UNBOUNDED: usize = usize::MAX / 4;

/// WHATWG, from [`whatwg::reference`] on the bytes (one leading BOM stripped), decoded after.
/// Without bounds in play, the reference run on the text decoded first (as the spec orders it)
/// must say the same.
///
/// The bounds model the implementation's limits (a line longer than `max_line` bytes, or an
/// event whose data buffer would exceed `max_event` bytes, drops that event).
fn reference(stream: &[u8], initial_id: &str, max_line: usize, max_event: usize) -> Outcome {
    let body = stream.strip_prefix(BOM).unwrap_or(stream);
    let by_bytes = whatwg::reference(
        body,
        initial_id.as_bytes(),
        max_line,
        max_event,
        MAX_RETRY_DIGITS,
    );
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let kind = |t: &[u8]| {
        if t.is_empty() {
            "message".to_owned()
        } else {
            text(t)
        }
    };
    let out = Outcome {
        events: by_bytes
            .events
            .iter()
            .map(|(t, d, id)| (kind(t), text(d), text(id)))
            .collect(),
        last_event_id: text(&by_bytes.last_event_id),
        retry: by_bytes.retry.as_deref().map(text),
        oversized: by_bytes.oversized,
    };
    if max_line >= UNBOUNDED && max_event >= UNBOUNDED {
        let decoded = String::from_utf8_lossy(stream);
        let chars: Vec<char> = decoded
            .strip_prefix('\u{FEFF}')
            .unwrap_or(&decoded)
            .chars()
            .collect();
        let id: Vec<char> = initial_id.chars().collect();
        let by_text = whatwg::reference(&chars, &id, max_line, max_event, MAX_RETRY_DIGITS);
        let string = |c: &[char]| c.iter().collect::<String>();
        let kind = |t: &[char]| {
            if t.is_empty() {
                "message".to_owned()
            } else {
                string(t)
            }
        };
        let decoded_first = Outcome {
            events: by_text
                .events
                .iter()
                .map(|(t, d, id)| (kind(t), string(d), string(id)))
                .collect(),
            last_event_id: string(&by_text.last_event_id),
            retry: by_text.retry.as_deref().map(string),
            oversized: by_text.oversized,
        };
        assert_eq!(
            decoded_first, out,
            "decode first, or split lines first: the same"
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The implementation, fed in chunks.

#[derive(Default)]
struct Collect {
    events: Vec<(String, String, String)>,
    oversized: usize,
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl EventSink for Collect {
    fn event(&mut self, event_type: &[u8], data: &[u8], last_event_id: &[u8]) {
        let kind = if event_type.is_empty() {
            "message".to_owned()
        } else {
            lossy(event_type)
        };
        self.events.push((kind, lossy(data), lossy(last_event_id)));
    }

    fn oversized_event(&mut self) {
        self.oversized += 1;
    }
}

fn implementation(
    chunks: &[&[u8]],
    initial_id: &str,
    max_line: usize,
    max_event: usize,
) -> Outcome {
    run(Framer::new(max_line), chunks, initial_id, max_event)
}

/// [`implementation`] with a framer that holds an event cut by a read's end (the meter's),
/// flushed at the end: the same outcome.
fn holding(chunks: &[&[u8]], initial_id: &str, max_line: usize, max_event: usize) -> Outcome {
    run(
        Framer::new(max_line).holding_cut_events(),
        chunks,
        initial_id,
        max_event,
    )
}

fn run(mut framer: Framer, chunks: &[&[u8]], initial_id: &str, max_event: usize) -> Outcome {
    let mut builder = EventBuilder::new(initial_id.as_bytes(), max_event);
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
    framer.flush_held(&mut Lines {
        builder: &mut builder,
        sink: &mut sink,
    });
    Outcome {
        events: sink.events,
        last_event_id: lossy(&builder.last_event_id),
        retry: builder.retry.clone(),
        oversized: sink.oversized,
    }
}

// ---------------------------------------------------------------------------------------------
// Pseudo-random streams and chunkings.

const NAMES: &[&[u8]] = &[
    b"data", b"data", b"data", b"data", b"event", b"event", b"id", b"id", b"retry", b"retry",
    b"dat", b"datas", b"Data", b"data ", b" data", b"ID", b"foo", b"", b"event\t",
];

const SEPARATORS: &[&[u8]] = &[b":", b": ", b": ", b":  ", b":\t", b"::", b""];

const VALUES: &[&[u8]] = &[
    b"",
    b"x",
    b"hello world",
    b" leading space",
    b"a:b:c",
    b"{\"type\":\"ping\"}",
    b"message",
    b"update",
    b"0",
    b"7",
    b"0042",
    b"1000",
    b"99999999999999999999999999",
    b"-1",
    b"+5",
    b"1.5",
    b"1e3",
    b" 5",
    b"5 ",
    b"12a",
    b"\xd9\xa5",     // ARABIC-INDIC DIGIT FIVE: not an ASCII digit
    b"\xef\xbc\x95", // FULLWIDTH DIGIT FIVE
    b"\0",
    b"a\0b",
    b"abc\0",
    b"caf\xc3\xa9",
    b"\xe4\xbd\xa0\xe5\xa5\xbd",
    b"\xf0\x9f\x98\x80",
    b"\xef\xbb\xbf", // a BOM that is not leading: kept
    b"\t",
    b"\x0b\x0c",
];

/// Ill-formed UTF-8 of several shapes (lone continuation, truncated sequences, overlong,
/// surrogates, out of range, a partial BOM).
const INVALID: &[&[u8]] = &[
    b"\xff",
    b"\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xf0\x9f\x98",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"a\x80b",
    b"\xef\xbb",
    b"\xef",
    b"\xfe\xff",
];

const EOLS: &[&[u8]] = &[b"\n", b"\n", b"\r", b"\r\n", b"\r\n"];

fn gen_value(rng: &mut Rng, invalid: bool, out: &mut Vec<u8>) {
    for _ in 0..rng.below(3) + 1 {
        if invalid && rng.chance(4) {
            out.extend_from_slice(rng.pick(INVALID));
        } else {
            out.extend_from_slice(rng.pick(VALUES));
        }
    }
}

/// A stream of fields, comments and blank lines with mixed line ends; `invalid` mixes in
/// ill-formed UTF-8 (also inside field names), and partial BOMs at the start.
fn gen_stream(rng: &mut Rng, invalid: bool) -> Vec<u8> {
    let mut out = Vec::new();
    match rng.below(10) {
        0 | 1 => out.extend_from_slice(b"\xef\xbb\xbf"),
        2 => out.extend_from_slice(b"\xef\xbb\xbf\xef\xbb\xbf"),
        3 if invalid => out.extend_from_slice(b"\xef\xbb"),
        4 if invalid => out.extend_from_slice(b"\xef"),
        _ => {}
    }
    for _ in 0..rng.below(24) {
        match rng.below(10) {
            0 | 1 => {} // blank line: dispatch
            2 => {
                out.push(b':');
                gen_value(rng, invalid, &mut out);
            }
            _ => {
                if invalid && rng.chance(12) {
                    out.extend_from_slice(b"da\xfft");
                } else {
                    out.extend_from_slice(rng.pick(NAMES));
                }
                let sep = rng.pick(SEPARATORS);
                out.extend_from_slice(sep);
                if !sep.is_empty() {
                    gen_value(rng, invalid, &mut out);
                }
            }
        }
        out.extend_from_slice(rng.pick(EOLS));
        if rng.chance(3) {
            out.extend_from_slice(rng.pick(EOLS)); // often end the event
        }
    }
    if rng.chance(4) {
        // An unterminated last line (discarded), sometimes a complete-looking event.
        out.extend_from_slice(rng.pick(&[&b"data: tail"[..], b"data: x\n", b"id: 9", b"retry: 5"]));
    }
    out
}

/// Split points: random (with empty chunks), and at every CR so that CR|LF pairs are split.
fn random_chunks<'a>(rng: &mut Rng, stream: &'a [u8]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut at = 0;
    let after_cr = rng.chance(3);
    while at < stream.len() {
        let mut n = match rng.below(4) {
            0 => 0,
            1 => 1,
            2 => rng.below(8),
            _ => rng.below(64),
        };
        n = n.min(stream.len() - at);
        if after_cr {
            if let Some(cr) = stream[at..at + n].iter().position(|&b| b == b'\r') {
                n = cr + 1;
            }
        }
        chunks.push(&stream[at..at + n]);
        at += n;
    }
    chunks
}

/// Reference and implementation agree (the message shows at most 600 bytes of the stream).
fn check(stream: &[u8], chunks: &[&[u8]], initial_id: &str, max_line: usize, max_event: usize) {
    let expected = reference(stream, initial_id, max_line, max_event);
    for framer in [implementation, holding] {
        let got = framer(chunks, initial_id, max_line, max_event);
        assert_eq!(
            got,
            expected,
            "stream {:?} chunked {:?} (id {initial_id:?}, bounds {max_line}/{max_event})",
            String::from_utf8_lossy(&stream[..stream.len().min(600)]),
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
        );
    }
}

/// Every way to cut `stream` into two chunks, one byte at a time, whole.
fn check_all_splits(stream: &[u8], initial_id: &str, max_line: usize, max_event: usize) {
    check(stream, &[stream], initial_id, max_line, max_event);
    for i in 0..=stream.len() {
        check(
            stream,
            &[&stream[..i], &stream[i..]],
            initial_id,
            max_line,
            max_event,
        );
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    check(stream, &bytes, initial_id, max_line, max_event);
}

// ---------------------------------------------------------------------------------------------
// The reference itself, on known answers (so that it is not wrong the same way).

fn ev(kind: &str, data: &str, id: &str) -> (String, String, String) {
    (kind.to_owned(), data.to_owned(), id.to_owned())
}

#[test]
fn reference_known_answers() {
    let r = reference(b"data: a\ndata\ndata:  b\n\n", "", UNBOUNDED, UNBOUNDED);
    assert_eq!(r.events, vec![ev("message", "a\n\n b", "")]);

    let r = reference(
        b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n",
        "",
        UNBOUNDED,
        UNBOUNDED,
    );
    assert_eq!(
        r.events,
        vec![ev("message", "y", "")],
        "only one BOM is stripped"
    );

    let r = reference(
        b"id: 1\ndata: a\r\n\r\nid: 2\0\rdata: b\r\rid\n\n",
        "",
        UNBOUNDED,
        UNBOUNDED,
    );
    assert_eq!(
        r.events,
        vec![ev("message", "a", "1"), ev("message", "b", "1")]
    );
    assert_eq!(r.last_event_id, "", "an empty id resets it");

    let r = reference(
        b"event: e\nretry: 0042\nretry: 1.5\n\ndata: x",
        "z",
        UNBOUNDED,
        UNBOUNDED,
    );
    assert_eq!(r.events, vec![]);
    assert_eq!(r.retry.as_deref(), Some("42"));
    assert_eq!(r.last_event_id, "z");

    let r = reference(b"data: \xff\xe2\x82\n\n", "", UNBOUNDED, UNBOUNDED);
    assert_eq!(r.events, vec![ev("message", "\u{FFFD}\u{FFFD}", "")]);

    let r = reference(b"id: 5\n\ndata: x\nid: 6\n", "", UNBOUNDED, UNBOUNDED);
    assert_eq!(
        r.last_event_id, "5",
        "an id without its blank line is not the last id yet"
    );
}

// ---------------------------------------------------------------------------------------------
// Fixed cases, every split.

#[test]
fn fixed_cases_every_split() {
    let cases: &[&[u8]] = &[
        b"",
        b"\n",
        b"\r",
        b"\r\n",
        b"\r\r\n\n",
        b"\n\r",
        b"data: a\r\n\r\n",
        b"data: a\r\rdata: b\n\ndata: c\r\n\r\n",
        b"data:a\rdata:b\r\n\n",
        b"\xef\xbb\xbfdata: bom\n\n",
        b"\xef\xbb\xbf\xef\xbb\xbfdata: two boms\n\n",
        b"\xef\xbbdata: half bom\n\n",
        b"\xef\xbb\xbf\r\ndata: x\r\n\r\n",
        b"\xef\xbb\xbf",
        b"\xef\xbb",
        b": comment\ndata\ndata\n\n",
        b"data: one\n\ndata: two",
        b"data: one\n\ndata: two\n",
        b"id: a\0b\ndata: x\n\nid: c\ndata: y\n\n",
        b"id\0: 7\ndata: x\n\n",
        b"id: 1\n\nid\ndata: x\n\n",
        b"retry: 10\nretry: 1x\nretry:\nretry: -1\nretry: 007\n\n",
        b"retry: \xd9\xa5\n\n",
        b"event: a\nevent\ndata: x\n\n",
        b"event: custom\ndata: x\n\ndata: y\n\n",
        b"data: \xff\xfe\r\ndata: \xe2\x82\r\n\r\n",
        b"da\xfft: x\n\ndata: \xc3\n\n",
        b"data: a\xe2\r\x82\n\n",
        b"data: \xf0\x9f\x98\x80 ok\n\n",
        b"data:  two spaces\ndata:\ttab\n\n",
        b"DATA: x\ndata : y\n\n",
    ];
    for case in cases {
        check_all_splits(case, "", UNBOUNDED, UNBOUNDED);
        check_all_splits(case, "start", UNBOUNDED, UNBOUNDED);
    }
}

#[test]
fn fixed_cases_expected_values() {
    let whole = |s: &[u8]| implementation(&[s], "", UNBOUNDED, UNBOUNDED);
    assert_eq!(
        whole(b"data: a\r\rdata: b\n\n").events,
        vec![ev("message", "a", ""), ev("message", "b", "")]
    );
    assert_eq!(
        whole(b"\xef\xbbdata: x\n\n").events,
        vec![],
        "a half BOM spoils the field name"
    );
    assert_eq!(
        whole(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n").events,
        vec![ev("message", "y", "")]
    );
    let r = whole(b"id: a\0b\ndata: x\n\n");
    assert_eq!(
        r.events,
        vec![ev("message", "x", "")],
        "an id holding NUL is ignored"
    );
    let r = whole(b"retry: 10\nretry: 1x\nretry: 007\nretry: -1\n\n");
    assert_eq!(r.retry.as_deref(), Some("7"));
    let r = whole(b"retry: 000\n");
    assert_eq!(r.retry.as_deref(), Some("0"));
    let r = whole(b"data: a\xe2\r\x82\n\n");
    assert_eq!(
        r.events,
        vec![ev("message", "a\u{FFFD}", "")],
        "a truncated sequence does not swallow the CR; the lone byte after it is a field name"
    );
    let r = implementation(&[b"data: x\r", b"\n", b"\n"], "", UNBOUNDED, UNBOUNDED);
    assert_eq!(
        r.events,
        vec![ev("message", "x", "")],
        "CR|LF split is one line end"
    );
    let r = implementation(&[b"data: x\r", b"\r"], "", UNBOUNDED, UNBOUNDED);
    assert_eq!(r.events, vec![ev("message", "x", "")]);
}

// ---------------------------------------------------------------------------------------------
// Pseudo-random streams.

#[test]
fn random_streams_random_chunkings() {
    let mut rng = Rng(0x5EED_0001);
    for round in 0..4000 {
        let invalid = round % 2 == 0;
        let stream = gen_stream(&mut rng, invalid);
        let initial_id = if rng.chance(5) { "last-7" } else { "" };
        check(&stream, &[&stream], initial_id, UNBOUNDED, UNBOUNDED);
        for _ in 0..8 {
            let chunks = random_chunks(&mut rng, &stream);
            check(&stream, &chunks, initial_id, UNBOUNDED, UNBOUNDED);
        }
    }
}

#[test]
fn random_streams_every_split() {
    let mut rng = Rng(0x5EED_0002);
    for round in 0..400 {
        let stream = gen_stream(&mut rng, round % 2 == 0);
        check_all_splits(&stream, "", UNBOUNDED, UNBOUNDED);
    }
}

#[test]
fn random_streams_with_bounds() {
    // Valid UTF-8 only, so that the reference's decoded lengths are the byte lengths.
    let mut rng = Rng(0x5EED_0003);
    for _ in 0..3000 {
        let stream = gen_stream(&mut rng, false);
        let max_event = rng.below(40);
        let max_line = max_event + rng.below(24);
        check(&stream, &[&stream], "", max_line, max_event);
        for _ in 0..6 {
            let chunks = random_chunks(&mut rng, &stream);
            check(&stream, &chunks, "", max_line, max_event);
        }
    }
}

#[test]
fn long_retry_values() {
    let nines = "9".repeat(MAX_RETRY_DIGITS);
    for value in [
        format!("000{nines}"),
        format!("{nines}9"),
        format!("1{nines}"),
        "0".repeat(MAX_RETRY_DIGITS + 5),
    ] {
        let stream = format!("retry: 5\nretry: {value}\n\n");
        let mut rng = Rng(value.len() as u64);
        check(
            stream.as_bytes(),
            &[stream.as_bytes()],
            "",
            UNBOUNDED,
            UNBOUNDED,
        );
        for _ in 0..5 {
            let chunks = random_chunks(&mut rng, stream.as_bytes());
            check(stream.as_bytes(), &chunks, "", UNBOUNDED, UNBOUNDED);
        }
    }
}

#[test]
fn held_events_longer_than_the_first_bytes_joined() {
    // An event cut after a whole one is held, then joined with the next read's first bytes, and
    // with more of them where those do not finish it: cut at every place, its rest shorter and
    // longer than the first bytes joined, its blank line at their end, and too long to hold.
    for len in [300, 490, 505, 506, 507, 520, 900, 5000] {
        for eol in [&b"\n"[..], b"\r\n", b"\r"] {
            let mut stream = b"data: first".to_vec();
            stream.extend_from_slice(&[eol, eol].concat());
            stream.extend_from_slice(b"data: ");
            stream.extend((0..len).map(|i| b'a' + (i % 26) as u8));
            stream.extend_from_slice(&[eol, eol, b"data: next", eol, eol].concat());
            for i in 0..=stream.len() {
                let chunks = [&stream[..i], &stream[i..]];
                check(&stream, &chunks, "", UNBOUNDED, UNBOUNDED);
            }
        }
    }
}

#[test]
fn long_lines_across_many_chunks() {
    // Lines much longer than any chunk, ending with every line end, split everywhere.
    let mut rng = Rng(0x5EED_0004);
    for _ in 0..200 {
        let mut stream = Vec::new();
        for _ in 0..rng.below(4) + 1 {
            stream.extend_from_slice(rng.pick(&[&b"data: "[..], b"id: ", b"event: ", b": "]));
            for _ in 0..rng.below(300) {
                stream.extend_from_slice(rng.pick(&[&b"a"[..], b"b", b"\xc3\xa9", b" ", b":"]));
            }
            stream.extend_from_slice(rng.pick(EOLS));
            stream.extend_from_slice(rng.pick(EOLS));
        }
        for _ in 0..6 {
            let chunks = random_chunks(&mut rng, &stream);
            check(&stream, &chunks, "", UNBOUNDED, UNBOUNDED);
            check(&stream, &chunks, "", 128, 200);
        }
    }
}
