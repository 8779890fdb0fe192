//! The stateless regularizers: none, L2, β-decay and its global and zero-logit variants.

use burn::tensor::Tensor;
use burn::tensor::activation::softplus;

use super::Regularizer;

pub struct NoRegularizer;
pub struct BetaDecay;
pub struct L2;
pub struct BetaGlobal;
pub struct BetaZero;

/// Numerically stable logsumexp over dim 1 of `[E, K]` → `[E, 1]`.
pub fn logsumexp_rows(a: Tensor<2>) -> Tensor<2> {
    let m = a.clone().max_dim(1).detach();
    (a - m.clone()).exp().sum_dim(1).log() + m
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

/// softmax(α)/E: the gradient of the mean row logsumexp.
pub(super) fn beta_over_rows(alpha: &[f32], k: usize) -> Vec<f32> {
    let rows = (alpha.len() / k.max(1)).max(1) as f32;
    softmax_lse(alpha, k)
        .0
        .into_iter()
        .map(|b| b / rows)
        .collect()
}

impl Regularizer for NoRegularizer {
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        alpha.sum() * 0.0
    }
    fn term_gradient(&self, alpha: &[f32], _k: usize) -> Vec<f32> {
        vec![0.0; alpha.len()]
    }
}

impl Regularizer for BetaDecay {
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        logsumexp_rows(alpha).mean()
    }
    fn term_gradient(&self, alpha: &[f32], k: usize) -> Vec<f32> {
        beta_over_rows(alpha, k)
    }
}

impl Regularizer for L2 {
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        (alpha.square().sum_dim(1) * 0.5).mean()
    }
    fn term_gradient(&self, alpha: &[f32], k: usize) -> Vec<f32> {
        let rows = (alpha.len() / k.max(1)).max(1) as f32;
        alpha.iter().map(|a| a / rows).collect()
    }
}

impl Regularizer for BetaGlobal {
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1> {
        let [e, k] = alpha.dims();
        logsumexp_rows(alpha.reshape([1, e * k])).reshape([1])
    }
    fn term_gradient(&self, alpha: &[f32], _k: usize) -> Vec<f32> {
        softmax_lse(alpha, alpha.len()).0 // softmax over every entry
    }
}

impl Regularizer for BetaZero {
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
