//! Networks built from a genotype (quark0 `model.py`): `NetworkCIFAR` (stem Conv3×3(3C)-BN, C=36,
//! 20 cells) and `NetworkImageNet` (two stride-2 stems, C=48, 14 cells), with reductions at L/3
//! and 2L/3, global average pool and a linear classifier; optional auxiliary head on the second
//! reduction cell's output.

use std::fmt;
use std::str::FromStr;

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{AuxHead, EvalCell};
use crate::darts::Genotype;
use crate::nn::{BatchNorm2d, conv, conv_fwd, linear_fwd};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkKind {
    Cifar,
    Imagenet,
}

impl NetworkKind {
    /// (channels, cells) of the papers' evaluation networks.
    pub fn defaults(self) -> (usize, usize) {
        match self {
            NetworkKind::Cifar => (36, 20),
            NetworkKind::Imagenet => (48, 14),
        }
    }
}

impl fmt::Display for NetworkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetworkKind::Cifar => "cifar",
            NetworkKind::Imagenet => "imagenet",
        })
    }
}

impl FromStr for NetworkKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cifar" => Ok(NetworkKind::Cifar),
            "imagenet" => Ok(NetworkKind::Imagenet),
            _ => Err(Error::Invalid(format!(
                "unknown network {s:?}; choose cifar or imagenet"
            ))),
        }
    }
}

/// A stem: Conv-BN, optionally preceded by ReLU (ImageNet stem1) or followed by ReLU + a
/// second Conv-BN (ImageNet stem0).
#[derive(Module, Debug)]
pub struct Stem {
    pub conv_a: Conv2d,
    pub bn_a: BatchNorm2d,
    pub conv_b: Option<Conv2d>,
    pub bn_b: Option<BatchNorm2d>,
    pub relu_first: bool,
}

impl Stem {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = if self.relu_first { relu(x) } else { x };
        let x = self.bn_a.forward(conv_fwd(&self.conv_a, x));
        match (&self.conv_b, &self.bn_b) {
            (Some(c), Some(bn)) => bn.forward(conv_fwd(c, relu(x))),
            _ => x,
        }
    }
}

#[derive(Module, Debug)]
pub struct EvalNetwork {
    pub stems: Vec<Stem>,
    pub cells: Vec<EvalCell>,
    pub aux: Option<AuxHead>,
    pub classifier: Linear,
    /// Index of the cell whose output feeds the auxiliary head.
    pub aux_at: usize,
}

impl EvalNetwork {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: NetworkKind,
        g: &Genotype,
        in_channels: usize,
        c: usize,
        layers: usize,
        classes: usize,
        auxiliary: bool,
        device: &Device,
    ) -> Self {
        let bn = |ch| BatchNorm2d::new(ch, true, device);
        let (stems, mut c_pp, mut c_p, mut reduction_prev) = match kind {
            NetworkKind::Cifar => {
                let cs = 3 * c;
                let stem = Stem {
                    conv_a: conv(in_channels, cs, 3, 1, 1, 1, 1, device),
                    bn_a: bn(cs),
                    conv_b: None,
                    bn_b: None,
                    relu_first: false,
                };
                (vec![stem], cs, cs, false)
            }
            NetworkKind::Imagenet => {
                let stem0 = Stem {
                    conv_a: conv(in_channels, c / 2, 3, 2, 1, 1, 1, device),
                    bn_a: bn(c / 2),
                    conv_b: Some(conv(c / 2, c, 3, 2, 1, 1, 1, device)),
                    bn_b: Some(bn(c)),
                    relu_first: false,
                };
                let stem1 = Stem {
                    conv_a: conv(c, c, 3, 2, 1, 1, 1, device),
                    bn_a: bn(c),
                    conv_b: None,
                    bn_b: None,
                    relu_first: true,
                };
                (vec![stem0, stem1], c, c, true)
            }
        };
        let mut c_curr = c;
        let reductions = [layers / 3, 2 * layers / 3];
        let mut cells = Vec::with_capacity(layers);
        let mut c_aux = c_p;
        for i in 0..layers {
            let reduction = reductions.contains(&i);
            if reduction {
                c_curr *= 2;
            }
            let cell = EvalCell::new(g, c_pp, c_p, c_curr, reduction, reduction_prev, device);
            reduction_prev = reduction;
            (c_pp, c_p) = (c_p, cell.multiplier() * c_curr);
            cells.push(cell);
            if i == reductions[1] {
                c_aux = c_p;
            }
        }
        let aux = auxiliary.then(|| match kind {
            NetworkKind::Cifar => AuxHead::cifar(c_aux, classes, device),
            NetworkKind::Imagenet => AuxHead::imagenet(c_aux, classes, device),
        });
        Self {
            stems,
            cells,
            aux,
            classifier: LinearConfig::new(c_p, classes).init(device),
            aux_at: reductions[1],
        }
    }

    /// Logits, and the auxiliary logits when the network has a head and `with_aux` is set.
    ///
    /// # Shapes
    /// `[N, C_in, H, W]` → `[N, classes]`
    pub fn forward(
        &self,
        x: Tensor<4>,
        drop_prob: f64,
        with_aux: bool,
    ) -> (Tensor<2>, Option<Tensor<2>>) {
        let (mut s0, mut s1) = match self.stems.as_slice() {
            [one] => {
                let s = one.forward(x);
                (s.clone(), s)
            }
            [a, b] => {
                let s0 = a.forward(x);
                let s1 = b.forward(s0.clone());
                (s0, s1)
            }
            _ => unreachable!("one or two stems"),
        };
        let mut aux_logits = None;
        for (i, cell) in self.cells.iter().enumerate() {
            let out = cell.forward(s0, s1.clone(), drop_prob);
            (s0, s1) = (s1, out);
            if i == self.aux_at
                && with_aux
                && let Some(head) = &self.aux
            {
                aux_logits = Some(head.forward(s1.clone()));
            }
        }
        let [n, c, _, _] = s1.dims();
        (
            linear_fwd(&self.classifier, s1.mean_dims(&[2, 3]).reshape([n, c])),
            aux_logits,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::count_params;

    fn darts_v2() -> Genotype {
        Genotype::parse(include_str!("../../../models/genotypes/DARTS_V2.json")).unwrap()
    }

    #[test]
    fn darts_v2_cifar_parameter_counts() {
        // spec §5.1 / §9.4: 3,349,342 without the auxiliary head, 476,426 in it; 3,401,272 for
        // 100 classes.
        let device = Device::flex();
        let net = EvalNetwork::new(
            NetworkKind::Cifar,
            &darts_v2(),
            3,
            36,
            20,
            10,
            true,
            &device,
        );
        let aux = count_params(net.aux.as_ref().unwrap());
        assert_eq!(count_params(&net) - aux, 3_349_342);
        assert_eq!(aux, 476_426);
        let net = EvalNetwork::new(
            NetworkKind::Cifar,
            &darts_v2(),
            3,
            36,
            20,
            100,
            false,
            &device,
        );
        assert_eq!(count_params(&net), 3_401_272);
    }

    #[test]
    fn small_networks_run_forward() {
        let device = Device::flex();
        let net = EvalNetwork::new(NetworkKind::Cifar, &darts_v2(), 1, 4, 5, 10, true, &device);
        let (y, aux) = net.forward(Tensor::zeros([2, 1, 32, 32], &device), 0.0, true);
        assert_eq!(y.dims(), [2, 10]);
        assert_eq!(aux.unwrap().dims(), [2, 10]);
        let net = EvalNetwork::new(
            NetworkKind::Imagenet,
            &darts_v2(),
            3,
            8,
            5,
            7,
            false,
            &device,
        );
        let (y, aux) = net.forward(Tensor::zeros([1, 3, 64, 64], &device), 0.0, true);
        assert_eq!(y.dims(), [1, 7]);
        assert!(aux.is_none());
    }
}
