//! The DARTS search network (quark0 `model_search.py` `Network`): stem Conv3×3(3C)-BN, L cells
//! with reductions at L/3 and 2L/3 (channels doubled there), global average pool, linear.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::cell::SearchCell;
use super::ops::Op;
use crate::nn::{BatchNorm2d, conv, slice_weights};

#[derive(Module, Debug)]
pub struct DartsSupernet {
    pub stem_conv: Conv2d,
    pub stem_bn: BatchNorm2d,
    pub cells: Vec<SearchCell>,
    pub classifier: Linear,
}

/// Indices of the reduction cells among `layers` cells.
pub fn reduction_layers(layers: usize) -> [usize; 2] {
    [layers / 3, 2 * layers / 3]
}

impl DartsSupernet {
    pub fn new(
        ops: &[Op],
        in_channels: usize,
        c: usize,
        layers: usize,
        classes: usize,
        device: &Device,
    ) -> Self {
        let stem_multiplier = 3;
        let c_stem = stem_multiplier * c;
        let (mut c_pp, mut c_p, mut c_curr) = (c_stem, c_stem, c);
        let mut reduction_prev = false;
        let mut cells = Vec::with_capacity(layers);
        for i in 0..layers {
            let reduction = reduction_layers(layers).contains(&i);
            if reduction {
                c_curr *= 2;
            }
            cells.push(SearchCell::new(
                ops,
                c_pp,
                c_p,
                c_curr,
                reduction,
                reduction_prev,
                device,
            ));
            reduction_prev = reduction;
            (c_pp, c_p) = (c_p, super::STEPS * c_curr);
        }
        Self {
            stem_conv: conv(in_channels, c_stem, 3, 1, 1, 1, 1, device),
            stem_bn: BatchNorm2d::new(c_stem, true, device),
            cells,
            classifier: LinearConfig::new(c_p, classes).init(device),
        }
    }

    /// `weights` = [normal, reduce] mixing weights, `[14, K]` each.
    ///
    /// # Shapes
    /// `[N, C_in, H, W]` → `[N, classes]`
    pub fn forward(&self, x: Tensor<4>, weights: &[Tensor<2>]) -> Tensor<2> {
        let normal = slice_weights(&weights[0]);
        let reduce = slice_weights(&weights[1]);
        let s = self.stem_bn.forward(self.stem_conv.forward(x)); // [N, 3C, H, W]
        let (mut s0, mut s1) = (s.clone(), s);
        for cell in &self.cells {
            let w = if cell.reduction { &reduce } else { &normal };
            let out = cell.forward(s0, s1.clone(), w);
            (s0, s1) = (s1, out);
        }
        let [n, c, _, _] = s1.dims();
        self.classifier
            .forward(s1.mean_dims(&[2, 3]).reshape([n, c])) // GAP → [N, classes]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::darts::OpSet;
    use crate::nn::count_params;

    #[test]
    fn supernet_parameter_count_matches_the_darts_log() {
        // spec §4.2 / §9.4: 1,930,618 weights (C=16, 8 cells, 10 classes), with or without none.
        let device = Device::flex();
        for set in [OpSet::Darts, OpSet::BetaDarts] {
            let net = DartsSupernet::new(&set.ops(), 3, 16, 8, 10, &device);
            assert_eq!(count_params(&net), 1_930_618, "{set:?}");
        }
    }

    #[test]
    fn tiny_forward() {
        let device = Device::flex();
        let net = DartsSupernet::new(&OpSet::BetaDarts.ops(), 1, 4, 5, 10, &device);
        let w = Tensor::<2>::ones([14, 7], &device) / 7.0;
        let y = net.forward(Tensor::zeros([2, 1, 8, 8], &device), &[w.clone(), w]);
        assert_eq!(y.dims(), [2, 10]);
    }
}
