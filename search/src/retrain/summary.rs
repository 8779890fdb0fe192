//! Model summaries: parameters (without the auxiliary head, as the papers report them), the
//! auxiliary head's parameters, and multiply-adds of one image (convolutions and linear layers).

use burn::tensor::{Device, Tensor};
use serde::Serialize;

use super::{EvalNetwork, NetworkKind};
use crate::darts::Genotype;
use crate::nn::{count_madds, count_params};

#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    pub network: String,
    pub channels: usize,
    pub layers: usize,
    pub classes: usize,
    pub image_size: usize,
    pub params: usize,
    pub aux_params: usize,
    pub madds: u64,
}

/// Builds the network on the CPU and counts; the auxiliary head is never in `madds`.
pub fn summarize(
    kind: NetworkKind,
    g: &Genotype,
    c: usize,
    layers: usize,
    classes: usize,
    image_size: usize,
) -> ModelSummary {
    let device = Device::flex();
    let net = EvalNetwork::new(kind, g, 3, c, layers, classes, true, &device);
    let aux_params = net.aux.as_ref().map(count_params).unwrap_or(0);
    let params = count_params(&net) - aux_params;
    let madds = count_madds(|| {
        let _ = net.forward(
            Tensor::zeros([1, 3, image_size, image_size], &device),
            0.0,
            false,
        );
    });
    ModelSummary {
        network: kind.to_string(),
        channels: c,
        layers,
        classes,
        image_size,
        params,
        aux_params,
        madds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darts_v2_multiply_adds_match_the_published_figures() {
        // 528.4 M (CIFAR, 32×32) and 529.9 M (ImageNet, 224×224), each within 0.5% (PyTorch's
        // flop counter on the same networks).
        let g = Genotype::parse(include_str!("../../../models/genotypes/DARTS_V2.json")).unwrap();
        let cifar = summarize(NetworkKind::Cifar, &g, 36, 20, 10, 32);
        assert!(
            (cifar.madds as f64 / 528.4e6 - 1.0).abs() < 0.005,
            "CIFAR {}",
            cifar.madds
        );
        assert_eq!(cifar.params, 3_349_342);
        let imagenet = summarize(NetworkKind::Imagenet, &g, 48, 14, 1000, 224);
        assert!(
            (imagenet.madds as f64 / 529.9e6 - 1.0).abs() < 0.005,
            "ImageNet {}",
            imagenet.madds
        );
    }
}
