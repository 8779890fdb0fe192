//! Module → ONNX nodes, one emitter per building block (the registry idea of tract's
//! `onnx/src/ops`). Eval mode: BN uses its running statistics; with `fold` it is folded into
//! the convolution before it (w·s, (b − μ)·s + β with s = γ/√(σ² + ε)).

use betadarts_search::darts::{DilConv, FactorizedReduce, SepConv};
use betadarts_search::nn::{BatchNorm2d, ReluConvBn};
use betadarts_search::retrain::{Stem, TrainNet};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

use crate::graph::{GraphBuilder, float, int, ints};

pub(crate) fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

mod darts_net;
mod nb201_net;

/// (γ, β, μ, σ², ε) of a BN in eval mode.
fn bn_params(bn: &BatchNorm2d) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>, f32) {
    let c = bn.channels;
    let gamma = bn
        .gamma
        .as_ref()
        .map(|p| host(p.val()))
        .unwrap_or_else(|| vec![1.0; c]);
    let beta = bn
        .beta
        .as_ref()
        .map(|p| host(p.val()))
        .unwrap_or_else(|| vec![0.0; c]);
    (
        gamma,
        beta,
        host(bn.running_mean.value()),
        host(bn.running_var.value()),
        bn.epsilon as f32,
    )
}

pub struct Emitter {
    pub g: GraphBuilder,
    pub fold: bool,
    /// Spatial side of the tensors the next op reads, when known (the network's input side,
    /// then tracked through stems and cells). With an even side FactorizedReduce takes its
    /// odd rows and columns with one strided slice; unknown or odd, it slices and pads.
    pub side: Option<usize>,
}

/// Output side of `conv` on a square input of side `s`.
fn conv_side(conv: &Conv2d, s: usize) -> usize {
    let [_, _, k, _] = conv.weight.dims();
    let p = match conv.padding {
        PaddingConfig2d::Explicit(t, _, b, _) => t + b,
        _ => 0,
    };
    (s + p - conv.dilation[0] * (k - 1) - 1) / conv.stride[0] + 1
}

fn stem_side(stem: &Stem, s: usize) -> usize {
    let s = conv_side(&stem.conv_a, s);
    stem.conv_b.as_ref().map_or(s, |c| conv_side(c, s))
}

impl Emitter {
    pub fn new(fold: bool) -> Self {
        Self {
            g: GraphBuilder::default(),
            fold,
            side: None,
        }
    }

    /// Inputs of side `side` (see [`Emitter::side`]).
    pub fn with_side(mut self, side: usize) -> Self {
        self.side = Some(side);
        self
    }

    pub fn relu(&mut self, x: &str) -> String {
        self.g.node("Relu", vec![x.into()], vec![])
    }

    pub fn add(&mut self, a: &str, b: &str) -> String {
        self.g.node("Add", vec![a.into(), b.into()], vec![])
    }

    pub fn bn(&mut self, x: &str, bn: &BatchNorm2d) -> String {
        let (gm, bt, mu, var, eps) = bn_params(bn);
        let c = gm.len();
        let ins = vec![
            x.to_string(),
            self.g.init_f32("bn_scale", &[c], gm),
            self.g.init_f32("bn_bias", &[c], bt),
            self.g.init_f32("bn_mean", &[c], mu),
            self.g.init_f32("bn_var", &[c], var),
        ];
        self.g
            .node("BatchNormalization", ins, vec![float("epsilon", eps)])
    }

    /// Conv, followed by `bn` (folded into it when folding is on). `bn_offset` selects the BN
    /// channels this conv feeds (FactorizedReduce's halves).
    pub fn conv(
        &mut self,
        x: &str,
        conv: &Conv2d,
        bn: Option<&BatchNorm2d>,
        bn_offset: usize,
    ) -> String {
        self.conv_strided(x, conv, bn, bn_offset, conv.stride)
    }

    /// [`Emitter::conv`] with another stride.
    fn conv_strided(
        &mut self,
        x: &str,
        conv: &Conv2d,
        bn: Option<&BatchNorm2d>,
        bn_offset: usize,
        stride: [usize; 2],
    ) -> String {
        let [co, ci, kh, kw] = conv.weight.dims();
        let mut w = host(conv.weight.val());
        let mut b: Option<Vec<f32>> = conv.bias.as_ref().map(|p| host(p.val()));
        let mut after = None;
        if let Some(bn) = bn {
            if self.fold {
                let (gm, bt, mu, var, eps) = bn_params(bn);
                let per = ci * kh * kw;
                let mut bias = b.take().unwrap_or_else(|| vec![0.0; co]);
                for o in 0..co {
                    let k = o + bn_offset;
                    let s = gm[k] / (var[k] + eps).sqrt();
                    w[o * per..(o + 1) * per].iter_mut().for_each(|v| *v *= s);
                    bias[o] = (bias[o] - mu[k]) * s + bt[k];
                }
                b = Some(bias);
            } else {
                after = Some(bn);
            }
        }
        let pad = match conv.padding {
            PaddingConfig2d::Explicit(t, l, bo, r) => [t, l, bo, r].map(|p| p as i64),
            _ => [0; 4],
        };
        let mut ins = vec![
            x.to_string(),
            self.g.init_f32("conv_w", &[co, ci, kh, kw], w),
        ];
        if let Some(b) = b {
            ins.push(self.g.init_f32("conv_b", &[co], b));
        }
        let attrs = vec![
            ints("kernel_shape", &[kh as i64, kw as i64]),
            ints("strides", &stride.map(|s| s as i64)),
            ints("dilations", &conv.dilation.map(|d| d as i64)),
            ints("pads", &pad),
            int("group", conv.groups as i64),
        ];
        let y = self.g.node("Conv", ins, attrs);
        match after {
            // Unfolded FactorizedReduce halves get their BN after the concat, not here.
            Some(bn) if bn_offset == 0 && bn.channels == co => self.bn(&y, bn),
            _ => y,
        }
    }

    pub fn relu_conv_bn(&mut self, x: &str, m: &ReluConvBn) -> String {
        let r = self.relu(x);
        self.conv(&r, &m.conv, Some(&m.bn), 0)
    }

    pub fn dil_conv(&mut self, x: &str, m: &DilConv) -> String {
        let r = self.relu(x);
        let d = self.conv(&r, &m.depthwise, None, 0);
        self.conv(&d, &m.pointwise, Some(&m.bn), 0)
    }

    pub fn sep_conv(&mut self, x: &str, m: &SepConv) -> String {
        let y = self.dil_conv(x, &m.first);
        self.dil_conv(&y, &m.second)
    }

    pub fn factorized_reduce(&mut self, x: &str, m: &FactorizedReduce) -> String {
        let r = self.relu(x);
        let half = m.bn.channels / 2;
        let fold = self.fold;
        let a = self.conv(&r, &m.conv_1, fold.then_some(&m.bn), 0);
        let starts = self.g.init_i64("starts", vec![1, 1]);
        let ends = self.g.init_i64("ends", vec![i64::MAX, i64::MAX]);
        let axes = self.g.init_i64("axes", vec![2, 3]);
        let pointwise = m.conv_2.weight.dims()[2] == 1
            && matches!(
                m.conv_2.padding,
                PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
            );
        let b = if self.side.is_some_and(|s| s % 2 == 0) && pointwise {
            // The stride-2 1×1 conv of x[:, :, 1:, 1:] reads rows and columns 1, 3, 5…: take
            // them with one strided slice, then a stride-1 conv. (tract ran the slice, a pad of
            // the whole map and a downsample.)
            let steps = self.g.init_i64("steps", vec![2, 2]);
            let odd = self
                .g
                .node("Slice", vec![r, starts, ends, axes, steps], vec![]);
            self.conv_strided(&odd, &m.conv_2, fold.then_some(&m.bn), half, [1, 1])
        } else {
            // x[:, :, 1:, 1:], then one zero row and column at the end (see the burn op).
            let sliced = self.g.node("Slice", vec![r, starts, ends, axes], vec![]);
            let pads = self.g.init_i64("pads", vec![0, 0, 0, 0, 0, 0, 1, 1]);
            let shifted = self.g.node("Pad", vec![sliced, pads], vec![]);
            self.conv(&shifted, &m.conv_2, fold.then_some(&m.bn), half)
        };
        let cat = self.g.node("Concat", vec![a, b], vec![int("axis", 1)]);
        if fold { cat } else { self.bn(&cat, &m.bn) }
    }

    fn max_pool(&mut self, x: &str, stride: usize) -> String {
        let s = stride as i64;
        self.g.node(
            "MaxPool",
            vec![x.into()],
            vec![
                ints("kernel_shape", &[3, 3]),
                ints("strides", &[s, s]),
                ints("pads", &[1, 1, 1, 1]),
            ],
        )
    }

    pub fn avg_pool(&mut self, x: &str, k: usize, stride: usize, pad: usize) -> String {
        let (k, s, p) = (k as i64, stride as i64, pad as i64);
        self.g.node(
            "AveragePool",
            vec![x.into()],
            vec![
                ints("kernel_shape", &[k, k]),
                ints("strides", &[s, s]),
                ints("pads", &[p, p, p, p]),
                int("count_include_pad", 0),
            ],
        )
    }

    pub fn network(&mut self, x: &str, net: &TrainNet) -> String {
        match net {
            TrainNet::Darts(n) => self.eval_network(x, n),
            TrainNet::Nb201(n) => self.nb201_network(x, n),
        }
    }
}
