//! An allocation-free JSON reader for the bulk of a stream's events: it checks the whole
//! event's grammar, picks out the few fields the meter needs, and skips the rest. Anything it
//! is not sure to read exactly as serde_json would (escapes in names, exponents, deep nesting,
//! duplicate fields it reads, unexpected types) makes it give up, and the caller parses the
//! event with serde_json instead.

use crate::scan::cursor::skipped_number_end;
use crate::scan::holes::{Hole, Holes};
use crate::scan::space;
use crate::scan::strings::{skip_string, string_stop};
use crate::scan::tree;

/// serde_json refuses nesting deeper than 127; stop well before that.
const MAX_DEPTH: usize = 64;

pub struct Skim<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Skim<'a> {
    pub fn new(s: &'a str) -> Self {
        Skim {
            s,
            b: s.as_bytes(),
            pos: 0,
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
    #[inline]
    fn plain_string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.pos;
        let len = string_stop(&self.b[start..])?;
        if self.b[start + len] != b'"' {
            return None;
        }
        self.pos = start + len + 1;
        // SAFETY: both ends are at ASCII bytes (after the opening quote, at the closing one):
        // boundaries of the text's characters (a checked slice tested both, every name).
        Some(unsafe { self.s.get_unchecked(start..start + len) })
    }

    /// Any string, checked (escapes included); returns where its body starts.
    fn string(&mut self) -> Option<usize> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.pos + 1;
        // The text is UTF-8 already: a string without escapes needs no check but its end.
        let stop = start + string_stop(&self.b[start..])?;
        self.pos = match self.b[stop] {
            b'"' => stop + 1,
            _ => skip_string(self.b, start)?,
        };
        Some(start)
    }

    /// A value of any kind, checked and skipped.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                self.pos += 1;
                if self.eat(b'}') {
                    return Some(());
                }
                loop {
                    self.string()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    self.skip(depth + 1)?;
                    if self.eat(b'}') {
                        return Some(());
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                if self.eat(b']') {
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if self.eat(b']') {
                        return Some(());
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
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

    fn digits(&mut self) -> usize {
        let n = self.b[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        self.pos += n;
        n
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
        match self.peek()? {
            b'"' => {
                let start = self.string()?;
                holes.note(start, self.pos, Hole::Str);
            }
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                self.number()?;
                holes.note(start, self.pos, Hole::Num);
            }
            _ => self.skip_value()?,
        }
        Some(())
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

    /// Whether the next value is an object (white space skipped).
    /// `null` (`None`), or a token count: a plain non-negative integer up to
    /// [`tree::MAX_COUNT`]. Anything else (a fraction, an exponent, a sign, a larger number, a
    /// string) gives `None` overall: the full parse decides what it is and notes it.
    pub fn null_or_count(&mut self) -> Option<Option<u64>> {
        if self.null() {
            return Some(None);
        }
        let start = self.pos;
        let n = self.digits();
        let digits = &self.b[start..self.pos];
        if n == 0 || n > 13 || (n > 1 && digits[0] == b'0') {
            return None;
        }
        if matches!(self.b.get(self.pos), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        // At most 13 digits: no overflow.
        let count = digits
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
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
        self.pos = pos.min(self.b.len());
    }

    pub fn text(&self) -> &'a str {
        self.s
    }
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
        let mut skim = Skim::new(json);
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
}
