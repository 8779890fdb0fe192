//! Drop-path (per sample, per op output, training only): keep with probability 1−p and scale
//! by 1/(1−p) so the expectation is unchanged.

use burn::tensor::{Distribution, Tensor};

/// # Shapes
/// `[N, C, H, W]` → `[N, C, H, W]`
pub fn drop_path(x: Tensor<4>, drop_prob: f64) -> Tensor<4> {
    if drop_prob <= 0.0 {
        return x;
    }
    let keep = 1.0 - drop_prob;
    let n = x.dims()[0];
    let mask = Tensor::<4>::random([n, 1, 1, 1], Distribution::Bernoulli(keep), &x.device());
    // Scale the [N,1,1,1] mask, not the activation: one full-size op forward and one backward
    // (the gradient arriving here is often a strided slice of a concat's).
    x * (mask / keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn keeps_the_mean_and_drops_whole_samples() {
        let device = Device::flex();
        device.seed(3);
        let x = Tensor::<4>::ones([4000, 2, 2, 2], &device);
        let y = drop_path(x, 0.3);
        let v: Vec<f32> = y.clone().into_data().try_to_vec().unwrap();
        // Every sample is all zeros or all 1/0.7.
        for s in v.chunks(8) {
            assert!(s.iter().all(|&p| p == 0.0) || s.iter().all(|&p| (p - 1.0 / 0.7).abs() < 1e-6));
        }
        let mean: f32 = v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean - 1.0).abs() < 0.05, "mean {mean}");
        assert_eq!(
            drop_path(Tensor::<4>::ones([2, 1, 1, 1], &device), 0.0)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap(),
            vec![1.0, 1.0]
        );
    }
}
