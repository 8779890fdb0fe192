//! The im2col convolution against a direct loop, forward and both gradients.

use super::*;

/// Direct definition of the (grouped) convolution.
fn naive(x: &[f32], wt: &[f32], s: Shape, g: &Geometry) -> Vec<f32> {
    let (ho, wo) = s.out(g);
    let [kh, kw] = g.kernel;
    let (cig, cog) = (s.ci / g.groups, s.co / g.groups);
    let mut y = vec![0.0f32; s.n * s.co * ho * wo];
    for n in 0..s.n {
        for o in 0..s.co {
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut acc = 0.0;
                    for c in 0..cig {
                        let ci = o / cog * cig + c;
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let (sy, sx) = (g.src(0, oy, ky, s.h), g.src(1, ox, kx, s.w));
                                if let (Some(iy), Some(ix)) = (sy, sx) {
                                    acc += x[((n * s.ci + ci) * s.h + iy) * s.w + ix]
                                        * wt[((o * cig + c) * kh + ky) * kw + kx];
                                }
                            }
                        }
                    }
                    y[((n * s.co + o) * ho + oy) * wo + ox] = acc;
                }
            }
        }
    }
    y
}

#[test]
fn forward_matches_the_definition_and_gradients_are_its_adjoints() {
    for (k, st, p, d) in [
        (3, 1, 1, 1),
        (3, 2, 1, 1),
        (1, 1, 0, 1),
        (1, 2, 0, 1),
        (5, 1, 2, 1),
        (3, 1, 2, 2),
        (5, 2, 4, 2),
    ] {
        for ((h, w), groups) in [((5, 5), 1), ((6, 4), 2), ((7, 8), 1), ((7, 8), 2)] {
            let g = Geometry {
                groups,
                relu_input: false,
                kernel: [k, k],
                stride: [st, st],
                padding: [p, p],
                dilation: [d, d],
            };
            let s = Shape {
                n: 2,
                ci: 4,
                h,
                w,
                co: 6,
            };
            let (ho, wo) = s.out(&g);
            let x: Vec<f32> = (0..s.n * s.ci * h * w)
                .map(|i| ((i * 13) % 17) as f32 * 0.25 - 2.0)
                .collect();
            let wt: Vec<f32> = (0..s.co * s.k(&g))
                .map(|i| ((i * 7) % 11) as f32 * 0.1 - 0.5)
                .collect();
            let y = conv_forward(&x, &wt, s, &g);
            let want = naive(&x, &wt, s, &g);
            for (a, b) in y.iter().zip(&want) {
                assert!((a - b).abs() < 1e-3, "{g:?} {h}x{w}: {a} vs {b}");
            }
            // <conv(x), u> = <x, dx(u)> = <W, dW(u)> (the conv is linear in each).
            let u: Vec<f32> = (0..s.n * s.co * ho * wo)
                .map(|i| ((i * 5) % 9) as f32 - 4.0)
                .collect();
            let yu: f64 = y.iter().zip(&u).map(|(a, b)| (a * b) as f64).sum();
            let dx = conv_backward_input(&u, &wt, s, &g);
            let xdx: f64 = x.iter().zip(&dx).map(|(a, b)| (a * b) as f64).sum();
            let dw = conv_backward_weight(&x, &u, s, &g);
            let wdw: f64 = wt.iter().zip(&dw).map(|(a, b)| (a * b) as f64).sum();
            assert!(
                (yu - xdx).abs() < 1e-2 * yu.abs().max(1.0),
                "{g:?} dx: {yu} vs {xdx}"
            );
            assert!(
                (yu - wdw).abs() < 1e-2 * yu.abs().max(1.0),
                "{g:?} dW: {yu} vs {wdw}"
            );
        }
    }
}
