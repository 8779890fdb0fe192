//! Multiply-adds per second of the 1×1 conv kernel on DARTS_V2's shapes (one thread).
//!
//! `cargo run --release -p betadarts-deploy-kernels --example pointwise_speed`
use std::time::Instant;

use betadarts_deploy_kernels::pointwise::Pointwise;

fn main() {
    // (outputs, inputs, pixels): maps of 32 pixels (in L1: the kernel's own rate), then DARTS_V2
    // CIFAR's preprocessing and separable convs at 32, 16 and 8 px.
    for (m, k, n) in [
        (36, 36, 32),
        (36, 144, 32),
        (144, 144, 32),
        (36, 108, 1024),
        (36, 36, 1024),
        (72, 144, 256),
        (72, 72, 256),
        (144, 576, 64),
        (144, 144, 64),
    ] {
        let w: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let x: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let conv = Pointwise::new(&w, &vec![0.1; m], m, k);
        let mut y = vec![0f32; m * n];
        let runs = (2e8 / (m * k * n) as f64).ceil() as usize;
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..runs {
                let mut rows: Vec<&mut [f32]> = y.chunks_exact_mut(n).collect();
                conv.run(&x, n, (false, false), 0..n, &mut rows);
            }
            best = best.min(t.elapsed().as_secs_f64() / runs as f64);
        }
        println!(
            "{m:>4} x {k:>4} x {n:>5}: {:>7.2} us  {:>6.1} GFMA/s",
            best * 1e6,
            (m * k * n) as f64 / best / 1e9
        );
    }
}
