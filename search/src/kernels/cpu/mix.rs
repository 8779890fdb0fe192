//! Weighted sums of feature maps, the mixing step of a supernet node:
//! `y[n, c] = Σ_m w_m · t_m[n, offset_m + c]` over contiguous `[N, C_m, S]` terms, where a term
//! may be a channel block of a wider tensor (the stacked output of a batched convolution).

use super::map;

/// One addend: channels `offset..offset + C` of a `[N, total, S]` tensor, times `weight`.
#[derive(Debug, Clone, Copy)]
pub struct Term<'a> {
    pub data: &'a [f32],
    pub total: usize,
    pub offset: usize,
    pub weight: f32,
}

impl Term<'_> {
    fn row(&self, i: usize, c: usize, s: usize) -> &[f32] {
        let (n, ch) = (i / c, i % c);
        let start = (n * self.total + self.offset + ch) * s;
        &self.data[start..start + s]
    }
}

/// Forward over `n·c` rows of `s` values.
pub fn mix_forward(terms: &[Term], n: usize, c: usize, s: usize) -> Vec<f32> {
    let len = n * c * s;
    // Parallel work counts every term read; one term alone is a copy, not worth a hand-off.
    let work = if terms.len() >= 2 {
        len * terms.len()
    } else {
        0
    };
    super::build_with(
        len,
        s,
        work,
        || (),
        |_, i, out| {
            for (m, t) in terms.iter().enumerate() {
                let (row, w) = (t.row(i, c, s), t.weight);
                if m == 0 {
                    out.iter_mut().zip(row).for_each(|(o, &v)| *o = w * v);
                } else {
                    out.iter_mut().zip(row).for_each(|(o, &v)| *o += w * v);
                }
            }
        },
    )
}

/// Gradient of a term's whole tensor: `w·g` in its block, zeros elsewhere.
pub fn term_grad(g: &[f32], t: &Term, n: usize, c: usize, s: usize) -> Vec<f32> {
    super::build(n * t.total * s, t.total * s, |i, dn| {
        let gn = &g[i * c * s..(i + 1) * c * s];
        let block = &mut dn[t.offset * s..(t.offset + c) * s];
        block
            .iter_mut()
            .zip(gn)
            .for_each(|(d, &g)| *d = t.weight * g);
    })
}

/// `Σ g · t[block]` (the gradient of the term's weight).
pub fn weight_grad(g: &[f32], t: &Term, n: usize, c: usize, s: usize) -> f32 {
    map(n * c, g.len(), |i| {
        let (gr, tr) = (&g[i * s..(i + 1) * s], t.row(i, c, s));
        let mut acc = [0.0f32; 16];
        let (gc, tc) = (gr.chunks_exact(16), tr.chunks_exact(16));
        let rest: f64 = gc
            .remainder()
            .iter()
            .zip(tc.remainder())
            .map(|(a, b)| (a * b) as f64)
            .sum();
        for (a, b) in gc.zip(tc) {
            for k in 0..16 {
                acc[k] += a[k] * b[k];
            }
        }
        acc.iter().map(|&v| v as f64).sum::<f64>() + rest
    })
    .into_iter()
    .sum::<f64>() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_weights_and_gradients_by_hand() {
        // n = 2, c = 1, s = 2. Term a: whole [2, 1, 2]; term b: channel 1 of [2, 2, 2].
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0];
        let terms = [
            Term {
                data: &a,
                total: 1,
                offset: 0,
                weight: 0.5,
            },
            Term {
                data: &b,
                total: 2,
                offset: 1,
                weight: 2.0,
            },
        ];
        let y = mix_forward(&terms, 2, 1, 2);
        assert_eq!(y, vec![0.5 + 60.0, 1.0 + 80.0, 1.5 + 140.0, 2.0 + 160.0]);
        let g = [1.0, -1.0, 2.0, 0.0];
        assert_eq!(
            term_grad(&g, &terms[1], 2, 1, 2),
            vec![0.0, 0.0, 2.0, -2.0, 0.0, 0.0, 4.0, 0.0]
        );
        assert_eq!(weight_grad(&g, &terms[0], 2, 1, 2), 1.0 - 2.0 + 6.0);
        assert_eq!(weight_grad(&g, &terms[1], 2, 1, 2), 30.0 - 40.0 + 140.0);
    }
}
