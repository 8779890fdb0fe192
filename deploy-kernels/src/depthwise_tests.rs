//! The plane kernel against the convolution written out.

use crate::depthwise::{Geometry, max_planes_with, planes, planes_with};
use crate::tiles::{Max, MulAdd, runner, runners};

/// The convolution written out, with bounds checks instead of padding: the oracle.
fn naive(g: &Geometry, x: &[f32], k: &[f32], bias: f32, relu: bool) -> Vec<f32> {
    let mut y = vec![];
    for oy in 0..g.output[0] {
        for ox in 0..g.output[1] {
            let mut acc = bias as f64;
            for ky in 0..g.kernel[0] {
                for kx in 0..g.kernel[1] {
                    let iy = (oy * g.stride[0] + ky * g.dilation[0]) as isize - g.pad[0] as isize;
                    let ix = (ox * g.stride[1] + kx * g.dilation[1]) as isize - g.pad[1] as isize;
                    if (0..g.input[0] as isize).contains(&iy)
                        && (0..g.input[1] as isize).contains(&ix)
                    {
                        let v = x[iy as usize * g.input[1] + ix as usize];
                        let v = if relu { v.max(0.0) } else { v };
                        acc += (k[ky * g.kernel[1] + kx] * v) as f64;
                    }
                }
            }
            y.push(acc as f32);
        }
    }
    y
}

fn values(n: usize, seed: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (i as f32 * 0.37 + seed).sin() * 1.7)
        .collect()
}

/// Output side of a conv with padding `p` on both sides.
fn side(h: usize, k: usize, s: usize, d: usize, p: usize) -> usize {
    (h + 2 * p - (k - 1) * d - 1) / s + 1
}

#[test]
fn every_darts_geometry_and_odd_ones_match_the_oracle() {
    // (side, kernel, stride, dilation, padding): DARTS sep/dil convs at 32, 16, 8 and their
    // stride-2 forms, then shapes that exercise the edges (partial chunks, stride 3, no
    // padding, asymmetric reads).
    let cases = [
        (32, 3, 1, 1, 1),
        (32, 5, 1, 1, 2),
        (32, 3, 1, 2, 2),
        (32, 5, 1, 2, 4),
        (16, 3, 2, 1, 1),
        (16, 5, 2, 2, 4),
        (8, 3, 1, 1, 1),
        (8, 5, 1, 2, 4),
        (16, 3, 1, 1, 1),
        (48, 3, 1, 1, 1),
        (7, 3, 2, 2, 2),
        (13, 3, 1, 1, 0),
        (11, 5, 3, 1, 1),
        (1, 3, 1, 1, 1),
        (9, 2, 2, 1, 0),
    ];
    for (h, kk, s, d, p) in cases {
        let o = side(h, kk, s, d, p);
        let g = Geometry {
            input: [h, h],
            kernel: [kk, kk],
            stride: [s, s],
            dilation: [d, d],
            pad: [p, p],
            output: [o, o],
        };
        let (x, k) = (values(h * h, 0.1), values(kk * kk, 0.7));
        // Every runner this CPU has (AVX2 on most x86-64, portable), with and without the ReLU;
        // fused ones (x86's AVX2; NEON's portable) agree to the bit.
        for relu in [false, true] {
            let want = naive(&g, &x, &k, 0.3, relu);
            let mut fused: Vec<(&str, Vec<f32>)> = Vec::new();
            for (name, run) in runners::<MulAdd>() {
                let mut y = vec![f32::NAN; o * o];
                planes_with(run, &g, &x, &k, &[0.3], relu, &mut y);
                let diff = y
                    .iter()
                    .zip(&want)
                    .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(diff < 1e-5, "{name} {g:?} relu {relu}: max diff {diff}");
                if name != "portable" || cfg!(target_arch = "aarch64") {
                    fused.push((name, y));
                }
            }
            for (name, y) in &fused[1..] {
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(y), bits(&fused[0].1), "{name} vs {}", fused[0].0);
            }
        }
    }
}

#[test]
fn a_rectangular_plane_with_unequal_strides_matches_the_oracle() {
    let g = Geometry {
        input: [6, 19],
        kernel: [3, 5],
        stride: [1, 2],
        dilation: [2, 1],
        pad: [2, 1],
        output: [6, 9],
    };
    let (x, k) = (values(6 * 19, 0.4), values(15, 0.9));
    let mut y = vec![0.0; 6 * 9];
    planes_with(runner::<MulAdd>(), &g, &x, &k, &[-0.2], true, &mut y);
    let want = naive(&g, &x, &k, -0.2, true);
    for (a, b) in y.iter().zip(&want) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn planes_of_a_batch_take_their_channels_weights() {
    // Six planes of a 4-channel map (images of a batch follow each other): channels 0, 1, 2, 3, 0, 1.
    let g = Geometry {
        input: [9, 9],
        kernel: [3, 3],
        stride: [1, 1],
        dilation: [1, 1],
        pad: [1, 1],
        output: [9, 9],
    };
    let (x, k, b) = (
        values(6 * 81, 0.2),
        values(4 * 9, 0.5),
        [0.1, -0.2, 0.3, -0.4],
    );
    let mut y = vec![0.0; 6 * 81];
    planes(&g, &x, &k, &b, true, &mut y);
    for p in 0..6 {
        let c = p % 4;
        let want = naive(&g, &x[p * 81..][..81], &k[c * 9..][..9], b[c], true);
        for (a, w) in y[p * 81..][..81].iter().zip(&want) {
            assert!((a - w).abs() < 1e-5, "plane {p}: {a} vs {w}");
        }
    }
}

/// Max pooling written out: the largest input under each window, padding left out.
fn naive_max(g: &Geometry, x: &[f32]) -> Vec<f32> {
    let mut y = vec![];
    for oy in 0..g.output[0] {
        for ox in 0..g.output[1] {
            let mut m = f32::NEG_INFINITY;
            for ky in 0..g.kernel[0] {
                for kx in 0..g.kernel[1] {
                    let iy = (oy * g.stride[0] + ky * g.dilation[0]) as isize - g.pad[0] as isize;
                    let ix = (ox * g.stride[1] + kx * g.dilation[1]) as isize - g.pad[1] as isize;
                    if (0..g.input[0] as isize).contains(&iy)
                        && (0..g.input[1] as isize).contains(&ix)
                    {
                        m = m.max(x[iy as usize * g.input[1] + ix as usize]);
                    }
                }
            }
            y.push(m);
        }
    }
    y
}

#[test]
fn max_pooling_matches_the_oracle_and_padding_never_wins() {
    // DARTS's max_pool_3x3 (padding 1) at both strides, and a 2×2 window without padding. All
    // inputs negative, so a zero from the padding would show.
    for (h, k, s, p) in [
        (32, 3, 1, 1),
        (16, 3, 2, 1),
        (8, 3, 2, 1),
        (7, 3, 2, 1),
        (9, 2, 2, 0),
    ] {
        let o = side(h, k, s, 1, p);
        let g = Geometry {
            input: [h, h],
            kernel: [k, k],
            stride: [s, s],
            dilation: [1, 1],
            pad: [p, p],
            output: [o, o],
        };
        let x: Vec<f32> = values(3 * h * h, 0.3)
            .iter()
            .map(|v| -1.0 - v.abs())
            .collect();
        for (_, run) in runners::<Max>() {
            let mut y = vec![f32::NAN; 3 * o * o];
            max_planes_with(run, &g, &x, &mut y);
            for (i, (x, y)) in x.chunks(h * h).zip(y.chunks(o * o)).enumerate() {
                assert_eq!(y, naive_max(&g, x), "plane {i} of {g:?}");
            }
        }
    }
}

#[test]
fn a_plane_with_nothing_to_read_is_written_all_the_same() {
    // An empty input plane whose padding still makes outputs: every output is written (the op
    // hands the kernel memory it did not initialise).
    let g = Geometry {
        input: [0, 4],
        kernel: [3, 3],
        stride: [1, 1],
        dilation: [1, 1],
        pad: [1, 1],
        output: [2, 4],
    };
    let mut y = vec![f32::NAN; 8];
    planes(&g, &[], &[0.5; 9], &[0.25], false, &mut y);
    assert_eq!(y, [0.0; 8]);
}
