//! Line framing of an event stream: CR, LF and CRLF line ends (also split across chunks), one
//! leading BOM stripped (also split across chunks), lines bounded in memory.
//!
//! Lines are handed to a [`LineSink`] as byte slices without their terminator. A line that
//! arrives whole inside one chunk is borrowed from the chunk; only an unfinished tail is copied.

use crate::simd::bytes::first_line_end;

/// The UTF-8 byte order mark, which a stream or body may start with.
pub const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// The longest event cut by a read's end that is held whole for the next read (a delta is a
/// few hundred bytes); a longer one is framed line by line at once.
const HELD_EVENT: usize = 4 << 10;

/// The bytes of the next read joined to a held event first: the rest of a cut delta is in
/// them, mostly, and a read's first [`HELD_EVENT`] bytes copied each time cost about 3.6
/// instructions an event at 16 KiB reads (Anthropic API layout).
const JOIN_FIRST: usize = 512;

/// Receives the lines of a stream.
pub trait LineSink {
    fn line(&mut self, line: &[u8]);
    /// A line longer than the framer's bound ended; its bytes were discarded.
    fn overlong_line(&mut self);
    /// A line followed at once by a blank line (the usual one-line event): the two calls, which
    /// a sink may take as one.
    fn line_then_blank(&mut self, line: &[u8]) {
        self.line(line);
        self.line(b"");
    }
    /// At the start of a line, with nothing pending: a sink that recognises a whole event in
    /// `rest` may take it at once and say how many bytes it used (through its blank line);
    /// `known` is false where [`LineSink::known_events`] was just asked and took nothing.
    fn whole_event(&mut self, _rest: &[u8], _known: bool) -> usize {
        0
    }
    /// At the start of a read, nothing pending: the whole events a sink takes at once by what
    /// it has learned (without the line rules), the bytes used. The usual read ends there.
    fn known_events(&mut self, _rest: &[u8]) -> usize {
        0
    }
}

#[derive(Debug)]
pub struct Framer {
    /// The unfinished last line (or, before the BOM check is done, the first bytes).
    tail: Vec<u8>,
    /// The previous chunk ended in CR: an LF at the start of the next one belongs to it.
    skip_lf: bool,
    bom_checked: bool,
    /// The current line has outgrown `max_line`: its bytes are dropped until its end.
    overflow: bool,
    max_line: usize,
    /// At a line's start with nothing held (`bom_checked`, no `skip_lf`, no `overflow`, no
    /// `tail`, no `held`): one test for the usual read instead of five, set where a read ends.
    clean: bool,
    /// Whether an event cut by a read's end may be held ([`Framer::holding_cut_events`]).
    hold: bool,
    /// An event cut by the end of a read from which the sink took whole events, not framed
    /// yet: read with the start of the next read as a whole event (the line path costs about
    /// 3,000 instructions a cut, a tenth of a 16 KiB read's time), or framed line by line
    /// then, or at the end.
    held: Vec<u8>,
}

/// The first LF or CR of `b`: in its first 32 bytes inline (an `event:` or `id:` line, a short
/// data line), then by `memchr2` (a long data line, where its wider steps pay).
#[inline(always)]
pub(crate) fn line_break(b: &[u8]) -> Option<usize> {
    const HEAD: usize = 32;
    if let Some(at) = first_line_end(&b[..b.len().min(HEAD)]) {
        return Some(at);
    }
    let rest = b.get(HEAD..).filter(|rest| !rest.is_empty())?;
    memchr::memchr2(b'\n', b'\r', rest).map(|at| HEAD + at)
}

/// Where the line ending at `end` (a CR or LF) is over: after LF, CR or CRLF; `None` for a CR
/// that ends the chunk (an LF may still follow it).
fn line_end(bytes: &[u8], end: usize) -> Option<usize> {
    match (bytes[end], bytes.get(end + 1)) {
        (b'\n', _) => Some(end + 1),
        (_, Some(b'\n')) => Some(end + 2),
        (_, Some(_)) => Some(end + 1),
        (_, None) => None,
    }
}

/// Whether `b`, from a line's start, is cut before a blank line: an event whose end is not in
/// it (or a CR ends it, which an LF may follow).
fn cut_before_blank_line(b: &[u8]) -> bool {
    let mut pos = 0;
    while let Some(at) = line_break(&b[pos..]) {
        if at == 0 {
            return false; // a blank line: the event is whole
        }
        match line_end(b, pos + at) {
            Some(next) if next < b.len() => pos = next,
            _ => return true,
        }
    }
    true
}

/// If an empty line starts at `at`, where it is over (a CR at the chunk's end counts: the
/// caller then skips an LF at the start of the next chunk).
fn blank_line_at(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes[at] {
        b'\n' => Some(at + 1),
        b'\r' => Some(match bytes.get(at + 1) {
            Some(b'\n') => at + 2,
            _ => at + 1,
        }),
        _ => None,
    }
}

impl Framer {
    pub fn new(max_line: usize) -> Self {
        Framer {
            tail: Vec::new(),
            skip_lf: false,
            bom_checked: false,
            overflow: false,
            max_line,
            clean: false,
            hold: false,
            held: Vec::new(),
        }
    }

    /// A framer that holds an event cut by a read's end, after whole events taken from that
    /// read, until the next read (or [`Framer::flush_held`] at the end): its lines reach the
    /// sink then, in the same order. For a sink that observes nothing between reads (a
    /// `retry` field would otherwise apply one read later); the caller must flush at the end.
    pub fn holding_cut_events(mut self) -> Self {
        self.hold = true;
        self
    }

    /// Inlined into its caller: the usual read (a stream under way, events of layouts the sink
    /// knows) goes from the caller to the sink's reader without a call of its own.
    #[inline(always)]
    pub fn feed<S: LineSink>(&mut self, chunk: &[u8], sink: &mut S) {
        debug_assert_eq!(self.clean, self.is_clean());
        if self.clean {
            // The usual read of a stream under way: events of layouts the sink knows, taken
            // before the line loop is set up; the line loop reads what they leave.
            if chunk.is_empty() {
                return;
            }
            let used = sink.known_events(chunk);
            if used < chunk.len() {
                self.scan(&chunk[used..], sink, false);
            }
            return;
        }
        self.feed_start(chunk, sink);
    }

    /// [`Framer::feed`] at a stream's start (the BOM check), inside a line or after a held
    /// event.
    #[inline(never)]
    fn feed_start<S: LineSink>(&mut self, mut chunk: &[u8], sink: &mut S) {
        if !self.held.is_empty() {
            let used = self.join_held(chunk, sink);
            chunk = &chunk[used..];
        }
        if !self.bom_checked && self.tail.is_empty() && chunk.len() >= BOM.len() {
            // The usual first read: long enough to tell at once, and read in place (not split
            // after its first bytes, which would send its first line through the tail).
            self.bom_checked = true;
            chunk = chunk.strip_prefix(BOM).unwrap_or(chunk);
        }
        if !self.bom_checked {
            // Hold back the first bytes until we know whether they are a BOM.
            let take = (BOM.len() - self.tail.len()).min(chunk.len());
            self.tail.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.tail.len() < BOM.len() && BOM.starts_with(&self.tail) {
                return;
            }
            self.bom_checked = true;
            let head = std::mem::take(&mut self.tail);
            if head.as_slice() != BOM {
                self.scan(&head, sink, true);
            }
        }
        self.scan(chunk, sink, true);
    }

    /// The held event and the next read's start, read as whole events where the sink takes
    /// them (the bytes of `chunk` they used), else the held event framed line by line.
    fn join_held<S: LineSink>(&mut self, chunk: &[u8], sink: &mut S) -> usize {
        let mut joined = std::mem::take(&mut self.held);
        let held = joined.len();
        if !cut_before_blank_line(&joined) {
            // Not cut after all (an event the sink reads line by line, a blank line).
            self.scan_unheld(&joined, sink);
            joined.clear();
            self.held = joined;
            return 0;
        }
        // The first bytes, then up to `HELD_EVENT` where they do not finish the held event (a
        // sink takes nothing of an event that is not whole: nothing to undo).
        let mut used = 0;
        for window in [JOIN_FIRST, HELD_EVENT] {
            let end = chunk.len().min(window);
            joined.extend_from_slice(&chunk[joined.len() - held..end]);
            used = sink.whole_event(&joined, true);
            if used > held || end == chunk.len() {
                break;
            }
        }
        let taken = used.saturating_sub(held);
        if taken == 0 {
            // Not taken (a layout the sink reads line by line, or still cut): framed as it
            // would have been at the end of the read before, its last line then `tail`.
            self.scan_unheld(&joined[used..held], sink);
        }
        joined.clear();
        self.held = joined; // its allocation kept for the next cut
        taken
    }

    /// End of stream: a held event framed line by line (its last line, unfinished, then in
    /// `tail`), before [`Framer::take_tail`].
    pub fn flush_held<S: LineSink>(&mut self, sink: &mut S) {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.scan_unheld(&held, sink);
        }
    }

    /// Held bytes framed line by line (whole events taken where the sink takes them), none
    /// of them held again: what they leave unfinished goes to `tail`, before the next read.
    fn scan_unheld<S: LineSink>(&mut self, bytes: &[u8], sink: &mut S) {
        let hold = std::mem::replace(&mut self.hold, false);
        self.scan(bytes, sink, false);
        self.hold = hold;
    }

    /// What `clean` says, from the state it sums up.
    fn is_clean(&self) -> bool {
        self.bom_checked
            && !self.skip_lf
            && !self.overflow
            && self.tail.is_empty()
            && self.held.is_empty()
    }

    /// The unfinished line has outgrown the bound (its bytes are being dropped).
    pub fn in_overlong_line(&self) -> bool {
        self.overflow
    }

    /// End of stream: the unfinished line, if any (the spec discards it; the usage parser
    /// salvages a complete JSON payload from it).
    pub fn take_tail(&mut self) -> Option<Vec<u8>> {
        let overflow = std::mem::replace(&mut self.overflow, false);
        let tail = std::mem::take(&mut self.tail);
        self.clean = self.is_clean();
        if overflow || tail.is_empty() || (!self.bom_checked && BOM.starts_with(&tail)) {
            None
        } else {
            Some(tail)
        }
    }

    /// The lines of `bytes`; `known`: whether [`LineSink::known_events`] may take events at
    /// its start (false where it was just asked).
    fn scan<S: LineSink>(&mut self, bytes: &[u8], sink: &mut S, mut known: bool) {
        let mut pos = 0;
        if self.skip_lf && !bytes.is_empty() {
            self.skip_lf = false;
            if bytes[0] == b'\n' {
                pos = 1;
            }
        }
        // Whole events were taken from this read: an event they leave at its end is held.
        let mut took = false;
        loop {
            if self.tail.is_empty() && !self.overflow && pos < bytes.len() {
                let used = sink.whole_event(&bytes[pos..], known);
                known = true;
                if used > 0 {
                    (pos, took) = (pos + used, true);
                    continue;
                }
                let rest = &bytes[pos..];
                let line_start = !matches!(rest[0], b'\n' | b'\r');
                if self.hold && took && line_start && rest.len() <= HELD_EVENT.min(self.max_line) {
                    // Most likely cut by the read's end (else read line by line with the next
                    // read: the same lines in the same order); not a blank line.
                    self.held.extend_from_slice(rest);
                    self.clean = false;
                    return;
                }
            }
            if pos == bytes.len() {
                break; // the usual end of a read taken whole: no search of nothing
            }
            let Some(i) = memchr::memchr2(b'\n', b'\r', &bytes[pos..]) else {
                break;
            };
            let end = pos + i;
            let next = line_end(bytes, end);
            match next {
                // A whole line and the blank line after it, both in this chunk.
                Some(next)
                    if !self.overflow
                        && self.tail.len() + (end - pos) <= self.max_line
                        && next < bytes.len() =>
                {
                    if let Some(after) = blank_line_at(bytes, next) {
                        if self.tail.is_empty() {
                            sink.line_then_blank(&bytes[pos..end]);
                        } else {
                            // A line cut by a read's end (an event too long to hold): read
                            // from `tail` as the usual one-line event, not copied again.
                            self.tail.extend_from_slice(&bytes[pos..end]);
                            sink.line_then_blank(&self.tail);
                            self.tail.clear();
                        }
                        pos = after;
                        if pos == bytes.len() && bytes[pos - 1] == b'\r' {
                            self.skip_lf = true;
                        }
                        continue;
                    }
                    self.emit(&bytes[pos..end], sink);
                    pos = next;
                }
                Some(next) => {
                    self.emit(&bytes[pos..end], sink);
                    pos = next;
                }
                None => {
                    // A CR at the very end: the line is over; an LF may follow in the next chunk.
                    self.emit(&bytes[pos..end], sink);
                    self.skip_lf = true;
                    pos = bytes.len();
                }
            }
        }
        self.push_tail(&bytes[pos..]);
        self.clean = self.is_clean();
    }

    fn emit<S: LineSink>(&mut self, piece: &[u8], sink: &mut S) {
        if self.overflow || self.tail.len() + piece.len() > self.max_line {
            self.overflow = false;
            self.tail.clear();
            sink.overlong_line();
        } else if self.tail.is_empty() {
            sink.line(piece);
        } else {
            self.tail.extend_from_slice(piece);
            sink.line(&self.tail);
            self.tail.clear();
        }
    }

    fn push_tail(&mut self, rest: &[u8]) {
        if self.overflow || rest.is_empty() {
            return;
        }
        if self.tail.len() + rest.len() > self.max_line {
            self.overflow = true;
            self.tail = Vec::new(); // give the memory back, not just the length
        } else {
            // Room for as much again (or double, as usual): a line cut by a read's end is
            // mostly finished by the next read, which would otherwise copy it again to grow.
            self.tail.reserve(2 * rest.len());
            self.tail.extend_from_slice(rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first line end of lines of every length (inside and past the inline head), with
    /// CR, LF, both or neither at every place: found as `memchr2` finds it.
    #[test]
    fn line_break_is_memchr2() {
        let text: Vec<u8> = (0..80u8).map(|i| b'a' + i % 26).collect();
        for len in 0..text.len() {
            for at in (0..=len).step_by(3) {
                for ends in [&b"\n"[..], b"\r", b"\r\n", b""] {
                    let mut line = text[..len].to_vec();
                    line.splice(at..at, ends.iter().copied());
                    assert_eq!(line_break(&line), memchr::memchr2(b'\n', b'\r', &line));
                }
            }
        }
    }

    #[derive(Default)]
    struct Lines(Vec<Vec<u8>>, usize);
    impl LineSink for Lines {
        fn line(&mut self, line: &[u8]) {
            self.0.push(line.to_vec());
        }
        fn overlong_line(&mut self) {
            self.1 += 1;
        }
    }

    fn lines_of(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut framer = Framer::new(1 << 20);
        let mut sink = Lines::default();
        for chunk in chunks {
            framer.feed(chunk, &mut sink);
        }
        sink.0
    }

    #[test]
    fn all_line_ends_and_splits() {
        let whole: &[u8] = b"a\rb\nc\r\nd\r\r\ne\n";
        let expected = lines_of(&[whole]);
        assert_eq!(expected, vec![&b"a"[..], b"b", b"c", b"d", b"", b"e"]);
        for i in 0..=whole.len() {
            for j in i..=whole.len() {
                let got = lines_of(&[&whole[..i], b"", &whole[i..j], &whole[j..]]);
                assert_eq!(got, expected, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn bom_stripped_once_even_when_split() {
        let whole: &[u8] = b"\xEF\xBB\xBF\xEF\xBB\xBFx\n";
        for i in 0..=whole.len() {
            assert_eq!(
                lines_of(&[&whole[..i], &whole[i..]]),
                vec![b"\xEF\xBB\xBFx".to_vec()]
            );
        }
        assert_eq!(
            lines_of(&[b"\xEF", b"\xBBz\n"]),
            vec![b"\xEF\xBBz".to_vec()]
        );
        assert_eq!(lines_of(&[b"\r", b"\n"]), vec![b"".to_vec()]);
    }

    /// A line longer than a read, cut by the read's end and followed by a blank line: handed
    /// on whole as a one-line event, from a buffer that the second read does not grow where
    /// the first held at least half of the line.
    #[test]
    fn a_cut_line_then_blank_is_one_event() {
        #[derive(Default)]
        struct Events(Vec<Vec<u8>>, Vec<Vec<u8>>);
        impl LineSink for Events {
            fn line(&mut self, line: &[u8]) {
                self.0.push(line.to_vec());
            }
            fn overlong_line(&mut self) {}
            fn line_then_blank(&mut self, line: &[u8]) {
                self.1.push(line.to_vec());
            }
        }
        let line: Vec<u8> = [&b"data: "[..], &[b'x'; 10_000]].concat();
        for ends in [&b"\n\n"[..], b"\r\n\r\n", b"\r\r"] {
            let whole = [&line[..], ends, b"ok\n"].concat();
            for cut in [1, 100, 5_003, 9_999, line.len() - 1] {
                let mut framer = Framer::new(1 << 20);
                let mut sink = Events::default();
                framer.feed(&whole[..cut], &mut sink);
                let room = framer.tail.capacity();
                framer.feed(&whole[cut..], &mut sink);
                assert_eq!(sink.1, vec![line.clone()], "cut at {cut}");
                assert_eq!(sink.0, vec![b"ok".to_vec()], "cut at {cut}");
                if 2 * cut >= line.len() {
                    assert_eq!(framer.tail.capacity(), room, "grown again, cut at {cut}");
                }
            }
        }
    }

    #[test]
    fn overlong_lines_are_dropped_and_bounded() {
        let mut framer = Framer::new(8);
        let mut sink = Lines::default();
        framer.feed(b"0123456789", &mut sink);
        assert!(framer.tail.capacity() <= 16);
        framer.feed(b"abc\nok\n", &mut sink);
        assert_eq!(sink.0, vec![b"ok".to_vec()]);
        assert_eq!(sink.1, 1);
    }
}
