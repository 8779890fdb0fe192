//! The multiply-adds (or maxima, for max pooling) of a plane, in tiles of register accumulators.
//!
//! Outputs are computed in tiles of rows × chunks whose accumulators stay in registers across all
//! the kernel's taps: eight of them, to cover the latency of a fused multiply-add, so a tap costs
//! one load and one multiply-add per register of outputs. Compiled for AVX2 + FMA (chosen at run
//! time) and portably (which aarch64's baseline NEON vectorises); each output is the bias, then
//! one multiply-add per tap in order, on either. No AVX-512 tiles: they ran DARTS_V2's 32×32
//! depthwise convs 1.4× faster alone but only 1.08× in the network (1.96 → 1.81 ms, the maps
//! coming from memory), not worth their 11 KB in the size-optimised binary.

use crate::depthwise::{Geometry, LANES, Scratch};

/// What runs the tiles of a plane (the fastest this CPU has, or the portable one).
pub(crate) type Runner = fn(&Geometry, &Scratch, &[f32], f32, &mut [f32]);

/// The fastest runner of step `S` this CPU has: AVX2 + FMA on most x86-64, else the portable one.
pub(crate) fn runner<S: Step>() -> Runner {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return x86::avx2::<S>;
    }
    portable::<S>
}

/// Every runner of step `S` this CPU has, fastest first.
#[cfg(test)]
pub(crate) fn runners<S: Step>() -> Vec<(&'static str, Runner)> {
    let mut all: Vec<(&'static str, Runner)> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        all.push(("avx2", x86::avx2::<S>));
    }
    all.push(("portable", portable::<S>));
    all
}

/// The portable tiles (see [`tiles`] for their shapes).
pub(crate) fn portable<S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    tiles::<Portable, S>(g, s, k, bias, y)
}

/// A register of [`LANES`] floats and the operations the tiles need.
pub(crate) trait Lanes: Copy {
    /// Tiles of one register (smallest code, not fastest).
    const COMPACT: bool = false;
    fn splat(v: f32) -> Self;
    /// `self + w · src[..LANES]`
    fn fma(self, w: Self, src: &[f32]) -> Self;
    /// `max(self, src[..LANES])`
    fn max(self, src: &[f32]) -> Self;
    /// Into `dst[..LANES]`.
    fn store(self, dst: &mut [f32]);
}

/// What one tap does to the accumulators.
pub(crate) trait Step {
    /// A convolution's (all tile shapes); a pool's take one, for size (four pools in a DARTS
    /// network).
    const CONV: bool;
    fn step<V: Lanes>(acc: V, w: V, src: &[f32]) -> V;
}

/// A convolution's tap: `acc + w · x`.
pub(crate) struct MulAdd;

impl Step for MulAdd {
    const CONV: bool = true;

    #[inline(always)]
    fn step<V: Lanes>(acc: V, w: V, src: &[f32]) -> V {
        acc.fma(w, src)
    }
}

/// A max pool's tap: `max(acc, x)` (the weights are not read).
pub(crate) struct Max;

impl Step for Max {
    const CONV: bool = false;

    #[inline(always)]
    fn step<V: Lanes>(acc: V, _: V, src: &[f32]) -> V {
        acc.max(src)
    }
}

/// Covers the output with tiles of eight accumulators — 2 rows × 4 chunks, 4 × 2 or 8 × 1 as the
/// chunks per row divide, then single rows — for convolutions; 8 × 1 for pools; 1 × 1 for the
/// portable tiles on x86-64.
#[inline(always)]
fn tiles<V: Lanes, S: Step>(g: &Geometry, s: &Scratch, k: &[f32], bias: f32, y: &mut [f32]) {
    // On x86-64 the portable tiles serve only CPUs without AVX2 (before 2013): one small shape
    // there keeps ~60 KB of unrolled code out of the size-optimised binary.
    if V::COMPACT {
        return tiles_of::<V, S, 1, 1>(g, s, k, bias, y);
    }
    if !S::CONV {
        return tiles_of::<V, S, 8, 1>(g, s, k, bias, y);
    }
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
                Some(dst) => acc[r][c].store(dst),
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
    const COMPACT: bool = cfg!(target_arch = "x86_64");

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
    fn store(self, dst: &mut [f32]) {
        dst[..LANES].copy_from_slice(&self.0);
    }
}

#[cfg(target_arch = "x86_64")]
#[path = "tiles_x86.rs"]
mod x86;
