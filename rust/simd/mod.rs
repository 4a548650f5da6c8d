//! Every vector instruction of the crate's text kernels, and the one point that picks them
//! (memchr's `arch/` layout, cut down):
//!
//! - `vector`: the [`Vector`] trait, the dozen operations the kernels use.
//! - `x86` (x86_64): the trait on SSE2's `__m128i` and AVX2's `__m256i`.
//! - `portable`: the trait in plain Rust, for other processors and as the tests' reference.
//! - `text`: the block kernels, each written once over the trait: which lanes end a string's
//!   run, are word characters, white space, padding.
//! - `bytes`: the slice kernels over the trait: the first lane a block kernel marks, equality.
//!
//! [`Narrow`] is the 16-byte vector every processor of this build has (SSE2 is part of the
//! x86_64 baseline): code calls it directly, inlined. The wide one (AVX2, 32 bytes a step, with
//! BMI1, BMI2 and POPCNT, which every AVX2 processor has, for the masks' `tzcnt`, `bzhi`,
//! `andn`) runs only inside a function compiled for it, entered when [`wide`] says so:
//! [`dispatch!`](crate::simd::dispatch) writes that function and the choice once for a kernel.
//! `SSEUSAGE_FAST_SIMD=sse2` keeps to the baseline: how the tests cover both paths on one
//! machine; `each_vector!` runs a test's generic check on every vector type.
//! No other module holds an intrinsic or a `target_feature`.

pub(crate) mod bytes;
#[cfg(any(test, not(target_arch = "x86_64")))]
pub(crate) mod portable;
pub(crate) mod text;
mod vector;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

pub(crate) use vector::Vector;

/// The 16-byte vector of the baseline: SSE2 on x86_64, plain Rust elsewhere.
#[cfg(target_arch = "x86_64")]
pub(crate) type Narrow = std::arch::x86_64::__m128i;
#[cfg(not(target_arch = "x86_64"))]
pub(crate) type Narrow = portable::Portable;

/// Whether the AVX2 paths may run: decided once per process.
pub fn wide() -> bool {
    static WIDE: OnceLock<bool> = OnceLock::new();
    *WIDE.get_or_init(|| {
        let baseline = std::env::var_os("SSEUSAGE_FAST_SIMD").is_some_and(|v| v == "sse2");
        !baseline && detected()
    })
}

#[cfg(target_arch = "x86_64")]
fn detected() -> bool {
    std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("bmi1")
        && std::is_x86_feature_detected!("bmi2")
        && std::is_x86_feature_detected!("popcnt")
}

#[cfg(not(target_arch = "x86_64"))]
fn detected() -> bool {
    false
}

/// Runs the generic kernel `$kernel::<V>` with the widest [`Vector`] this process may use: a
/// function compiled for AVX2, BMI1, BMI2 and POPCNT around `$kernel::<__m256i>` when [`wide`]
/// says so, else `$kernel::<Narrow>`. The arguments are named as the caller's variables, with
/// their types (the compiled function takes them as parameters); the kernel's other type
/// arguments follow `V`, and the compiled function's generic parameters come first, in
/// brackets:
///
/// ```ignore
/// let (stats, buf) = (self, text.as_bytes());
/// simd::dispatch!(count::<V>(stats: &mut TextStats, buf: &[u8]))
/// simd::dispatch!([E, F: Fn(&E)] each::<V, E>(items: &[E], f: F) -> usize)
/// ```
///
/// `$kernel` must be an `unsafe fn` generic over `V: Vector` and `#[inline(always)]`, so that
/// it compiles inside the AVX2 function with AVX2.
macro_rules! dispatch {
    ($([$($generics:tt)*])? $kernel:ident::<V $(, $more:ty)*>($($arg:ident: $ty:ty),* $(,)?)
     $(-> $ret:ty)?) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
            unsafe fn wide_kernel$(<$($generics)*>)?($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: this function's target features are those the kernel's vector needs.
                unsafe { $kernel::<std::arch::x86_64::__m256i $(, $more)*>($($arg),*) }
            }
            // Out of line too: inlined, the baseline's copy of the kernel would take the
            // caller's registers and stack on the usual (wide) path.
            #[inline(never)]
            unsafe fn narrow_kernel$(<$($generics)*>)?($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the narrow vector is the baseline's.
                unsafe { $kernel::<$crate::simd::Narrow $(, $more)*>($($arg),*) }
            }
            if $crate::simd::wide() {
                // SAFETY: `wide()`: the processor has AVX2, BMI1, BMI2 and POPCNT.
                unsafe { wide_kernel($($arg),*) }
            } else {
                // SAFETY: the baseline's vector.
                unsafe { narrow_kernel($($arg),*) }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            // SAFETY: the narrow vector is the baseline's.
            unsafe { $kernel::<$crate::simd::Narrow $(, $more)*>($($arg),*) }
        }
    }};
}
pub(crate) use dispatch;

/// Inside a kernel generic over `$v` (already running with its instructions): calls the
/// generic kernel `$kernel::<$v>` out of line, a function of its own compiled for `$v` (for
/// AVX2's vector, with AVX2, BMI1, BMI2 and POPCNT), so that a loop of its own keeps its
/// registers instead of sharing the caller's. Written as [`dispatch!`]'s argument, after `$v;`.
macro_rules! out_of_line {
    ($v:ty; $([$($generics:tt)*])? $kernel:ident::<V $(, $more:ty)*>($($arg:ident: $ty:ty),* $(,)?)
     $(-> $ret:ty)?) => {{
        // The 32-lane vector is AVX2's; every other runs without target features.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
        #[inline(never)]
        unsafe fn wide_kernel$(<$($generics)*>)?($($arg: $ty),*) $(-> $ret)? {
            // SAFETY: this function's target features are those the kernel's vector needs.
            unsafe { $kernel::<std::arch::x86_64::__m256i $(, $more)*>($($arg),*) }
        }
        #[inline(never)]
        unsafe fn other_kernel<V: $crate::simd::Vector $(, $($generics)*)?>($($arg: $ty),*)
            $(-> $ret)? {
            // SAFETY: the caller's contract: `V`'s instructions are available.
            unsafe { $kernel::<V $(, $more)*>($($arg),*) }
        }
        #[cfg(target_arch = "x86_64")]
        {
            if <$v as $crate::simd::Vector>::LANES == 32 {
                // SAFETY: the caller runs the 32-lane vector: the processor has AVX2,
                // BMI1, BMI2 and POPCNT.
                unsafe { wide_kernel($($arg),*) }
            } else {
                // SAFETY: the caller's contract.
                unsafe { other_kernel::<$v $(, $more)*>($($arg),*) }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            // SAFETY: the caller's contract.
            unsafe { other_kernel::<$v $(, $more)*>($($arg),*) }
        }
    }};
}
pub(crate) use out_of_line;

/// For the tests: runs the generic check `$kernel::<V>` with every vector type this processor
/// has (plain Rust, SSE2, and AVX2 where [`wide`] says so), in one process; written as
/// [`dispatch!`]'s argument, without a result.
#[cfg(test)]
macro_rules! each_vector {
    ($kernel:ident::<V>($($arg:ident: $ty:ty),* $(,)?)) => {{
        // SAFETY: plain Rust.
        unsafe { $kernel::<$crate::simd::portable::Portable>($($arg),*) };
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is the x86_64 baseline.
            unsafe { $kernel::<std::arch::x86_64::__m128i>($($arg),*) };
            #[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
            unsafe fn wide_kernel($($arg: $ty),*) {
                // SAFETY: this function's target features are those the kernel's vector needs.
                unsafe { $kernel::<std::arch::x86_64::__m256i>($($arg),*) }
            }
            if $crate::simd::wide() {
                // SAFETY: `wide()`: the processor has AVX2, BMI1, BMI2 and POPCNT.
                unsafe { wide_kernel($($arg),*) };
            }
        }
    }};
}
#[cfg(test)]
pub(crate) use each_vector;
