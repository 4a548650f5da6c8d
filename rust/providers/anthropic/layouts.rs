//! Anthropic events in the exact layout the API writes, read whole from a read: text deltas
//! matched against constant layouts with their text counted in place, and the quiet events
//! between them, taken in runs. Anything that deviates goes to the general path (the framer,
//! then `reader`), so the result is always the one a full parse gives. Kept beside the general
//! reader because that one, on this layout, runs at about a third of this one's speed (see the
//! README's layouts table); it changes nothing but speed.

use crate::scan::strings::{count_string_with, skip_string};
use crate::textstats::TextStats;

/// The text field of an Anthropic delta: which bucket it feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaKind {
    Text,
    Thinking,
    ToolInput,
    /// A field that holds no billed text (`signature`).
    Ignored,
}

/// The line every delta event starts with.
const DELTA_EVENT_LINE: &[u8] = b"event: content_block_delta";

/// The literal parts of a text-delta event's data line in one JSON layout: up to the index
/// digits, after them, and the delta types that carry billed text (and the signature, which
/// is skipped), each with its text field, up to the string's opening quote. Constants, so
/// that every comparison compiles to a few 16-byte compares.
trait DeltaLayout {
    const HEAD: &'static [u8];
    const AFTER_INDEX: &'static [u8];
    const TAILS: [(&'static [u8], DeltaKind); 4];
}

/// As the API writes it.
struct Compact;
impl DeltaLayout for Compact {
    const HEAD: &'static [u8] = br#"data: {"type":"content_block_delta","index":"#;
    const AFTER_INDEX: &'static [u8] = br#","delta":{"type":""#;
    const TAILS: [(&'static [u8], DeltaKind); 4] = [
        (br#"text_delta","text":""#, DeltaKind::Text),
        (br#"thinking_delta","thinking":""#, DeltaKind::Thinking),
        (
            br#"input_json_delta","partial_json":""#,
            DeltaKind::ToolInput,
        ),
        (br#"signature_delta","signature":""#, DeltaKind::Ignored),
    ];
}

/// As Python's `json.dumps` writes it (a space after every `:` and `,`), the form a
/// re-serialising proxy gives.
struct Spaced;
impl DeltaLayout for Spaced {
    const HEAD: &'static [u8] = br#"data: {"type": "content_block_delta", "index": "#;
    const AFTER_INDEX: &'static [u8] = br#", "delta": {"type": ""#;
    const TAILS: [(&'static [u8], DeltaKind); 4] = [
        (br#"text_delta", "text": ""#, DeltaKind::Text),
        (br#"thinking_delta", "thinking": ""#, DeltaKind::Thinking),
        (
            br#"input_json_delta", "partial_json": ""#,
            DeltaKind::ToolInput,
        ),
        (br#"signature_delta", "signature": ""#, DeltaKind::Ignored),
    ];
}

/// `parts` end to end, as an array of their total length `N` (checked at compile time).
const fn concat<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut out = [0u8; N];
    let (mut n, mut p) = (0, 0);
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[n] = parts[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    assert!(n == N, "N is not the parts' total length");
    out
}

/// The most common delta (compact JSON, a one-digit index, text) as two constants around the
/// index digit: two compares under one bounds check instead of a check and a compare per
/// literal.
const LF_TEXT_HEAD: [u8; 71] = concat(&[DELTA_EVENT_LINE, b"\n", Compact::HEAD]);
const CRLF_TEXT_HEAD: [u8; 72] = concat(&[DELTA_EVENT_LINE, b"\r\n", Compact::HEAD]);
const TEXT_AFTER_INDEX: [u8; 38] = concat(&[Compact::AFTER_INDEX, Compact::TAILS[0].0]);

/// What a run of whole events held (text deltas and the quiet events between them).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EventRun {
    /// The bytes the events took, through the blank line of the last.
    pub used: usize,
    pub events: u64,
    pub thinking: bool,
    pub tool_use: bool,
}

/// The whole text-delta events at the start of `rest`, one after another, each in the
/// [`Compact`] or [`Spaced`] layout, LF or CRLF framed: `event: content_block_delta`,
/// `data: <delta JSON>`, a blank line; with `quiet` (the stream is known to be Anthropic's),
/// also the [`quiet_event`]s between them. Counts their text into `stats` and stops at the
/// first thing it does not take, which then goes through the line-by-line path. Constant
/// comparisons and the text counted in one pass: no line search, no per-field UTF-8 check.
/// `wide` is [`crate::simd::wide`]; the AVX2 version is entered once per run, not per event.
pub fn anthropic_events(
    rest: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
    quiet: bool,
    wide: bool,
) -> EventRun {
    #[cfg(target_arch = "x86_64")]
    if wide {
        // SAFETY: `wide` is `simd::wide()`: the processor has AVX2 and POPCNT.
        return unsafe { anthropic_events_wide(rest, stats, max_event_bytes, quiet) };
    }
    let _ = wide;
    anthropic_events_with::<false>(rest, stats, max_event_bytes, quiet)
}

/// [`anthropic_events`] compiled for AVX2 and POPCNT: the text counted 32 bytes a step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn anthropic_events_wide(
    rest: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
    quiet: bool,
) -> EventRun {
    anthropic_events_with::<true>(rest, stats, max_event_bytes, quiet)
}

#[inline(always)]
fn anthropic_events_with<const WIDE: bool>(
    rest: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
    quiet: bool,
) -> EventRun {
    let mut run = EventRun::default();
    loop {
        let next = &rest[run.used..];
        if let Some((used, kind)) = anthropic_event_with::<WIDE>(next, stats, max_event_bytes) {
            run.used += used;
            run.thinking |= kind == DeltaKind::Thinking;
            run.tool_use |= kind == DeltaKind::ToolInput;
        } else if let Some(used) = quiet.then(|| quiet_event(next, max_event_bytes)).flatten() {
            run.used += used;
        } else {
            return run;
        }
        run.events += 1;
    }
}

/// The events that change nothing the meter reads, laid out as the API writes them: `ping`,
/// `content_block_stop`, `message_stop` (without Bedrock's metrics), and the start of a text
/// block whose text is still empty. Each is its event line, the data line (spaces or tabs
/// allowed before the closing brace, as Anthropic pads) and a blank line, LF or CRLF framed.
/// Returns the bytes one takes; the line path would read it as a no-op (after checking the
/// same: that it is valid JSON of its type).
fn quiet_event(rest: &[u8], max_event_bytes: usize) -> Option<usize> {
    struct Quiet {
        line: &'static [u8],
        /// The data's JSON up to the index, or (without one) up to the closing brace.
        head: &'static [u8],
        /// With an index: the JSON after it, up to the closing brace.
        after_index: Option<&'static [u8]>,
    }
    const QUIET: [Quiet; 5] = [
        Quiet {
            line: b"event: ping",
            head: br#"{"type": "ping""#,
            after_index: None,
        },
        Quiet {
            line: b"event: ping",
            head: br#"{"type":"ping""#,
            after_index: None,
        },
        Quiet {
            line: b"event: message_stop",
            head: br#"{"type":"message_stop""#,
            after_index: None,
        },
        Quiet {
            line: b"event: content_block_stop",
            head: br#"{"type":"content_block_stop","index":"#,
            after_index: Some(b""),
        },
        Quiet {
            line: b"event: content_block_start",
            head: br#"{"type":"content_block_start","index":"#,
            after_index: Some(br#","content_block":{"type":"text","text":""}"#),
        },
    ];
    for Quiet {
        line,
        head,
        after_index,
    } in &QUIET
    {
        if !has_at(rest, 0, line) {
            continue;
        }
        let crlf = match rest.get(line.len()..line.len() + 2)? {
            [b'\n', _] => false,
            b"\r\n" => true,
            _ => return None,
        };
        let data = line.len() + 1 + usize::from(crlf) + b"data: ".len();
        if !has_at(rest, data - b"data: ".len(), b"data: ") || !has_at(rest, data, head) {
            continue;
        }
        let mut pos = data + head.len();
        if let Some(after_index) = after_index {
            pos = eat(rest, index_digits(rest, pos)?, after_index)?;
        }
        pos = eat(rest, skip_blanks(rest, pos), b"}")?;
        if pos - data >= max_event_bytes {
            return None;
        }
        return if crlf {
            eat(rest, pos, b"\r\n\r\n")
        } else {
            eat(rest, pos, b"\n\n")
        };
    }
    None
}

/// Past the digits of an index at `pos`: at least one, no leading zero (a `0` must be
/// followed by what comes after the number).
#[inline(always)]
fn index_digits(rest: &[u8], mut pos: usize) -> Option<usize> {
    let first = *rest.get(pos)?;
    if !first.is_ascii_digit() {
        return None;
    }
    pos += 1;
    if first != b'0' {
        while rest.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
    }
    Some(pos)
}

/// One whole text-delta event at the start of `rest` (see [`anthropic_events`]): the bytes it
/// takes and its kind, its text counted into `stats`; `None`, stats untouched, for anything
/// else.
#[inline(always)]
fn anthropic_event_with<const WIDE: bool>(
    rest: &[u8],
    stats: &mut TextStats,
    max_event_bytes: usize,
) -> Option<(usize, DeltaKind)> {
    for (crlf, head) in [(false, &LF_TEXT_HEAD[..]), (true, &CRLF_TEXT_HEAD[..])] {
        let digit = head.len();
        let pos = digit + 1 + TEXT_AFTER_INDEX.len();
        // One bounds check for the whole prefix: the compares within it need none.
        let Some(prefix) = rest.get(..pos) else {
            continue;
        };
        if has_at(prefix, 0, head)
            && prefix[digit].is_ascii_digit()
            && has_at(prefix, digit + 1, &TEXT_AFTER_INDEX)
        {
            let data = head.len() - Compact::HEAD.len();
            return delta_string::<WIDE>(
                rest,
                pos,
                DeltaKind::Text,
                (data, crlf),
                stats,
                max_event_bytes,
            );
        }
    }
    if !has_at(rest, 0, DELTA_EVENT_LINE) {
        return None;
    }
    let at = DELTA_EVENT_LINE.len();
    let crlf = match rest.get(at..at + 2)? {
        [b'\n', _] => false,
        b"\r\n" => true,
        _ => return None,
    };
    let data = at + 1 + usize::from(crlf);
    // `data: {"type":` then a quote (compact) or a space (spaced).
    let (pos, kind) = if rest.get(data + 14) == Some(&b'"') {
        delta_head::<Compact>(rest, data)?
    } else {
        delta_head::<Spaced>(rest, data)?
    };
    delta_string::<WIDE>(rest, pos, kind, (data, crlf), stats, max_event_bytes)
}

/// The `data:` line of a text-delta event (at `rest[data..]`) in layout `L` up to its string:
/// where the string starts, and its kind.
#[inline(always)]
fn delta_head<L: DeltaLayout>(rest: &[u8], data: usize) -> Option<(usize, DeltaKind)> {
    let pos = index_digits(rest, eat(rest, data, L::HEAD)?)?;
    let pos = eat(rest, pos, L::AFTER_INDEX)?;
    // One literal after another, each a constant (a loop over the table would not be).
    let (tail, kind) = if has_at(rest, pos, L::TAILS[0].0) {
        L::TAILS[0]
    } else if has_at(rest, pos, L::TAILS[1].0) {
        L::TAILS[1]
    } else if has_at(rest, pos, L::TAILS[2].0) {
        L::TAILS[2]
    } else if has_at(rest, pos, L::TAILS[3].0) {
        L::TAILS[3]
    } else {
        return None;
    };
    Some((pos + tail.len(), kind))
}

/// The rest of a delta event from its string at `pos`: the string (counted into `stats`
/// unless ignored), the closing braces, the line's end and the blank line. `data` is where the
/// data line starts; `crlf` whether lines end in CRLF.
#[inline(always)]
fn delta_string<const WIDE: bool>(
    rest: &[u8],
    mut pos: usize,
    kind: DeltaKind,
    (data, crlf): (usize, bool),
    stats: &mut TextStats,
    max_event_bytes: usize,
) -> Option<(usize, DeltaKind)> {
    // The string ends at its quote, at a control character (the line's end) at the latest.
    let mut counted = stats.continued();
    pos = match kind {
        DeltaKind::Ignored => skip_string(rest, pos)?,
        _ => count_string_with::<WIDE>(rest, pos, &mut counted)?,
    };
    pos = closing_braces(rest, pos)?;
    // The data line's JSON starts after `data: `.
    if pos - (data + 6) >= max_event_bytes {
        return None;
    }
    // The line's end and a blank line.
    pos = if crlf {
        eat(rest, pos, b"\r\n\r\n")?
    } else {
        eat(rest, pos, b"\n\n")?
    };
    stats.append(&counted);
    Some((pos, kind))
}

/// Past the two braces that close a delta event, spaces or tabs around them (Anthropic pads).
#[inline(always)]
fn closing_braces(b: &[u8], pos: usize) -> Option<usize> {
    if has_at(b, pos, b"}}") && !matches!(b.get(pos + 2), Some(b' ' | b'\t')) {
        return Some(pos + 2); // the usual case: no padding
    }
    let pos = skip_blanks(b, eat(b, pos, b"}")?);
    Some(skip_blanks(b, eat(b, pos, b"}")?))
}

// The literal compares the layouts are matched with.

/// Whether `b[pos..]` starts with `lit`. Inlined and compared 16 or 8 bytes at a time (the
/// last ones overlapping), so that a constant `lit` becomes a few loads, not a `memcmp` call.
#[inline(always)]
fn has_at(b: &[u8], pos: usize, lit: &[u8]) -> bool {
    let Some(s) = b.get(pos..pos + lit.len()) else {
        return false;
    };
    if lit.len() < 8 {
        return s == lit;
    }
    #[cfg(target_arch = "x86_64")]
    if lit.len() >= 16 {
        use std::arch::x86_64::*;
        let last = lit.len() - 16;
        // SAFETY: SSE2 is always available on x86_64; every load reads 16 bytes at an offset
        // of at most `len - 16` of `s` or `lit`, which have the same length.
        unsafe {
            let load = |x: &[u8], at: usize| _mm_loadu_si128(x.as_ptr().add(at).cast());
            let mut same = _mm_cmpeq_epi8(load(s, last), load(lit, last));
            let mut at = 0;
            while at < last {
                same = _mm_and_si128(same, _mm_cmpeq_epi8(load(s, at), load(lit, at)));
                at += 16;
            }
            return _mm_movemask_epi8(same) == 0xFFFF;
        }
    }
    let last = lit.len() - 8;
    let mut diff = word_at(s, last) ^ word_at(lit, last);
    let mut at = 0;
    while at < last {
        diff |= word_at(s, at) ^ word_at(lit, at);
        at += 8;
    }
    diff == 0
}

#[inline(always)]
fn word_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The index past `lit` if `b[pos..]` starts with it.
#[inline(always)]
fn eat(b: &[u8], pos: usize, lit: &[u8]) -> Option<usize> {
    has_at(b, pos, lit).then_some(pos + lit.len())
}

/// Past the spaces and tabs at `pos` (JSON white space that cannot end a line), 16 bytes at a
/// time: the padding Anthropic writes runs to dozens.
#[inline]
fn skip_blanks(b: &[u8], mut pos: usize) -> usize {
    if !matches!(b.get(pos), Some(b' ' | b'\t')) {
        return pos; // the usual case: no padding
    }
    #[cfg(target_arch = "x86_64")]
    while let Some(block) = b.get(pos..pos + 16) {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is always available on x86_64; the load reads the 16 bytes of `block`.
        let blanks = unsafe {
            let x = _mm_loadu_si128(block.as_ptr().cast());
            let blank = _mm_or_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b' ' as i8)),
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\t' as i8)),
            );
            _mm_movemask_epi8(blank) as u32
        };
        let run = (!blanks).trailing_zeros() as usize; // 16 when all are blank
        if run < 16 {
            return pos + run;
        }
        pos += 16;
    }
    while matches!(b.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a full parse of the data line says: the kind and the counted text of the delta.
    fn parsed_delta(data: &str) -> Option<(DeltaKind, TextStats)> {
        let value: serde_json::Value = serde_json::from_str(data).ok()?;
        let delta = value.get("delta")?;
        let kinds = [
            ("text", DeltaKind::Text),
            ("thinking", DeltaKind::Thinking),
            ("partial_json", DeltaKind::ToolInput),
            ("signature", DeltaKind::Ignored),
        ];
        let (key, kind) = kinds
            .into_iter()
            .find(|(key, _)| delta.get(key).is_some())?;
        let mut stats = TextStats::default();
        if kind != DeltaKind::Ignored {
            stats.add(delta.get(key)?.as_str()?);
        }
        Some((kind, stats))
    }

    /// Quiet events are taken whole in the layouts the API writes, and nothing near them.
    #[test]
    fn quiet_events_are_taken_only_as_the_api_writes_them() {
        let taken = [
            ("ping", r#"{"type": "ping"}"#),
            ("ping", r#"{"type":"ping"}"#),
            ("message_stop", r#"{"type":"message_stop"}"#),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":0}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":12   }"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":3,"content_block":{"type":"text","text":""}}"#,
            ),
        ];
        let declined = [
            ("ping", r#"{"type":"message_stop"}"#),
            ("ping", r#"{"type": "ping", "x": 1}"#),
            (
                "message_stop",
                r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":01}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":-1}"#,
            ),
            ("content_block_stop", r#"{"type":"content_block_stop"}"#),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"a"}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
            ),
        ];
        for eol in ["\n", "\r\n"] {
            for (name, data) in taken {
                let event = format!("event: {name}{eol}data: {data}{eol}{eol}");
                assert_eq!(quiet_event(event.as_bytes(), usize::MAX), Some(event.len()));
                assert_eq!(
                    quiet_event(event.as_bytes(), data.len()),
                    None,
                    "size bound"
                );
                for cut in [event.len() - 1, event.len() - eol.len() - 1] {
                    assert_eq!(quiet_event(&event.as_bytes()[..cut], usize::MAX), None);
                }
            }
            for (name, data) in declined {
                let event = format!("event: {name}{eol}data: {data}{eol}{eol}");
                assert_eq!(quiet_event(event.as_bytes(), usize::MAX), None, "{event:?}");
            }
        }
        let mixed = "event: ping\ndata: {\"type\": \"ping\"}\r\n\r\n";
        assert_eq!(quiet_event(mixed.as_bytes(), usize::MAX), None);
    }

    /// A run takes the whole delta events in a row and stops, stats untouched, at the first
    /// it does not take (here: invalid JSON, then another event type).
    #[test]
    fn a_run_stops_at_the_first_event_it_does_not_take() {
        let delta = |text: &str, kind: &str, key: &str| {
            format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"{kind}\",\"{key}\":\"{text}\"}}}}\n\n")
        };
        let taken = [
            delta("Hello ", "text_delta", "text"),
            delta("hmm", "thinking_delta", "thinking"),
            delta("{\\\"a\\\":", "input_json_delta", "partial_json"),
        ]
        .concat();
        for wide in [false, crate::simd::wide()] {
            for rest in [
                delta("a\u{1}b", "text_delta", "text"),
                "event: ping\ndata: {\"type\":\"ping\"}\n\n".to_owned(),
                String::new(),
            ] {
                let bytes = format!("{taken}{rest}{}", delta("never", "text_delta", "text"));
                let mut stats = TextStats::default();
                let run = anthropic_events(bytes.as_bytes(), &mut stats, usize::MAX, false, wide);
                let whole_run = rest.is_empty();
                assert_eq!(run.events, if whole_run { 4 } else { 3 });
                let mut expected = TextStats::default();
                for text in ["Hello ", "hmm", "{\"a\":"] {
                    expected.add(text);
                }
                if whole_run {
                    expected.add("never");
                }
                assert_eq!(stats, expected, "{rest:?}");
                assert!(run.thinking && run.tool_use);
                let used = if whole_run { bytes.len() } else { taken.len() };
                assert_eq!(run.used, used, "{rest:?}");
            }
        }
    }

    /// The whole-event reader takes exactly what a full parse of a whole event reads, in both
    /// layouts, and declines (never misreads) anything else: a cut event, a bare CR, an event
    /// over the size bound, invalid JSON.
    #[test]
    fn whole_event_reads_as_a_full_parse() {
        let texts = [
            "Hello",
            "",
            "a\\\"b\\n\\u00e9",
            "你好, world",
            "sixteen bytes!!!",
            "a\\ud800",
            "x\u{1}y",
            // Around the 16- and 32-byte steps of the block counters.
            "thirty-one bytes of plain text.",
            "thirty-two bytes of plain text..",
            "thirty-three bytes of plain text.",
            "a longer text, words_and 42 digits\\tthen\\n 你好 and more words to the end",
        ];
        let kinds = [
            ("text_delta", "text"),
            ("thinking_delta", "thinking"),
            ("input_json_delta", "partial_json"),
            ("signature_delta", "signature"),
            ("text_delta", "thinking"),
            ("citations_delta", "text"),
        ];
        let mut taken = [0; 2];
        for text in texts {
            for (delta_type, key) in kinds {
                for pad in ["", " ", "        ", "           \t"] {
                    for eol in ["\n", "\r\n", "\r"] {
                        for index in ["0", "12", "01"] {
                            for (layout, (colon, comma)) in
                                [(":", ","), (": ", ", ")].into_iter().enumerate()
                            {
                                let data = format!(
                                    "{{\"type\"{colon}\"content_block_delta\"{comma}\"index\"{colon}{index}{comma}\"delta\"{colon}{{\"type\"{colon}\"{delta_type}\"{comma}\"{key}\"{colon}\"{text}\"}}{pad}}}"
                                );
                                let event = format!(
                                    "event: content_block_delta{eol}data: {data}{eol}{eol}"
                                );
                                let bytes = format!("{event}event: next").into_bytes();
                                for cut in [bytes.len(), event.len(), event.len() - 1] {
                                    for (max, wide) in [usize::MAX, 90]
                                        .into_iter()
                                        .flat_map(|max| [(max, false), (max, crate::simd::wide())])
                                    {
                                        let mut stats = TextStats::default();
                                        let run = anthropic_events(
                                            &bytes[..cut],
                                            &mut stats,
                                            max,
                                            false,
                                            wide,
                                        );
                                        if run.events == 0 {
                                            assert_eq!(run, EventRun::default());
                                            assert_eq!(stats, TextStats::default());
                                            continue;
                                        }
                                        taken[layout] += 1;
                                        let whole = cut >= event.len() && eol != "\r";
                                        assert!(whole && data.len() < max, "{event:?} {cut} {max}");
                                        assert_eq!(run.events, 1, "{event:?}");
                                        assert_eq!(run.used, event.len(), "{event:?}");
                                        let (kind, counted) = parsed_delta(&data).expect("parses");
                                        assert_eq!(stats, counted, "{event:?}");
                                        let flags = (
                                            kind == DeltaKind::Thinking,
                                            kind == DeltaKind::ToolInput,
                                        );
                                        assert_eq!(
                                            (run.thinking, run.tool_use),
                                            flags,
                                            "{event:?}"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(taken[0] > 300 && taken[1] > 300, "{taken:?}");
    }
}
