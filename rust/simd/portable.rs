//! [`Vector`] in plain Rust, 16 bytes as an array: the kernels on processors without the
//! x86_64 paths (aarch64 among them, where the compiler vectorises much of it), and the
//! reference the vector types are tested against.

use super::vector::Vector;

/// 16 bytes, one lane each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Portable(pub(crate) [u8; 16]);

impl Portable {
    #[inline(always)]
    fn zip(self, other: Self, f: impl Fn(u8, u8) -> u8) -> Self {
        let mut out = [0u8; 16];
        for (o, (a, b)) in out.iter_mut().zip(self.0.into_iter().zip(other.0)) {
            *o = f(a, b);
        }
        Portable(out)
    }
}

/// 0xFF for true, 0 for false: a lane of a comparison's result.
#[inline(always)]
fn lane(hit: bool) -> u8 {
    if hit {
        0xFF
    } else {
        0
    }
}

impl Vector for Portable {
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn splat(byte: u8) -> Self {
        Portable([byte; 16])
    }

    #[inline(always)]
    unsafe fn load(data: *const u8) -> Self {
        // SAFETY: the caller's contract: `data` is valid for reading 16 bytes.
        Portable(unsafe { data.cast::<[u8; 16]>().read_unaligned() })
    }

    #[inline(always)]
    unsafe fn cmpeq(self, other: Self) -> Self {
        self.zip(other, |a, b| lane(a == b))
    }

    #[inline(always)]
    unsafe fn gt_signed(self, other: Self) -> Self {
        self.zip(other, |a, b| lane(a as i8 > b as i8))
    }

    #[inline(always)]
    unsafe fn and(self, other: Self) -> Self {
        self.zip(other, |a, b| a & b)
    }

    #[inline(always)]
    unsafe fn or(self, other: Self) -> Self {
        self.zip(other, |a, b| a | b)
    }

    #[inline(always)]
    unsafe fn xor(self, other: Self) -> Self {
        self.zip(other, |a, b| a ^ b)
    }

    #[inline(always)]
    unsafe fn movemask(self) -> u32 {
        self.0
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &b)| mask | u32::from(b >> 7) << i)
    }

    #[inline(always)]
    unsafe fn is_zero(self) -> bool {
        self.0 == [0; 16]
    }

    #[inline(always)]
    unsafe fn count_ones(mask: u32) -> u32 {
        mask.count_ones()
    }
}
