//! ReLU → Conv (no bias) → BN: the unit both spaces build their convolutions from.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::BatchNorm2d;

/// A bias-free 2-D convolution with PyTorch's default (Kaiming-uniform, a = √5) init.
pub fn conv(
    c_in: usize,
    c_out: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    groups: usize,
    device: &Device,
) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(
            padding, padding, padding, padding,
        ))
        .with_dilation([dilation, dilation])
        .with_groups(groups)
        .with_bias(false)
        .init(device)
}

#[derive(Module, Debug)]
pub struct ReluConvBn {
    pub conv: Conv2d,
    pub bn: BatchNorm2d,
}

impl ReluConvBn {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        affine: bool,
        device: &Device,
    ) -> Self {
        Self {
            conv: conv(c_in, c_out, kernel, stride, padding, dilation, 1, device),
            bn: BatchNorm2d::new(c_out, affine, device),
        }
    }

    /// # Shapes
    /// `[N, C_in, H, W]` → `[N, C_out, H', W']`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(super::conv_fwd(&self.conv, relu(x)))
    }
}
