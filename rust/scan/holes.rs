//! The holes of an event: the values whose bytes may change without changing what a reader
//! makes of the event (the skeletons' holes). A leaf: the readers note holes, the
//! skeletons keep them.

/// What may fill a hole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hole {
    /// A JSON string's body and closing quote (the literal before it ends in the opening
    /// quote), checked as the readers check a string they skip.
    Str,
    /// The same, its text counted.
    Count,
    /// A number, as the readers skip one: an integer or a plain decimal, at most 15 bytes.
    Num,
    /// Spaces and tabs, any number (the padding some streams put before the closing brace).
    Blanks,
    /// An SSE `id` field's value: to the line's end, without NUL, not starting with a space.
    Id,
    /// An object or an array, checked and skipped as the readers skip a value they do not read
    /// (a chat choice's `logprobs`, whose shape changes from chunk to chunk).
    Value,
    /// No hole: the skeleton ends with the literal before it.
    End,
}

/// Holes noted in one event at most; an event with more is not learned.
pub const MAX_HOLES: usize = 12;

/// The holes a reader noted in an event: `(start, end, hole)`, in the event's data.
#[derive(Debug, Clone, Copy)]
pub struct Holes {
    spans: [(usize, usize, Hole); MAX_HOLES],
    len: usize,
    overflow: bool,
}

impl Default for Holes {
    fn default() -> Self {
        Holes {
            spans: [(0, 0, Hole::End); MAX_HOLES],
            len: 0,
            overflow: false,
        }
    }
}

impl Holes {
    pub fn clear(&mut self) {
        self.len = 0;
        self.overflow = false;
    }

    /// Notes a hole from `start` to `end` (for a string: from its body's first byte to just
    /// past its closing quote).
    #[inline]
    pub fn note(&mut self, start: usize, end: usize, hole: Hole) {
        match self.spans.get_mut(self.len) {
            Some(slot) => {
                *slot = (start, end, hole);
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    /// The holes noted, unless there were too many.
    pub fn spans(&self) -> Option<&[(usize, usize, Hole)]> {
        (!self.overflow).then(|| &self.spans[..self.len])
    }
}
