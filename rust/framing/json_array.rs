//! A JSON array read element by element as it arrives (Gemini's `streamGenerateContent`
//! without `alt=sse`): each top-level element is handed on when it ends, so memory holds one
//! element, never the whole body. An element longer than the limit is dropped (the caller is
//! told).

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Before the opening `[`.
    #[default]
    Start,
    /// Between elements (white space, commas).
    Between,
    /// Inside an element.
    Element,
    /// After the closing `]` (the rest is ignored).
    Done,
}

#[derive(Debug, Default)]
pub struct JsonArray {
    place: Place,
    element: Vec<u8>,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The current element passed the limit: its bytes are not kept.
    skipping: bool,
}

impl JsonArray {
    /// Hands each element that ends in `chunk` to `element`; `too_long` for each element over
    /// `max` bytes, which is dropped.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        max: usize,
        element: &mut impl FnMut(&[u8]),
        too_long: &mut impl FnMut(),
    ) {
        for &b in chunk {
            match self.place {
                Place::Start => {
                    if b == b'[' {
                        self.place = Place::Between;
                    } else if !b.is_ascii_whitespace() {
                        self.place = Place::Done; // not an array: nothing to read
                    }
                }
                Place::Between => match b {
                    b']' => self.place = Place::Done,
                    b',' => {}
                    _ if b.is_ascii_whitespace() => {}
                    _ => {
                        self.place = Place::Element;
                        (self.depth, self.in_string, self.escaped) = (0, false, false);
                        self.element_byte(b, max, element, too_long);
                    }
                },
                Place::Element => self.element_byte(b, max, element, too_long),
                Place::Done => return,
            }
        }
    }

    fn element_byte(
        &mut self,
        b: u8,
        max: usize,
        element: &mut impl FnMut(&[u8]),
        too_long: &mut impl FnMut(),
    ) {
        let mut end = None; // the element ends: with this byte (true) or before it (false)
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
        } else {
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        end = Some(true);
                    }
                }
                b']' => {
                    // A scalar element, and the array's end.
                    end = Some(false);
                    self.place = Place::Done;
                }
                b',' if self.depth == 0 => end = Some(false),
                _ => {}
            }
        }
        if end != Some(false) && !self.skipping {
            if self.element.len() >= max {
                self.element = Vec::new();
                self.skipping = true;
                too_long();
            } else {
                self.element.push(b);
            }
        }
        if end.is_some() {
            if !self.skipping {
                let text = std::mem::take(&mut self.element);
                let text = text.trim_ascii();
                if !text.is_empty() {
                    element(text);
                }
            }
            self.skipping = false;
            self.element.clear();
            if self.place == Place::Element {
                self.place = Place::Between;
            }
        }
    }

    /// The unfinished last element, when the body was cut inside one.
    pub fn take_tail(&mut self) -> Option<Vec<u8>> {
        let tail = std::mem::take(&mut self.element);
        (self.place == Place::Element && !self.skipping && !tail.trim_ascii().is_empty())
            .then_some(tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(chunks: &[&[u8]], max: usize) -> (Vec<Vec<u8>>, usize) {
        let mut a = JsonArray::default();
        let (mut out, mut long) = (Vec::new(), 0);
        for chunk in chunks {
            a.feed(chunk, max, &mut |e| out.push(e.to_vec()), &mut || long += 1);
        }
        (out, long)
    }

    #[test]
    fn elements_in_any_chunking() {
        let body: &[u8] = br#" [ {"a":"x,]}\"y"} ,[1,[2]], 3 ,"s]" ]  trailing"#;
        let whole = elements(&[body], 64);
        let want: Vec<Vec<u8>> = [&br#"{"a":"x,]}\"y"}"#[..], b"[1,[2]]", b"3", br#""s]""#]
            .iter()
            .map(|e| e.to_vec())
            .collect();
        assert_eq!(whole, (want, 0));
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(elements(&bytes, 64), whole);
        let (out, long) = elements(&[br#"[{"a":"0123456789"},{}]"#], 8);
        assert_eq!((out, long), (vec![b"{}".to_vec()], 1));
    }

    #[test]
    fn a_cut_element_is_the_tail() {
        let mut a = JsonArray::default();
        a.feed(br#"[{"a":1},{"b""#, 64, &mut |_| {}, &mut || {});
        assert_eq!(a.take_tail().as_deref(), Some(&br#"{"b""#[..]));
    }
}
