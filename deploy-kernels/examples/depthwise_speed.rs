//! Multiply-adds per second of the depthwise kernel on DARTS_V2's shapes (one thread, ReLU
//! fused, 36/72/144 channels at 32/16/8 px), for comparison with the in-network rate that
//! `deploy/examples/tract_profile.rs` prints.
//!
//! `cargo run --release -p betadarts-deploy-kernels --example depthwise_speed`
use std::time::Instant;

use betadarts_deploy_kernels::depthwise::{Geometry, planes};

fn main() {
    // (channels, side, kernel, dilation): sep_conv_3x3/5x5 and dil_conv_3x3 at each resolution.
    let shapes = [
        (36, 32, 3, 1),
        (36, 32, 5, 1),
        (36, 32, 3, 2),
        (72, 16, 3, 1),
        (144, 8, 3, 1),
    ];
    for (c, h, k, d) in shapes {
        let p = (k - 1) / 2 * d;
        let g = Geometry {
            input: [h, h],
            kernel: [k, k],
            stride: [1, 1],
            dilation: [d, d],
            pad: [p, p],
            output: [h, h],
        };
        let x: Vec<f32> = (0..c * h * h).map(|i| (i as f32 * 0.1).sin()).collect();
        let w: Vec<f32> = (0..c * k * k).map(|i| (i as f32 * 0.3).cos()).collect();
        let (b, mut y) = (vec![0.1; c], vec![0f32; c * h * h]);
        let fma = c * h * h * k * k;
        let runs = (2e7 / fma as f64).ceil() as usize;
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..runs {
                planes(&g, &x, &w, &b, true, &mut y);
            }
            best = best.min(t.elapsed().as_secs_f64() / runs as f64);
        }
        println!(
            "{c:>4} x {h:>2}² k{k} d{d}: {:>7.2} us  {:>5.1} GFMA/s",
            best * 1e6,
            fma as f64 / best / 1e9
        );
    }
}
