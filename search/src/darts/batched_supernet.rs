//! The DARTS search supernet on batched cells: the macro of [`DartsSupernet`] around
//! [`BatchedCell`]s, every BN on batch statistics only (a search never evaluates it).

use burn::module::Module;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};

use super::batched_cell::BatchedCell;
use super::ops::Op;
use super::supernet::DartsSupernet;
use crate::nn::{BatchNorm2d, conv_fwd, draw_now, linear_fwd};

#[derive(Module, Debug)]
pub struct BatchedSupernet {
    pub stem_conv: Conv2d,
    pub stem_bn: BatchNorm2d,
    pub cells: Vec<BatchedCell>,
    pub classifier: Linear,
}

impl BatchedSupernet {
    /// Weights drawn as the per-edge [`DartsSupernet`] draws them on first use (module
    /// order), then stacked: a seed gives the same initial network in both forms.
    pub fn new(
        ops: &[Op],
        in_channels: usize,
        c: usize,
        layers: usize,
        classes: usize,
        device: &Device,
    ) -> Self {
        let net = DartsSupernet::new(ops, in_channels, c, layers, classes, device);
        draw_now(&net);
        Self::from_network(net, ops)
    }

    /// The batched form of a per-edge supernet (its weights, stacked).
    pub fn from_network(net: DartsSupernet, ops: &[Op]) -> Self {
        let cells = net
            .cells
            .into_iter()
            .map(|cell| {
                let c = cell.preprocess1.conv.weight.dims()[0];
                BatchedCell::from_cell(cell, ops, c)
            })
            .collect();
        let mut stem_bn = net.stem_bn;
        stem_bn.track_running_stats = false;
        Self {
            stem_conv: net.stem_conv,
            stem_bn,
            cells,
            classifier: net.classifier,
        }
    }

    /// `weights` = [normal, reduce] mixing weights, `[14, K]` each.
    ///
    /// # Shapes
    /// `[N, C_in, H, W]` → `[N, classes]`
    pub fn forward(&self, x: Tensor<4>, weights: &[Tensor<2>]) -> Tensor<2> {
        let flat = |w: &Tensor<2>| {
            let [e, k] = w.dims();
            w.clone().reshape([e * k])
        };
        let (normal, reduce) = (flat(&weights[0]), flat(&weights[1]));
        let s = self.stem_bn.forward(conv_fwd(&self.stem_conv, x)); // [N, 3C, H, W]
        let (mut s0, mut s1) = (s.clone(), s);
        for cell in &self.cells {
            let w = if cell.reduction { &reduce } else { &normal };
            let out = cell.forward(s0, s1.clone(), w);
            (s0, s1) = (s1, out);
        }
        let [n, c, _, _] = s1.dims();
        linear_fwd(&self.classifier, s1.mean_dims(&[2, 3]).reshape([n, c])) // GAP → [N, classes]
    }
}

#[cfg(test)]
mod tests;
