//! Per-epoch diagnostics of α and β for the regularizer study: how peaked each edge's β is
//! (entropy, max), how spread α and β are (std), ‖β‖₂ per edge (the Lipschitz measure β-DARTS
//! argues with: a bounded ‖β‖ bounds how fast the mixed output can change with the weights), and
//! how strongly CE and the regularizer pull on α.

use serde::{Deserialize, Serialize};

/// All figures are per α tensor (`[tensor][edge]` for the per-edge ones).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Entropy of β per edge, in nats (ln K = uniform, 0 = one-hot).
    pub entropy: Vec<Vec<f64>>,
    /// Largest β per edge.
    pub max_beta: Vec<Vec<f64>>,
    /// ‖β‖₂ per edge (1/√K uniform … 1 one-hot).
    pub beta_norm: Vec<Vec<f64>>,
    /// Population standard deviation of all α (of all β) of each tensor.
    pub alpha_std: Vec<f64>,
    pub beta_std: Vec<f64>,
    /// Mean over the epoch's α steps of ‖∂CE/∂α‖₂ and of ‖∂(λ·reg)/∂α‖₂ (all tensors together).
    pub alpha_grad_ce: f64,
    pub alpha_grad_reg: f64,
}

impl Diagnostics {
    /// From host α and β (row-major `[E, K]` per tensor) and the epoch's mean gradient norms.
    pub fn compute(
        alphas: &[Vec<f32>],
        betas: &[Vec<f32>],
        k: usize,
        grad_ce: f64,
        grad_reg: f64,
    ) -> Self {
        let per_edge = |f: &dyn Fn(&[f32]) -> f64| -> Vec<Vec<f64>> {
            betas.iter().map(|b| b.chunks(k).map(f).collect()).collect()
        };
        Diagnostics {
            entropy: per_edge(&|row| {
                -row.iter()
                    .filter(|&&p| p > 0.0)
                    .map(|&p| p as f64 * (p as f64).ln())
                    .sum::<f64>()
            }),
            max_beta: per_edge(&|row| row.iter().fold(0.0f64, |m, &p| m.max(p as f64))),
            beta_norm: per_edge(&|row| row.iter().map(|&p| (p as f64).powi(2)).sum::<f64>().sqrt()),
            alpha_std: alphas.iter().map(|a| std(a)).collect(),
            beta_std: betas.iter().map(|b| std(b)).collect(),
            alpha_grad_ce: grad_ce,
            alpha_grad_reg: grad_reg,
        }
    }

    /// Mean ‖β‖₂ over all edges of all tensors (one number per epoch for study plots).
    pub fn mean_beta_norm(&self) -> f64 {
        mean(self.beta_norm.iter().flatten().copied())
    }

    /// Mean β entropy over all edges.
    pub fn mean_entropy(&self) -> f64 {
        mean(self.entropy.iter().flatten().copied())
    }
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// Population standard deviation.
fn std(v: &[f32]) -> f64 {
    let m = mean(v.iter().map(|&x| x as f64));
    mean(v.iter().map(|&x| (x as f64 - m).powi(2))).sqrt()
}

/// ‖g‖₂ over several host tensors.
pub fn l2_norm(parts: &[Vec<f32>]) -> f64 {
    parts
        .iter()
        .flatten()
        .map(|&x| (x as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_values() {
        // Edge 0 uniform over 4 ops; edge 1 one-hot.
        let beta = vec![vec![0.25f32, 0.25, 0.25, 0.25, 0.0, 1.0, 0.0, 0.0]];
        let alpha = vec![vec![0.0f32, 0.0, 0.0, 0.0, 1.0, 3.0, 1.0, 1.0]];
        let d = Diagnostics::compute(&alpha, &beta, 4, 2.0, 0.5);
        assert!((d.entropy[0][0] - 4f64.ln()).abs() < 1e-9);
        assert_eq!(d.entropy[0][1], 0.0);
        assert_eq!(d.max_beta[0], vec![0.25, 1.0]);
        assert!((d.beta_norm[0][0] - 0.5).abs() < 1e-9, "1/√4");
        assert!((d.beta_norm[0][1] - 1.0).abs() < 1e-9);
        // α = [0,0,0,0,1,3,1,1]: mean 0.75, E[x²] = 12/8 = 1.5, var = 1.5 − 0.5625 = 0.9375.
        assert!((d.alpha_std[0] - 0.9375f64.sqrt()).abs() < 1e-9);
        // β: mean 0.25, E[x²] = (4·0.0625 + 1)/8 = 0.15625, var = 0.09375.
        assert!((d.beta_std[0] - 0.09375f64.sqrt()).abs() < 1e-7);
        assert!((d.mean_beta_norm() - 0.75).abs() < 1e-9);
        assert_eq!((d.alpha_grad_ce, d.alpha_grad_reg), (2.0, 0.5));
        assert!((l2_norm(&[vec![3.0, 0.0], vec![4.0]]) - 5.0).abs() < 1e-12);
    }
}
