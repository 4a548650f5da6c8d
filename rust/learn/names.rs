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
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
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
