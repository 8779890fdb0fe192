//! Auxiliary heads (DARTS `model.py`): on the 2nd reduction cell's output, trained with weight
//! 0.4 and dropped at inference and export.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Tensor};

use crate::nn::{BatchNorm2d, conv, conv_fwd, linear_fwd};

#[derive(Module, Debug)]
pub struct AuxHead {
    pub conv1: Conv2d,
    pub bn1: BatchNorm2d,
    pub conv2: Conv2d,
    /// CIFAR head: BN after the 2×2 conv; the ImageNet head has none (as in DARTS).
    pub bn2: Option<BatchNorm2d>,
    pub classifier: Linear,
    pub pool_stride: usize,
}

impl AuxHead {
    /// CIFAR: 8×8 input → AvgPool 5 s3 → 2×2.
    pub fn cifar(c: usize, classes: usize, device: &Device) -> Self {
        Self::new(c, classes, 3, true, device)
    }

    /// ImageNet: 14×14 input → AvgPool 5 s2 → 5×5 → conv 2×2 → 4×4 (DARTS pools it by flattening
    /// only when 1×1; we average the remaining positions so any input size works).
    pub fn imagenet(c: usize, classes: usize, device: &Device) -> Self {
        Self::new(c, classes, 2, false, device)
    }

    fn new(c: usize, classes: usize, pool_stride: usize, bn2: bool, device: &Device) -> Self {
        Self {
            conv1: conv(c, 128, 1, 1, 0, 1, 1, device),
            bn1: BatchNorm2d::new(128, true, device),
            conv2: conv(128, 768, 2, 1, 0, 1, 1, device),
            bn2: bn2.then(|| BatchNorm2d::new(768, true, device)),
            classifier: LinearConfig::new(768, classes).init(device),
            pool_stride,
        }
    }

    /// # Shapes
    /// `[N, C, H, W]` → `[N, classes]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut opts =
            AvgPoolOptions::new([5, 5]).with_stride([self.pool_stride, self.pool_stride]);
        opts.count_include_pad = false;
        let x = avg_pool2d(relu(x), opts);
        let x = relu(self.bn1.forward(conv_fwd(&self.conv1, x)));
        let x = conv_fwd(&self.conv2, x);
        let x = relu(match &self.bn2 {
            Some(bn) => bn.forward(x),
            None => x,
        });
        let [n, c, _, _] = x.dims();
        linear_fwd(&self.classifier, x.mean_dims(&[2, 3]).reshape([n, c]))
    }
}
