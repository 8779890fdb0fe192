//! Which 1×1 conv tiles this process runs: the faster on this CPU, timed once.
//!
//! Whether AVX-512's wider tiles pay depends on the core, not on its flags: 1.6× AVX2's rate on
//! a Sapphire Rapids Xeon (two 512-bit FMA units); where 512-bit FMAs run in halves (AMD Zen 4)
//! or on one unit there is no more arithmetic per cycle to gain (not measured here), hence the
//! timing. Every tile computes each output the same way (bias, then one fused
//! multiply-add per input channel, in order), so the choice changes speed, never results.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::point_tiles::Isa;
use crate::pointwise::Pointwise;

/// Set to `avx512`, `avx2` or `portable` to run those tiles instead of the timed choice (one
/// this CPU runs; any other value is ignored).
pub const VAR: &str = "BETADARTS_POINTWISE_ISA";

/// The tiles this process runs, chosen at the first call.
pub(crate) fn chosen() -> Isa {
    static CHOICE: OnceLock<Isa> = OnceLock::new();
    *CHOICE.get_or_init(|| {
        let available = Isa::available();
        let asked = std::env::var(VAR).ok();
        match available
            .iter()
            .find(|i| Some(i.name()) == asked.as_deref())
        {
            Some(&isa) => isa,
            None => fastest(&available),
        }
    })
}

/// The name of the tiles this process runs (`avx512`, `avx2` or `portable`).
pub fn chosen_name() -> &'static str {
    chosen().name()
}

/// The values [`VAR`] takes on this CPU.
pub fn names() -> Vec<&'static str> {
    Isa::available().into_iter().map(Isa::name).collect()
}

/// The SIMD tiles (portable ones only where there are none) that ran a DARTS-sized 1×1 conv
/// fastest: 144 × 144 channels of 32 pixels, in L1, best of 25 alternated runs each (~1 ms).
fn fastest(available: &[Isa]) -> Isa {
    let simd: Vec<Isa> = available
        .iter()
        .copied()
        .filter(|&i| i != Isa::Portable)
        .collect();
    if simd.len() <= 1 {
        return simd.first().copied().unwrap_or(Isa::Portable);
    }
    let (m, k, n) = (144, 144, 32);
    let wave = |len: usize, f: f32| (0..len).map(|i| (i as f32 * f).sin()).collect::<Vec<f32>>();
    let (w, b, x) = (wave(m * k, 0.37), wave(m, 0.5), wave(k * n, 0.11));
    let convs: Vec<Pointwise> = simd
        .iter()
        .map(|&isa| Pointwise::with_isa(isa, &w, &b, m, k))
        .collect();
    let mut y = vec![0f32; m * n];
    let mut best = vec![Duration::MAX; simd.len()];
    for _ in 0..25 {
        for (conv, best) in convs.iter().zip(&mut best) {
            let t = Instant::now();
            let mut rows: Vec<&mut [f32]> = y.chunks_exact_mut(n).collect();
            conv.run(&x, n, (false, false), 0..n, &mut rows);
            *best = (*best).min(t.elapsed());
        }
    }
    let i = (0..simd.len()).min_by_key(|&i| best[i]).unwrap_or(0);
    simd[i]
}
