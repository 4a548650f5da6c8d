//! Which vector instructions the hot paths use: SSE2 always (part of the x86_64 baseline),
//! and AVX2 with POPCNT (32 bytes a step, and a popcount instruction) where the processor has
//! both. `SSEUSAGE_FAST_SIMD=sse2` keeps to the baseline: how the tests cover both paths on
//! one machine.

use std::sync::OnceLock;

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
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("popcnt")
}

#[cfg(not(target_arch = "x86_64"))]
fn detected() -> bool {
    false
}
