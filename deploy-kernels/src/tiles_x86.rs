//! The AVX2 + FMA register of the depthwise and pool tiles and its runner, handed out by
//! `runners` only after a run-time check that the CPU has them.

use std::arch::x86_64::*;

use super::{Lanes, Step, tiles};
use crate::depthwise::{Geometry, Scratch};

/// Only handed out by `runners` on a CPU with AVX2 and FMA.
pub(super) fn avx2<S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    #[allow(unsafe_code)]
    // SAFETY: `runners` hands this out only after checking the CPU has AVX2 and FMA, all
    // `run_avx2` requires.
    unsafe {
        run_avx2::<S>(g, s, k, bias, y)
    }
}

#[target_feature(enable = "avx2,fma")]
fn run_avx2<S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    tiles::<Avx2, S>(g, s, k, bias, y)
}

/// One AVX2 register; only built inside `run_avx2` (its methods inline there).
#[derive(Clone, Copy)]
struct Avx2(__m256);

#[allow(unsafe_code)]
impl Lanes for Avx2 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        // SAFETY (this impl): reached only from `run_avx2`, on a CPU with AVX2 and FMA; every
        // load and store is of a slice checked to hold its 8 floats.
        Avx2(unsafe { _mm256_set1_ps(v) })
    }

    #[inline(always)]
    fn fma(self, w: Self, src: &[f32]) -> Self {
        let src = &src[..8];
        Avx2(unsafe { _mm256_fmadd_ps(w.0, _mm256_loadu_ps(src.as_ptr()), self.0) })
    }

    #[inline(always)]
    fn max(self, src: &[f32]) -> Self {
        let src = &src[..8];
        // A NaN in `src` is passed over, as `f32::max` does.
        Avx2(unsafe { _mm256_max_ps(_mm256_loadu_ps(src.as_ptr()), self.0) })
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..8];
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), self.0) }
    }
}
