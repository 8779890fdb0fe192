//! The stride-1 "same" depthwise convolution (every DARTS sep/dil conv but the strided first
//! block of a reduction edge), fast: each plane is copied once into a zero-bordered buffer, and
//! outputs are computed 16 columns at a time in a fixed-size accumulator that stays in
//! registers (one multiply-add per tap and lane, no bounds logic in the inner loop).
//!
//! The input gradient of a "same" convolution is the same operation with the kernel flipped,
//! so it reuses [`correlate`].

use super::conv::Geometry;

const L: usize = 16;

/// Whether `g` is stride 1 with "same" padding (`p = d·(k−1)/2`, both axes).
pub fn applies(g: &Geometry) -> bool {
    (0..2).all(|a| {
        g.stride[a] == 1
            && g.kernel[a] % 2 == 1
            && g.padding[a] * 2 == g.dilation[a] * (g.kernel[a] - 1)
    })
}

/// An `h×w` plane inside a zero border of `py` rows and `px` columns, rows `stride` long (room
/// for 16-wide reads past the last column).
pub struct Padded {
    pub data: Vec<f32>,
    pub stride: usize,
    h: usize,
    w: usize,
    py: usize,
    px: usize,
}

impl Padded {
    pub fn new(h: usize, w: usize, py: usize, px: usize) -> Self {
        let stride = w.div_ceil(L) * L + 2 * px;
        Self {
            data: vec![0.0; (h + 2 * py + 1) * stride],
            stride,
            h,
            w,
            py,
            px,
        }
    }

    /// Copies `plane` (or `relu(plane)`) into the interior; the border stays zero.
    pub fn fill(&mut self, plane: &[f32], relu: bool) {
        for y in 0..self.h {
            let row = (y + self.py) * self.stride + self.px;
            let (dst, src) = (
                &mut self.data[row..row + self.w],
                &plane[y * self.w..(y + 1) * self.w],
            );
            if relu {
                dst.iter_mut().zip(src).for_each(|(d, v)| *d = v.max(0.0));
            } else {
                dst.copy_from_slice(src);
            }
        }
    }
}

/// `out[y][x] (+)= Σ_{ky,kx} wt[ky·k+kx] · src[y + ky·d][x + kx·d]` over a padded plane, for an
/// `h×w` output (`accumulate`: add to `out` instead of overwriting it).
pub fn correlate(
    src: &Padded,
    wt: &[f32],
    g: &Geometry,
    h: usize,
    w: usize,
    out: &mut [f32],
    accumulate: bool,
) {
    let [kh, kw] = g.kernel;
    let [dy, dx] = g.dilation;
    for y in 0..h {
        let dst = &mut out[y * w..(y + 1) * w];
        for x0 in (0..w).step_by(L) {
            let mut acc = [0.0f32; L];
            for ky in 0..kh {
                let row = &src.data[(y + ky * dy) * src.stride..];
                for kx in 0..kw {
                    let k = wt[ky * kw + kx];
                    let s: &[f32; L] = row[x0 + kx * dx..x0 + kx * dx + L]
                        .try_into()
                        .unwrap_or_else(|_| unreachable!("slice of length L"));
                    for i in 0..L {
                        acc[i] += k * s[i];
                    }
                }
            }
            let n = L.min(w - x0);
            let d = &mut dst[x0..x0 + n];
            if accumulate {
                d.iter_mut().zip(&acc).for_each(|(o, a)| *o += a);
            } else {
                d.copy_from_slice(&acc[..n]);
            }
        }
    }
}

/// `dw[ky·k+kx] += Σ_{y,x} grad[y][x] · src[y + ky·d][x + kx·d]` (the weight gradient of
/// [`correlate`] for one plane); `grad` is padded by zeros only to its row length.
pub fn weight_grad(src: &Padded, grad: &Padded, g: &Geometry, h: usize, w: usize, dw: &mut [f64]) {
    let [kh, kw] = g.kernel;
    let [dy, dx] = g.dilation;
    let lanes = |v: &[f32], at: usize| -> [f32; L] {
        v[at..at + L]
            .try_into()
            .unwrap_or_else(|_| unreachable!("slice of length L"))
    };
    for ky in 0..kh {
        for kx in 0..kw {
            let mut acc = [0.0f32; L];
            for y in 0..h {
                let row = (y + ky * dy) * src.stride + kx * dx;
                for x0 in (0..w).step_by(L) {
                    let (s, gr) = (
                        lanes(&src.data, row + x0),
                        lanes(&grad.data, y * grad.stride + x0),
                    );
                    for i in 0..L {
                        acc[i] += gr[i] * s[i];
                    }
                }
            }
            dw[ky * kw + kx] += acc.iter().map(|&v| v as f64).sum::<f64>();
        }
    }
}

/// The kernel rotated by 180° (the input gradient of a "same" correlation correlates with it).
pub fn flipped(wt: &[f32], g: &Geometry) -> Vec<f32> {
    let [kh, kw] = g.kernel;
    (0..kh * kw)
        .map(|t| wt[(kh - 1 - t / kw) * kw + (kw - 1 - t % kw)])
        .collect()
}
