//! Experimental: a learnable β-decay strength (regularizer `beta-learned`, off by default).
//!
//! β-DARTS fixes one strength λ(epoch) for every edge. Here each edge e of each α tensor gets its
//! own factor θ_e ∈ (0, θ_max), parameterized as θ_e = θ_max·sigmoid(φ_e) so it stays bounded
//! and positive, and the α loss becomes `CE + λ(epoch)·mean_e θ_e·logsumexp(α_e)`.
//!
//! θ is learned on the arch split by a one-step hypergradient (as hypergradient descent learns a
//! learning rate): the previous α step moved α_e by −η·λ·θ_e·g_reg,e, so the arch CE now
//! changes with θ_e as ∂CE/∂θ_e ≈ −η·λ·⟨g_ce,e, g_reg,e(prev)⟩. Adam rescales per coordinate,
//! so the size of η·λ carries no information; the update uses the cosine of the two gradients:
//! `φ_e ← φ_e + lr·cos(g_ce,e, g_reg,e(prev))·θ_max·σ'(φ_e)` (decay more where the arch CE
//! itself pushes down the ops that β-decay pushes down, less where it pushes the other way).
//! The regularizer gradient is centred per edge first: its uniform part moves no β, and the CE
//! gradient of a softmax has none (its rows sum to zero), so only the centred part can align.

use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::decay::{beta_over_rows, logsumexp_rows};
use super::{Aggregation, Regularizer, aggregate};

/// Per-edge strengths and the regularizer gradient of the last α step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecayStrength {
    /// Unbounded parameters, `[tensor][edge]`.
    pub phi: Vec<Vec<f64>>,
    pub theta_max: f64,
    pub lr: f64,
    /// ∂ reg/∂α of the previous step (row-major per tensor), `None` before the first.
    prev_reg_grad: Option<Vec<Vec<f32>>>,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl DecayStrength {
    /// θ starts at 1 for every edge (plain β-decay): φ = logit(1/θ_max).
    pub fn new(shapes: &[[usize; 2]], theta_max: f64, lr: f64) -> Self {
        let p = (1.0 / theta_max).clamp(1e-6, 1.0 - 1e-6);
        let phi0 = (p / (1.0 - p)).ln();
        Self {
            phi: shapes.iter().map(|s| vec![phi0; s[0]]).collect(),
            theta_max,
            lr,
            prev_reg_grad: None,
        }
    }

    /// θ per edge, `[tensor][edge]`.
    pub fn theta(&self) -> Vec<Vec<f64>> {
        self.phi
            .iter()
            .map(|t| t.iter().map(|&p| self.theta_max * sigmoid(p)).collect())
            .collect()
    }

    /// `mean_e θ_e·logsumexp(α_e)` per tensor, aggregated as the other regularizers; θ is a
    /// constant here (it is learned by [`Self::update`], not by backprop through this loss).
    pub fn weighted_loss(&self, alphas: &[Tensor<2>], aggregation: Aggregation) -> Tensor<1> {
        let terms = alphas
            .iter()
            .zip(self.theta())
            .map(|(a, th)| {
                let rows = th.len();
                let w = Tensor::<2>::from_data(
                    TensorData::new(th.iter().map(|&v| v as f32).collect::<Vec<_>>(), [rows, 1]),
                    &a.device(),
                );
                (logsumexp_rows(a.clone()) * w).mean()
            })
            .collect();
        aggregate(terms, alphas, aggregation)
    }

    /// One hypergradient step from this step's CE gradient on α and the regularizer gradient
    /// (θ = 1, without λ) of this step, kept for the next. `k` = ops per edge.
    pub fn update(&mut self, ce_grad: &[Vec<f32>], reg_grad: &[Vec<f32>], k: usize, lambda: f64) {
        if let Some(prev) = self.prev_reg_grad.as_ref().filter(|_| lambda > 0.0) {
            for (t, (g, r)) in ce_grad.iter().zip(prev).enumerate() {
                for (e, (ge, re)) in g.chunks(k).zip(r.chunks(k)).enumerate() {
                    let mean = re.iter().sum::<f32>() / re.len().max(1) as f32;
                    let centred: Vec<f32> = re.iter().map(|v| v - mean).collect();
                    let cos = cosine(ge, &centred);
                    let s = sigmoid(self.phi[t][e]);
                    self.phi[t][e] += self.lr * cos * self.theta_max * s * (1.0 - s);
                }
            }
        }
        self.prev_reg_grad = Some(reg_grad.to_vec());
    }
}

/// The learned strengths as a regularizer: the loss weighs each edge by θ_e, the closed-form
/// gradient is β-decay's (θ enters through [`Regularizer::row_weights`]), every α step updates θ,
/// and θ with its last gradient is checkpointed.
impl Regularizer for DecayStrength {
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        logsumexp_rows(alpha).mean()
    }
    fn term_gradient(&self, alpha: &[f32], k: usize) -> Vec<f32> {
        beta_over_rows(alpha, k)
    }
    fn loss(&self, alphas: &[Tensor<2>], aggregation: Aggregation) -> Tensor<1> {
        self.weighted_loss(alphas, aggregation)
    }
    fn row_weights(&self) -> Option<Vec<Vec<f64>>> {
        Some(self.theta())
    }
    fn observe(&mut self, ce_grad: &[Vec<f32>], reg_grad: &[Vec<f32>], k: usize, lambda: f64) {
        self.update(ce_grad, reg_grad, k, lambda);
    }
    fn state(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self).ok()
    }
    fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        let s: DecayStrength = serde_json::from_value(state).map_err(|e| e.to_string())?;
        if s.phi.iter().map(Vec::len).ne(self.phi.iter().map(Vec::len)) {
            return Err("learned strengths do not match this run's α shapes".into());
        }
        *self = s;
        Ok(())
    }
    fn history(&self) -> Vec<(&'static str, serde_json::Value)> {
        vec![("strength", serde_json::json!(self.theta()))]
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
    let na: f64 = a.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regularizer::BetaDecay;
    use burn::tensor::Device;

    #[test]
    fn starts_as_beta_decay_and_stays_bounded() {
        let device = Device::flex();
        let s = DecayStrength::new(&[[6, 5]], 2.0, 0.1);
        assert!(s.theta()[0].iter().all(|&t| (t - 1.0).abs() < 1e-12));
        let a = Tensor::<2>::random(
            [6, 5],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let ours = s.loss(&[a.clone()], Aggregation::Mean).into_scalar::<f32>();
        let beta = BetaDecay.loss(&[a], Aggregation::Mean).into_scalar::<f32>();
        assert!((ours - beta).abs() < 1e-6);

        // Aligned gradients raise θ, opposed ones lower it; θ never leaves (0, θ_max).
        let mut up = DecayStrength::new(&[[1, 3]], 2.0, 5.0);
        let mut down = up.clone();
        // CE gradient (rows sum to 0) and a regularizer gradient β/E = uniform + centred part.
        let g = vec![vec![0.5f32, -0.2, -0.3]];
        let neg = vec![vec![-0.5f32, 0.2, 0.3]];
        let reg = vec![vec![0.5f32 + 1.0, -0.2 + 1.0, -0.3 + 1.0]];
        for _ in 0..200 {
            up.update(&g, &reg, 3, 10.0);
            down.update(&neg, &reg, 3, 10.0);
        }
        let (tu, td) = (up.theta()[0][0], down.theta()[0][0]);
        assert!(tu > 1.9 && tu < 2.0, "θ up {tu}");
        assert!(td > 0.0 && td < 0.1, "θ down {td}");
        // λ = 0: the regularizer did not move α, so there is nothing to learn from.
        let mut idle = DecayStrength::new(&[[1, 3]], 2.0, 5.0);
        for _ in 0..5 {
            idle.update(&g, &g, 3, 0.0);
        }
        assert_eq!(idle.theta()[0][0], 1.0);
    }

    #[test]
    fn first_step_only_stores_the_gradient() {
        let mut s = DecayStrength::new(&[[2, 2]], 2.0, 1.0);
        let g = vec![vec![1.0f32, -1.0, 1.0, -1.0]];
        let reg = vec![vec![3.0f32, 1.0, 3.0, 1.0]];
        s.update(&g, &reg, 2, 1.0);
        assert_eq!(s.theta()[0], vec![1.0, 1.0]);
        s.update(&g, &reg, 2, 1.0);
        // Centred reg = [1, −1] per edge: cos = 1, σ'(0)·θ_max = 0.5: φ = 0.5, θ = 2·σ(0.5).
        let want = 2.0 * sigmoid(0.5);
        assert!(s.theta()[0].iter().all(|&t| (t - want).abs() < 1e-12));
    }
}
