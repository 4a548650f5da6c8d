//! A slow, literal reference of WHATWG HTML "interpreting an event stream", on a whole stream
//! at once: split into lines at CRLF, LF or CR, drop the unterminated last line, interpret
//! line by line. Over bytes (the implementation's view) or decoded chars (the spec's). Shared
//! by the crate's framing suite and the `framer` fuzz target (which includes this file by path),
//! so it uses nothing of the crate.

#[derive(Debug, PartialEq, Eq)]
pub struct Outcome<T> {
    /// (type, data, last event id) per dispatched event; an empty type means "message".
    pub events: Vec<(Vec<T>, Vec<T>, Vec<T>)>,
    pub last_event_id: Vec<T>,
    pub retry: Option<Vec<T>>,
    pub oversized: usize,
}

/// A unit of the stream: a byte (the implementation's view) or a decoded char (the spec's).
pub trait Unit: Copy + Eq {
    const CR: Self;
    const LF: Self;
    const COLON: Self;
    const SPACE: Self;
    const NUL: Self;
    const ZERO: Self;
    fn is_digit(self) -> bool;
    fn from_ascii(b: u8) -> Self;
}

impl Unit for u8 {
    const CR: u8 = b'\r';
    const LF: u8 = b'\n';
    const COLON: u8 = b':';
    const SPACE: u8 = b' ';
    const NUL: u8 = 0;
    const ZERO: u8 = b'0';
    fn is_digit(self) -> bool {
        self.is_ascii_digit()
    }
    fn from_ascii(b: u8) -> u8 {
        b
    }
}

impl Unit for char {
    const CR: char = '\r';
    const LF: char = '\n';
    const COLON: char = ':';
    const SPACE: char = ' ';
    const NUL: char = '\0';
    const ZERO: char = '0';
    fn is_digit(self) -> bool {
        self.is_ascii_digit()
    }
    fn from_ascii(b: u8) -> char {
        char::from(b)
    }
}

/// The spec, literally, on a whole stream whose BOM is already stripped. Bounds (in units): a
/// line longer than `max_line`, or a data buffer that would exceed `max_event`, drops the event.
pub fn reference<T: Unit>(
    text: &[T],
    initial_id: &[T],
    max_line: usize,
    max_event: usize,
    max_retry_digits: usize,
) -> Outcome<T> {
    let mut lines: Vec<&[T]> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        if text[i] == T::CR || text[i] == T::LF {
            lines.push(&text[start..i]);
            if text[i] == T::CR && i + 1 < text.len() && text[i + 1] == T::LF {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    // text[start..] is unterminated: "pending data must be discarded".

    let mut out = Outcome {
        events: Vec::new(),
        last_event_id: initial_id.to_vec(),
        retry: None,
        oversized: 0,
    };
    let mut data: Vec<T> = Vec::new();
    let mut event_type: Vec<T> = Vec::new();
    let mut id_buffer: Vec<T> = initial_id.to_vec();
    let mut oversized = false;
    for line in lines {
        if line.len() > max_line {
            oversized = true;
            data.clear();
            continue;
        }
        if line.is_empty() {
            out.last_event_id = id_buffer.clone();
            if oversized {
                oversized = false;
                out.oversized += 1;
            } else if !data.is_empty() {
                data.pop(); // the last LF
                out.events
                    .push((event_type.clone(), data.clone(), out.last_event_id.clone()));
            }
            data.clear();
            event_type.clear();
            continue;
        }
        if line[0] == T::COLON {
            continue;
        }
        let (name, value) = match line.iter().position(|&u| u == T::COLON) {
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = if value.first() == Some(&T::SPACE) {
                    &value[1..]
                } else {
                    value
                };
                (&line[..colon], value)
            }
            None => (line, &line[line.len()..]),
        };
        let is = |word: &str| {
            name.len() == word.len()
                && name
                    .iter()
                    .zip(word.bytes())
                    .all(|(&u, b)| T::from_ascii(b) == u)
        };
        if is("event") {
            event_type = value.to_vec();
        } else if is("data") {
            if oversized {
                // The event is already dropped; its data is not kept.
            } else if data.len() + value.len() + 1 > max_event {
                oversized = true;
                data.clear();
            } else {
                data.extend_from_slice(value);
                data.push(T::LF);
            }
        } else if is("id") {
            if !value.contains(&T::NUL) {
                id_buffer = value.to_vec();
            }
        } else if is("retry") && !value.is_empty() && value.iter().all(|u| u.is_digit()) {
            let zeros = value.iter().take_while(|&&u| u == T::ZERO).count();
            let digits = &value[zeros.min(value.len() - 1)..];
            if digits.len() <= max_retry_digits {
                out.retry = Some(digits.to_vec());
            }
        }
    }
    out
}
