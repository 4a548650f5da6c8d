//! Amazon Bedrock: the messages of an AWS event stream (InvokeModelWithResponseStream `chunk`
//! events holding base64 model events, ConverseStream events), exception messages, and
//! Converse bodies.

pub mod tree;
pub mod usage;

use serde_json::Value;

/// A Converse body (`output` with a message, or its usage).
pub fn looks_like(value: &Value) -> bool {
    let output = value.get("output").and_then(|o| o.get("message")).is_some();
    let usage = value
        .get("usage")
        .and_then(|u| u.get("inputTokens"))
        .is_some();
    output || usage
}

/// Standard base64 (with or without padding); `None` for anything else.
pub fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_round_trips() {
        assert_eq!(
            super::base64_decode(b"eyJhIjoxfQ==").as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(super::base64_decode(b"YWI").as_deref(), Some(&b"ab"[..]));
        assert_eq!(super::base64_decode(b"a$"), None);
    }
}
