//! Newline-delimited JSON: one value a line, handed on as each line ends. Bounded: a line
//! longer than the limit is dropped (the caller is told), never kept.

/// The unfinished last line between reads.
#[derive(Debug, Default)]
pub struct Ndjson {
    partial: Vec<u8>,
    /// The current line passed the limit: its bytes are skipped up to its end.
    skipping: bool,
}

impl Ndjson {
    /// Hands each line that ends in `chunk` (white space trimmed, empty lines skipped) to
    /// `line`; `too_long` for each line over `max` bytes, which is dropped.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        max: usize,
        line: &mut impl FnMut(&[u8]),
        too_long: &mut impl FnMut(),
    ) {
        let mut rest = chunk;
        while let Some(at) = memchr::memchr(b'\n', rest) {
            let (head, tail) = (&rest[..at], &rest[at + 1..]);
            if self.skipping {
                self.skipping = false;
            } else if self.partial.is_empty() {
                if head.len() > max {
                    too_long();
                } else {
                    emit(head, line);
                }
            } else if self.partial.len() + head.len() > max {
                self.partial.clear();
                too_long();
            } else {
                self.partial.extend_from_slice(head);
                emit(&std::mem::take(&mut self.partial), line);
            }
            rest = tail;
        }
        if self.skipping {
            return;
        }
        if self.partial.len() + rest.len() > max {
            self.partial = Vec::new();
            self.skipping = true;
            too_long();
        } else {
            self.partial.extend_from_slice(rest);
        }
    }

    /// The last line, when the body did not end with a newline.
    pub fn take_tail(&mut self) -> Option<Vec<u8>> {
        let tail = std::mem::take(&mut self.partial);
        (!tail.trim_ascii().is_empty()).then_some(tail)
    }
}

fn emit(text: &[u8], line: &mut impl FnMut(&[u8])) {
    let text = text.trim_ascii();
    if !text.is_empty() {
        line(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]], max: usize) -> (Vec<Vec<u8>>, usize) {
        let mut n = Ndjson::default();
        let (mut out, mut long) = (Vec::new(), 0);
        for chunk in chunks {
            n.feed(chunk, max, &mut |l| out.push(l.to_vec()), &mut || long += 1);
        }
        out.extend(n.take_tail());
        (out, long)
    }

    #[test]
    fn lines_across_chunks_and_limits() {
        let body: &[u8] = b"{\"a\":1}\r\n\n {\"b\":2}\n{\"c\":3}";
        let whole = lines(&[body], 64);
        assert_eq!(whole.0.len(), 3);
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(lines(&bytes, 64), whole);
        let (out, long) = lines(&[b"{\"a\":1}\n0123456789", b"0123\n{}\n"], 8);
        assert_eq!(
            (out, long),
            (vec![b"{\"a\":1}".to_vec(), b"{}".to_vec()], 1)
        );
    }
}
