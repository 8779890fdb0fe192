//! 2-D convolution as per-image (and per-group) matrix products over contiguous
//! `[N, C, H, W]` data: `y[n] = W·cols[n]`, `dW = Σ_n g[n]·cols[n]ᵀ`, `dx[n] = col2im(Wᵀ·g[n])`,
//! where `cols[n]` is the `[Ci·kh·kw, Ho·Wo]` im2col matrix of image n (of one group's
//! channels, with groups). Depthwise convolutions have their own kernel ([`super::depthwise`]).
//!
//! Each image's columns live in a per-thread scratch buffer (a few hundred KB, cache-sized)
//! rather than one batch-wide matrix, so nothing large is allocated or zeroed per call; the
//! products ([`super::gemm`]) write straight into the output.

use super::gemm::{Mat, matmul};

/// Kernel size, stride, padding (symmetric), dilation and groups of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
    /// Convolve `relu(x)` instead of `x` (DARTS' sep/dil convs start with a ReLU): fused, no
    /// ReLU tensor is made or kept, and the input gradient is masked by `x > 0`.
    pub relu_input: bool,
}

impl Geometry {
    /// 1×1, stride 1, no padding, groups 1.
    pub fn pointwise() -> Self {
        Geometry {
            kernel: [1, 1],
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
            relu_input: false,
        }
    }

    /// Output side along axis `a` for an input side `size` (0 when the kernel does not fit).
    pub fn out(&self, a: usize, size: usize) -> usize {
        let span = self.dilation[a] * (self.kernel[a].max(1) - 1) + 1;
        (size + 2 * self.padding[a])
            .checked_sub(span)
            .map_or(0, |v| v / self.stride[a].max(1) + 1)
    }

    /// 1×1, stride 1, no padding: an image already is its own column matrix.
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// For output index `o` and tap `k` along axis `a`: the input index, if inside.
    pub(crate) fn src(&self, a: usize, o: usize, k: usize, size: usize) -> Option<usize> {
        let i = (o * self.stride[a] + k * self.dilation[a]) as isize - self.padding[a] as isize;
        (i >= 0 && (i as usize) < size).then_some(i as usize)
    }

    /// Output range `[lo, hi)` along axis `a` whose source (tap `k`) lies inside `size`.
    pub(crate) fn valid(&self, a: usize, k: usize, size: usize, out: usize) -> (usize, usize) {
        let lo = (0..out)
            .find(|&o| self.src(a, o, k, size).is_some())
            .unwrap_or(out);
        let hi = (lo..out)
            .rev()
            .find(|&o| self.src(a, o, k, size).is_some())
            .map_or(lo, |o| o + 1);
        (lo, hi)
    }
}

/// Sizes of one convolution call.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub n: usize,
    pub ci: usize,
    pub h: usize,
    pub w: usize,
    pub co: usize,
}

impl Shape {
    fn out(&self, g: &Geometry) -> (usize, usize) {
        (g.out(0, self.h), g.out(1, self.w))
    }
    /// Rows of one group's column matrix: its input channels × taps.
    fn k(&self, g: &Geometry) -> usize {
        self.ci / g.groups.max(1) * g.kernel[0] * g.kernel[1]
    }
    /// One group's input channels, as a `Shape` of its own.
    fn group(&self, g: &Geometry) -> Shape {
        Shape {
            ci: self.ci / g.groups.max(1),
            co: self.co / g.groups.max(1),
            ..*self
        }
    }
}

/// One image `[ci, h, w]` → its `[ci·kh·kw, ho·wo]` columns, into `cols` (fully written).
fn im2col(x: &[f32], s: &Shape, g: &Geometry, cols: &mut [f32]) {
    let (ho, wo) = s.out(g);
    let [kh, kw] = g.kernel;
    cols.fill(0.0);
    for c in 0..s.ci {
        let plane = &x[c * s.h * s.w..(c + 1) * s.h * s.w];
        for ky in 0..kh {
            let (ylo, yhi) = g.valid(0, ky, s.h, ho);
            for kx in 0..kw {
                let (xlo, xhi) = g.valid(1, kx, s.w, wo);
                let r = (c * kh + ky) * kw + kx;
                let row = &mut cols[r * ho * wo..(r + 1) * ho * wo];
                let x0 = g.src(1, xlo, kx, s.w).unwrap_or(0);
                for oy in ylo..yhi {
                    let Some(sy) = g.src(0, oy, ky, s.h) else {
                        continue;
                    };
                    let src = &plane[sy * s.w..(sy + 1) * s.w];
                    let dst = &mut row[oy * wo + xlo..oy * wo + xhi];
                    if g.stride[1] == 1 {
                        dst.copy_from_slice(&src[x0..x0 + (xhi - xlo)]);
                    } else {
                        for (i, d) in dst.iter_mut().enumerate() {
                            *d = src[x0 + i * g.stride[1]];
                        }
                    }
                }
            }
        }
    }
}

/// Transpose of [`im2col`]: columns summed back into one image `dx` (fully written).
fn col2im(cols: &[f32], s: &Shape, g: &Geometry, dx: &mut [f32]) {
    let (ho, wo) = s.out(g);
    let [kh, kw] = g.kernel;
    dx.fill(0.0);
    for c in 0..s.ci {
        let plane = &mut dx[c * s.h * s.w..(c + 1) * s.h * s.w];
        for ky in 0..kh {
            let (ylo, yhi) = g.valid(0, ky, s.h, ho);
            for kx in 0..kw {
                let (xlo, xhi) = g.valid(1, kx, s.w, wo);
                let r = (c * kh + ky) * kw + kx;
                let row = &cols[r * ho * wo..(r + 1) * ho * wo];
                let x0 = g.src(1, xlo, kx, s.w).unwrap_or(0);
                for oy in ylo..yhi {
                    let Some(sy) = g.src(0, oy, ky, s.h) else {
                        continue;
                    };
                    let dst = &mut plane[sy * s.w..(sy + 1) * s.w];
                    let src = &row[oy * wo + xlo..oy * wo + xhi];
                    if g.stride[1] == 1 {
                        dst[x0..x0 + src.len()]
                            .iter_mut()
                            .zip(src)
                            .for_each(|(d, v)| *d += v);
                    } else {
                        for (i, v) in src.iter().enumerate() {
                            dst[x0 + i * g.stride[1]] += v;
                        }
                    }
                }
            }
        }
    }
}

/// A `len`-float output built from `f(n, piece, scratch)` over its per-image pieces, with one
/// scratch buffer per worker; in parallel when the work is large.
fn per_image<F>(len: usize, piece: usize, scratch: usize, work: usize, f: F) -> Vec<f32>
where
    F: Fn(usize, &mut [f32], &mut Vec<f32>) + Sync + Send,
{
    super::build_with(
        len,
        piece,
        work,
        || vec![0.0f32; scratch],
        |buf, n, o| f(n, o, buf),
    )
}

/// The column matrix `[ci/groups·kh·kw, ho·wo]` of group `grp` of image `n` (a pointwise conv's
/// image already is one; others are unfolded into `cols`).
fn columns<'a>(
    x: &'a [f32],
    n: usize,
    grp: usize,
    s: Shape,
    g: &Geometry,
    cols: &'a mut Vec<f32>,
) -> &'a [f32] {
    let gs = s.group(g);
    let img = &x[(n * s.ci + grp * gs.ci) * s.h * s.w..][..gs.ci * s.h * s.w];
    if g.is_pointwise() {
        img
    } else {
        im2col(img, &gs, g, cols);
        cols
    }
}

/// Forward: `x [n, ci, h, w]`, `weight [co, ci/groups·kh·kw]` → `[n, co, ho·wo]`.
pub fn conv_forward(x: &[f32], weight: &[f32], s: Shape, g: &Geometry) -> Vec<f32> {
    let (ho, wo) = s.out(g);
    let (k, p, gs) = (s.k(g), ho * wo, s.group(g));
    let scratch = if g.is_pointwise() { 0 } else { k * p };
    per_image(
        s.n * s.co * p,
        s.co * p,
        scratch,
        s.n * s.co * p * k,
        |n, out, cols| {
            for grp in 0..g.groups.max(1) {
                let cols = columns(x, n, grp, s, g, cols);
                let w = Mat::new(&weight[grp * gs.co * k..(grp + 1) * gs.co * k], gs.co, k);
                matmul(
                    &mut out[grp * gs.co * p..(grp + 1) * gs.co * p],
                    w,
                    Mat::new(cols, k, p),
                    false,
                );
            }
        },
    )
}

/// Input gradient: `grad [n, co, ho·wo]` → `[n, ci, h, w]`.
pub fn conv_backward_input(grad: &[f32], weight: &[f32], s: Shape, g: &Geometry) -> Vec<f32> {
    let (ho, wo) = s.out(g);
    let (k, p, gs) = (s.k(g), ho * wo, s.group(g));
    let scratch = if g.is_pointwise() { 0 } else { k * p };
    per_image(
        s.n * s.ci * s.h * s.w,
        s.ci * s.h * s.w,
        scratch,
        s.n * s.co * p * k,
        |n, out, dcols| {
            for grp in 0..g.groups.max(1) {
                let wt = Mat::new(&weight[grp * gs.co * k..(grp + 1) * gs.co * k], gs.co, k).t();
                let gn = Mat::new(&grad[(n * s.co + grp * gs.co) * p..][..gs.co * p], gs.co, p);
                let dst = &mut out[grp * gs.ci * s.h * s.w..(grp + 1) * gs.ci * s.h * s.w];
                if g.is_pointwise() {
                    matmul(dst, wt, gn, false);
                } else {
                    matmul(dcols, wt, gn, false);
                    col2im(dcols, &gs, g, dst);
                }
            }
        },
    )
}

/// Weight gradient `[co, ci/groups·kh·kw]`: partial sums over fixed groups of images, then
/// their sum.
pub fn conv_backward_weight(x: &[f32], grad: &[f32], s: Shape, g: &Geometry) -> Vec<f32> {
    let (ho, wo) = s.out(g);
    let (k, p, gs) = (s.k(g), ho * wo, s.group(g));
    let image = |n: usize, acc: &mut [f32], cols: &mut Vec<f32>| {
        for grp in 0..g.groups.max(1) {
            let cols = columns(x, n, grp, s, g, cols);
            let gn = Mat::new(&grad[(n * s.co + grp * gs.co) * p..][..gs.co * p], gs.co, p);
            let dst = &mut acc[grp * gs.co * k..(grp + 1) * gs.co * k];
            matmul(dst, gn, Mat::new(cols, k, p).t(), true); // += g[n]·cols[n]ᵀ
        }
    };
    let scratch = if g.is_pointwise() { 0 } else { k * p };
    // A fixed split of the batch, summed in order: the result does not depend on how rayon
    // schedules the work (runs and resumed runs must be bit-identical).
    let parts = s.n.min(CHUNKS);
    let partials = super::map(parts, s.n * s.co * p * k, |c| {
        let (mut acc, mut cols) = (vec![0.0f32; s.co * k], vec![0.0f32; scratch]);
        for n in c * s.n / parts..(c + 1) * s.n / parts {
            image(n, &mut acc, &mut cols);
        }
        acc
    });
    let mut total = vec![0.0f32; s.co * k];
    for part in partials {
        total.iter_mut().zip(&part).for_each(|(t, v)| *t += v);
    }
    total
}

/// Image groups of the weight gradient (enough to keep every core busy).
const CHUNKS: usize = 16;

#[cfg(test)]
#[path = "conv_tests.rs"]
mod tests;
