//! An allocation-free JSON reader for the bulk of a stream's events: it checks the whole
//! event's grammar, picks out the few fields the meter needs, and skips the rest. Anything it
//! is not sure to read exactly as serde_json would (escapes in names, exponents, deep nesting,
//! duplicate fields it reads, unexpected types) makes it give up, and the caller parses the
//! event with serde_json instead.

use crate::scan::cursor::skipped_number_end;
use crate::scan::holes::{Hole, Holes};
use crate::scan::space;
use crate::scan::strings::{ascii_stop, skip_string};
use crate::scan::tree;

/// serde_json refuses nesting deeper than 127; stop well before that.
const MAX_DEPTH: usize = 64;

/// Reads bytes, not text: an event's data needs no UTF-8 check of its own. Outside strings
/// only ASCII is JSON, and a string with bytes >= 0x80 is checked as it is read (plain ASCII
/// runs without a check): a text it returns, and the bytes of any value it read whole, are
/// valid UTF-8.
pub struct Skim<'a> {
    b: &'a [u8],
    pos: usize,
    /// Every byte before `pos` was read here (no jump over bytes by [`Skim::resume_at`]): what
    /// it read is valid UTF-8, checked as it was read.
    read_all: bool,
}

impl<'a> Skim<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Skim {
            b,
            pos: 0,
            read_all: true,
        }
    }

    fn space(&mut self) {
        space::skip(self.b, &mut self.pos);
    }

    /// `byte` (never white space) next, eaten ([`space::eat`]).
    #[inline(always)]
    fn eat(&mut self, byte: u8) -> bool {
        space::eat(self.b, &mut self.pos, byte)
    }

    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        space::peek(self.b, &mut self.pos)
    }

    pub fn at_end(&mut self) -> bool {
        self.space();
        self.pos == self.b.len()
    }

    /// A string without escapes (a field name, an id): its text.
    #[inline(always)]
    fn plain_string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.pos;
        let len = ascii_stop(&self.b[start..])?;
        let stop = start + len;
        if self.b[stop] == b'"' {
            self.pos = stop + 1;
            // SAFETY: `ascii_stop` passed only bytes in 0x20..0x80 before the quote: ASCII,
            // valid UTF-8 as it is.
            return Some(unsafe { std::str::from_utf8_unchecked(&self.b[start..stop]) });
        }
        self.plain_text(start, stop)
    }

    /// The rest of [`Skim::plain_string`] from `stop`, where the ASCII run before it ends at
    /// no quote: non-ASCII text, checked to its end (which must be the closing quote), or an
    /// escape (declined). Out of line: names and ids are ASCII.
    #[cold]
    #[inline(never)]
    fn plain_text(&mut self, start: usize, stop: usize) -> Option<&'a str> {
        let end = self.checked_string(stop)?;
        let body = &self.b[start..end - 1];
        if body[stop - start..].contains(&b'\\') {
            return None;
        }
        self.pos = end;
        std::str::from_utf8(body).ok()
    }

    /// Past the string whose body goes on at `from`, by the full check (escapes, UTF-8).
    fn checked_string(&mut self, from: usize) -> Option<usize> {
        skip_string(self.b, from)
    }

    /// Any string, checked (escapes, UTF-8); returns where its body starts.
    #[inline(always)]
    fn string(&mut self) -> Option<usize> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.pos + 1;
        // A plain ASCII run needs no check but its end; anything else the full check.
        let stop = start + ascii_stop(&self.b[start..])?;
        self.pos = match self.b[stop] {
            b'"' => stop + 1,
            _ => self.checked_string(stop)?,
        };
        Some(start)
    }

    /// A value of any kind, checked and skipped: a scalar here (most skipped values), a
    /// container by [`Skim::container`], out of line (this path keeps a light call).
    fn skip(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => self.container(depth),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// An object or an array at nesting `depth`, checked and skipped; nothing nested deeper
    /// than [`MAX_DEPTH`].
    #[inline(never)]
    fn container(&mut self, depth: usize) -> Option<()> {
        self.container_with(depth, Self::skip)
    }

    /// [`Skim::container`], each value in it read by `value` (given its depth).
    #[inline(always)]
    fn container_with(
        &mut self,
        depth: usize,
        mut value: impl FnMut(&mut Self, usize) -> Option<()>,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let object = self.b[self.pos] == b'{';
        self.pos += 1;
        let close = if object { b'}' } else { b']' };
        if self.eat(close) {
            return Some(());
        }
        // A value in it is at `depth + 1`: none is read past the bound.
        if depth == MAX_DEPTH {
            return None;
        }
        loop {
            if object {
                self.string()?;
                if !self.eat(b':') {
                    return None;
                }
            }
            value(self, depth + 1)?;
            if self.eat(close) {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.pos..]
            .starts_with(word)
            .then(|| self.pos += word.len())
    }

    fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal(b"null").is_some()
    }

    /// An integer or a plain decimal; exponents and long numbers are left to serde_json
    /// (which refuses what overflows a float).
    fn number(&mut self) -> Option<()> {
        self.pos = skipped_number_end(self.b, self.pos)?;
        Some(())
    }

    /// Walks an object: `field` is called with each name and must consume its value.
    pub fn object(&mut self, field: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        self.fields(field)
    }

    /// The rest of an object from a field's name on (after its `{` or a comma): its fields,
    /// each passed to `field` as in [`Skim::object`], and its closing brace.
    pub fn fields(&mut self, mut field: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        loop {
            let name = self.plain_string()?;
            if !self.eat(b':') {
                return None;
            }
            field(self, name)?;
            if self.eat(b'}') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// Walks an array: `item` must consume each element.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if !self.eat(b'[') {
            return None;
        }
        if self.eat(b']') {
            return Some(());
        }
        loop {
            item(self)?;
            if self.eat(b']') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    pub fn skip_value(&mut self) -> Option<()> {
        self.skip(1)
    }

    /// A value checked and skipped, as [`Skim::skip_value`]; a string or a number noted in
    /// `holes` (its bytes may change without changing what the reader makes of the event).
    pub fn skip_noted(&mut self, holes: &mut Holes) -> Option<()> {
        if let Some((start, end, hole)) = self.skip_noting()? {
            holes.note(start, end, hole);
        }
        Some(())
    }

    /// A value checked and skipped, as [`Skim::skip_value`]; an object or an array noted whole
    /// in `holes` as a [`Hole::Value`] (its contents may change, shape and all, without
    /// changing what the reader makes of the event).
    pub fn skip_noted_container(&mut self, holes: &mut Holes) -> Option<()> {
        if !matches!(self.peek()?, b'{' | b'[') {
            return self.skip_value();
        }
        let start = self.pos;
        self.skip_value()?;
        holes.note(start, self.pos, Hole::Value);
        Some(())
    }

    /// A value checked and skipped, as [`Skim::skip_noted`]: the hole it would note (none for
    /// a value that is neither a string nor a number), for a reader that notes it later.
    pub fn skip_noting(&mut self) -> Option<Option<(usize, usize, Hole)>> {
        let hole = match self.peek()? {
            b'"' => {
                let start = self.string()?;
                (start, self.pos, Hole::Str)
            }
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                self.number()?;
                (start, self.pos, Hole::Num)
            }
            _ => return self.skip_value().map(|()| None),
        };
        Some(Some(hole))
    }

    /// A value checked and skipped, as [`Skim::skip_value`]: an object or an array noted
    /// whole as [`Skim::skip_noted_container`] notes it, a string or a number as
    /// [`Skim::skip_noted`] does. For a field a reader skips whose value changes shape from
    /// event to event (OpenRouter's `reasoning_details`: empty, then the reasoning text again,
    /// then a signature).
    pub fn skip_noted_any(&mut self, holes: &mut Holes) -> Option<()> {
        match self.peek()? {
            b'{' | b'[' => self.skip_noted_container(holes),
            _ => self.skip_noted(holes),
        }
    }

    /// `null` (None) or a string (its body's start, for `count_string`); anything else fails.
    pub fn null_or_string(&mut self) -> Option<Option<usize>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(Some)
    }

    /// `null` (None) or a string without escapes; anything else fails.
    pub fn null_or_plain(&mut self) -> Option<Option<&'a str>> {
        if self.null() {
            return Some(None);
        }
        self.plain_string().map(Some)
    }

    /// `null` (`None`), or a token count: a plain non-negative integer up to
    /// [`tree::MAX_COUNT`]. Anything else (a fraction, an exponent, a sign, a larger number, a
    /// string) gives `None` overall: the full parse decides what it is and notes it.
    pub fn null_or_count(&mut self) -> Option<Option<u64>> {
        let b = self.b;
        if self.peek()? == b'n' {
            return self.literal(b"null").map(|()| None);
        }
        // Digits summed as they are found (at most 13 of them: no overflow).
        let (start, mut pos, mut count) = (self.pos, self.pos, 0u64);
        while let Some(&c) = b.get(pos) {
            let digit = c.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            if pos - start == 13 {
                return None;
            }
            count = count * 10 + u64::from(digit);
            pos += 1;
        }
        let n = pos - start;
        if n == 0 || (n > 1 && b[start] == b'0') {
            return None;
        }
        if matches!(b.get(pos), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.pos = pos;
        (count <= tree::MAX_COUNT).then_some(Some(count))
    }

    /// Where the reader is (past any white space): the start of the next value.
    pub fn position(&mut self) -> usize {
        self.space();
        self.pos
    }

    pub fn at_object(&mut self) -> bool {
        self.peek() == Some(b'{')
    }

    /// Whether the next value is a string (white space skipped).
    pub fn at_string(&mut self) -> bool {
        self.peek() == Some(b'"')
    }

    /// A number: where its text is (a plain decimal, as [`Skim::skip_value`] accepts); any
    /// other value checked and skipped (`None`).
    pub fn number_or_skip(&mut self) -> Option<Option<(usize, usize)>> {
        if !matches!(self.peek()?, b'-' | b'0'..=b'9') {
            return self.skip_value().map(|()| None);
        }
        let start = self.pos;
        self.number()?;
        Some(Some((start, self.pos)))
    }

    /// An object's fields walked by `field`; any other value checked and skipped (the tree
    /// paths read into objects only).
    pub fn object_or_skip(
        &mut self,
        field: impl FnMut(&mut Self, &str) -> Option<()>,
    ) -> Option<()> {
        if self.at_object() {
            self.object(field)
        } else {
            self.skip_value()
        }
    }

    /// An array's items each read by `item`; any other value checked and skipped (the tree
    /// paths read into arrays only).
    pub fn array_or_skip(&mut self, item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if self.peek() == Some(b'[') {
            self.array(item)
        } else {
            self.skip_value()
        }
    }

    /// A string (its body's start, for `count_string`), or any other value checked and skipped
    /// (`None`): what `Value::as_str` makes of a field.
    pub fn string_or_skip(&mut self) -> Option<Option<usize>> {
        if self.at_string() {
            return self.null_or_string();
        }
        self.skip_value().map(|()| None)
    }

    /// A string without escapes (its text), or any other value checked and skipped (`None`):
    /// what `tree::string` makes of a field; a string with escapes declines (`None` overall).
    pub fn plain_or_skip(&mut self) -> Option<Option<&'a str>> {
        if self.at_string() {
            return self.null_or_plain();
        }
        self.skip_value().map(|()| None)
    }

    /// An object read by `read`: `Some(None)` for a value that is not an object (checked and
    /// skipped: `null` where a provider leaves it empty); `None` when `read` gives up.
    pub fn object_or_null<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<Option<T>> {
        if !self.at_object() {
            return self.skip_value().map(|()| None);
        }
        read(self).map(Some)
    }

    /// An object read by `read`, with where it is in the text (to keep it as text): `Some(None)`
    /// for a value that is not an object (checked and skipped); `None` when `read` gives up.
    pub fn object_and_span<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<Option<(T, (usize, usize))>> {
        if !self.at_object() {
            return self.skip_value().map(|()| None);
        }
        let start = self.position();
        let value = read(self)?;
        Some(Some((value, (start, self.position()))))
    }

    /// Only `null` is accepted.
    pub fn expect_null(&mut self) -> Option<()> {
        self.null().then_some(())
    }

    /// Goes on reading from byte `pos` (where an earlier read of the same bytes left off).
    pub fn resume_at(&mut self, pos: usize) {
        let pos = pos.min(self.b.len());
        // Bytes jumped over were not read here: not known to be UTF-8.
        self.read_all &= pos <= self.pos;
        self.pos = pos;
    }

    /// The bytes read.
    pub fn bytes(&self) -> &'a [u8] {
        self.b
    }

    /// The text of a value it read whole (its span, as [`Skim::object_and_span`] gives it):
    /// valid UTF-8 (`None` only if it is not). Not checked again when the reader read every
    /// byte before it, the usual event: it checked them as it read them.
    pub fn text_at(&self, (start, end): (usize, usize)) -> Option<&'a str> {
        let bytes = self.b.get(start..end).filter(|_| end <= self.pos)?;
        let boundary = |at: usize| self.b.get(at).map_or(true, |&c| (c as i8) >= -0x40);
        if self.read_all && boundary(start) && boundary(end) {
            // SAFETY: the bytes before `pos` are valid UTF-8, checked as they were read (only
            // ASCII outside strings; a string with a byte >= 0x80 checked whole), and the span
            // starts and ends at a character's boundary: valid UTF-8 on its own.
            return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        std::str::from_utf8(bytes).ok()
    }
}

/// Past the JSON value at `b[pos..]` (white space before it allowed), checked as
/// [`Skim::skip_value`] checks it: a skeleton's [`Hole::Value`].
pub fn value_end(b: &[u8], pos: usize) -> Option<usize> {
    let mut skim = Skim::new(b);
    skim.resume_at(pos);
    skim.skip_value()?;
    Some(skim.pos)
}

/// Sets `slot` once; a field seen twice (last one wins in serde_json) makes the reader give up
/// and leave the event to the full parse.
pub fn once<T>(slot: &mut Option<T>, seen: &mut bool, value: Option<T>) -> Option<()> {
    if std::mem::replace(seen, true) {
        return None;
    }
    *slot = value;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(json: &str) -> bool {
        let mut skim = Skim::new(json.as_bytes());
        skim.skip_value().is_some() && skim.at_end()
    }

    #[test]
    fn accepts_only_what_serde_reads_the_same() {
        for ok in crate::scan::VALID_JSON {
            assert!(valid(ok), "{ok}");
            assert!(serde_json::from_str::<serde_json::Value>(ok).is_ok());
        }
        for no in crate::scan::INVALID_JSON {
            assert!(!valid(no), "{no}");
        }
    }

    /// Containers nested up to `MAX_DEPTH` are read, empty at the bound too; a value inside
    /// the deepest one is not (serde_json's own bound is deeper: the event goes to it).
    #[test]
    fn nesting_stops_at_the_bound() {
        let nested = |depth: usize, inner: &str| {
            let (open, close) = ("[".repeat(depth), "]".repeat(depth));
            let obj = format!("{}{inner}{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            [format!("{open}{inner}{close}"), obj]
        };
        for json in nested(MAX_DEPTH - 1, "1") {
            assert!(valid(&json));
        }
        for json in nested(MAX_DEPTH, "1") {
            assert!(!valid(&json));
            assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
        }
        assert!(valid(&nested(MAX_DEPTH - 1, "[]")[0]));
        assert!(valid(&nested(MAX_DEPTH - 1, "{}")[1]));
        assert!(!valid(&nested(MAX_DEPTH, "[]")[0]));
    }

    /// Bytes, not text: invalid UTF-8 anywhere (in a string, a name, outside strings) is
    /// refused as serde_json refuses it; valid text of any kind is read.
    #[test]
    fn reads_bytes_checking_utf8_where_it_is_not_ascii() {
        for no in [
            &b"\"\xff\""[..],
            b"{\"a\":\"x\xc3\"}",
            b"{\"\xe9\":1}",
            b"[1,\xff]",
            b"\"\xed\xa0\x80\"", // a surrogate's encoding
        ] {
            let mut skim = Skim::new(no);
            assert!(skim.skip_value().is_none() || !skim.at_end(), "{no:?}");
            assert!(
                std::str::from_utf8(no).is_err()
                    || serde_json::from_slice::<serde_json::Value>(no).is_err()
            );
        }
        let json = "{\"caf\u{e9}\":\"\u{1F600} ok\",\"b\":\"a\\u00e9\"}";
        let mut skim = Skim::new(json.as_bytes());
        let mut read = Vec::new();
        skim.object(|skim, name| {
            let value = match name {
                "b" => skim.null_or_string().map(|_| None)?,
                _ => skim.null_or_plain()?,
            };
            read.push((name.to_owned(), value.map(str::to_owned)));
            Some(())
        })
        .unwrap();
        assert!(skim.at_end());
        let caf = ("caf\u{e9}".to_owned(), Some("\u{1F600} ok".to_owned()));
        assert_eq!(read, [caf, ("b".to_owned(), None)]);
        // An escape is no plain text.
        assert_eq!(Skim::new(b"\"a\\u00e9\"").null_or_plain(), None);
        assert_eq!(Skim::new("\"\u{e9}\\n\"".as_bytes()).null_or_plain(), None);
    }

    /// Counts as the tree takes them (plain integers up to `MAX_COUNT`), `null` as none; the
    /// rest (a fraction, an exponent, a sign, a leading zero, 14 digits) left to the tree.
    #[test]
    fn counts_are_plain_integers_up_to_the_bound() {
        let cases: [(&str, Option<Option<u64>>); 16] = [
            ("0", Some(Some(0))),
            ("7}", Some(Some(7))),
            (" 42,", Some(Some(42))),
            ("1000000000000", Some(Some(tree::MAX_COUNT))),
            ("1000000000001", None),
            ("9999999999999", None),
            ("99999999999999", None),
            ("00", None),
            ("0123", None),
            ("1.0", None),
            ("1e3", None),
            ("2E3", None),
            ("-1", None),
            ("null", Some(None)),
            ("nul", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let mut skim = Skim::new(text.as_bytes());
            assert_eq!(skim.null_or_count(), expected, "{text:?}");
        }
    }

    /// A value's text: not checked again where every byte before it was read (non-ASCII text
    /// included: checked as it was read), checked after a jump over unread bytes; a span that
    /// cuts a character in two is no text.
    #[test]
    fn text_at_is_the_value_text() {
        for json in [
            r#"{"u":{"n":1,"t":"x"},"z":0}"#,
            "{\"u\":{\"n\":1,\"t\":\"\u{e9}\"},\"z\":0}",
            "{\"a\":\"\u{e9}\",\"u\":{\"n\":1},\"z\":0}",
        ] {
            let mut skim = Skim::new(json.as_bytes());
            let mut span = None;
            skim.object(|skim, name| match name {
                "u" => skim
                    .object_and_span(|s| s.skip_value())
                    .map(|v| span = v.map(|v| v.1)),
                _ => skim.skip_value(),
            })
            .unwrap();
            let (start, end) = span.unwrap();
            assert_eq!(skim.text_at((start, end)), Some(&json[start..end]));
            assert_eq!(skim.text_at((start, json.len() + 1)), None);
            if let Some(e) = json.find('\u{e9}') {
                assert_eq!(skim.text_at((e + 1, json.len())), None, "{json}");
                assert_eq!(skim.text_at((0, e + 1)), None, "{json}");
            }
        }
        let mut skim = Skim::new(b"{\"a\":1}");
        assert!(skim.read_all);
        skim.resume_at(3);
        assert!(!skim.read_all, "a jump over bytes not read");
    }
}
