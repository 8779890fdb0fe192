//! The DARTS search cell (spec §4.2): preprocess both inputs to C channels, then node i
//! (0..4) = Σ over its i+2 predecessors of MixedOp(pred); output = concat of the 4 nodes.
//! α rows: node 0 uses rows 0–1, node 1 rows 2–4, node 2 rows 5–8, node 3 rows 9–13.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::STEPS;
use super::ops::{DartsOp, FactorizedReduce, Op};
use crate::nn::{EdgeWeights, ReluConvBn};

/// The weighted sum over the candidate ops of one edge.
#[derive(Module, Debug)]
pub struct MixedOp {
    pub ops: Vec<DartsOp>,
}

impl MixedOp {
    pub fn new(ops: &[Op], c: usize, stride: usize, device: &Device) -> Self {
        Self {
            ops: ops
                .iter()
                .map(|&op| DartsOp::new(op, c, stride, false, true, device))
                .collect(),
        }
    }

    /// `w[k]` is the weight of `self.ops[k]`.
    pub fn forward(&self, x: Tensor<4>, w: &[Tensor<4>]) -> Option<Tensor<4>> {
        let mut sum: Option<Tensor<4>> = None;
        for (k, op) in self.ops.iter().enumerate() {
            if let Some(y) = op.forward(x.clone()) {
                let y = y * w[k].clone();
                sum = Some(match sum {
                    Some(s) => s + y,
                    None => y,
                });
            }
        }
        sum
    }
}

/// Input preprocessing of s0: FactorizedReduce after a reduction cell, else ReLU-Conv1×1-BN.
#[derive(Module, Debug)]
pub enum Preprocess {
    Reduce(FactorizedReduce),
    Conv(ReluConvBn),
}

impl Preprocess {
    pub fn new(c_in: usize, c_out: usize, reduce: bool, affine: bool, device: &Device) -> Self {
        if reduce {
            Preprocess::Reduce(FactorizedReduce::new(c_in, c_out, affine, device))
        } else {
            Preprocess::Conv(ReluConvBn::new(c_in, c_out, 1, 1, 0, 1, affine, device))
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Preprocess::Reduce(m) => m.forward(x),
            Preprocess::Conv(m) => m.forward(x),
        }
    }
}

#[derive(Module, Debug)]
pub struct SearchCell {
    pub preprocess0: Preprocess,
    pub preprocess1: ReluConvBn,
    pub edges: Vec<MixedOp>,
    pub reduction: bool,
}

impl SearchCell {
    pub fn new(
        ops: &[Op],
        c_prev_prev: usize,
        c_prev: usize,
        c: usize,
        reduction: bool,
        reduction_prev: bool,
        device: &Device,
    ) -> Self {
        let mut edges = Vec::with_capacity(super::NUM_EDGES);
        for i in 0..STEPS {
            for j in 0..i + 2 {
                // Only edges from the two cell inputs carry the stride.
                let stride = if reduction && j < 2 { 2 } else { 1 };
                edges.push(MixedOp::new(ops, c, stride, device));
            }
        }
        Self {
            preprocess0: Preprocess::new(c_prev_prev, c, reduction_prev, false, device),
            preprocess1: ReluConvBn::new(c_prev, c, 1, 1, 0, 1, false, device),
            edges,
            reduction,
        }
    }

    /// # Shapes
    /// `s0: [N, C_pp, H', W']`, `s1: [N, C_p, H, W]` → `[N, 4C, H/s, W/s]`
    pub fn forward(&self, s0: Tensor<4>, s1: Tensor<4>, w: &EdgeWeights) -> Tensor<4> {
        let mut states = vec![self.preprocess0.forward(s0), self.preprocess1.forward(s1)];
        let mut offset = 0;
        for _ in 0..STEPS {
            let mut node: Option<Tensor<4>> = None;
            for (j, h) in states.iter().enumerate() {
                if let Some(y) = self.edges[offset + j].forward(h.clone(), &w[offset + j]) {
                    node = Some(match node {
                        Some(n) => n + y,
                        None => y,
                    });
                }
            }
            offset += states.len();
            let node = node_or_zeros(node, &states[1], self.reduction);
            states.push(node);
        }
        Tensor::cat(states.split_off(2), 1)
    }
}

/// A node's sum, or zeros of the node's size when every input edge is `none` (only reachable
/// with hand-made cells in tests): `s1` is the cell's preprocessed previous state.
pub(crate) fn node_or_zeros(node: Option<Tensor<4>>, s1: &Tensor<4>, reduction: bool) -> Tensor<4> {
    node.unwrap_or_else(|| {
        let stride = if reduction { 2 } else { 1 };
        let [n, c, h, w] = s1.dims();
        Tensor::zeros([n, c, h.div_ceil(stride), w.div_ceil(stride)], &s1.device())
    })
}
