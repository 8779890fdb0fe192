//! The 1×1 convolution against the matrix product written out.

use crate::point_tiles::Isa;
use crate::pointwise::Pointwise;
use crate::tile_choice;

/// `W · relu?(x) + b` in f64, element by element: the oracle.
fn naive(w: &[f32], b: &[f32], x: &[f32], m: usize, k: usize, n: usize, relu: bool) -> Vec<f32> {
    let mut y = vec![0f32; m * n];
    for o in 0..m {
        for p in 0..n {
            let mut acc = b[o] as f64;
            for i in 0..k {
                let v = x[i * n + p];
                let v = if relu { v.max(0.0) } else { v };
                acc += w[o * k + i] as f64 * v as f64;
            }
            y[o * n + p] = acc as f32;
        }
    }
    y
}

fn values(n: usize, seed: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (i as f32 * 0.37 + seed).sin() * 1.7)
        .collect()
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * (1.0 + w.abs()) * 4.0,
            "{what}: element {i}: {g} against {w}"
        );
    }
}

#[test]
fn darts_shapes_and_ragged_ones_match_the_oracle() {
    // (outputs, inputs, pixels): DARTS_V2 CIFAR's 1×1 convs at 32, 16 and 8 px, ImageNet's
    // 48-channel ones, then partial panels (outputs not a multiple of any tile's rows), partial
    // pixel blocks (7×7, 14×14, 28×28 maps, one pixel) and a single input channel.
    let cases = [
        (36, 108, 1024),
        (36, 36, 1024),
        (72, 144, 256),
        (144, 576, 64),
        (48, 48, 784),
        (16, 16, 196),
        (10, 3, 49),
        (5, 7, 33),
        (13, 1, 1),
        (1, 9, 17),
    ];
    for (m, k, n) in cases {
        let (w, b, x) = (values(m * k, 0.1), values(m, 0.7), values(k * n, 1.3));
        for relu in [false, true] {
            let want = naive(&w, &b, &x, m, k, n, relu);
            for isa in Isa::available() {
                let conv = Pointwise::with_isa(isa, &w, &b, m, k);
                let what = format!("{} {m}×{k}·{k}×{n} relu {relu}", isa.name());
                let mut y = vec![f32::NAN; m * n];
                conv.run(&x, n, (relu, false), 0..n, &mut rows(&mut y, n, 0..n));
                assert_close(&y, &want, &what);
                // Added to what the output holds: a sum after the conv, fused.
                let addend = values(m * n, 2.9);
                let mut y = addend.clone();
                conv.run(&x, n, (relu, true), 0..n, &mut rows(&mut y, n, 0..n));
                let sum: Vec<f32> = want.iter().zip(&addend).map(|(a, b)| a + b).collect();
                assert_close(&y, &sum, &format!("{what}, added"));
            }
        }
    }
}

/// Each output row's pixels `cols`, as `run` takes them.
fn rows(y: &mut [f32], n: usize, cols: std::ops::Range<usize>) -> Vec<&mut [f32]> {
    y.chunks_exact_mut(n)
        .map(|r| &mut r[cols.clone()])
        .collect()
}

#[test]
fn pixel_ranges_run_apart_write_their_own_columns() {
    // An image split in two ranges of pixels: whole blocks, the last one ragged.
    let (m, k, n) = (30, 20, 100);
    let (w, b, x) = (values(m * k, 0.2), values(m, 0.5), values(k * n, 0.9));
    let conv = Pointwise::new(&w, &b, m, k);
    let want = naive(&w, &b, &x, m, k, n, true);
    let mut y = vec![f32::NAN; m * n];
    let split = conv.block();
    let mut left = vec![f32::NAN; m * split];
    conv.run(
        &x,
        n,
        (true, false),
        0..split,
        &mut rows(&mut left, split, 0..split),
    );
    conv.run(
        &x,
        n,
        (true, false),
        split..n,
        &mut rows(&mut y, n, split..n),
    );
    for (row, l) in y.chunks_exact_mut(n).zip(left.chunks_exact(split)) {
        row[..split].copy_from_slice(l);
    }
    assert_close(&y, &want, "two ranges");
}

#[test]
#[should_panic(expected = "inputs × pixels")]
fn a_map_of_the_wrong_size_is_refused() {
    let conv = Pointwise::with_isa(Isa::Portable, &[1.0; 6], &[0.0; 2], 2, 3);
    conv.run(
        &[0.0; 8],
        3,
        (false, false),
        0..3,
        &mut rows(&mut [0.0; 6], 3, 0..3),
    );
}

#[test]
fn every_fused_tile_gives_the_same_bits() {
    // AVX-512 and AVX2 tiles (and NEON's portable ones) sum bias + products in input-channel
    // order with one fused multiply-add each: which the timing picks must not change a bit.
    let fused: Vec<Isa> = Isa::available()
        .into_iter()
        .filter(|&i| i != Isa::Portable || cfg!(target_arch = "aarch64"))
        .collect();
    if fused.len() < 2 {
        eprintln!("only {fused:?} tiles on this CPU: nothing to compare");
        return;
    }
    for (m, k, n) in [(36, 36, 1024), (144, 576, 64), (13, 7, 33), (1, 9, 17)] {
        let (w, b, x) = (values(m * k, 0.4), values(m, 0.8), values(k * n, 1.1));
        let outputs: Vec<Vec<u32>> = fused
            .iter()
            .map(|&isa| {
                let conv = Pointwise::with_isa(isa, &w, &b, m, k);
                let mut y = values(m * n, 3.3);
                conv.run(&x, n, (true, true), 0..n, &mut rows(&mut y, n, 0..n));
                y.iter().map(|v| v.to_bits()).collect()
            })
            .collect();
        for (isa, y) in fused.iter().zip(&outputs).skip(1) {
            assert!(
                y == &outputs[0],
                "{isa:?} against {:?}, {m}×{k}·{k}×{n}",
                fused[0]
            );
        }
    }
}

#[test]
fn the_timed_choice_is_tiles_this_cpu_runs() {
    let names = tile_choice::names();
    let chosen = tile_choice::chosen_name();
    assert!(names.contains(&chosen), "{chosen} not in {names:?}");
    if std::env::var_os(tile_choice::VAR).is_none() && names.len() > 1 {
        assert_ne!(chosen, "portable", "SIMD tiles exist: {names:?}");
    }
}
