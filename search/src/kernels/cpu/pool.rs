//! 3×3 average pooling with padding 1 and padded cells left out of the mean
//! (`count_include_pad = False`), forward and backward, over contiguous `[planes, H, W]` data.
//!
//! Separable: a 3-tap row sum, then a 3-tap column sum, then the per-position 1/count. At
//! stride 1 the backward is the same box filter applied to `grad/count` (the window is
//! symmetric), so both directions are two vectorisable passes.

/// Output side of a 3-wide, padding-1 window at `stride`.
pub fn pooled(size: usize, stride: usize) -> usize {
    if size == 0 {
        0
    } else {
        (size - 1) / stride + 1
    }
}

/// Input range `[lo, hi)` under output position `o`.
fn window(o: usize, stride: usize, size: usize) -> (usize, usize) {
    let centre = o * stride;
    (centre.saturating_sub(1), (centre + 2).min(size))
}

/// `out[i] = src[i-1] + src[i] + src[i+1]` with missing neighbours left out.
fn box3_row(src: &[f32], out: &mut [f32]) {
    let n = src.len();
    if n == 1 {
        out[0] = src[0];
        return;
    }
    out[0] = src[0] + src[1];
    for i in 1..n - 1 {
        out[i] = src[i - 1] + src[i] + src[i + 1];
    }
    out[n - 1] = src[n - 2] + src[n - 1];
}

/// 1/count of every output position: 9 inside, fewer where the window leaves the image.
fn inv_counts(h: usize, w: usize, stride: usize) -> Vec<f32> {
    let (ho, wo) = (pooled(h, stride), pooled(w, stride));
    let mut inv = Vec::with_capacity(ho * wo);
    for oy in 0..ho {
        let (a, b) = window(oy, stride, h);
        for ox in 0..wo {
            let (c, d) = window(ox, stride, w);
            inv.push(1.0 / ((b - a) * (d - c)) as f32);
        }
    }
    inv
}

/// Box sum of one `h×w` plane at stride 1 into `out` (same size); `tmp` is `h·w` scratch.
fn box3_plane(src: &[f32], out: &mut [f32], tmp: &mut [f32], h: usize, w: usize) {
    for (s, t) in src.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        box3_row(s, t);
    }
    for y in 0..h {
        let o = &mut out[y * w..(y + 1) * w];
        o.copy_from_slice(&tmp[y * w..(y + 1) * w]);
        if y > 0 {
            o.iter_mut()
                .zip(&tmp[(y - 1) * w..y * w])
                .for_each(|(a, b)| *a += b);
        }
        if y + 1 < h {
            o.iter_mut()
                .zip(&tmp[(y + 1) * w..(y + 2) * w])
                .for_each(|(a, b)| *a += b);
        }
    }
}

/// Forward: `x` is `[planes, h, w]`; returns `[planes, ho, wo]`.
pub fn avg_pool3_forward(x: &[f32], h: usize, w: usize, stride: usize) -> Vec<f32> {
    let (ho, wo) = (pooled(h, stride), pooled(w, stride));
    let planes = x.len() / (h * w);
    let inv = inv_counts(h, w, stride);
    super::build(planes * ho * wo, ho * wo, |i, o| {
        let p = &x[i * h * w..(i + 1) * h * w];
        let mut tmp = vec![0.0f32; h * w];
        if stride == 1 {
            box3_plane(p, o, &mut tmp, h, w);
        } else {
            strided_forward(p, o, &mut tmp, h, w, stride);
        }
        o.iter_mut().zip(&inv).for_each(|(v, c)| *v *= c);
    })
}

/// Backward: `grad` is `[planes, ho, wo]`; returns the input gradient `[planes, h, w]`.
pub fn avg_pool3_backward(grad: &[f32], h: usize, w: usize, stride: usize) -> Vec<f32> {
    let (ho, wo) = (pooled(h, stride), pooled(w, stride));
    let planes = grad.len() / (ho * wo);
    let inv = inv_counts(h, w, stride);
    super::build(planes * h * w, h * w, |i, d| {
        let g = &grad[i * ho * wo..(i + 1) * ho * wo];
        let scaled: Vec<f32> = g.iter().zip(&inv).map(|(g, c)| g * c).collect();
        let mut tmp = vec![0.0f32; h * w];
        if stride == 1 {
            box3_plane(&scaled, d, &mut tmp, h, w);
        } else {
            strided_backward(&scaled, d, &mut tmp, h, w, stride);
        }
    })
}

/// Window sums at any stride (rows first into `tmp` `[h, wo]`, then columns).
fn strided_forward(src: &[f32], out: &mut [f32], tmp: &mut [f32], h: usize, w: usize, s: usize) {
    let (ho, wo) = (pooled(h, s), pooled(w, s));
    for y in 0..h {
        for ox in 0..wo {
            let (a, b) = window(ox, s, w);
            tmp[y * wo + ox] = src[y * w + a..y * w + b].iter().sum();
        }
    }
    for oy in 0..ho {
        let (a, b) = window(oy, s, h);
        let o = &mut out[oy * wo..(oy + 1) * wo];
        o.fill(0.0);
        for y in a..b {
            o.iter_mut()
                .zip(&tmp[y * wo..(y + 1) * wo])
                .for_each(|(v, t)| *v += t);
        }
    }
}

/// Scatter of already-scaled output gradients back over their windows, at any stride.
fn strided_backward(g: &[f32], dx: &mut [f32], tmp: &mut [f32], h: usize, w: usize, s: usize) {
    let (ho, wo) = (pooled(h, s), pooled(w, s));
    let tmp = &mut tmp[..h * wo];
    tmp.fill(0.0);
    for oy in 0..ho {
        let (a, b) = window(oy, s, h);
        for y in a..b {
            tmp[y * wo..(y + 1) * wo]
                .iter_mut()
                .zip(&g[oy * wo..(oy + 1) * wo])
                .for_each(|(t, v)| *t += v);
        }
    }
    dx.fill(0.0);
    for y in 0..h {
        for ox in 0..wo {
            let (a, b) = window(ox, s, w);
            let v = tmp[y * wo + ox];
            dx[y * w + a..y * w + b].iter_mut().for_each(|d| *d += v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct definition: mean over the in-image cells of each 3×3 window.
    fn naive(x: &[f32], h: usize, w: usize, s: usize) -> Vec<f32> {
        let (ho, wo) = (pooled(h, s), pooled(w, s));
        let mut out = Vec::new();
        for oy in 0..ho {
            for ox in 0..wo {
                let (mut sum, mut n) = (0.0, 0);
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let (y, x_) = ((oy * s) as i64 + dy, (ox * s) as i64 + dx);
                        if y >= 0 && x_ >= 0 && (y as usize) < h && (x_ as usize) < w {
                            sum += x[y as usize * w + x_ as usize];
                            n += 1;
                        }
                    }
                }
                out.push(sum / n as f32);
            }
        }
        out
    }

    #[test]
    fn forward_matches_the_definition_and_backward_is_its_transpose() {
        for (h, w) in [(1, 1), (1, 4), (2, 3), (5, 5), (7, 8), (8, 8)] {
            for s in [1, 2] {
                let x: Vec<f32> = (0..h * w).map(|i| ((i * 37 % 11) as f32) - 5.0).collect();
                let y = avg_pool3_forward(&x, h, w, s);
                let want = naive(&x, h, w, s);
                for (a, b) in y.iter().zip(&want) {
                    assert!((a - b).abs() < 1e-5, "{h}x{w} s{s}: {a} vs {b}");
                }
                // <pool(x), g> = <x, pool^T(g)> for every x, g: check on unit vectors.
                let g: Vec<f32> = (0..y.len()).map(|i| (i % 5) as f32 * 0.3 - 0.5).collect();
                let dx = avg_pool3_backward(&g, h, w, s);
                for i in 0..h * w {
                    let mut e = vec![0.0; h * w];
                    e[i] = 1.0;
                    let col: f32 = naive(&e, h, w, s).iter().zip(&g).map(|(a, b)| a * b).sum();
                    assert!((col - dx[i]).abs() < 1e-5, "{h}x{w} s{s} entry {i}");
                }
            }
        }
    }
}
