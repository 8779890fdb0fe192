//! The x86-64 registers of the depthwise and pool tiles (AVX-512, AVX2 + FMA) and their
//! runners, each handed out by `runners` only after a run-time check that the CPU has it.

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

/// Only handed out by `runners` on a CPU with AVX-512F, for rows a whole number of 16 wide.
pub(super) fn avx512<S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    #[allow(unsafe_code)]
    // SAFETY: `runners` hands this out only after checking the CPU has AVX-512F, all
    // `run_avx512` requires.
    unsafe {
        run_avx512::<S>(g, s, k, bias, y)
    }
}

#[target_feature(enable = "avx2,fma")]
fn run_avx2<S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    tiles::<Avx2, S>(g, s, k, bias, y)
}

#[target_feature(enable = "avx512f")]
fn run_avx512<S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    tiles::<Avx512, S>(g, s, k, bias, y)
}

/// One AVX2 register; only built inside `run_avx2` (its methods inline there).
#[derive(Clone, Copy)]
struct Avx2(__m256);

#[allow(unsafe_code)]
impl Lanes for Avx2 {
    const WIDTH: usize = 8;

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

/// One AVX-512 register; only built inside `run_avx512`.
#[derive(Clone, Copy)]
struct Avx512(__m512);

#[allow(unsafe_code)]
impl Lanes for Avx512 {
    const WIDTH: usize = 16;

    #[inline(always)]
    fn splat(v: f32) -> Self {
        // SAFETY (this impl): reached only from `run_avx512`, on a CPU with AVX-512F; every
        // load and store is of a slice checked to hold its 16 floats.
        Avx512(unsafe { _mm512_set1_ps(v) })
    }

    #[inline(always)]
    fn fma(self, w: Self, src: &[f32]) -> Self {
        let src = &src[..16];
        Avx512(unsafe { _mm512_fmadd_ps(w.0, _mm512_loadu_ps(src.as_ptr()), self.0) })
    }

    #[inline(always)]
    fn max(self, src: &[f32]) -> Self {
        let src = &src[..16];
        // As AVX2's: the second operand (the accumulator) wins over a NaN.
        Avx512(unsafe { _mm512_max_ps(_mm512_loadu_ps(src.as_ptr()), self.0) })
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..16];
        unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), self.0) }
    }
}
