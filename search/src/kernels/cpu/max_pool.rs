//! 3×3 max pooling, padding 1 (padded cells never win), at any stride: DARTS' max_pool_3x3.
//! The forward is separable (row maxima, then column maxima of those); the backward
//! recomputes each window's winner from the input (its first maximum in scan order, the one
//! PyTorch and burn pick) instead of keeping an index tensor.

use super::pool::pooled;

/// The window of output `o` along an axis of length `n`: input `[lo, hi)`.
fn window(o: usize, stride: usize, n: usize) -> (usize, usize) {
    let c = o * stride;
    (c.saturating_sub(1), (c + 2).min(n))
}

/// Forward: `x` is `[planes, h, w]`; returns `[planes, ho, wo]`.
pub fn max_pool3_forward(x: &[f32], h: usize, w: usize, stride: usize) -> Vec<f32> {
    let (ho, wo) = (pooled(h, stride), pooled(w, stride));
    if ho * wo == 0 {
        return Vec::new();
    }
    let planes = x.len() / (h * w);
    super::build(planes * ho * wo, ho * wo, |i, o| {
        let p = &x[i * h * w..][..h * w];
        let mut rows = vec![0.0f32; h * wo]; // per input row, the maxima of each column window
        for y in 0..h {
            let (src, dst) = (&p[y * w..][..w], &mut rows[y * wo..][..wo]);
            for (ox, d) in dst.iter_mut().enumerate() {
                let (lo, hi) = window(ox, stride, w);
                *d = src[lo..hi]
                    .iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, f32::max);
            }
        }
        for oy in 0..ho {
            let (lo, hi) = window(oy, stride, h);
            let dst = &mut o[oy * wo..][..wo];
            dst.copy_from_slice(&rows[lo * wo..][..wo]);
            for y in lo + 1..hi {
                let r = &rows[y * wo..][..wo];
                dst.iter_mut().zip(r).for_each(|(d, v)| *d = d.max(*v));
            }
        }
    })
}

/// Backward: `grad` `[planes, ho, wo]` goes to each window's winner in `x` `[planes, h, w]`.
pub fn max_pool3_backward(x: &[f32], grad: &[f32], h: usize, w: usize, stride: usize) -> Vec<f32> {
    let (ho, wo) = (pooled(h, stride), pooled(w, stride));
    let planes = if h * w == 0 { 0 } else { x.len() / (h * w) };
    if ho * wo == 0 {
        return vec![0.0; planes * h * w];
    }
    super::build(planes * h * w, h * w, |i, d| {
        let (p, g) = (&x[i * h * w..][..h * w], &grad[i * ho * wo..][..ho * wo]);
        for oy in 0..ho {
            let (y0, y1) = window(oy, stride, h);
            for ox in 0..wo {
                let (x0, x1) = window(ox, stride, w);
                let mut best = y0 * w + x0;
                for y in y0..y1 {
                    for x in x0..x1 {
                        let k = y * w + x;
                        if p[k] > p[best] || p[k].is_nan() {
                            best = k;
                        }
                    }
                }
                d[best] += g[oy * wo + ox];
            }
        }
    })
}
