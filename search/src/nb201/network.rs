//! The NB201 macro: stem → N cells → ResBlock(2C, s2) → N cells → ResBlock(4C, s2) → N cells →
//! BN-ReLU → global average pool → linear. Spatial 32 → 16 → 8 for CIFAR.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Tensor};

use super::{Arch, Cell};
use crate::nn::{BatchNorm2d, ReluConvBn, conv, conv_fwd, linear_fwd, slice_weights};

/// NB201's ResNet basic block: ReLU-Conv3×3(s2)-BN → ReLU-Conv3×3-BN, plus a shortcut
/// AvgPool2×2 → Conv1×1 (no BN, no ReLU). All BNs affine.
#[derive(Module, Debug)]
pub struct ResBlock {
    pub conv_a: ReluConvBn,
    pub conv_b: ReluConvBn,
    pub shortcut: Conv2d,
}

impl ResBlock {
    pub fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        Self {
            conv_a: ReluConvBn::new(c_in, c_out, 3, 2, 1, 1, true, device),
            conv_b: ReluConvBn::new(c_out, c_out, 3, 1, 1, 1, true, device),
            shortcut: conv(c_in, c_out, 1, 1, 0, 1, 1, device),
        }
    }

    /// # Shapes
    /// `[N, C, H, W]` → `[N, 2C, H/2, W/2]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let residual = conv_fwd(
            &self.shortcut,
            avg_pool2d(x.clone(), AvgPoolOptions::new([2, 2]).with_stride([2, 2])),
        );
        residual + self.conv_b.forward(self.conv_a.forward(x))
    }
}

/// The NB201 network, as a supernet (every edge mixes all ops) or as a discrete network.
#[derive(Module, Debug)]
pub struct Nb201Network {
    pub stem_conv: Conv2d,
    pub stem_bn: BatchNorm2d,
    pub cells: Vec<Cell>,
    pub reductions: Vec<ResBlock>,
    pub head_bn: BatchNorm2d,
    pub classifier: Linear,
    pub cells_per_stage: usize,
}

impl Nb201Network {
    /// The search supernet: C channels, N cells per stage.
    pub fn supernet(
        in_channels: usize,
        channels: usize,
        n: usize,
        classes: usize,
        device: &Device,
    ) -> Self {
        Self::build(in_channels, channels, n, classes, device, |c, d| {
            Cell::search(c, d)
        })
    }

    /// The discrete network of `arch` (the NB201 training network: C=16, N=5 by default).
    pub fn discrete(
        arch: &Arch,
        in_channels: usize,
        channels: usize,
        n: usize,
        classes: usize,
        device: &Device,
    ) -> Self {
        Self::build(in_channels, channels, n, classes, device, |c, d| {
            Cell::discrete(arch, c, d)
        })
    }

    fn build(
        in_channels: usize,
        channels: usize,
        n: usize,
        classes: usize,
        device: &Device,
        cell: impl Fn(usize, &Device) -> Cell,
    ) -> Self {
        let widths = [channels, channels * 2, channels * 4];
        let cells = widths
            .iter()
            .flat_map(|&c| (0..n).map(move |_| c))
            .map(|c| cell(c, device))
            .collect();
        Self {
            stem_conv: conv(in_channels, channels, 3, 1, 1, 1, 1, device),
            stem_bn: BatchNorm2d::new(channels, true, device),
            cells,
            reductions: vec![
                ResBlock::new(widths[0], widths[1], device),
                ResBlock::new(widths[1], widths[2], device),
            ],
            head_bn: BatchNorm2d::new(widths[2], true, device),
            classifier: LinearConfig::new(widths[2], classes).init(device),
            cells_per_stage: n,
        }
    }

    /// Logits. `weights` are the mixing weights `[6, 5]` (softmax(α) in search); `None` for a
    /// discrete network.
    ///
    /// # Shapes
    /// `[N, C_in, H, W]` → `[N, classes]`
    pub fn forward(&self, x: Tensor<4>, weights: Option<&Tensor<2>>) -> Tensor<2> {
        let w = weights.map(slice_weights);
        let parts = MacroParts {
            stem_conv: &self.stem_conv,
            stem_bn: &self.stem_bn,
            reductions: &self.reductions,
            head_bn: &self.head_bn,
            classifier: &self.classifier,
            cells_per_stage: self.cells_per_stage,
        };
        parts.forward(x, &self.cells, |cell, x| cell.forward(x, w.as_ref()))
    }
}

/// The NB201 macro around a list of cells, shared by the per-edge network and the batched
/// supernet.
pub(crate) struct MacroParts<'a> {
    pub stem_conv: &'a Conv2d,
    pub stem_bn: &'a BatchNorm2d,
    pub reductions: &'a [ResBlock],
    pub head_bn: &'a BatchNorm2d,
    pub classifier: &'a Linear,
    pub cells_per_stage: usize,
}

impl MacroParts<'_> {
    /// # Shapes
    /// `[N, C_in, H, W]` → `[N, classes]`
    pub fn forward<C>(
        &self,
        x: Tensor<4>,
        cells: &[C],
        cell: impl Fn(&C, Tensor<4>) -> Tensor<4>,
    ) -> Tensor<2> {
        let mut x = self.stem_bn.forward(conv_fwd(self.stem_conv, x)); // [N, C, H, W]
        for (i, c) in cells.iter().enumerate() {
            if i > 0 && i % self.cells_per_stage == 0 {
                x = self.reductions[i / self.cells_per_stage - 1].forward(x); // halves H, W
            }
            x = cell(c, x);
        }
        let x = relu(self.head_bn.forward(x)); // [N, 4C, H/4, W/4]
        let [n, c, _, _] = x.dims();
        let pooled = x.mean_dims(&[2, 3]).reshape([n, c]); // [N, 4C]
        linear_fwd(self.classifier, pooled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nb201::{NUM_EDGES, Op};
    use crate::nn::count_params;

    const ARCH_9930: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";

    #[test]
    fn supernet_has_the_reference_parameter_count() {
        // spec §3.3 / §9: 1,686,106 weights (C=16, N=5, 10 classes); α is kept apart.
        let device = Device::flex();
        let net = Nb201Network::supernet(3, 16, 5, 10, &device);
        assert_eq!(count_params(&net), 1_686_106);
    }

    #[test]
    fn discrete_arch_9930_has_the_reference_parameter_count() {
        let device = Device::flex();
        let arch: Arch = ARCH_9930.parse().unwrap();
        for (classes, expect) in [(10, 1_288_506), (100, 1_294_356), (120, 1_295_656)] {
            let net = Nb201Network::discrete(&arch, 3, 16, 5, classes, &device);
            assert_eq!(count_params(&net), expect, "{classes} classes");
        }
    }

    #[test]
    fn forward_shapes() {
        let device = Device::flex();
        let net = Nb201Network::supernet(1, 4, 1, 10, &device);
        let x = Tensor::<4>::zeros([2, 1, 8, 8], &device);
        let k = Op::ALL.len();
        let w = Tensor::<2>::ones([NUM_EDGES, k], &device) / k as f64;
        assert_eq!(net.forward(x, Some(&w)).dims(), [2, 10]);
    }
}
