//! A forward-only JSON reader over bytes, for the general fast readers: walks objects key by
//! key in any order and any white space, skips (and checks) what it is not asked for, counts a
//! string's text in the same pass that checks it. It gives up (`None`) on anything it cannot
//! read exactly as serde_json would: escapes in names, exponents, long numbers, deep nesting,
//! invalid UTF-8, a raw control character; the caller then parses the event with serde_json.

use crate::scan::holes::{Hole, Holes};
use crate::scan::space;
use crate::scan::strings::{ascii_stop, count_string, skip_string};
use crate::textstats::TextStats;

/// serde_json refuses nesting deeper than 127; stop well before that.
const MAX_DEPTH: usize = 64;

pub struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    pub fn new(b: &'a [u8]) -> Self {
        Cursor { b, pos: 0 }
    }

    /// Past JSON white space ([`space::skip`]).
    #[inline(always)]
    fn space(&mut self) {
        space::skip(self.b, &mut self.pos);
    }

    #[inline(always)]
    pub fn peek(&mut self) -> Option<u8> {
        space::peek(self.b, &mut self.pos)
    }

    /// `byte` (never white space) next, eaten ([`space::eat`]).
    #[inline(always)]
    fn eat(&mut self, byte: u8) -> bool {
        space::eat(self.b, &mut self.pos, byte)
    }

    /// Only white space is left.
    #[inline]
    pub fn at_end(&mut self) -> bool {
        self.space();
        self.pos == self.b.len()
    }

    /// An object's `{`: `Some(true)` when a first name follows, `Some(false)` for `{}`.
    #[inline(always)]
    pub fn open(&mut self) -> Option<bool> {
        if !self.eat(b'{') {
            return None;
        }
        Some(!self.eat(b'}'))
    }

    /// After a value in an object: `Some(true)` at a comma (a name follows), `Some(false)` at
    /// the closing brace.
    #[inline(always)]
    pub fn next(&mut self) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Some(true)
            }
            b'}' => {
                self.pos += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// A field's name and its colon: the name's bytes, which hold no escape (a name with one
    /// might equal a name the reader looks for: the caller gives up instead).
    #[inline(always)]
    pub fn name(&mut self) -> Option<&'a [u8]> {
        let name = self.plain_string()?;
        self.eat(b':').then_some(name)
    }

    /// A string without escapes (a type, an id): its bytes, checked as UTF-8.
    #[inline(always)]
    pub fn plain_string(&mut self) -> Option<&'a [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.pos;
        let mut len = ascii_stop(&self.b[start..])?;
        if self.b[start + len] >= 0x80 {
            // Non-ASCII text: checked to its end, which must be the closing quote.
            let end = skip_string(self.b, start + len)?;
            if self.b[start..end - 1].contains(&b'\\') {
                return None;
            }
            len = end - 1 - start;
        } else if self.b[start + len] != b'"' {
            return None;
        }
        self.pos = start + len + 1;
        Some(&self.b[start..start + len])
    }

    /// A string counted into `stats` (escapes decoded), checked as it is counted, and noted in
    /// `holes` as a counted hole. `stats` may be partly updated when it returns `None`.
    #[inline(always)]
    pub fn count_noted(&mut self, stats: &mut TextStats, holes: &mut Holes) -> Option<()> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.pos;
        self.pos = count_string(self.b, start, stats)?;
        holes.note(start, self.pos, Hole::Count);
        Some(())
    }

    /// A value checked and skipped, as [`Cursor::skip_value`]; a string or a number noted in
    /// `holes` (its bytes may change without changing what the reader makes of the event).
    #[inline]
    pub fn skip_noted(&mut self, holes: &mut Holes) -> Option<()> {
        match self.peek()? {
            b'"' => {
                let start = self.pos + 1;
                self.skip_string()?;
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

    /// `null` (`None`) or a string without escapes (its bytes, as [`Cursor::plain_string`]);
    /// anything else gives `None` overall.
    #[inline]
    pub fn null_or_plain(&mut self) -> Option<Option<&'a [u8]>> {
        if self.null() {
            return Some(None);
        }
        self.plain_string().map(Some)
    }

    /// `null` (`None`) or any string, checked and skipped: where its body starts (for
    /// `count_string`); anything else gives `None` overall.
    #[inline]
    pub fn null_or_string(&mut self) -> Option<Option<usize>> {
        if self.null() {
            return Some(None);
        }
        if !self.at_string() {
            return None;
        }
        let start = self.pos + 1;
        self.skip_string()?;
        Some(Some(start))
    }

    /// `null` next, eaten.
    #[inline]
    fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal(b"null").is_some()
    }

    /// Whether the next value is a string (white space skipped).
    #[inline(always)]
    pub fn at_string(&mut self) -> bool {
        self.peek() == Some(b'"')
    }

    /// Whether the next value is an object (white space skipped).
    #[inline(always)]
    pub fn at_object(&mut self) -> bool {
        self.peek() == Some(b'{')
    }

    /// A value of any kind, checked and skipped.
    #[inline]
    pub fn skip_value(&mut self) -> Option<()> {
        self.skip(1)
    }

    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' => {
                self.pos += 1;
                if self.eat(b'}') {
                    return Some(());
                }
                loop {
                    if self.peek() != Some(b'"') {
                        return None;
                    }
                    self.skip_string()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    self.skip(depth + 1)?;
                    if !self.next()? {
                        return Some(());
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

    /// A string at the cursor, checked and skipped: a plain ASCII run at once, the rest (escapes,
    /// non-ASCII text) by the full check.
    #[inline(always)]
    fn skip_string(&mut self) -> Option<()> {
        let start = self.pos + 1;
        let stop = start + ascii_stop(&self.b[start..])?;
        self.pos = match self.b[stop] {
            b'"' => stop + 1,
            _ => skip_string(self.b, stop)?,
        };
        Some(())
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.pos..]
            .starts_with(word)
            .then(|| self.pos += word.len())
    }

    /// An integer or a plain decimal; exponents and long numbers are left to serde_json
    /// (which refuses what overflows a float).
    #[inline]
    fn number(&mut self) -> Option<()> {
        self.pos = skipped_number_end(self.b, self.pos)?;
        Some(())
    }
}

/// Past the number at `pos` as a learned layout's number hole takes one: an integer or a
/// plain decimal of at most 15 bytes, not followed by an exponent; `None` for anything else.
#[inline(always)]
pub fn number_end(b: &[u8], start: usize) -> Option<usize> {
    number_within(b, start, 15)
}

/// The longest number the in-place readers skip: below 1e300 whatever its digits, a finite
/// double that serde_json accepts too (a 19-digit `seed` is common: Together).
const MAX_NUMBER: usize = 300;

/// Past the number at `pos` as the in-place readers skip one: as [`number_end`], up to
/// [`MAX_NUMBER`] bytes.
#[inline(always)]
pub fn skipped_number_end(b: &[u8], start: usize) -> Option<usize> {
    number_within(b, start, MAX_NUMBER)
}

#[inline(always)]
fn number_within(b: &[u8], start: usize, max: usize) -> Option<usize> {
    // A plain loop: an iterator's take_while costs twice its instructions on short numbers.
    let digits = |from: usize| {
        let mut at = from;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        at - from
    };
    let mut pos = start + usize::from(b.get(start) == Some(&b'-'));
    let int = digits(pos);
    if int == 0 || (int > 1 && b[pos] == b'0') {
        return None;
    }
    pos += int;
    if b.get(pos) == Some(&b'.') {
        let frac = digits(pos + 1);
        if frac == 0 {
            return None;
        }
        pos += 1 + frac;
    }
    let ok = pos - start <= max && !matches!(b.get(pos), Some(b'e' | b'E'));
    ok.then_some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(json: &str) -> bool {
        let mut c = Cursor::new(json.as_bytes());
        c.skip_value().is_some() && c.at_end()
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
        let mut c = Cursor::new(b"\"\xff\"");
        assert!(c.skip_value().is_none());
    }

    #[test]
    fn names_with_escapes_or_bad_text_are_refused() {
        assert!(Cursor::new(br#"{"t\u0079pe":1}"#).open().is_some());
        let mut c = Cursor::new(br#"{"t\u0079pe":1}"#);
        c.open();
        assert!(c.name().is_none());
        let mut c = Cursor::new(b"{\"\xff\":1}");
        c.open();
        assert!(c.name().is_none());
        let mut c = Cursor::new(b" { \"type\" :\t\"x\" } ");
        assert_eq!(c.open(), Some(true));
        assert_eq!(c.name(), Some(&b"type"[..]));
        assert_eq!(c.plain_string(), Some(&b"x"[..]));
        assert_eq!(c.next(), Some(false));
        assert!(c.at_end());
    }
}
