//! Cross-entropy and accuracy on logits.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// Mean cross-entropy of `[N, K]` logits against `[N]` class indices.
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let n = targets.dims()[0];
    let logp = log_softmax(logits, 1);
    let picked = logp.gather(1, targets.reshape([n, 1])); // [N, 1]
    picked.mean().neg()
}

/// Cross-entropy against smoothed targets `(1 − ε)·onehot + ε/K` (Szegedy et al.), as the
/// ImageNet recipe: `(1 − ε)·CE + ε·mean_k(−log p_k)`.
pub fn cross_entropy_smooth(logits: Tensor<2>, targets: Tensor<1, Int>, epsilon: f64) -> Tensor<1> {
    if epsilon == 0.0 {
        return cross_entropy(logits, targets);
    }
    let n = targets.dims()[0];
    let logp = log_softmax(logits, 1);
    let nll = logp.clone().gather(1, targets.reshape([n, 1])).mean().neg();
    let uniform = logp.mean().neg();
    nll * (1.0 - epsilon) + uniform * epsilon
}

/// Number of rows whose argmax equals the target.
pub fn correct(logits: Tensor<2>, targets: Tensor<1, Int>) -> usize {
    let n = targets.dims()[0];
    let pred = logits.argmax(1).reshape([n]);
    pred.equal(targets).int().sum().into_scalar::<i64>() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn hand_worked_cross_entropy() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(TensorData::from([[0.0f32, 0.0], [2.0, 0.0]]), &device);
        let t = Tensor::<1, Int>::from_data(TensorData::from([1i64, 0]), &device);
        // Row 0: ln 2. Row 1: ln(1 + e^-2).
        let want = ((2f64).ln() + (1.0 + (-2f64).exp()).ln()) / 2.0;
        let got = cross_entropy(logits.clone(), t.clone()).into_scalar::<f32>() as f64;
        assert!((got - want).abs() < 1e-6);
        assert_eq!(correct(logits, t), 1);
    }

    #[test]
    fn label_smoothing_hand_worked() {
        // Logits [0, ln 3] → p = [1/4, 3/4]; target 1, ε = 0.1, K = 2:
        // target dist [0.05, 0.95]: loss = −0.05·ln(1/4) − 0.95·ln(3/4).
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(TensorData::from([[0.0f32, 3f32.ln()]]), &device);
        let t = Tensor::<1, Int>::from_data(TensorData::from([1i64]), &device);
        let want = -0.05 * (0.25f64).ln() - 0.95 * (0.75f64).ln();
        let got = cross_entropy_smooth(logits, t, 0.1).into_scalar::<f32>() as f64;
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
}
