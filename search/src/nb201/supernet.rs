//! The NB201 search supernet: the macro of [`Nb201Network`] around batched
//! [`SearchCell`]s, every BN on batch statistics only (a search never evaluates it).

use burn::module::Module;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};

use super::network::MacroParts;
use super::{Nb201Network, ResBlock, SearchCell};
use crate::nn::{BatchNorm2d, draw_now};

#[derive(Module, Debug)]
pub struct Nb201Supernet {
    pub stem_conv: Conv2d,
    pub stem_bn: BatchNorm2d,
    pub cells: Vec<SearchCell>,
    pub reductions: Vec<ResBlock>,
    pub head_bn: BatchNorm2d,
    pub classifier: Linear,
    pub cells_per_stage: usize,
}

fn untracked(mut bn: BatchNorm2d) -> BatchNorm2d {
    bn.track_running_stats = false;
    bn
}

impl Nb201Supernet {
    /// C channels, N cells per stage. The weights are drawn now, as the per-edge
    /// [`Nb201Network::supernet`] draws them on first use (its parameters in module order),
    /// and then stacked: a seed gives the same initial network in both forms.
    pub fn new(
        in_channels: usize,
        channels: usize,
        n: usize,
        classes: usize,
        device: &Device,
    ) -> Self {
        let net = Nb201Network::supernet(in_channels, channels, n, classes, device);
        draw_now(&net);
        Self::from_network(net)
    }

    /// The batched form of a per-edge supernet (its weights, stacked).
    pub fn from_network(net: Nb201Network) -> Self {
        let n = net.cells_per_stage;
        let c0 = net.stem_conv.weight.dims()[0];
        let cells = net
            .cells
            .iter()
            .enumerate()
            .map(|(i, cell)| SearchCell::from_cell(cell, c0 << (i / n)))
            .collect();
        let reductions = net
            .reductions
            .into_iter()
            .map(|mut r| {
                r.conv_a.bn = untracked(r.conv_a.bn);
                r.conv_b.bn = untracked(r.conv_b.bn);
                r
            })
            .collect();
        Self {
            stem_conv: net.stem_conv,
            stem_bn: untracked(net.stem_bn),
            cells,
            reductions,
            head_bn: untracked(net.head_bn),
            classifier: net.classifier,
            cells_per_stage: n,
        }
    }

    /// Logits with mixing weights `[6, 5]` (softmax(α) in search), shared by every cell.
    ///
    /// # Shapes
    /// `[N, C_in, H, W]` → `[N, classes]`
    pub fn forward(&self, x: Tensor<4>, weights: &Tensor<2>) -> Tensor<2> {
        let [e, k] = weights.dims();
        let flat = weights.clone().reshape([e * k]);
        let parts = MacroParts {
            stem_conv: &self.stem_conv,
            stem_bn: &self.stem_bn,
            reductions: &self.reductions,
            head_bn: &self.head_bn,
            classifier: &self.classifier,
            cells_per_stage: self.cells_per_stage,
        };
        parts.forward(x, &self.cells, |cell, x| cell.forward(x, &flat))
    }
}

#[cfg(test)]
mod tests;
