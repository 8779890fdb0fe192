//! BatchNorm2d with `affine` optional, as PyTorch's `nn.BatchNorm2d(C, affine=False)` that the
//! DARTS and NAS-Bench-201 search cells use (burn's `BatchNorm` always has γ/β).

use burn::module::{Flag, Module, Param, RunningState};
use burn::tensor::module::{batch_norm, batch_norm_train};
use burn::tensor::{Device, Tensor};

/// Batch norm over `[N, C, H, W]`; running statistics as in PyTorch (momentum 0.1,
/// unbiased variance in the running estimate).
#[derive(Module, Debug)]
pub struct BatchNorm2d {
    pub gamma: Option<Param<Tensor<1>>>,
    pub beta: Option<Param<Tensor<1>>>,
    pub running_mean: RunningState<Tensor<1>>,
    pub running_var: RunningState<Tensor<1>>,
    pub training: Param<Flag>,
    pub channels: usize,
    pub momentum: f64,
    pub epsilon: f64,
}

impl BatchNorm2d {
    pub fn new(channels: usize, affine: bool, device: &Device) -> Self {
        let param = |t: Tensor<1>| Param::from_tensor(t);
        Self {
            gamma: affine.then(|| param(Tensor::ones([channels], device))),
            beta: affine.then(|| param(Tensor::zeros([channels], device))),
            running_mean: RunningState::new(Tensor::zeros([channels], device)),
            running_var: RunningState::new(Tensor::ones([channels], device)),
            training: Param::from_bool(true),
            channels,
            momentum: 0.1,
            epsilon: 1e-5,
        }
    }

    pub fn is_affine(&self) -> bool {
        self.gamma.is_some()
    }

    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let device = x.device();
        let (gamma, beta) = self.affine_or_identity(&device);
        if device.is_autodiff() && self.training.is_enabled() {
            let [n, _, h, w] = x.dims();
            let out = batch_norm_train(x, gamma, beta, self.epsilon);
            let count = (n * h * w) as f64;
            let unbiased = if count > 1.0 {
                count / (count - 1.0)
            } else {
                1.0
            };
            let m = self.momentum;
            let mean = self.running_mean.value_sync().to_device(&device);
            let var = self.running_var.value_sync().to_device(&device);
            self.running_mean
                .update((mean * (1.0 - m) + out.mean.detach() * m).detach());
            self.running_var
                .update((var * (1.0 - m) + out.variance.detach() * (m * unbiased)).detach());
            // Merge the update now, so records and eval-mode reads always see the latest
            // statistics (RunningState otherwise defers it to the next access).
            let _ = (
                self.running_mean.value_sync(),
                self.running_var.value_sync(),
            );
            out.output
        } else {
            let mean = self.running_mean.value().to_device(&device);
            let var = self.running_var.value().to_device(&device);
            batch_norm(x, gamma, beta, mean, var, self.epsilon)
        }
    }

    fn affine_or_identity(&self, device: &Device) -> (Tensor<1>, Tensor<1>) {
        match (&self.gamma, &self.beta) {
            (Some(g), Some(b)) => (g.val(), b.val()),
            _ => (
                Tensor::ones([self.channels], device),
                Tensor::zeros([self.channels], device),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData, Tolerance};

    #[test]
    fn normalises_per_channel_in_training_and_tracks_running_stats() {
        let device = Device::flex().autodiff();
        let bn = BatchNorm2d::new(3, false, &device);
        let x = Tensor::<4>::random([4, 3, 5, 5], Distribution::Normal(2.0, 3.0), &device);
        let y = bn.forward(x.clone());
        let mean = y.clone().mean_dims(&[0, 2, 3]).into_data();
        mean.assert_approx_eq::<f32>(
            &TensorData::from([[[[0.0f32]], [[0.0]], [[0.0]]]]),
            Tolerance::absolute(1e-4),
        );
        // Running mean moved 10% of the way towards the batch mean.
        let batch_mean = x.mean_dims(&[0, 2, 3]).reshape([3]).into_data();
        let rm = bn.running_mean.value().into_data();
        let expect: Vec<f32> = batch_mean
            .try_to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|v| v * 0.1)
            .collect();
        rm.assert_approx_eq::<f32>(
            &TensorData::from(expect.as_slice()),
            Tolerance::absolute(1e-5),
        );
    }

    #[test]
    fn affine_has_parameters_and_plain_has_none() {
        let device = Device::flex();
        assert_eq!(
            crate::nn::count_params(&BatchNorm2d::new(8, true, &device)),
            16
        );
        assert_eq!(
            crate::nn::count_params(&BatchNorm2d::new(8, false, &device)),
            0
        );
    }
}
