//! Batch normalisation with batch statistics over contiguous `[N, C, S]` data (S = H·W):
//! forward in two passes (both moments at once, then normalise), backward in two (the two
//! per-channel sums, then `dx = a·g + k·x + b` with per-channel a, k, b).
//!
//! Sums run in f32 lanes over one `S`-long row and are gathered in f64. The moments are taken
//! of `x − shift` with the channel's first value as shift, so `E[d²] − E[d]²` does not cancel
//! even when the mean is far from zero.

use super::map;

/// Σ (v − m) and Σ (v − m)², in 16 f32 lanes each.
fn shifted_moments(v: &[f32], m: f32) -> (f64, f64) {
    let (mut s1, mut s2) = ([0.0f32; 16], [0.0f32; 16]);
    let chunks = v.chunks_exact(16);
    let (mut r1, mut r2) = (0.0f64, 0.0f64);
    for &x in chunks.remainder() {
        let d = (x - m) as f64;
        r1 += d;
        r2 += d * d;
    }
    for c in chunks {
        for i in 0..16 {
            let d = c[i] - m;
            s1[i] += d;
            s2[i] += d * d;
        }
    }
    let fold = |v: [f32; 16]| v.iter().map(|&a| a as f64).sum::<f64>();
    (fold(s1) + r1, fold(s2) + r2)
}

fn dot_centred(g: &[f32], v: &[f32], m: f32) -> (f64, f64) {
    let (mut sg, mut sgx) = ([0.0f32; 16], [0.0f32; 16]);
    let (gc, vc) = (g.chunks_exact(16), v.chunks_exact(16));
    let (mut rg, mut rgx) = (0.0f64, 0.0f64);
    for (&a, &x) in gc.remainder().iter().zip(vc.remainder()) {
        rg += a as f64;
        rgx += (a * (x - m)) as f64;
    }
    for (a, x) in gc.zip(vc) {
        for i in 0..16 {
            sg[i] += a[i];
            sgx[i] += a[i] * (x[i] - m);
        }
    }
    let fold = |v: [f32; 16]| v.iter().map(|&a| a as f64).sum::<f64>();
    (fold(sg) + rg, fold(sgx) + rgx)
}

/// Per-channel statistics of `[n, c, s]` data: (mean, biased variance).
pub fn moments(x: &[f32], n: usize, c: usize, s: usize) -> (Vec<f32>, Vec<f32>) {
    let count = (n * s) as f64;
    if n * s == 0 {
        return (vec![0.0; c], vec![0.0; c]); // an empty batch: no statistics to take
    }
    map(c, x.len(), |ch| {
        let shift = x[ch * s];
        let (d1, d2) = (0..n)
            .map(|i| shifted_moments(&x[(i * c + ch) * s..(i * c + ch + 1) * s], shift))
            .fold((0.0, 0.0), |(a, b), (p, q)| (a + p, b + q));
        let (md, m2) = (d1 / count, d2 / count);
        ((shift as f64 + md) as f32, (m2 - md * md).max(0.0) as f32)
    })
    .into_iter()
    .unzip()
}

/// `y = x·scale[c] + shift[c]` over `[n, c, s]`.
pub fn affine(x: &[f32], c: usize, s: usize, scale: &[f32], shift: &[f32]) -> Vec<f32> {
    super::build(x.len(), s, |row, yr| {
        let (a, b) = (scale[row % c], shift[row % c]);
        let xr = &x[row * s..(row + 1) * s];
        yr.iter_mut().zip(xr).for_each(|(y, &x)| *y = x * a + b);
    })
}

/// Forward: returns (y, mean, invstd) with `y = (x − mean)·invstd·γ + β`.
pub fn batch_norm_forward(
    x: &[f32],
    n: usize,
    c: usize,
    s: usize,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (mean, var) = moments(x, n, c, s);
    let invstd: Vec<f32> = var
        .iter()
        .map(|&v| (1.0 / (v as f64 + eps).sqrt()) as f32)
        .collect();
    let scale: Vec<f32> = (0..c)
        .map(|ch| invstd[ch] * gamma.map_or(1.0, |g| g[ch]))
        .collect();
    let shift: Vec<f32> = (0..c)
        .map(|ch| beta.map_or(0.0, |b| b[ch]) - mean[ch] * scale[ch])
        .collect();
    (affine(x, c, s, &scale, &shift), mean, invstd)
}

/// Backward: returns (dx, dγ, dβ) for output gradient `g`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    x: &[f32],
    g: &[f32],
    n: usize,
    c: usize,
    s: usize,
    mean: &[f32],
    invstd: &[f32],
    gamma: Option<&[f32]>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let count = ((n * s) as f64).max(1.0);
    let (sg, sgx): (Vec<f64>, Vec<f64>) = map(c, 2 * x.len(), |ch| {
        (0..n)
            .map(|i| {
                let r = (i * c + ch) * s..(i * c + ch + 1) * s;
                dot_centred(&g[r.clone()], &x[r], mean[ch])
            })
            .fold((0.0, 0.0), |(a, b), (p, q)| (a + p, b + q))
    })
    .into_iter()
    .unzip();
    // dx = γσ⁻¹·(g − Σg/M − (x − μ)·σ⁻²·Σg(x−μ)/M) = a·g + k·x + b.
    let mut a = vec![0.0f32; c];
    let mut k = vec![0.0f32; c];
    let mut b = vec![0.0f32; c];
    for ch in 0..c {
        let is = invstd[ch] as f64;
        let ac = is * gamma.map_or(1.0, |g| g[ch] as f64);
        let kc = -ac * is * is * sgx[ch] / count;
        a[ch] = ac as f32;
        k[ch] = kc as f32;
        b[ch] = (-ac * sg[ch] / count - kc * mean[ch] as f64) as f32;
    }
    let dx = super::build(x.len(), s, |row, d| {
        let ch = row % c;
        let (ac, kc, bc) = (a[ch], k[ch], b[ch]);
        let (gr, xr) = (&g[row * s..(row + 1) * s], &x[row * s..(row + 1) * s]);
        for ((d, &g), &x) in d.iter_mut().zip(gr).zip(xr) {
            *d = ac * g + kc * x + bc;
        }
    });
    let dgamma = (0..c)
        .map(|ch| (sgx[ch] * invstd[ch] as f64) as f32)
        .collect();
    let dbeta = sg.iter().map(|&v| v as f32).collect();
    (dx, dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let v = (i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8;
                (v % 1000) as f32 / 250.0 - 1.5
            })
            .collect()
    }

    fn loss(x: &[f32], w: &[f32], n: usize, c: usize, s: usize, gamma: &[f32]) -> f64 {
        let (y, _, _) = batch_norm_forward(x, n, c, s, Some(gamma), None, 1e-5);
        y.iter().zip(w).map(|(a, b)| (a * b) as f64).sum()
    }

    #[test]
    fn normalises_and_matches_finite_differences() {
        let (n, c, s) = (3, 2, 5);
        let x = data(n * c * s, 1);
        let w = data(n * c * s, 7);
        let gamma = [1.5f32, -0.5];
        let (y, mean, invstd) = batch_norm_forward(&x, n, c, s, Some(&gamma), None, 1e-5);
        // Every channel of y/γ has mean 0 and (biased) variance ≈ 1.
        let (m, v) = moments(&y, n, c, s);
        // Far-from-zero means do not cancel: shifted data has the same variance.
        let shifted: Vec<f32> = x.iter().map(|v| v + 1000.0).collect();
        let (ms, vs) = moments(&shifted, n, c, s);
        let (m0, v0) = moments(&x, n, c, s);
        for ch in 0..c {
            assert!((ms[ch] - m0[ch] - 1000.0).abs() < 1e-3);
            assert!(
                (vs[ch] - v0[ch]).abs() < 1e-4 * v0[ch].max(1.0),
                "{vs:?} vs {v0:?}"
            );
        }
        for ch in 0..c {
            assert!(m[ch].abs() < 1e-5);
            assert!((v[ch] / gamma[ch].powi(2) - 1.0).abs() < 1e-3, "{v:?}");
        }
        let (dx, dgamma, dbeta) =
            batch_norm_backward(&x, &w, n, c, s, &mean, &invstd, Some(&gamma));
        let h = 1e-2f32;
        for i in 0..x.len() {
            let (mut p, mut q) = (x.clone(), x.clone());
            p[i] += h;
            q[i] -= h;
            let fd =
                (loss(&p, &w, n, c, s, &gamma) - loss(&q, &w, n, c, s, &gamma)) / (2.0 * h as f64);
            assert!(
                (fd - dx[i] as f64).abs() < 2e-3,
                "dx[{i}]: fd {fd} vs {}",
                dx[i]
            );
        }
        for ch in 0..c {
            let (mut gp, mut gq) = (gamma, gamma);
            gp[ch] += h;
            gq[ch] -= h;
            let fd = (loss(&x, &w, n, c, s, &gp) - loss(&x, &w, n, c, s, &gq)) / (2.0 * h as f64);
            assert!((fd - dgamma[ch] as f64).abs() < 2e-3, "dγ[{ch}]");
            let sw: f32 = (0..n)
                .flat_map(|i| w[(i * c + ch) * s..(i * c + ch + 1) * s].to_vec())
                .sum();
            assert!((sw - dbeta[ch]).abs() < 1e-4, "dβ[{ch}]");
        }
    }
}
