//! Field processing of an event stream, as WHATWG HTML "interpreting an event stream" says:
//! comments, fields without a colon, one leading space removed, `data` lines joined with LF,
//! `id` sticky (ignored when it holds NUL), `retry` only when all ASCII digits, no event for an
//! empty data buffer. Works on bytes; decoding to text is left to the sink.

use crate::sse::framer::{line_break, LineSink};

/// Receives dispatched events.
pub trait EventSink {
    /// `event_type` is empty for the default type ("message"); `data` has its last LF removed.
    fn event(&mut self, event_type: &[u8], data: &[u8], last_event_id: &[u8]);
    /// An event outgrew the size bound and was dropped.
    fn oversized_event(&mut self) {}
    /// A line the stream format defines was seen (field `data`, `event`, `id`, `retry`, or a
    /// comment): evidence that the body is an event stream.
    fn sse_line(&mut self) {}
    /// At the start of an event, nothing pending: a sink that can read whole events from
    /// `rest` exactly as the line-by-line path would may take them, saying the bytes used
    /// (through the last one's blank line) and where the last `id` value it read is; nothing
    /// used declines.
    fn whole_event(&mut self, _rest: &[u8], _max_event_bytes: usize) -> Taken {
        Taken::default()
    }
    /// After [`EventSink::event`] for an event the line rules read whole from one read: the
    /// event's bytes through its blank line, and where its data and its `id` value lie in
    /// them. A sink may keep the event's layout, to take later events with
    /// [`EventSink::whole_event`].
    fn read_whole(&mut self, _event: &[u8], _data: (usize, usize), _id: Option<(usize, usize)>) {}
}

/// What [`EventSink::whole_event`] took.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    /// The bytes, through the blank line of the last event taken.
    pub used: usize,
    /// Where the value of the last `id` field taken is in those bytes, if there was one.
    pub last_id: Option<(usize, usize)>,
}

/// Feeds the lines of a [`crate::sse::framer::Framer`] to a builder, dispatching into a sink.
pub struct Lines<'a, S> {
    pub builder: &'a mut EventBuilder,
    pub sink: &'a mut S,
}

impl<S: EventSink> LineSink for Lines<'_, S> {
    fn line(&mut self, line: &[u8]) {
        self.builder.line(line, self.sink);
    }

    fn overlong_line(&mut self) {
        self.builder.overlong_line();
    }

    fn line_then_blank(&mut self, line: &[u8]) {
        self.builder.line_then_blank(line, self.sink);
    }

    #[inline(always)]
    fn known_events(&mut self, rest: &[u8]) -> usize {
        if !self.builder.at_event_start() {
            return 0;
        }
        self.take_known(rest)
    }

    fn whole_event(&mut self, rest: &[u8], known: bool) -> usize {
        if !self.builder.at_event_start() {
            return 0;
        }
        if matches!(rest.first(), Some(b'\n' | b'\r')) {
            // A blank line with no event under way (after a comment line, a relay's
            // keep-alive): it dispatches nothing; the `id` buffer becomes the last event id,
            // as a dispatch makes it. A CR that ends `rest` is left (an LF may follow).
            let used = line_end(rest, 0).unwrap_or(0);
            if used > 0 {
                self.builder.set_last_event_id();
            }
            return used;
        }
        if rest.first() == Some(&b':') {
            // A comment line on its own (a keep-alive): taken alone, so that the events after
            // it reach the sink's whole-event reader below.
            return comment_line(rest, self.builder.max_event_bytes).map_or(0, |used| {
                self.sink.sse_line();
                used
            });
        }
        if known {
            let used = self.take_known(rest);
            if used > 0 {
                return used;
            }
        }
        let b = &mut *self.builder;
        let Some(event) = whole_event(rest, b.max_event_bytes) else {
            return 0;
        };
        if let Some(id) = event.id {
            b.set_id(id);
        }
        b.set_last_event_id();
        self.sink.sse_line();
        self.sink
            .event(event.event_type, event.data, &b.last_event_id);
        // Where a value lies in the event (`None` for the empty value of a field without a
        // colon, which is not in it).
        let span = |part: &[u8]| {
            let start = (part.as_ptr() as usize).checked_sub(rest.as_ptr() as usize)?;
            (start + part.len() <= event.used).then_some((start, start + part.len()))
        };
        let id = match event.id {
            Some(id) => span(id).map(Some),
            None => Some(None),
        };
        if let (Some(data), Some(id)) = (span(event.data), id) {
            self.sink.read_whole(&rest[..event.used], data, id);
        }
        event.used
    }
}

impl<S: EventSink> Lines<'_, S> {
    /// The whole events at the start of `rest` that the sink takes by what it has learned, the
    /// bytes used; the builder is at an event's start.
    #[inline(always)]
    fn take_known(&mut self, rest: &[u8]) -> usize {
        let b = &mut *self.builder;
        let taken = self.sink.whole_event(rest, b.max_event_bytes);
        if taken.used > 0 {
            if let Some((start, end)) = taken.last_id {
                b.set_id(&rest[start..end]);
            }
            b.set_last_event_id(); // what dispatching them would have done
        }
        taken.used
    }
}

/// One whole event at the start of `rest`, read as the line-by-line path reads it: comment
/// lines, `event` and `id` fields and one `data` field (each with or without the space after
/// the colon), lines ending in LF, CRLF or CR, then the blank line. Nothing is copied.
struct WholeEvent<'a> {
    /// The bytes it takes, through its blank line.
    used: usize,
    event_type: &'a [u8],
    data: &'a [u8],
    /// The value of its last `id` field (without NUL), if it has one.
    id: Option<&'a [u8]>,
}

/// [`WholeEvent`] at the start of `rest`; `None` for anything the line path must read (a
/// second data line, a `retry` field, no data, a CR that ends `rest` and may start a CRLF, a
/// line or value over the size bound, an event not over within `rest`).
#[inline]
fn whole_event(rest: &[u8], max_event_bytes: usize) -> Option<WholeEvent<'_>> {
    let (mut pos, mut event_type, mut data, mut id) = (0, &b""[..], None, None);
    loop {
        let end = pos + line_break(&rest[pos..])?;
        let line = &rest[pos..end];
        pos = line_end(rest, end)?;
        if line.is_empty() {
            break;
        }
        if line.len() >= max_event_bytes {
            return None;
        }
        if line[0] == b':' {
            continue; // a comment
        }
        // The usual names first, without a search for the colon.
        let colon = if line.starts_with(b"data:") {
            Some(4)
        } else if line.starts_with(b"event:") {
            Some(5)
        } else {
            memchr::memchr(b':', line)
        };
        let (name, value) = match colon {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" if data.is_none() => data = Some(value),
            b"data" | b"retry" => return None,
            b"event" => event_type = value,
            b"id" if !value.contains(&0) => id = Some(value),
            _ => {} // ignored, as the spec says
        }
    }
    Some(WholeEvent {
        used: pos,
        event_type,
        data: data?,
        id,
    })
}

/// The bytes of the comment line at the start of `rest` through its line end; `None` when its
/// end is not in `rest` (or is a CR that ends it) or it is over the size bound.
fn comment_line(rest: &[u8], max_event_bytes: usize) -> Option<usize> {
    let end = line_break(rest)?;
    if end >= max_event_bytes {
        return None;
    }
    line_end(rest, end)
}

/// Past the line end at `end` (LF, CRLF, or a CR followed by anything else); `None` for a CR
/// that ends `b` (an LF may follow in the next read: the framer handles it).
#[inline(always)]
fn line_end(b: &[u8], end: usize) -> Option<usize> {
    match (b[end], b.get(end + 1)) {
        (b'\n', _) => Some(end + 1),
        (_, Some(b'\n')) => Some(end + 2),
        (_, Some(_)) => Some(end + 1),
        (_, None) => None,
    }
}

#[derive(Debug)]
pub struct EventBuilder {
    data: Vec<u8>,
    event_type: Vec<u8>,
    /// The id buffer, set by `id` fields; becomes `last_event_id` when an event is dispatched.
    /// Held here only while `id_set` (an `id` field since the last dispatch); otherwise the id
    /// buffer is `last_event_id` itself, and this is the spare the next `id` is copied into:
    /// a dispatch swaps the two instead of copying (one copy of an id, not two).
    id_buffer: Vec<u8>,
    id_set: bool,
    pub last_event_id: Vec<u8>,
    /// The reconnection time in ms, as its ASCII digits: the spec sets no bound.
    pub retry: Option<String>,
    /// The current event outgrew `max_event_bytes`: its data is dropped until the blank line.
    oversized: bool,
    max_event_bytes: usize,
    /// Data, a type or an oversized line since the last dispatch: not at an event's start,
    /// where a whole event may be taken (one test instead of `at_event_start`'s three).
    started: bool,
}

impl EventBuilder {
    pub fn new(last_event_id: &[u8], max_event_bytes: usize) -> Self {
        EventBuilder {
            data: Vec::new(),
            event_type: Vec::new(),
            id_buffer: Vec::new(),
            id_set: false,
            last_event_id: last_event_id.to_vec(),
            retry: None,
            oversized: false,
            max_event_bytes,
            started: false,
        }
    }

    /// Nothing of an event read yet: where a whole event may be taken at once.
    #[inline(always)]
    fn at_event_start(&self) -> bool {
        let fresh = self.data.is_empty() && self.event_type.is_empty() && !self.oversized;
        debug_assert_eq!(self.started, !fresh);
        !self.started
    }

    /// The event under construction, as far as it has come (for salvage at end of stream).
    pub fn pending(&self) -> Option<(&[u8], &[u8])> {
        if self.oversized || self.data.is_empty() {
            return None;
        }
        Some((&self.event_type, &self.data[..self.data.len() - 1]))
    }

    /// An `id` field's value (without NUL) into the id buffer.
    #[inline(always)]
    fn set_id(&mut self, value: &[u8]) {
        self.id_buffer.clear();
        self.id_buffer.extend_from_slice(value);
        self.id_set = true;
    }

    /// Dispatching an event sets the last event ID from the ID buffer: nothing to do unless an
    /// `id` field came since the last dispatch (see `id_buffer`).
    #[inline(always)]
    fn set_last_event_id(&mut self) {
        if self.id_set {
            std::mem::swap(&mut self.last_event_id, &mut self.id_buffer);
            self.id_set = false;
        }
    }

    fn dispatch<S: EventSink>(&mut self, sink: &mut S) {
        self.set_last_event_id();
        if self.oversized {
            self.oversized = false;
            sink.oversized_event();
        } else if !self.data.is_empty() {
            let data = &self.data[..self.data.len() - 1];
            sink.event(&self.event_type, data, &self.last_event_id);
        }
        self.data.clear();
        self.event_type.clear();
        self.started = false;
    }

    fn field<S: EventSink>(&mut self, name: &[u8], value: &[u8], sink: &mut S) {
        match name {
            b"data" => {
                self.started = true;
                if self.oversized {
                    return;
                }
                if self.data.len() + value.len() + 1 > self.max_event_bytes {
                    self.oversized = true;
                    self.data = Vec::new(); // give the memory back
                    return;
                }
                // Room for the LF too: a long line is not copied twice by `push` growing it.
                self.data.reserve(value.len() + 1);
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.extend_from_slice(value);
                // An empty type (the default) leaves an event not started.
                self.started = !self.data.is_empty() || !value.is_empty() || self.oversized;
            }
            b"id" => {
                if !value.contains(&0) {
                    self.set_id(value);
                }
            }
            b"retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.retry = Some(ms.to_owned());
                }
            }
            _ => return,
        }
        sink.sse_line();
    }
}

/// Longer values are ignored: no reconnection time needs 20,000 digits, and converting
/// millions of them to an integer would cost seconds.
pub const MAX_RETRY_DIGITS: usize = 20_000;

/// `retry` takes only a non-empty run of ASCII digits (leading zeros dropped).
fn parse_retry(value: &[u8]) -> Option<&str> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let zeros = value
        .iter()
        .take_while(|&&d| d == b'0')
        .count()
        .min(value.len() - 1);
    let digits = &value[zeros..];
    if digits.len() > MAX_RETRY_DIGITS {
        return None;
    }
    std::str::from_utf8(digits).ok()
}

/// Decimal digits to a big-endian unsigned integer, for any length (Python's `int()` refuses
/// more than 4,300 digits).
#[cfg_attr(not(feature = "python"), allow(dead_code))] // the binding's `retry` as an int
pub fn digits_to_be_bytes(digits: &str) -> Vec<u8> {
    let mut limbs: Vec<u32> = vec![0]; // little-endian, base 2^32
    for chunk in digits.as_bytes().chunks(9) {
        let mut carry = chunk
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        let scale = 10u64.pow(chunk.len() as u32);
        for limb in &mut limbs {
            let v = u64::from(*limb) * scale + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect()
}

impl EventBuilder {
    pub fn line<S: EventSink>(&mut self, line: &[u8], sink: &mut S) {
        match line.first() {
            None => self.dispatch(sink),
            Some(b':') => sink.sse_line(),
            Some(_) => match memchr::memchr(b':', line) {
                Some(colon) => {
                    let value = &line[colon + 1..];
                    let value = value.strip_prefix(b" ").unwrap_or(value);
                    self.field(&line[..colon], value, sink);
                }
                None => self.field(line, b"", sink),
            },
        }
    }

    /// A line and the blank line after it. A lone `data` line is dispatched straight from the
    /// chunk, without being copied into the data buffer; anything else takes the general path.
    pub fn line_then_blank<S: EventSink>(&mut self, line: &[u8], sink: &mut S) {
        if self.data.is_empty() && !self.oversized {
            let value = match line.strip_prefix(b"data") {
                Some([]) => Some(&b""[..]),
                Some([b':', rest @ ..]) => Some(rest.strip_prefix(b" ").unwrap_or(rest)),
                _ => None,
            };
            if let Some(value) = value.filter(|v| v.len() < self.max_event_bytes) {
                sink.sse_line();
                self.set_last_event_id();
                sink.event(&self.event_type, value, &self.last_event_id);
                self.event_type.clear();
                self.started = false;
                return;
            }
        }
        self.line(line, sink);
        self.dispatch(sink);
    }

    /// End of stream inside an event that outgrew the bound: reported as its blank line would
    /// have reported it (the spec drops an unfinished event either way).
    pub fn end_oversized<S: EventSink>(&mut self, sink: &mut S) {
        if self.oversized {
            self.oversized = false;
            self.data.clear();
            self.event_type.clear();
            self.started = false;
            sink.oversized_event();
        }
    }

    pub fn overlong_line(&mut self) {
        // Only a data line can legitimately be this long; either way the event is unusable.
        self.oversized = true;
        self.data = Vec::new();
        self.started = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::framer::Framer;

    #[derive(Default)]
    struct Collect(Vec<(String, String, String)>, usize);
    impl EventSink for Collect {
        fn event(&mut self, t: &[u8], d: &[u8], id: &[u8]) {
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            self.0.push((s(t), s(d), s(id)));
        }
        fn oversized_event(&mut self) {
            self.1 += 1;
        }
    }

    fn events(stream: &[u8], max: usize) -> (Vec<(String, String, String)>, usize, Option<String>) {
        let mut framer = Framer::new(max + 64);
        let mut builder = EventBuilder::new(b"", max);
        let mut sink = Collect::default();
        framer.feed(
            stream,
            &mut Lines {
                builder: &mut builder,
                sink: &mut sink,
            },
        );
        (sink.0, sink.1, builder.retry)
    }

    #[test]
    fn spec_fields() {
        let (ev, _, retry) = events(
            b": c\ndata\ndata:  two\nevent:x\nid: 7\n\nid: a\0b\nretry: 15\ndata:z\n\nid\n\nretry: 1x\n\n",
            1 << 20,
        );
        let own = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(ev, vec![own("x", "\n two", "7"), own("", "z", "7")]);
        assert_eq!(retry.as_deref(), Some("15"));
    }

    #[test]
    fn oversized_event_dropped_then_recovers() {
        let (ev, dropped, _) = events(b"data: 0123456789\ndata: x\n\ndata: ok\n\n", 8);
        assert_eq!(dropped, 1);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].1, "ok");
    }

    #[test]
    fn retry_values() {
        for bad in [&b"-1"[..], b"+5", b" 5", b"5 ", b"", b"\xd9\xa5"] {
            assert_eq!(parse_retry(bad), None);
        }
        assert_eq!(parse_retry(b"0042"), Some("42"));
        assert_eq!(parse_retry(b"000"), Some("0"));
        assert_eq!(
            digits_to_be_bytes("4294967297"),
            vec![0, 0, 0, 1, 0, 0, 0, 1]
        );
    }
}
