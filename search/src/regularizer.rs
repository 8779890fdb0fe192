//! Regularizers of α for the architecture step, each a small type behind [`Regularizer`].
//!
//! Every row-wise regularizer is normalised like β-decay (mean over edges) so that λ means the
//! same thing across them; the gradients show what each one decays:
//!
//! | name | per-edge term | ∂/∂α[e,k] |
//! |---|---|---|
//! | `beta` (β-decay) | logsumexp_k α[e,k] | softmax(α[e])_k / E = β/E |
//! | `l2` | ½ Σ_k α[e,k]² | α/E (coupled weight decay on α) |
//! | `beta-zero` | smoothmax(0, α[e]) = log(1 + Σ_k e^α) = softplus(logsumexp α[e]) | β·σ(lse)/E |
//! | `beta-global` | logsumexp over *all* entries of the tensor (one term, not averaged) | softmax over all |
//! | `beta-learned` | θ_e·logsumexp_k α[e,k], θ_e learned (experimental, [`crate::decay_strength`]) | θ_e·β/E |
//! | `none` | 0 | 0 |

use std::fmt;
use std::str::FromStr;

use burn::tensor::Tensor;
use burn::tensor::activation::softplus;
use serde::{Deserialize, Serialize};

use crate::Error;

/// How the terms of several α tensors (DARTS: normal and reduce) are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregation {
    /// Mean over all rows of all tensors (the recommended port, spec §1.4 option 1).
    #[default]
    Mean,
    /// Sum of the per-tensor means (spec §1.4 option 2; twice `Mean` for two equal tensors).
    Sum,
}

/// A penalty on α added to the architecture loss, scaled by λ(epoch).
pub trait Regularizer: Send + Sync {
    fn name(&self) -> &'static str;

    /// The per-tensor value (`[1]`): mean over rows of the row term, or a global term.
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1>;

    /// ∂(tensor term)/∂α in closed form, for host values of one row-major `[rows, k]` tensor
    /// (the split of the α gradient into its CE and regularizer parts needs no second backward).
    fn term_gradient(&self, alpha: &[f32], k: usize) -> Vec<f32>;

    /// Value over all α tensors with the given aggregation.
    fn loss(&self, alphas: &[Tensor<2>], aggregation: Aggregation) -> Tensor<1> {
        let terms = alphas.iter().map(|a| self.tensor_term(a.clone())).collect();
        aggregate(terms, alphas, aggregation)
    }
}

/// ∂(λ-free regularizer)/∂α per tensor in closed form, aggregated as [`Regularizer::loss`].
pub fn gradient(
    reg: &dyn Regularizer,
    alphas: &[Vec<f32>],
    k: usize,
    aggregation: Aggregation,
) -> Vec<Vec<f32>> {
    let rows: Vec<usize> = alphas.iter().map(|a| a.len() / k.max(1)).collect();
    let total: usize = rows.iter().sum();
    alphas
        .iter()
        .zip(&rows)
        .map(|(a, &r)| {
            let w = match aggregation {
                Aggregation::Mean => r as f32 / total.max(1) as f32,
                Aggregation::Sum => 1.0,
            };
            reg.term_gradient(a, k).into_iter().map(|g| g * w).collect()
        })
        .collect()
}

/// Row-wise softmax and logsumexp of a host `[rows, k]` matrix.
fn softmax_lse(alpha: &[f32], k: usize) -> (Vec<f32>, Vec<f64>) {
    let mut soft = Vec::with_capacity(alpha.len());
    let mut lse = Vec::with_capacity(alpha.len() / k.max(1));
    for row in alpha.chunks(k) {
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let e: Vec<f64> = row.iter().map(|&v| (v as f64 - m).exp()).collect();
        let s: f64 = e.iter().sum();
        soft.extend(e.iter().map(|v| (v / s) as f32));
        lse.push(m + s.ln());
    }
    (soft, lse)
}

/// Combines per-tensor terms: `Mean` weighs each by its share of rows, `Sum` adds them.
pub fn aggregate(
    terms: Vec<Tensor<1>>,
    alphas: &[Tensor<2>],
    aggregation: Aggregation,
) -> Tensor<1> {
    let rows: Vec<usize> = alphas.iter().map(|a| a.dims()[0]).collect();
    let total_rows: usize = rows.iter().sum();
    terms
        .into_iter()
        .zip(&rows)
        .map(|(t, r)| match aggregation {
            Aggregation::Mean => t * (*r as f64 / total_rows as f64),
            Aggregation::Sum => t,
        })
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| unreachable!("at least one α tensor"))
}

/// Numerically stable logsumexp over dim 1 of `[E, K]` → `[E, 1]`.
pub fn logsumexp_rows(a: Tensor<2>) -> Tensor<2> {
    let m = a.clone().max_dim(1).detach();
    (a - m.clone()).exp().sum_dim(1).log() + m
}

pub struct NoRegularizer;
pub struct BetaDecay;
pub struct L2;
pub struct BetaGlobal;
pub struct BetaZero;
/// β-decay with a learned per-edge strength θ_e (experimental, see [`crate::decay_strength`]);
/// as a plain regularizer (θ = 1) it is β-decay.
pub struct BetaLearned;

impl Regularizer for NoRegularizer {
    fn name(&self) -> &'static str {
        "none"
    }
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        alpha.sum() * 0.0
    }
    fn term_gradient(&self, alpha: &[f32], _k: usize) -> Vec<f32> {
        vec![0.0; alpha.len()]
    }
}

impl Regularizer for BetaDecay {
    fn name(&self) -> &'static str {
        "beta"
    }
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        logsumexp_rows(alpha).mean()
    }
    fn term_gradient(&self, alpha: &[f32], k: usize) -> Vec<f32> {
        beta_over_rows(alpha, k)
    }
}

/// softmax(α)/E: the gradient of the mean row logsumexp.
fn beta_over_rows(alpha: &[f32], k: usize) -> Vec<f32> {
    let rows = (alpha.len() / k.max(1)).max(1) as f32;
    softmax_lse(alpha, k)
        .0
        .into_iter()
        .map(|b| b / rows)
        .collect()
}

impl Regularizer for L2 {
    fn name(&self) -> &'static str {
        "l2"
    }
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        (alpha.square().sum_dim(1) * 0.5).mean()
    }
    fn term_gradient(&self, alpha: &[f32], k: usize) -> Vec<f32> {
        let rows = (alpha.len() / k.max(1)).max(1) as f32;
        alpha.iter().map(|a| a / rows).collect()
    }
}

impl Regularizer for BetaGlobal {
    fn name(&self) -> &'static str {
        "beta-global"
    }
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        let [e, k] = alpha.dims();
        logsumexp_rows(alpha.reshape([1, e * k])).reshape([1])
    }
    fn term_gradient(&self, alpha: &[f32], _k: usize) -> Vec<f32> {
        softmax_lse(alpha, alpha.len()).0 // softmax over every entry
    }
}

impl Regularizer for BetaZero {
    fn name(&self) -> &'static str {
        "beta-zero"
    }
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        softplus(logsumexp_rows(alpha), 1.0).mean()
    }
    fn term_gradient(&self, alpha: &[f32], k: usize) -> Vec<f32> {
        // d softplus(lse)/dα = σ(lse)·softmax(α), per row, over E rows.
        let (soft, lse) = softmax_lse(alpha, k);
        let rows = lse.len().max(1) as f32;
        soft.chunks(k)
            .zip(&lse)
            .flat_map(|(row, &l)| {
                let sig = (1.0 / (1.0 + (-l).exp())) as f32;
                row.iter().map(move |b| b * sig / rows)
            })
            .collect()
    }
}

impl Regularizer for BetaLearned {
    fn name(&self) -> &'static str {
        "beta-learned"
    }
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        logsumexp_rows(alpha).mean()
    }
    fn term_gradient(&self, alpha: &[f32], k: usize) -> Vec<f32> {
        beta_over_rows(alpha, k)
    }
}

/// The regularizer chosen by `--regularizer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RegularizerKind {
    None,
    L2,
    #[default]
    Beta,
    BetaGlobal,
    BetaZero,
    /// Experimental: β-decay with a learned per-edge strength.
    BetaLearned,
}

impl RegularizerKind {
    pub const ALL: [RegularizerKind; 6] = [
        RegularizerKind::None,
        RegularizerKind::L2,
        RegularizerKind::Beta,
        RegularizerKind::BetaGlobal,
        RegularizerKind::BetaZero,
        RegularizerKind::BetaLearned,
    ];

    pub fn build(self) -> Box<dyn Regularizer> {
        match self {
            RegularizerKind::None => Box::new(NoRegularizer),
            RegularizerKind::L2 => Box::new(L2),
            RegularizerKind::Beta => Box::new(BetaDecay),
            RegularizerKind::BetaGlobal => Box::new(BetaGlobal),
            RegularizerKind::BetaZero => Box::new(BetaZero),
            RegularizerKind::BetaLearned => Box::new(BetaLearned),
        }
    }

    pub fn name(self) -> &'static str {
        self.build().name()
    }
}

impl fmt::Display for RegularizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RegularizerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        RegularizerKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown regularizer {s:?}; choose one of none, l2, beta, beta-global, beta-zero, \
                 beta-learned (experimental)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution, TensorData, Tolerance};

    fn value(reg: &dyn Regularizer, a: &[f32], shape: [usize; 2]) -> f64 {
        let device = Device::flex();
        let t = Tensor::<2>::from_data(TensorData::new(a.to_vec(), shape), &device);
        reg.loss(&[t], Aggregation::Mean).into_scalar::<f32>() as f64
    }

    #[test]
    fn beta_decay_at_zero_is_ln5_with_uniform_gradient() {
        // spec §9.1: L_beta(0_[6,5]) = ln 5, gradient 1/30 everywhere.
        let device = Device::flex().autodiff();
        let a = Tensor::<2>::zeros([6, 5], &device).require_grad();
        let loss = BetaDecay.loss(&[a.clone()], Aggregation::Mean);
        assert!((loss.clone().into_scalar::<f32>() as f64 - 5f64.ln()).abs() < 1e-6);
        let g = a.grad(&loss.backward()).unwrap().into_data();
        g.assert_approx_eq::<f32>(
            &TensorData::new(vec![1.0f32 / 30.0; 30], [6, 5]),
            Tolerance::absolute(1e-7),
        );
    }

    #[test]
    fn gradients_match_finite_differences_and_closed_forms() {
        let device = Device::flex().autodiff();
        let a = Tensor::<2>::random([6, 5], Distribution::Normal(0.0, 1.0), &device);
        let host: Vec<f32> = a.clone().into_data().try_to_vec().unwrap();
        for kind in RegularizerKind::ALL {
            let reg = kind.build();
            let a = a.clone().detach().require_grad();
            let loss = reg.loss(&[a.clone()], Aggregation::Mean);
            let g: Vec<f32> = a
                .grad(&loss.backward())
                .unwrap()
                .into_data()
                .try_to_vec()
                .unwrap();
            let h = 1e-2f32;
            for i in 0..30 {
                let mut p = host.clone();
                let mut m = host.clone();
                p[i] += h;
                m[i] -= h;
                let fd = (value(reg.as_ref(), &p, [6, 5]) - value(reg.as_ref(), &m, [6, 5]))
                    / (2.0 * h as f64);
                assert!(
                    (fd - g[i] as f64).abs() < 2e-3,
                    "{kind}: entry {i}: fd {fd} vs autodiff {}",
                    g[i]
                );
            }
            // The closed form the α step uses instead of a second backward.
            let closed = gradient(reg.as_ref(), &[host.clone()], 5, Aggregation::Mean);
            for i in 0..30 {
                assert!(
                    (closed[0][i] - g[i]).abs() < 1e-6,
                    "{kind}: closed form entry {i}"
                );
            }
            if kind == RegularizerKind::Beta {
                // ∂L/∂α = softmax(α)/E.
                let beta = crate::arch_params::softmax_rows(&host, 5, 1.0);
                for i in 0..30 {
                    assert!((g[i] - beta[i] / 6.0).abs() < 1e-6);
                }
            }
            if kind == RegularizerKind::L2 {
                for i in 0..30 {
                    assert!((g[i] - host[i] / 6.0).abs() < 1e-6);
                }
            }
        }
    }

    #[test]
    fn aggregation_over_two_tensors() {
        // Two tensors of equal rows: Sum is twice Mean, and Mean is the mean of per-tensor means.
        let device = Device::flex();
        let a = Tensor::<2>::random([14, 7], Distribution::Normal(0.0, 1.0), &device);
        let b = Tensor::<2>::random([14, 7], Distribution::Normal(0.0, 1.0), &device);
        let mean = BetaDecay
            .loss(&[a.clone(), b.clone()], Aggregation::Mean)
            .into_scalar::<f32>();
        let sum = BetaDecay
            .loss(&[a.clone(), b.clone()], Aggregation::Sum)
            .into_scalar::<f32>();
        let ma = BetaDecay.loss(&[a], Aggregation::Mean).into_scalar::<f32>();
        let mb = BetaDecay.loss(&[b], Aggregation::Mean).into_scalar::<f32>();
        assert!((mean - (ma + mb) / 2.0).abs() < 1e-5);
        assert!((sum - 2.0 * mean).abs() < 1e-5);
    }

    #[test]
    fn beta_zero_and_global_hand_values() {
        // One row [0, 0]: smoothmax(0, 0, 0) = ln 3; global lse of a 2×2 zero matrix = ln 4.
        assert!((value(&BetaZero, &[0.0, 0.0], [1, 2]) - 3f64.ln()).abs() < 1e-6);
        assert!((value(&BetaGlobal, &[0.0; 4], [2, 2]) - 4f64.ln()).abs() < 1e-6);
        assert_eq!(
            "beta-zero".parse::<RegularizerKind>().unwrap(),
            RegularizerKind::BetaZero
        );
        assert!("beta_zero".parse::<RegularizerKind>().is_err());
    }
}
