//! Depthwise convolution (one k×k filter per output channel) over contiguous `[N, C, H, W]`
//! data, with a channel multiplier: output channel `o` of `m·C` filters input channel
//! `o mod C` (edge-major stacking: the filters of several edges on the same input, one block
//! of C channels per edge). Direct loops: per tap, a shifted row times a scalar.
//!
//! Why not burn's grouped conv: its weight gradient runs one convolution per group (C of
//! them), and the shifted-product form built from tensor ops costs ~120 operations per conv.

use super::conv::Geometry;
use super::depthwise_fast::{self as fast, Padded};
use super::map;

/// Sizes of one call: input `[n, c, h, w]`, output `[n, m·c, ho, wo]`.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub n: usize,
    pub c: usize,
    pub m: usize,
    pub h: usize,
    pub w: usize,
}

/// For each tap (ky, kx): the output rows/columns it reaches and where its source starts.
struct Tap {
    t: usize,
    oy: (usize, usize),
    ox: (usize, usize),
    /// Source row of output row `oy.0` and source column of output column `ox.0`.
    sy0: usize,
    sx0: usize,
}

fn taps(g: &Geometry, h: usize, w: usize) -> Vec<Tap> {
    let (ho, wo) = (g.out(0, h), g.out(1, w));
    let mut v = Vec::new();
    for ky in 0..g.kernel[0] {
        for kx in 0..g.kernel[1] {
            let oy = g.valid(0, ky, h, ho);
            let ox = g.valid(1, kx, w, wo);
            if oy.0 >= oy.1 || ox.0 >= ox.1 {
                continue;
            }
            let sy0 = g.src(0, oy.0, ky, h).unwrap_or(0);
            let sx0 = g.src(1, ox.0, kx, w).unwrap_or(0);
            v.push(Tap {
                t: ky * g.kernel[1] + kx,
                oy,
                ox,
                sy0,
                sx0,
            });
        }
    }
    v
}

/// `plane`, or `relu(plane)` (copied) when the geometry asks for the ReLU first (the general
/// loops; the fast path applies it while filling its padded buffer).
fn input_plane<'a>(plane: &'a [f32], g: &Geometry, owned: &'a mut Vec<f32>) -> &'a [f32] {
    if !g.relu_input {
        return plane;
    }
    owned.clear();
    owned.extend(plane.iter().map(|v| v.max(0.0)));
    owned
}

/// Forward: `x [n, c, h, w]`, `weight [m·c, kh·kw]` → `[n, m·c, ho, wo]`.
pub fn forward(x: &[f32], weight: &[f32], s: Shape, g: &Geometry) -> Vec<f32> {
    let (ho, wo) = (g.out(0, s.h), g.out(1, s.w));
    let kk = g.kernel[0] * g.kernel[1];
    let taps = taps(g, s.h, s.w);
    let co = s.m * s.c;
    super::build(s.n * co * ho * wo, ho * wo, |p, out| {
        let (n, o) = (p / co, p % co);
        let raw = &x[(n * s.c + o % s.c) * s.h * s.w..][..s.h * s.w];
        let wt = &weight[o * kk..(o + 1) * kk];
        if fast::applies(g) {
            let mut pad = Padded::new(s.h, s.w, g.padding[0], g.padding[1]);
            pad.fill(raw, g.relu_input);
            fast::correlate(&pad, wt, g, ho, wo, out, false);
            return;
        }
        let mut owned = Vec::new();
        let plane = input_plane(raw, g, &mut owned);
        for tap in &taps {
            let k = wt[tap.t];
            for (i, oy) in (tap.oy.0..tap.oy.1).enumerate() {
                let src = &plane[(tap.sy0 + i * g.stride[0]) * s.w..][..s.w];
                let dst = &mut out[oy * wo + tap.ox.0..oy * wo + tap.ox.1];
                if g.stride[1] == 1 {
                    let src = &src[tap.sx0..tap.sx0 + dst.len()];
                    dst.iter_mut().zip(src).for_each(|(d, v)| *d += k * v);
                } else {
                    for (j, d) in dst.iter_mut().enumerate() {
                        *d += k * src[tap.sx0 + j * g.stride[1]];
                    }
                }
            }
        }
    })
}

/// Input gradient: `grad [n, m·c, ho, wo]` → `[n, c, h, w]` (sums the m filters of a channel;
/// with `relu_input`, masked by `x > 0`, which is why it takes `x`).
pub fn backward_input(x: &[f32], grad: &[f32], weight: &[f32], s: Shape, g: &Geometry) -> Vec<f32> {
    let (ho, wo) = (g.out(0, s.h), g.out(1, s.w));
    let kk = g.kernel[0] * g.kernel[1];
    let taps = taps(g, s.h, s.w);
    let co = s.m * s.c;
    super::build(s.n * s.c * s.h * s.w, s.h * s.w, |p, plane| {
        let (n, c) = (p / s.c, p % s.c);
        let mut pad = fast::applies(g).then(|| Padded::new(ho, wo, g.padding[0], g.padding[1]));
        for e in 0..s.m {
            let o = e * s.c + c;
            let gp = &grad[(n * co + o) * ho * wo..][..ho * wo];
            let wt = &weight[o * kk..(o + 1) * kk];
            if let Some(pad) = pad.as_mut() {
                // "Same" padding: the input gradient correlates with the flipped kernel.
                pad.fill(gp, false);
                fast::correlate(pad, &fast::flipped(wt, g), g, s.h, s.w, plane, e > 0);
                continue;
            }
            for tap in &taps {
                let k = wt[tap.t];
                for (i, oy) in (tap.oy.0..tap.oy.1).enumerate() {
                    let gr = &gp[oy * wo + tap.ox.0..oy * wo + tap.ox.1];
                    let dst = &mut plane[(tap.sy0 + i * g.stride[0]) * s.w..][..s.w];
                    if g.stride[1] == 1 {
                        let dst = &mut dst[tap.sx0..tap.sx0 + gr.len()];
                        dst.iter_mut().zip(gr).for_each(|(d, v)| *d += k * v);
                    } else {
                        for (j, v) in gr.iter().enumerate() {
                            dst[tap.sx0 + j * g.stride[1]] += k * v;
                        }
                    }
                }
            }
        }
        if g.relu_input {
            let xp = &x[p * s.h * s.w..][..s.h * s.w];
            // A select, not a branch: the sign of a ReLU's input is a coin flip, and a
            // mispredicted branch per element cost ~10% of a DARTS_V2 training step.
            plane
                .iter_mut()
                .zip(xp)
                .for_each(|(d, v)| *d = if *v > 0.0 { *d } else { 0.0 });
        }
    })
}

/// Weight gradient `[m·c, kh·kw]`: per filter, Σ over images of shifted dot products (each
/// filter summed in image order, so the result does not depend on scheduling).
pub fn backward_weight(x: &[f32], grad: &[f32], s: Shape, g: &Geometry) -> Vec<f32> {
    let (ho, wo) = (g.out(0, s.h), g.out(1, s.w));
    let kk = g.kernel[0] * g.kernel[1];
    let taps = taps(g, s.h, s.w);
    let co = s.m * s.c;
    map(co, s.n * co * ho * wo * kk, |o| {
        let mut acc = vec![0.0f64; kk];
        let mut bufs = fast::applies(g).then(|| {
            (
                Padded::new(s.h, s.w, g.padding[0], g.padding[1]),
                Padded::new(ho, wo, 0, 0),
            )
        });
        let mut owned = Vec::new();
        for n in 0..s.n {
            let raw = &x[(n * s.c + o % s.c) * s.h * s.w..][..s.h * s.w];
            let gp = &grad[(n * co + o) * ho * wo..][..ho * wo];
            if let Some((px, pg)) = bufs.as_mut() {
                px.fill(raw, g.relu_input);
                pg.fill(gp, false);
                fast::weight_grad(px, pg, g, ho, wo, &mut acc);
                continue;
            }
            let plane = input_plane(raw, g, &mut owned);
            for tap in &taps {
                let mut sum = 0.0f32;
                for (i, oy) in (tap.oy.0..tap.oy.1).enumerate() {
                    let gr = &gp[oy * wo + tap.ox.0..oy * wo + tap.ox.1];
                    let src = &plane[(tap.sy0 + i * g.stride[0]) * s.w..][..s.w];
                    if g.stride[1] == 1 {
                        let src = &src[tap.sx0..tap.sx0 + gr.len()];
                        sum += gr.iter().zip(src).map(|(a, b)| a * b).sum::<f32>();
                    } else {
                        sum += gr
                            .iter()
                            .enumerate()
                            .map(|(j, a)| a * src[tap.sx0 + j * g.stride[1]])
                            .sum::<f32>();
                    }
                }
                acc[tap.t] += sum as f64;
            }
        }
        acc.into_iter().map(|v| v as f32).collect::<Vec<f32>>()
    })
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f32], wt: &[f32], s: Shape, g: &Geometry) -> Vec<f32> {
        let (ho, wo) = (g.out(0, s.h), g.out(1, s.w));
        let [kh, kw] = g.kernel;
        let co = s.m * s.c;
        let mut y = vec![0.0f32; s.n * co * ho * wo];
        for n in 0..s.n {
            for o in 0..co {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut acc = 0.0;
                        for ky in 0..kh {
                            for kx in 0..kw {
                                if let (Some(iy), Some(ix)) =
                                    (g.src(0, oy, ky, s.h), g.src(1, ox, kx, s.w))
                                {
                                    acc += x[((n * s.c + o % s.c) * s.h + iy) * s.w + ix]
                                        * wt[o * kh * kw + ky * kw + kx];
                                }
                            }
                        }
                        y[((n * co + o) * ho + oy) * wo + ox] = acc;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn matches_the_definition_and_gradients_are_adjoints() {
        // Every DARTS depthwise geometry.
        for (k, st, p, d) in crate::testing::DARTS_DEPTHWISE {
            for relu_input in [false, true] {
                let g = Geometry {
                    kernel: [k, k],
                    stride: [st, st],
                    padding: [p, p],
                    dilation: [d, d],
                    groups: 1,
                    relu_input,
                };
                for (h, w, m) in [(7, 7, 1), (8, 6, 3)] {
                    let s = Shape {
                        n: 2,
                        c: 3,
                        m,
                        h,
                        w,
                    };
                    let (ho, wo) = (g.out(0, h), g.out(1, w));
                    let x: Vec<f32> = (0..s.n * s.c * h * w)
                        .map(|i| ((i * 13) % 17) as f32 * 0.25 - 2.0)
                        .collect();
                    let wt: Vec<f32> = (0..m * s.c * k * k)
                        .map(|i| ((i * 7) % 11) as f32 * 0.1 - 0.5)
                        .collect();
                    let y = forward(&x, &wt, s, &g);
                    // With the ReLU fused, the definition applied to relu(x); ⟨x, dx⟩ = ⟨y, u⟩
                    // still holds, as the mask makes ⟨x, mask·Dᵀu⟩ = ⟨relu(x), Dᵀu⟩.
                    let xr: Vec<f32> = x
                        .iter()
                        .map(|v| if relu_input { v.max(0.0) } else { *v })
                        .collect();
                    for (a, b) in y.iter().zip(&naive(&xr, &wt, s, &g)) {
                        assert!((a - b).abs() < 1e-4, "{g:?} {h}x{w} m{m}: {a} vs {b}");
                    }
                    let u: Vec<f32> = (0..s.n * m * s.c * ho * wo)
                        .map(|i| ((i * 5) % 9) as f32 - 4.0)
                        .collect();
                    let yu: f64 = y.iter().zip(&u).map(|(a, b)| (a * b) as f64).sum();
                    let dx = backward_input(&x, &u, &wt, s, &g);
                    let xdx: f64 = x.iter().zip(&dx).map(|(a, b)| (a * b) as f64).sum();
                    let dw = backward_weight(&x, &u, s, &g);
                    let wdw: f64 = wt.iter().zip(&dw).map(|(a, b)| (a * b) as f64).sum();
                    assert!(
                        (yu - xdx).abs() < 1e-3 * yu.abs().max(1.0),
                        "{g:?} dx: {yu} vs {xdx}"
                    );
                    assert!(
                        (yu - wdw).abs() < 1e-3 * yu.abs().max(1.0),
                        "{g:?} dW: {yu} vs {wdw}"
                    );
                    if relu_input {
                        assert!(
                            x.iter().zip(&dx).all(|(v, d)| *v > 0.0 || *d == 0.0),
                            "{g:?} mask"
                        );
                    }
                }
            }
        }
    }
}
