//! [`Vector`] on x86_64: SSE2's `__m128i` (part of the x86_64 baseline, so usable anywhere) and
//! AVX2's `__m256i` (only inside functions compiled for AVX2, BMI1, BMI2 and POPCNT, after
//! [`super::wide`] said yes). The only intrinsics of the crate's kernels are here.

use std::arch::x86_64::*;

use super::vector::Vector;

impl Vector for __m128i {
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn splat(byte: u8) -> Self {
        _mm_set1_epi8(byte as i8)
    }

    #[inline(always)]
    unsafe fn load(data: *const u8) -> Self {
        _mm_loadu_si128(data.cast())
    }

    #[inline(always)]
    unsafe fn cmpeq(self, other: Self) -> Self {
        _mm_cmpeq_epi8(self, other)
    }

    #[inline(always)]
    unsafe fn gt_signed(self, other: Self) -> Self {
        _mm_cmpgt_epi8(self, other)
    }

    #[inline(always)]
    unsafe fn and(self, other: Self) -> Self {
        _mm_and_si128(self, other)
    }

    #[inline(always)]
    unsafe fn or(self, other: Self) -> Self {
        _mm_or_si128(self, other)
    }

    #[inline(always)]
    unsafe fn xor(self, other: Self) -> Self {
        _mm_xor_si128(self, other)
    }

    #[inline(always)]
    unsafe fn movemask(self) -> u32 {
        _mm_movemask_epi8(self) as u32
    }

    /// SSE2 has no `ptest` (SSE4.1): a compare with zero and its movemask.
    #[inline(always)]
    unsafe fn is_zero(self) -> bool {
        _mm_movemask_epi8(_mm_cmpeq_epi8(self, _mm_setzero_si128())) == 0xFFFF
    }

    /// A table, unless the build may assume POPCNT: the x86_64 baseline has no POPCNT, and
    /// the software `count_ones` costs three times as much as two lookups.
    #[inline(always)]
    unsafe fn count_ones(mask: u32) -> u32 {
        if cfg!(target_feature = "popcnt") {
            return mask.count_ones();
        }
        const BITS8: [u8; 256] = {
            let mut table = [0u8; 256];
            let mut i = 0;
            while i < 256 {
                table[i] = (i as u32).count_ones() as u8;
                i += 1;
            }
            table
        };
        debug_assert!(mask >> 16 == 0);
        u32::from(BITS8[(mask & 0xFF) as usize]) + u32::from(BITS8[(mask >> 8 & 0xFF) as usize])
    }
}

impl Vector for __m256i {
    const LANES: usize = 32;

    #[inline(always)]
    unsafe fn splat(byte: u8) -> Self {
        _mm256_set1_epi8(byte as i8)
    }

    #[inline(always)]
    unsafe fn load(data: *const u8) -> Self {
        _mm256_loadu_si256(data.cast())
    }

    #[inline(always)]
    unsafe fn cmpeq(self, other: Self) -> Self {
        _mm256_cmpeq_epi8(self, other)
    }

    #[inline(always)]
    unsafe fn gt_signed(self, other: Self) -> Self {
        _mm256_cmpgt_epi8(self, other)
    }

    #[inline(always)]
    unsafe fn and(self, other: Self) -> Self {
        _mm256_and_si256(self, other)
    }

    #[inline(always)]
    unsafe fn or(self, other: Self) -> Self {
        _mm256_or_si256(self, other)
    }

    #[inline(always)]
    unsafe fn xor(self, other: Self) -> Self {
        _mm256_xor_si256(self, other)
    }

    #[inline(always)]
    unsafe fn movemask(self) -> u32 {
        _mm256_movemask_epi8(self) as u32
    }

    #[inline(always)]
    unsafe fn is_zero(self) -> bool {
        _mm256_testz_si256(self, self) == 1
    }

    /// The POPCNT instruction: every AVX2 processor has it, and the AVX2 paths are compiled
    /// for both.
    #[inline(always)]
    unsafe fn count_ones(mask: u32) -> u32 {
        mask.count_ones()
    }

    /// BMI2's `bzhi`: one instruction, 32 lanes included (the AVX2 paths are compiled with
    /// BMI2).
    #[inline(always)]
    unsafe fn first_lanes(mask: u32, n: usize) -> u32 {
        _bzhi_u32(mask, n as u32)
    }
}
