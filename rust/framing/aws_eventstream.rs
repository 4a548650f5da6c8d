//! The AWS event stream (`application/vnd.amazon.eventstream`, Bedrock's streaming APIs):
//! binary messages of a prelude (total length, headers length, prelude CRC32), headers, a
//! payload and a message CRC32, in any chunking. Both CRCs are checked; a message longer than
//! the limit is refused, never buffered; the first fault stops the reading.

/// Prelude (12 bytes) and message CRC (4 bytes).
const OVERHEAD: usize = 16;

/// The headers a meter reads, and the payload.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Message<'a> {
    pub message_type: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub exception_type: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
    pub payload: &'a [u8],
}

/// Why the stream cannot be read on (each said in the record's error message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    PreludeCrc { at: u64 },
    MessageCrc { at: u64 },
    Headers { at: u64 },
    TooLarge { at: u64, length: u64 },
}

impl Fault {
    pub fn message(&self) -> String {
        match self {
            Fault::PreludeCrc { at } => {
                format!("AWS event stream: prelude CRC mismatch in the message at byte {at}")
            }
            Fault::MessageCrc { at } => {
                format!("AWS event stream: message CRC mismatch in the message at byte {at}")
            }
            Fault::Headers { at } => {
                format!("AWS event stream: malformed headers in the message at byte {at}")
            }
            Fault::TooLarge { at, length } => format!(
                "AWS event stream: a message of {length} bytes at byte {at} is invalid or exceeds max_event_bytes"
            ),
        }
    }
}

/// The unfinished message between reads.
#[derive(Debug, Default)]
pub struct EventStream {
    buf: Vec<u8>,
    /// Where `buf` starts in the stream.
    offset: u64,
    failed: bool,
}

impl EventStream {
    /// Hands each whole message in the stream so far to `message`; the first fault is
    /// returned, and everything after it ignored.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        max: usize,
        message: &mut impl FnMut(&Message),
    ) -> Result<(), Fault> {
        if self.failed {
            return Ok(());
        }
        self.buf.extend_from_slice(chunk);
        let mut pos = 0;
        let result = loop {
            let rest = &self.buf[pos..];
            let at = self.offset + pos as u64;
            if rest.len() < 12 {
                break Ok(());
            }
            let total = be32(&rest[0..4]) as usize;
            let headers = be32(&rest[4..8]) as usize;
            if crc32(&rest[..8]) != be32(&rest[8..12]) {
                break Err(Fault::PreludeCrc { at });
            }
            if total < OVERHEAD + headers || total > max.saturating_add(OVERHEAD) {
                break Err(Fault::TooLarge {
                    at,
                    length: total as u64,
                });
            }
            if rest.len() < total {
                break Ok(());
            }
            if crc32(&rest[..total - 4]) != be32(&rest[total - 4..total]) {
                break Err(Fault::MessageCrc { at });
            }
            let Some(mut msg) = read_headers(&rest[12..12 + headers]) else {
                break Err(Fault::Headers { at });
            };
            msg.payload = &rest[12 + headers..total - 4];
            message(&msg);
            pos += total;
        };
        if result.is_err() {
            self.failed = true;
            self.buf = Vec::new();
        } else {
            self.buf.drain(..pos);
            self.offset += pos as u64;
        }
        result
    }

    /// Bytes of an unfinished message left at the end of the stream (0 after a fault).
    pub fn unfinished(&self) -> usize {
        self.buf.len()
    }
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// The headers block: name (1-byte length), type, value; the string headers a meter reads.
fn read_headers(mut block: &[u8]) -> Option<Message<'_>> {
    let mut msg = Message::default();
    while !block.is_empty() {
        let name_len = usize::from(*block.first()?);
        let name = std::str::from_utf8(block.get(1..1 + name_len)?).ok()?;
        let kind = *block.get(1 + name_len)?;
        block = &block[2 + name_len..];
        let size = match kind {
            0 | 1 => 0,
            2 => 1,
            3 => 2,
            4 => 4,
            5 | 8 => 8,
            9 => 16,
            6 | 7 => 2 + usize::from(u16::from_be_bytes([*block.first()?, *block.get(1)?])),
            _ => return None,
        };
        let value = block.get(..size)?;
        if kind == 7 {
            let text = std::str::from_utf8(&value[2..]).ok();
            let slot = match name {
                ":message-type" => &mut msg.message_type,
                ":event-type" => &mut msg.event_type,
                ":exception-type" => &mut msg.exception_type,
                ":error-code" => &mut msg.error_code,
                ":error-message" => &mut msg.error_message,
                _ => &mut None,
            };
            *slot = text;
        }
        block = &block[size..];
    }
    Some(msg)
}

/// CRC-32 (IEEE, as zlib), the checksum of the format.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message with string headers.
    pub(crate) fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
        let mut block = Vec::new();
        for (name, value) in headers {
            block.push(name.len() as u8);
            block.extend_from_slice(name.as_bytes());
            block.push(7);
            block.extend_from_slice(&(value.len() as u16).to_be_bytes());
            block.extend_from_slice(value.as_bytes());
        }
        let total = (OVERHEAD + block.len() + payload.len()) as u32;
        let mut out = total.to_be_bytes().to_vec();
        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
        let prelude_crc = crc32(&out);
        out.extend_from_slice(&prelude_crc.to_be_bytes());
        out.extend_from_slice(&block);
        out.extend_from_slice(payload);
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// The messages read (event type, payload) and the first fault.
    type Read = (Vec<(Option<String>, Vec<u8>)>, Option<Fault>);

    fn read(chunks: &[&[u8]], max: usize) -> Read {
        let mut s = EventStream::default();
        let mut out = Vec::new();
        let mut fault = None;
        for chunk in chunks {
            let got = s.feed(chunk, max, &mut |m| {
                out.push((m.event_type.map(str::to_owned), m.payload.to_vec()))
            });
            fault = fault.or(got.err());
        }
        (out, fault)
    }

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn messages_in_any_chunking() {
        let mut body = message(&[(":message-type", "event"), (":event-type", "a")], b"{}");
        body.extend(message(&[(":event-type", "b")], b"[1]"));
        let whole = read(&[&body], 1 << 20);
        assert_eq!(whole.0.len(), 2);
        assert_eq!(whole.1, None);
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(read(&bytes, 1 << 20), whole);
    }

    #[test]
    fn faults_are_told_not_panicked() {
        let body = message(&[(":event-type", "a")], b"{}");
        let mut bad = body.clone();
        bad[8] ^= 1;
        assert_eq!(read(&[&bad], 1 << 20).1, Some(Fault::PreludeCrc { at: 0 }));
        let mut bad = body.clone();
        let n = bad.len();
        bad[n - 6] ^= 1;
        assert_eq!(read(&[&bad], 1 << 20).1, Some(Fault::MessageCrc { at: 0 }));
        let (_, fault) = read(&[&body], 4);
        assert!(matches!(fault, Some(Fault::TooLarge { .. })));
        let mut s = EventStream::default();
        assert!(s
            .feed(&body[..body.len() - 1], 1 << 20, &mut |_| {})
            .is_ok());
        assert_eq!(s.unfinished(), body.len() - 1);
    }
}
