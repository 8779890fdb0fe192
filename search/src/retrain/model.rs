//! The network a training run trains: a DARTS-space network from a genotype, or the NB201
//! network of an arch string.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::{EvalNetwork, NetworkKind, TrainConfig, TrainNetwork};
use crate::nb201::{Arch, Nb201Network};
use crate::{Error, Result};

#[derive(Module, Debug)]
pub enum TrainNet {
    Darts(EvalNetwork),
    Nb201(Nb201Network),
}

impl TrainNet {
    pub fn new(
        cfg: &TrainConfig,
        in_channels: usize,
        classes: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(match cfg.network {
            TrainNetwork::Nb201 => {
                let s = cfg
                    .arch
                    .as_deref()
                    .ok_or_else(|| Error::Invalid("nb201 network needs an arch string".into()))?;
                let arch: Arch = s.parse()?;
                TrainNet::Nb201(Nb201Network::discrete(
                    &arch,
                    in_channels,
                    cfg.channels,
                    cfg.layers,
                    classes,
                    device,
                ))
            }
            TrainNetwork::Cifar | TrainNetwork::Imagenet => {
                let g = cfg
                    .genotype
                    .as_ref()
                    .ok_or_else(|| Error::Invalid("this network needs a genotype".into()))?;
                g.validate()?;
                let kind = if cfg.network == TrainNetwork::Cifar {
                    NetworkKind::Cifar
                } else {
                    NetworkKind::Imagenet
                };
                TrainNet::Darts(EvalNetwork::new(
                    kind,
                    g,
                    in_channels,
                    cfg.channels,
                    cfg.layers,
                    classes,
                    cfg.auxiliary,
                    device,
                ))
            }
        })
    }

    /// Logits and (in training, when present) auxiliary logits.
    ///
    /// # Shapes
    /// `[N, C_in, H, W]` → `[N, classes]`
    pub fn forward(
        &self,
        x: Tensor<4>,
        drop_prob: f64,
        with_aux: bool,
    ) -> (Tensor<2>, Option<Tensor<2>>) {
        match self {
            TrainNet::Darts(n) => n.forward(x, drop_prob, with_aux),
            TrainNet::Nb201(n) => (n.forward(x, None), None),
        }
    }

    /// The network without its auxiliary head (what is evaluated, exported and counted).
    pub fn without_aux(self) -> Self {
        match self {
            TrainNet::Darts(mut n) => {
                n.aux = None;
                TrainNet::Darts(n)
            }
            other => other,
        }
    }
}
