//! Module → ONNX nodes, one emitter per building block (the registry idea of tract's
//! `onnx/src/ops`). Eval mode: BN uses its running statistics; with `fold` it is folded into
//! the convolution before it (w·s, (b − μ)·s + β with s = γ/√(σ² + ε)).

use betadarts_search::darts::ops::OpBody;
use betadarts_search::darts::{DartsOp, DilConv, FactorizedReduce, Op, Preprocess, SepConv};
use betadarts_search::nb201::{self, Cell as Nb201Cell, Nb201Network, Nb201Op, ResBlock};
use betadarts_search::nn::{BatchNorm2d, ReluConvBn};
use betadarts_search::retrain::{EvalCell, EvalNetwork, Stem, TrainNet};
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::Tensor;

use crate::graph::{GraphBuilder, float, int, ints};

pub(crate) fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

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

    /// `None` for the `none` op; identity returns `x` itself (no node).
    pub fn darts_op(&mut self, x: &str, op: &DartsOp) -> Option<String> {
        // Exhaustive over the ops, as `DartsOp::forward`: a new op fails to compile here until
        // it is emitted.
        let y = match op.kind() {
            Op::None => return None,
            Op::MaxPool3x3 => self.max_pool(x, op.stride),
            Op::AvgPool3x3 => self.avg_pool(x, 3, op.stride, 1),
            Op::Skip if op.body.is_none() => x.to_string(),
            Op::Skip | Op::SepConv3x3 | Op::SepConv5x5 | Op::DilConv3x3 | Op::DilConv5x5 => {
                match op.body() {
                    OpBody::Sep(m) => self.sep_conv(x, m),
                    OpBody::Dil(m) => self.dil_conv(x, m),
                    OpBody::Reduce(m) => self.factorized_reduce(x, m),
                }
            }
        };
        Some(match &op.bn {
            Some(bn) => self.bn(&y, bn),
            None => y,
        })
    }

    fn preprocess(&mut self, x: &str, p: &Preprocess) -> String {
        match p {
            Preprocess::Reduce(m) => self.factorized_reduce(x, m),
            Preprocess::Conv(m) => self.relu_conv_bn(x, m),
        }
    }

    fn zeros_like(&mut self, x: &str) -> String {
        let zero = self.g.init_f32("zero", &[], vec![0.0]);
        self.g.node("Mul", vec![x.into(), zero], vec![])
    }

    /// `sides`: the spatial sides of `s0` and `s1`, when known.
    pub fn eval_cell(
        &mut self,
        s0: &str,
        s1: &str,
        cell: &EvalCell,
        sides: [Option<usize>; 2],
    ) -> String {
        self.side = sides[0];
        let p0 = self.preprocess(s0, &cell.preprocess0);
        // After preprocessing both inputs have s1's side, and so has every node of the cell.
        self.side = sides[1];
        let mut states = vec![p0, self.relu_conv_bn(s1, &cell.preprocess1)];
        for (ops, inputs) in cell.ops.chunks(2).zip(cell.inputs.chunks(2)) {
            let mut node: Option<String> = None;
            for (op, &i) in ops.iter().zip(inputs) {
                let input = states[i].clone();
                if let Some(h) = self.darts_op(&input, op) {
                    node = Some(match node {
                        Some(n) => self.add(&n, &h),
                        None => h,
                    });
                }
            }
            let node = match node {
                Some(n) => n,
                None => {
                    let base = states[inputs[0]].clone();
                    self.zeros_like(&base)
                }
            };
            states.push(node);
        }
        let parts: Vec<String> = cell.concat.iter().map(|&i| states[i].clone()).collect();
        self.g.node("Concat", parts, vec![int("axis", 1)])
    }

    fn stem(&mut self, x: &str, s: &Stem) -> String {
        let x = if s.relu_first {
            self.relu(x)
        } else {
            x.to_string()
        };
        let y = self.conv(&x, &s.conv_a, Some(&s.bn_a), 0);
        match (&s.conv_b, &s.bn_b) {
            (Some(c), Some(bn)) => {
                let r = self.relu(&y);
                self.conv(&r, c, Some(bn), 0)
            }
            _ => y,
        }
    }

    fn head(&mut self, x: &str, linear: &Linear) -> String {
        let pooled = self.g.node("GlobalAveragePool", vec![x.into()], vec![]);
        let flat = self.g.node("Flatten", vec![pooled], vec![int("axis", 1)]);
        let [d_in, d_out] = linear.weight.dims();
        let w = self
            .g
            .init_f32("fc_w", &[d_in, d_out], host(linear.weight.val()));
        let mut ins = vec![flat, w];
        if let Some(b) = &linear.bias {
            ins.push(self.g.init_f32("fc_b", &[d_out], host(b.val())));
        }
        self.g.node("Gemm", ins, vec![])
    }

    pub fn eval_network(&mut self, x: &str, net: &EvalNetwork) -> String {
        let input = self.side;
        let (mut s0, mut s1, mut z0, mut z1) = match net.stems.as_slice() {
            [one] => {
                let s = self.stem(x, one);
                let z = input.map(|z| stem_side(one, z));
                (s.clone(), s, z, z)
            }
            [a, b] => {
                let s0 = self.stem(x, a);
                let s1 = self.stem(&s0, b);
                let z0 = input.map(|z| stem_side(a, z));
                (s0, s1, z0, z0.map(|z| stem_side(b, z)))
            }
            _ => unreachable!("one or two stems"),
        };
        for cell in &net.cells {
            let out = self.eval_cell(&s0, &s1, cell, [z0, z1]);
            // Every stride-2 op of a reduction cell gives ⌈side / 2⌉.
            let z = if cell.reduction {
                z1.map(|z| z.div_ceil(2))
            } else {
                z1
            };
            (s0, s1, z0, z1) = (s1, out, z1, z);
        }
        self.side = input;
        self.head(&s1, &net.classifier)
    }

    pub fn nb201_op(&mut self, x: &str, op: &Nb201Op) -> Option<String> {
        match op.kind() {
            nb201::Op::None => None,
            nb201::Op::Skip => Some(x.to_string()),
            nb201::Op::AvgPool3x3 => Some(self.avg_pool(x, 3, 1, 1)),
            nb201::Op::Conv1x1 | nb201::Op::Conv3x3 => Some(self.relu_conv_bn(x, op.conv())),
        }
    }

    fn nb201_cell(&mut self, x: &str, cell: &Nb201Cell) -> String {
        let mut nodes = vec![x.to_string()];
        for to in 1..=3 {
            let mut node: Option<String> = None;
            for from in 0..to {
                let input = nodes[from].clone();
                for op in &cell.edges[nb201::edge_index(to, from)].ops {
                    if let Some(y) = self.nb201_op(&input, op) {
                        node = Some(match node {
                            Some(n) => self.add(&n, &y),
                            None => y,
                        });
                    }
                }
            }
            let node = match node {
                Some(n) => n,
                None => self.zeros_like(x),
            };
            nodes.push(node);
        }
        nodes.pop().unwrap_or_default()
    }

    fn res_block(&mut self, x: &str, b: &ResBlock) -> String {
        let a = self.relu_conv_bn(x, &b.conv_a);
        let a = self.relu_conv_bn(&a, &b.conv_b);
        let p = self.g.node(
            "AveragePool",
            vec![x.into()],
            vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
        );
        let s = self.conv(&p, &b.shortcut, None, 0);
        self.add(&s, &a)
    }

    pub fn nb201_network(&mut self, x: &str, net: &Nb201Network) -> String {
        let mut y = self.conv(x, &net.stem_conv, Some(&net.stem_bn), 0);
        for (i, cell) in net.cells.iter().enumerate() {
            if i > 0 && i % net.cells_per_stage == 0 {
                y = self.res_block(&y, &net.reductions[i / net.cells_per_stage - 1]);
            }
            y = self.nb201_cell(&y, cell);
        }
        let y = self.bn(&y, &net.head_bn);
        let y = self.relu(&y);
        self.head(&y, &net.classifier)
    }

    pub fn network(&mut self, x: &str, net: &TrainNet) -> String {
        match net {
            TrainNet::Darts(n) => self.eval_network(x, n),
            TrainNet::Nb201(n) => self.nb201_network(x, n),
        }
    }
}
