//! Amazon Bedrock: the messages of an AWS event stream (InvokeModelWithResponseStream `chunk`
//! events holding base64 model events, ConverseStream events), exception messages, and
//! Converse bodies.

pub mod reader;
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

/// Each base64 character's six bits; `INVALID` for a byte that is none.
const SEXTETS: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i];
        table[c as usize] = i as u8;
        i += 1;
    }
    table
};
const INVALID: u8 = 0xFF;

/// Standard base64 (with or without padding); `None` for anything else. Four characters make
/// three bytes; the bits of a shorter tail make what whole bytes they hold (the rest dropped).
pub fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let (groups, tail) = text.split_at(text.len() / 4 * 4);
    for group in groups.chunks_exact(4) {
        let [a, b, c, d] = [0, 1, 2, 3].map(|k| SEXTETS[usize::from(group[k])]);
        // A sextet is below 64; `INVALID` has the high bits set.
        if (a | b | c | d) >= 64 {
            return None;
        }
        let bits = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        out.extend_from_slice(&bits.to_be_bytes()[1..]);
    }
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in tail {
        let v = SEXTETS[usize::from(c)];
        if v == INVALID {
            return None;
        }
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
    use super::base64_decode;
    use crate::tests::support::Rng;

    #[test]
    fn base64_round_trips() {
        assert_eq!(
            base64_decode(b"eyJhIjoxfQ==").as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(base64_decode(b"YWI").as_deref(), Some(&b"ab"[..]));
        assert_eq!(base64_decode(b"a$"), None);
    }

    /// The rule a character at a time (as the pure twin reads it): the decoder's four at a
    /// time must give the same bytes, or `None`, for any text, valid or not.
    fn one_at_a_time(text: &[u8]) -> Option<Vec<u8>> {
        let text = text
            .strip_suffix(b"==")
            .or_else(|| text.strip_suffix(b"="))
            .unwrap_or(text);
        let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
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

    #[test]
    fn four_at_a_time_decodes_as_one_at_a_time() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut rng = Rng(0xB64);
        for _ in 0..20_000 {
            let len = rng.below(40);
            let mut text: Vec<u8> = (0..len).map(|_| alphabet[rng.below(64)]).collect();
            match rng.below(6) {
                0 => text.push(b'='),
                1 => text.extend_from_slice(b"=="),
                2 if len > 0 => text[rng.below(len)] = [b'=', b'$', b' ', 0xC3][rng.below(4)],
                _ => {}
            }
            assert_eq!(base64_decode(&text), one_at_a_time(&text), "{text:?}");
        }
    }
}
