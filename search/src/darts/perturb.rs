//! SDARTS random smoothing (Chen & Hsieh, ICML 2020; spec §1.6), optional in the weight step:
//! β + U(−ε, ε), clamped to [0, 1], an all-zero row gets 1 at its argmax, rows renormalised.
//! ε ramps 0.03 → 0.3 over the run.

use burn::tensor::Tensor;

use crate::rng::Rng;

pub fn perturb_epsilon(epoch: usize, epochs: usize) -> f64 {
    0.03 + (0.3 - 0.03) * epoch as f64 / epochs.max(1) as f64
}

/// The U(−ε, ε) noise of [`random_perturbation`] for `len` weights, drawn in its order from the
/// run's checkpointed generator (so a resumed run draws the same noise).
pub fn perturbation_noise(len: usize, epsilon: f64, rng: &mut Rng) -> Vec<f32> {
    (0..len)
        .map(|_| ((rng.uniform() * 2.0 - 1.0) * epsilon) as f32)
        .collect()
}

/// [`random_perturbation`] on the device, given its noise: no round trip of β to the host.
///
/// # Shapes
/// `beta`, `noise`: `[rows, k]` → `[rows, k]`
pub fn perturb_on_device(beta: Tensor<2>, noise: Tensor<2>) -> Tensor<2> {
    let [rows, k] = beta.dims();
    let fallback = beta
        .clone()
        .argmax(1)
        .reshape([rows])
        .one_hot::<2>(k)
        .float();
    let b = (beta + noise).clamp(0.0, 1.0);
    let empty = b.clone().sum_dim(1).equal_elem(0.0).float(); // [rows, 1]: 1 where all zero
    let b = b + fallback * empty;
    b.clone() / b.sum_dim(1)
}

/// Perturbs row-major `[rows, k]` mixing weights in place (the host form; the search uses
/// [`perturb_on_device`], which the tests check against this).
pub fn random_perturbation(beta: &mut [f32], k: usize, epsilon: f64, rng: &mut Rng) {
    for row in beta.chunks_mut(k) {
        let argmax = (0..k).fold(0, |b, i| if row[i] > row[b] { i } else { b });
        for v in row.iter_mut() {
            let noise = (rng.uniform() * 2.0 - 1.0) * epsilon;
            *v = (*v as f64 + noise).clamp(0.0, 1.0) as f32;
        }
        let sum: f32 = row.iter().sum();
        if sum == 0.0 {
            row[argmax] = 1.0;
        }
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_stay_distributions_within_epsilon_before_renormalising() {
        let mut rng = Rng::new(1);
        let mut b = vec![0.2f32; 10];
        random_perturbation(&mut b, 5, 0.1, &mut rng);
        for row in b.chunks(5) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            assert!(row.iter().all(|&v| v >= 0.0));
        }
        assert_ne!(b[..5], [0.2; 5]);
        assert!((perturb_epsilon(0, 50) - 0.03).abs() < 1e-12);
        assert!((perturb_epsilon(50, 50) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn the_device_form_matches_the_host_form() {
        use burn::tensor::{Device, TensorData};
        let device = Device::flex();
        let beta: Vec<f32> = vec![0.5, 0.3, 0.2, 0.0, 0.0, 0.0, 0.1, 0.1, 0.8];
        for eps in [0.0, 0.05, 0.3] {
            let mut host = beta.clone();
            random_perturbation(&mut host, 3, eps, &mut Rng::new(9));
            let noise = perturbation_noise(9, eps, &mut Rng::new(9));
            let t = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [3, 3]), &device);
            let dev: Vec<f32> = perturb_on_device(t(beta.clone()), t(noise))
                .into_data()
                .try_to_vec()
                .unwrap();
            for (a, b) in host.iter().zip(&dev) {
                assert!((a - b).abs() < 1e-6, "ε {eps}: {host:?} vs {dev:?}");
            }
        }
    }

    #[test]
    fn all_zero_row_falls_back_to_its_argmax() {
        let mut rng = Rng::new(2);
        let mut b = vec![0.0f32, 0.0, 0.0];
        // ε = 0: clamping keeps zeros, so the fallback must fire (argmax of equal values = 0).
        random_perturbation(&mut b, 3, 0.0, &mut rng);
        assert_eq!(b, vec![1.0, 0.0, 0.0]);
    }
}
