//! BatchNorm2d with `affine` and `track_running_stats` as in PyTorch's `nn.BatchNorm2d`
//! (burn's `BatchNorm` always has γ/β and always tracks). Training runs the fused kernel of
//! [`crate::kernels::batch_norm`]: one operation forward, one backward.
//!
//! Search cells build theirs affine-free and untracked (PyTorch: `affine=False`): a search
//! never evaluates its supernet, so running statistics would be work nobody reads.

use burn::module::{Flag, Module, Param, RunningState};
use burn::tensor::module::batch_norm;
use burn::tensor::{Device, Tensor};

use crate::kernels::{self, GammaLayout};

/// Batch norm over `[N, C, H, W]`; running statistics (when tracked) as in PyTorch (momentum
/// 0.1, unbiased variance in the running estimate).
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
    /// Off: batch statistics in every mode and no running estimates (search cells).
    pub track_running_stats: bool,
}

impl BatchNorm2d {
    /// Affine BNs track running statistics (evaluation networks); affine-free ones are the
    /// search cells' and do not.
    pub fn new(channels: usize, affine: bool, device: &Device) -> Self {
        Self::with_tracking(channels, affine, affine, device)
    }

    pub fn with_tracking(channels: usize, affine: bool, track: bool, device: &Device) -> Self {
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
            track_running_stats: track,
        }
    }

    pub fn is_affine(&self) -> bool {
        self.gamma.is_some()
    }

    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let device = x.device();
        let training = device.is_autodiff() && self.training.is_enabled();
        if training || !self.track_running_stats {
            let [n, _, h, w] = x.dims();
            let gamma = self
                .gamma
                .as_ref()
                .map(|g| (g.val(), GammaLayout::PerChannel));
            let out =
                kernels::batch_norm(x, gamma, self.beta.as_ref().map(Param::val), self.epsilon);
            if training && self.track_running_stats {
                self.update_running(&out, (n * h * w) as f64, &device);
            }
            return out.output;
        }
        let mean = self.running_mean.value().to_device(&device);
        let var = self.running_var.value().to_device(&device);
        let (gamma, beta) = match (&self.gamma, &self.beta) {
            (Some(g), Some(b)) => (g.val(), b.val()),
            _ => (
                Tensor::ones([self.channels], &device),
                Tensor::zeros([self.channels], &device),
            ),
        };
        batch_norm(x, gamma, beta, mean, var, self.epsilon)
    }

    fn update_running(&self, out: &kernels::Normalized, count: f64, device: &Device) {
        let unbiased = if count > 1.0 {
            count / (count - 1.0)
        } else {
            1.0
        };
        let m = self.momentum;
        let mean = self.running_mean.value_sync().to_device(device);
        let var = self.running_var.value_sync().to_device(device);
        let batch_var = out.variance(self.epsilon).detach();
        self.running_mean
            .update((mean * (1.0 - m) + out.mean.clone().detach() * m).detach());
        self.running_var
            .update((var * (1.0 - m) + batch_var * (m * unbiased)).detach());
        // Merge the update now, so records and eval-mode reads always see the latest
        // statistics (RunningState otherwise defers it to the next access).
        let _ = (
            self.running_mean.value_sync(),
            self.running_var.value_sync(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData, Tolerance};

    #[test]
    fn normalises_per_channel_in_training_and_tracks_running_stats() {
        let device = Device::flex().autodiff();
        let bn = BatchNorm2d::new(3, true, &device);
        let x = Tensor::<4>::random([4, 3, 5, 5], Distribution::Normal(2.0, 3.0), &device);
        let y = bn.forward(x.clone());
        let mean = y.clone().mean_dims(&[0, 2, 3]).into_data();
        mean.assert_approx_eq::<f32>(
            &TensorData::from([[[[0.0f32]], [[0.0]], [[0.0]]]]),
            Tolerance::absolute(1e-4),
        );
        // Running mean moved 10% of the way towards the batch mean; running variance 90% of 1
        // plus 10% of the unbiased batch variance.
        let batch_mean: Vec<f32> = x
            .clone()
            .mean_dims(&[0, 2, 3])
            .reshape([3])
            .into_data()
            .try_to_vec()
            .unwrap();
        let rm: Vec<f32> = bn.running_mean.value().into_data().try_to_vec().unwrap();
        let centred = x.clone() - x.mean_dims(&[0, 2, 3]);
        let var: Vec<f32> = (centred.square().sum_dim(0).sum_dim(2).sum_dim(3) / 99.0)
            .reshape([3])
            .into_data()
            .try_to_vec()
            .unwrap();
        let rv: Vec<f32> = bn.running_var.value().into_data().try_to_vec().unwrap();
        for c in 0..3 {
            assert!((rm[c] - 0.1 * batch_mean[c]).abs() < 1e-5);
            assert!(
                (rv[c] - (0.9 + 0.1 * var[c])).abs() < 1e-3,
                "{rv:?} vs {var:?}"
            );
        }
    }

    #[test]
    fn search_bns_keep_no_statistics_and_use_the_batch_in_every_mode() {
        let device = Device::flex().autodiff();
        let bn = BatchNorm2d::new(2, false, &device);
        let x = Tensor::<4>::random([3, 2, 4, 4], Distribution::Normal(5.0, 2.0), &device);
        let train = bn.forward(x.clone());
        let rm: Vec<f32> = bn.running_mean.value().into_data().try_to_vec().unwrap();
        assert_eq!(
            rm,
            vec![0.0, 0.0],
            "untracked BN left its running mean alone"
        );
        // On an inference device it still normalises with the batch's statistics.
        let eval = bn.valid().forward(x.inner());
        eval.into_data()
            .assert_approx_eq::<f32>(&train.inner().into_data(), Tolerance::absolute(1e-5));
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
