//! The DARTS search cell organised by source state: the same mathematics as the per-edge
//! [`SearchCell`] in a few large operations.
//!
//! Per source state (the two inputs and nodes 0–2; node 3 feeds nothing), for each sep/dil
//! conv op: one depthwise conv holding every outgoing edge's filters (m = edges, edge-major;
//! the op's leading ReLU fused into it) and one pointwise conv grouped by edge, each stage's BN over the stacked
//! channels, the last one with the edge's mixing weight as γ (β·BN(z) = BN with γ = β); each
//! pool once, with one BN (affine-free BNs of the same input agree); the skip shared at
//! stride 1, a FactorizedReduce per edge at stride 2. Per node one [`kernels::mix`] of its
//! inputs' terms. `none` contributes exactly zero and is left out.

use burn::module::{Module, Param};
use burn::tensor::Tensor;

use super::STEPS;
use super::cell::{Preprocess, SearchCell};
use super::ops::{DartsOp, DilConv, FactorizedReduce, Op, OpBody};
use crate::kernels::{self, GammaLayout, Geometry, MixSpec, avg_pool3};
use crate::nn::ReluConvBn;

/// A dil conv (or one block of a sep conv) of every outgoing edge of a source, stacked.
#[derive(Module, Debug)]
pub struct StackedConv {
    /// `[E·C, 1, k, k]`: edge e's filters are output channels e·C..(e+1)·C.
    pub depthwise: Param<Tensor<4>>,
    /// `[E·C, C, 1, 1]`, one group per edge.
    pub pointwise: Param<Tensor<4>>,
}

/// Every op with parameters of one source state, stacked over its outgoing edges.
#[derive(Module, Debug)]
pub struct SourceOps {
    /// Per conv op of the op set, in op order: sep 3/5 two stacked blocks, dil 3/5 one.
    pub convs: Vec<Vec<StackedConv>>,
    /// Stride-2 skips: one FactorizedReduce per outgoing edge (empty at stride 1).
    pub reduce: Vec<FactorizedReduce>,
}

#[derive(Module, Debug)]
pub struct BatchedCell {
    pub preprocess0: Preprocess,
    pub preprocess1: ReluConvBn,
    /// Source states 0..=4 (state 5, node 3, feeds nothing).
    pub sources: Vec<SourceOps>,
    /// The op set as `Op` indices, in α column order.
    pub ops: Vec<usize>,
    pub channels: usize,
    pub reduction: bool,
}

/// What a source contributes to each node it feeds.
enum Term {
    /// One tensor for every edge, scaled by the edge's weight in α column `col`.
    Shared(Tensor<4>, usize),
    /// One tensor per edge (in target order), scaled by column `col`.
    PerEdge(Vec<Tensor<4>>, usize),
    /// Edge blocks of C channels (in target order), already scaled (γ of their last BN).
    Stacked(Tensor<4>),
}

/// Nodes fed by state `j` (node i reads states 0..i+2).
fn targets(j: usize) -> std::ops::RangeInclusive<usize> {
    j.saturating_sub(1)..=STEPS - 1
}

/// α row of the edge node i ← state j.
fn edge(i: usize, j: usize) -> usize {
    i * (i + 3) / 2 + j
}

/// The depthwise geometry of `op` at `stride` (a sep conv's second block has stride 1).
fn geometry(op: Op, stride: usize) -> Geometry {
    let (k, pad, dil) = match op {
        Op::SepConv3x3 => (3, 1, 1),
        Op::SepConv5x5 => (5, 2, 1),
        Op::DilConv3x3 => (3, 2, 2),
        Op::DilConv5x5 => (5, 4, 2),
        Op::None | Op::MaxPool3x3 | Op::AvgPool3x3 | Op::Skip => {
            unreachable!("{} has no depthwise conv", op.name())
        }
    };
    Geometry {
        kernel: [k, k],
        stride: [stride, stride],
        padding: [pad, pad],
        dilation: [dil, dil],
        groups: 1,
        relu_input: false,
    }
}

fn is_conv(op: Op) -> bool {
    matches!(
        op,
        Op::SepConv3x3 | Op::SepConv5x5 | Op::DilConv3x3 | Op::DilConv5x5
    )
}

fn stack(blocks: &[&DilConv]) -> StackedConv {
    let cat = |w: Vec<Tensor<4>>| Param::from_tensor(Tensor::cat(w, 0).detach());
    StackedConv {
        depthwise: cat(blocks.iter().map(|b| b.depthwise.weight.val()).collect()),
        pointwise: cat(blocks.iter().map(|b| b.pointwise.weight.val()).collect()),
    }
}

/// The conv blocks of one op on several edges, stacked block by block.
fn stack_op(edge_ops: &[&DartsOp]) -> Vec<StackedConv> {
    let blocks: Vec<Vec<&DilConv>> = edge_ops
        .iter()
        .map(|o| match &o.body {
            Some(OpBody::Sep(s)) => vec![&s.first, &s.second],
            Some(OpBody::Dil(d)) => vec![d],
            _ => Vec::new(),
        })
        .collect();
    let depth = blocks.first().map_or(0, Vec::len);
    (0..depth)
        .map(|b| stack(&blocks.iter().map(|v| v[b]).collect::<Vec<_>>()))
        .collect()
}

impl BatchedCell {
    /// Stacks the parameters of a per-edge search cell (copied; no random numbers drawn).
    pub fn from_cell(cell: SearchCell, ops: &[Op], channels: usize) -> Self {
        let sources = (0..=STEPS)
            .map(|j| {
                let outgoing: Vec<_> = targets(j).map(|i| &cell.edges[edge(i, j)]).collect();
                let op_at = |k: usize| outgoing.iter().map(|m| &m.ops[k]).collect::<Vec<_>>();
                let convs = (0..ops.len())
                    .filter(|&k| is_conv(ops[k]))
                    .map(|k| stack_op(&op_at(k)))
                    .collect();
                let reduce = ops
                    .iter()
                    .position(|&o| o == Op::Skip)
                    .map(|k| {
                        op_at(k)
                            .into_iter()
                            .filter_map(|o| match &o.body {
                                Some(OpBody::Reduce(r)) => Some(r.clone()),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                SourceOps { convs, reduce }
            })
            .collect();
        Self {
            preprocess0: cell.preprocess0,
            preprocess1: cell.preprocess1,
            sources,
            ops: ops.iter().map(|&o| o as usize).collect(),
            channels,
            reduction: cell.reduction,
        }
    }

    fn op_set(&self) -> Vec<Op> {
        self.ops
            .iter()
            .map(|&i| Op::from_index(i).unwrap_or_else(|| unreachable!("op {i} built from Op")))
            .collect()
    }

    /// `betas`: this cell type's flat `[14·K]` mixing weights.
    ///
    /// # Shapes
    /// `s0: [N, C_pp, H', W']`, `s1: [N, C_p, H, W]` → `[N, 4C, H/s, W/s]`
    pub fn forward(&self, s0: Tensor<4>, s1: Tensor<4>, betas: &Tensor<1>) -> Tensor<4> {
        let ops = self.op_set();
        let (k, c) = (ops.len(), self.channels);
        let mut states = vec![self.preprocess0.forward(s0), self.preprocess1.forward(s1)];
        let mut sources: Vec<Vec<Term>> = Vec::new();
        for i in 0..STEPS {
            // States 0..i+2 exist: compute the terms of the ones not seen yet.
            while sources.len() < states.len() {
                let j = sources.len();
                sources.push(self.source_terms(j, &states[j], betas, &ops));
            }
            let (mut terms, mut offsets, mut weights) = (Vec::new(), Vec::new(), Vec::new());
            for (j, source) in sources.iter().enumerate().take(i + 2) {
                let (e, b) = (edge(i, j), i - j.saturating_sub(1));
                for term in source {
                    let (t, offset, w) = match term {
                        Term::Shared(t, col) => (t.clone(), 0, Some(e * k + col)),
                        Term::PerEdge(v, col) => (v[b].clone(), 0, Some(e * k + col)),
                        Term::Stacked(t) => (t.clone(), b * c, None),
                    };
                    terms.push(t);
                    offsets.push(offset);
                    weights.push(w);
                }
            }
            let spec = MixSpec {
                channels: c,
                offsets,
                weights,
            };
            states.push(kernels::mix(terms, betas.clone(), spec));
        }
        Tensor::cat(states.split_off(2), 1)
    }

    /// The terms state `j` (value `x`) contributes to the nodes it feeds.
    fn source_terms(&self, j: usize, x: &Tensor<4>, betas: &Tensor<1>, ops: &[Op]) -> Vec<Term> {
        let k = ops.len();
        let stride = if self.reduction && j < 2 { 2 } else { 1 };
        let src = &self.sources[j];
        let edges = targets(j).count();
        let gamma = |col: usize| {
            let idx = targets(j).map(|i| edge(i, j) * k + col).collect();
            Some((betas.clone(), GammaLayout::Blocks(idx)))
        };
        let bn = |t: Tensor<4>, g| kernels::batch_norm(t, g, None, 1e-5).output;
        let mut convs = src.convs.iter();
        let mut out = Vec::new();
        for (col, &op) in ops.iter().enumerate() {
            match op {
                Op::None => {}
                Op::MaxPool3x3 => {
                    out.push(Term::Shared(
                        bn(kernels::max_pool3(x.clone(), stride), None),
                        col,
                    ));
                }
                Op::AvgPool3x3 => {
                    out.push(Term::Shared(bn(avg_pool3(x.clone(), stride), None), col));
                }
                Op::Skip if stride == 1 => out.push(Term::Shared(x.clone(), col)),
                Op::Skip => {
                    let v = src.reduce.iter().map(|fr| fr.forward(x.clone())).collect();
                    out.push(Term::PerEdge(v, col));
                }
                conv @ (Op::SepConv3x3 | Op::SepConv5x5 | Op::DilConv3x3 | Op::DilConv5x5) => {
                    let blocks = convs
                        .next()
                        .unwrap_or_else(|| unreachable!("one stack per conv op"));
                    // Every block starts with a ReLU, fused into its depthwise kernel (no
                    // ReLU tensor per source: each op's kernel applies it while reading x).
                    let mut h = x.clone();
                    for (b, block) in blocks.iter().enumerate() {
                        let g = Geometry {
                            relu_input: true,
                            ..geometry(conv, if b == 0 { stride } else { 1 })
                        };
                        h = kernels::depthwise(h, block.depthwise.val(), g);
                        let pw = Geometry {
                            groups: edges,
                            relu_input: false,
                            ..Geometry::pointwise()
                        };
                        h = kernels::conv2d(h, block.pointwise.val(), pw);
                        let last = b + 1 == blocks.len();
                        h = bn(h, if last { gamma(col) } else { None });
                    }
                    out.push(Term::Stacked(h));
                }
            }
        }
        out
    }
}
