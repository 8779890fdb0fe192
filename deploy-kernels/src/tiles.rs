//! The multiply-adds (or maxima, for max pooling) of a plane, in tiles of register accumulators.
//!
//! Outputs are computed in tiles of rows × chunks whose accumulators stay in registers across all
//! the kernel's taps: eight of them, to cover the latency of a fused multiply-add, so a tap costs
//! one load and one multiply-add per [`LANES`] outputs. Compiled twice on x86-64 (AVX2 + FMA,
//! chosen at run time, and the portable version, which aarch64's baseline NEON vectorises).

use crate::depthwise::{Geometry, LANES, Scratch};

/// What runs the tiles of a plane (the fastest this CPU has, or the portable one).
pub(crate) type Runner = fn(&Geometry, &Scratch, &[f32], f32, &mut [f32]);

/// The fastest runner of step `S` this CPU has: AVX2 + FMA on most x86-64, else the portable one.
pub(crate) fn runner<S: Step>() -> Runner {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return avx2_checked::<S>;
    }
    portable::<S>
}

/// Only returned by [`runner`] on a CPU with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
fn avx2_checked<S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    #[allow(unsafe_code)]
    // SAFETY: `runner` hands this out only after checking the CPU has AVX2 and FMA, all
    // `run_avx2` requires.
    unsafe {
        run_avx2::<S>(g, s, k, bias, y)
    }
}

/// Covers the output with tiles of eight accumulators: 2 rows × 4 chunks, 4 × 2 or 8 × 1 (as
/// the chunks per row divide), then single rows.
pub(crate) fn portable<S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    tiles::<Portable, S>(g, s, k, bias, y)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2<S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    tiles::<avx2::Avx2, S>(g, s, k, bias, y)
}

/// A register of [`LANES`] floats and the operations the tiles need.
pub(crate) trait Lanes: Copy {
    fn splat(v: f32) -> Self;
    /// `self + w · src[..LANES]`
    fn fma(self, w: Self, src: &[f32]) -> Self;
    /// `max(self, src[..LANES])`
    fn max(self, src: &[f32]) -> Self;
    fn store(self, dst: &mut [f32; LANES]);
}

/// What one tap does to the accumulators.
pub(crate) trait Step {
    fn step<V: Lanes>(acc: V, w: V, src: &[f32]) -> V;
}

/// A convolution's tap: `acc + w · x`.
pub(crate) struct MulAdd;

impl Step for MulAdd {
    #[inline(always)]
    fn step<V: Lanes>(acc: V, w: V, src: &[f32]) -> V {
        acc.fma(w, src)
    }
}

/// A max pool's tap: `max(acc, x)` (the weights are not read).
pub(crate) struct Max;

impl Step for Max {
    #[inline(always)]
    fn step<V: Lanes>(acc: V, _: V, src: &[f32]) -> V {
        acc.max(src)
    }
}

#[inline(always)]
fn tiles<V: Lanes, S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    match g.output[1].div_ceil(LANES) {
        c if c % 4 == 0 => tiles_of::<V, S, 2, 4>(g, s, k, bias, y),
        c if c % 2 == 0 => tiles_of::<V, S, 4, 2>(g, s, k, bias, y),
        _ => tiles_of::<V, S, 8, 1>(g, s, k, bias, y),
    }
}

#[inline(always)]
fn tiles_of<V: Lanes, S: Step, const R: usize, const C: usize>(
    g: &Geometry,
    s: &Scratch,
    k: &[f32],
    bias: f32,
    y: &mut [f32],
) {
    let ho = g.output[0];
    let chunks = g.output[1].div_ceil(LANES);
    for oy in (0..ho).step_by(R) {
        for x0 in (0..chunks).step_by(C).map(|c| c * LANES) {
            if oy + R <= ho {
                tile::<V, S, R, C>(g, s, k, bias, y, oy, x0);
            } else {
                for r in oy..ho {
                    tile::<V, S, 1, C>(g, s, k, bias, y, r, x0);
                }
            }
        }
    }
}

/// Output rows `oy0..oy0 + R`, columns `x0..x0 + C·LANES` (those that exist).
#[inline(always)]
fn tile<V: Lanes, S: Step, const R: usize, const C: usize>(
    g: &Geometry,
    s: &Scratch,
    k: &[f32],
    bias: f32,
    y: &mut [f32],
    oy0: usize,
    x0: usize,
) {
    let mut acc = [[V::splat(bias); C]; R];
    let first = oy0 * s.row + x0;
    // One bounds check per tap: the rows of a tile read one window of the padded plane.
    let window = (R - 1) * s.row + C * LANES;
    for (&at, &w) in s.taps.iter().zip(k) {
        let w = V::splat(w);
        let src = &s.plane[first + at..][..window];
        unroll!(r < R => {
            let row = &src[r * s.row..];
            unroll!(c < C => { acc[r][c] = S::step(acc[r][c], w, &row[c * LANES..]); });
        });
    }
    let wo = g.output[1];
    unroll!(r < R => {
        let out = &mut y[(oy0 + r) * wo..][..wo];
        unroll!(c < C => {
            let x = x0 + c * LANES;
            match out.get_mut(x..x + LANES) {
                Some(dst) => acc[r][c].store(dst.try_into().expect("LANES floats")),
                None if x < wo => {
                    let mut lanes = [0f32; LANES];
                    acc[r][c].store(&mut lanes);
                    out[x..].copy_from_slice(&lanes[..wo - x]);
                }
                None => {}
            }
        });
    });
}

/// Plain arrays: vectorised by the compiler for the target's baseline.
#[derive(Clone, Copy)]
struct Portable([f32; LANES]);

impl Lanes for Portable {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        Portable([v; LANES])
    }

    #[inline(always)]
    fn fma(self, w: Self, src: &[f32]) -> Self {
        // aarch64's baseline has a fused multiply-add; elsewhere `mul_add` is a libm call.
        Portable(std::array::from_fn(|i| {
            if cfg!(target_arch = "aarch64") {
                w.0[i].mul_add(src[i], self.0[i])
            } else {
                self.0[i] + w.0[i] * src[i]
            }
        }))
    }

    #[inline(always)]
    fn max(self, src: &[f32]) -> Self {
        Portable(std::array::from_fn(|i| self.0[i].max(src[i])))
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32; LANES]) {
        *dst = self.0;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LANES, Lanes};
    use std::arch::x86_64::{
        __m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_max_ps, _mm256_set1_ps, _mm256_storeu_ps,
    };

    /// One AVX2 register; only built inside `run_avx2` (its methods inline there).
    #[derive(Clone, Copy)]
    pub(super) struct Avx2(__m256);

    #[allow(unsafe_code)]
    impl Lanes for Avx2 {
        #[inline(always)]
        fn splat(v: f32) -> Self {
            // SAFETY: reached only from `run_avx2`, on a CPU with AVX2 and FMA.
            Avx2(unsafe { _mm256_set1_ps(v) })
        }

        #[inline(always)]
        fn fma(self, w: Self, src: &[f32]) -> Self {
            let src = &src[..LANES];
            // SAFETY: as above; `src` holds the LANES floats the unaligned load reads.
            Avx2(unsafe { _mm256_fmadd_ps(w.0, _mm256_loadu_ps(src.as_ptr()), self.0) })
        }

        #[inline(always)]
        fn max(self, src: &[f32]) -> Self {
            let src = &src[..LANES];
            // SAFETY: as above. (A NaN in `src` is passed over, as `f32::max` does.)
            Avx2(unsafe { _mm256_max_ps(_mm256_loadu_ps(src.as_ptr()), self.0) })
        }

        #[inline(always)]
        fn store(self, dst: &mut [f32; LANES]) {
            // SAFETY: as above; `dst` has room for the LANES floats stored.
            unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), self.0) }
        }
    }
}
