//! The few vector operations the kernels use, over 16 or 32 byte lanes (memchr's `Vector`
//! trait, cut to what is needed here). A kernel written once over this trait compiles to SSE2,
//! AVX2 or plain Rust, depending on the type it is instantiated with.

/// A vector of `LANES` bytes.
///
/// # Safety
///
/// Every method is `unsafe`: the implementation may use instructions the processor must have
/// (AVX2 for `__m256i`). A caller runs them only where the type's instruction set is available:
/// the baseline ones anywhere, the wide ones inside a function compiled for them, entered
/// through [`crate::simd::dispatch`] or after [`crate::simd::wide`] said yes. Every method is
/// `#[inline(always)]`, so that it compiles inside that function with its instruction set.
pub(crate) trait Vector: Copy {
    /// Bytes in one vector (16 or 32): a movemask has this many bits.
    const LANES: usize;

    /// Every lane set to `byte`.
    unsafe fn splat(byte: u8) -> Self;

    /// `LANES` bytes from `data`, which need not be aligned.
    ///
    /// # Safety
    /// `data` must be valid for reading `LANES` bytes.
    unsafe fn load(data: *const u8) -> Self;

    /// 0xFF in the lanes where the bytes are equal, 0 elsewhere.
    unsafe fn cmpeq(self, other: Self) -> Self;

    /// 0xFF in the lanes where `self > other` as signed bytes (`i8`), 0 elsewhere: bytes of
    /// 0x80 and more are negative.
    unsafe fn gt_signed(self, other: Self) -> Self;

    unsafe fn and(self, other: Self) -> Self;

    unsafe fn or(self, other: Self) -> Self;

    unsafe fn xor(self, other: Self) -> Self;

    /// The top bit of each lane, lane `i` at bit `i`.
    unsafe fn movemask(self) -> u32;

    /// Whether every bit is 0: one test (AVX2's `vptest`) where the instruction set has it.
    unsafe fn is_zero(self) -> bool;

    /// The set bits of a movemask, by the fastest means this instruction set has.
    unsafe fn count_ones(mask: u32) -> u32;

    /// The bits of a movemask's first `n` (0..=`LANES`) lanes.
    #[inline(always)]
    unsafe fn first_lanes(mask: u32, n: usize) -> u32 {
        (u64::from(mask) & ((1u64 << n) - 1)) as u32
    }

    /// `self < other` as signed bytes.
    #[inline(always)]
    unsafe fn lt_signed(self, other: Self) -> Self {
        other.gt_signed(self)
    }

    /// `lo <= self <= hi` as signed bytes; `lo` above `i8::MIN` and `hi` below `i8::MAX`
    /// (as bytes: neither 0x80 nor 0x7F).
    #[inline(always)]
    unsafe fn between_signed(self, lo: u8, hi: u8) -> Self {
        let below = Self::splat(lo.wrapping_sub(1));
        let above = Self::splat(hi.wrapping_add(1));
        self.gt_signed(below).and(self.lt_signed(above))
    }
}
