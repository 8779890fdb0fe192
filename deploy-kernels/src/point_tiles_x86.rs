//! The x86-64 register types of the 1×1 tiles (AVX-512, AVX2 + FMA), each reached only
//! through tiles made after a run-time check that the CPU has it (`Tiles::of`).

use super::{Tile, Vector, tile};
use std::arch::x86_64::*;

/// Only reached through `Tiles::of(Isa::Avx2)`, made on a CPU with AVX2 and FMA.
pub(super) fn avx2<const MR: usize, const RELU: bool>(t: Tile, y: &mut [&mut [f32]]) {
    #[allow(unsafe_code)]
    // SAFETY: `Tiles::of` makes AVX2 tiles only where `Isa::available` found AVX2 and FMA.
    unsafe {
        avx2_tile::<MR, RELU>(t, y)
    }
}

#[target_feature(enable = "avx2,fma")]
fn avx2_tile<const MR: usize, const RELU: bool>(t: Tile, y: &mut [&mut [f32]]) {
    tile::<Avx2, MR, 2, RELU>(t, y)
}

/// Only reached through `Tiles::of(Isa::Avx512)`, made on a CPU with AVX-512F.
pub(super) fn avx512<const MR: usize, const RELU: bool>(t: Tile, y: &mut [&mut [f32]]) {
    #[allow(unsafe_code)]
    // SAFETY: `Tiles::of` makes AVX-512 tiles only where `Isa::available` found AVX-512F.
    unsafe {
        avx512_tile::<MR, RELU>(t, y)
    }
}

#[target_feature(enable = "avx512f")]
fn avx512_tile<const MR: usize, const RELU: bool>(t: Tile, y: &mut [&mut [f32]]) {
    tile::<Avx512, MR, 2, RELU>(t, y)
}

/// One AVX-512 register; only built inside `avx512_tile`.
#[derive(Clone, Copy)]
struct Avx512(__m512);

#[allow(unsafe_code)]
impl Vector for Avx512 {
    const WIDTH: usize = 16;

    #[inline(always)]
    fn splat(v: f32) -> Self {
        // SAFETY (this impl): reached only from `avx512_tile`, on a CPU with AVX-512F;
        // every load and store is of a slice checked to hold its 16 floats.
        Avx512(unsafe { _mm512_set1_ps(v) })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..16];
        Avx512(unsafe { _mm512_loadu_ps(src.as_ptr()) })
    }

    #[inline(always)]
    fn relu(self) -> Self {
        Avx512(unsafe { _mm512_max_ps(self.0, _mm512_setzero_ps()) })
    }

    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_add_ps(self.0, other.0) })
    }

    #[inline(always)]
    fn mul_add(self, x: Self, acc: Self) -> Self {
        Avx512(unsafe { _mm512_fmadd_ps(self.0, x.0, acc.0) })
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..16];
        unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), self.0) }
    }
}

/// One AVX2 register; only built inside `avx2_tile`.
#[derive(Clone, Copy)]
struct Avx2(__m256);

#[allow(unsafe_code)]
impl Vector for Avx2 {
    const WIDTH: usize = 8;

    #[inline(always)]
    fn splat(v: f32) -> Self {
        // SAFETY (this impl): reached only from `avx2_tile`, on a CPU with AVX2 and FMA;
        // every load and store is of a slice checked to hold its 8 floats.
        Avx2(unsafe { _mm256_set1_ps(v) })
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let src = &src[..8];
        Avx2(unsafe { _mm256_loadu_ps(src.as_ptr()) })
    }

    #[inline(always)]
    fn relu(self) -> Self {
        Avx2(unsafe { _mm256_max_ps(self.0, _mm256_setzero_ps()) })
    }

    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_add_ps(self.0, other.0) })
    }

    #[inline(always)]
    fn mul_add(self, x: Self, acc: Self) -> Self {
        Avx2(unsafe { _mm256_fmadd_ps(self.0, x.0, acc.0) })
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..8];
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), self.0) }
    }
}
