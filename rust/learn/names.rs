//! A cheap hash of the short names (model names, calibration keys, stop reasons) that a
//! `finish()` looks up once or twice: the multiply-rotate of rustc's `FxHasher`, eight bytes a
//! step. SipHash's keyed rounds cost more than the rest of a lookup, and these tables are
//! bounded (at most a few thousand names), so a crafted collision costs a slower lookup at
//! worst.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The hash of `bytes` (their length included).
#[inline]
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = NameHasher(bytes.len() as u64);
    h.write(bytes);
    h.finish()
}

/// The last `n` bytes of `bytes` (1 to 7 of them) as one word, read without a call to copy
/// them: the last eight bytes shifted when there are eight, else in pieces of 4, 2 and 1.
#[inline]
fn tail_word(bytes: &[u8], n: usize) -> u64 {
    let len = bytes.len();
    if len >= 8 {
        let last = u64::from_le_bytes(bytes[len - 8..].try_into().unwrap_or_default());
        return last >> (8 * (8 - n));
    }
    let (mut word, mut at) = (0u64, 0);
    if n & 4 != 0 {
        let piece = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
        word = u64::from(piece);
        at += 4;
    }
    if n & 2 != 0 {
        let piece = u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap_or_default());
        word |= u64::from(piece) << (8 * at);
        at += 2;
    }
    if n & 1 != 0 {
        word |= u64::from(bytes[at]) << (8 * at);
    }
    word
}

#[derive(Default, Clone, Copy)]
pub(crate) struct NameHasher(u64);

impl NameHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for NameHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            self.add(tail_word(bytes, rest.len()));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap`'s hasher of names.
pub(crate) type Names = BuildHasherDefault<NameHasher>;

#[cfg(test)]
mod tests {
    use super::hash_bytes;

    #[test]
    fn reads_the_tail_as_a_copy_would() {
        let text = b"claude-sonnet-4-5-20250929";
        for len in 0..=text.len() {
            let bytes = &text[..len];
            let n = len % 8;
            if n == 0 {
                continue;
            }
            let mut last = [0u8; 8];
            last[..n].copy_from_slice(&bytes[len - n..]);
            assert_eq!(
                super::tail_word(bytes, n),
                u64::from_le_bytes(last),
                "{len}"
            );
        }
    }

    #[test]
    fn tells_names_apart() {
        let names = [
            "",
            "a",
            "claude-sonnet-4",
            "claude-sonnet-4-5",
            "end_turn",
            "x\0",
        ];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(
                    hash_bytes(a.as_bytes()),
                    hash_bytes(b.as_bytes()),
                    "{a:?} {b:?}"
                );
            }
        }
    }
}
