//! The NB201 search cell organised by source node: the same mathematics as the per-edge
//! [`super::Cell`] in a few large operations.
//!
//! Per source node j (outgoing edges to every i > j): one ReLU; one 3×3 conv whose output
//! channels stack every outgoing edge's kernel, one 1×1 conv likewise; each followed by one
//! affine-free BN whose γ is the edge's mixing weight (β·BN(z) = BN with γ = β, exact); one
//! avg-pool. Per target node i: one [`mix`] of the skip, pool and conv blocks of its sources.
//! `none` contributes exactly zero and is left out.

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::arch::edge_index;
use super::{Cell, Op};
use crate::kernels::{self, GammaLayout, MixSpec, avg_pool3};
use crate::nn::conv_fwd;

const K: usize = Op::ALL.len(); // ops per edge, α's columns

/// One source node's stacked convolutions (outgoing edges in target order).
#[derive(Module, Debug)]
pub struct SourceConvs {
    /// `[n·C, C, 3, 3]`, n = outgoing edges.
    pub conv3: Conv2d,
    /// `[n·C, C, 1, 1]`.
    pub conv1: Conv2d,
}

#[derive(Module, Debug)]
pub struct SearchCell {
    /// Source nodes 0, 1, 2.
    pub sources: Vec<SourceConvs>,
    pub channels: usize,
}

/// Targets fed by source `j`: j+1 ..= 3.
fn targets(j: usize) -> std::ops::RangeInclusive<usize> {
    j + 1..=3
}

/// Flat α index of op `op` on edge `to ← from`.
fn weight(to: usize, from: usize, op: Op) -> usize {
    edge_index(to, from) * K + op.index()
}

impl SearchCell {
    /// Stacks the kernels of a per-edge supernet cell (weights copied, not re-drawn: no
    /// random numbers are drawn here, so a seed keeps giving the same α init after it).
    pub fn from_cell(cell: &Cell, channels: usize) -> Self {
        let conv_of = |to: usize, from: usize, op: Op| {
            let edge = &cell.edges[edge_index(to, from)];
            edge.ops
                .iter()
                .find(|o| o.kind() == op)
                .and_then(|o| o.conv.as_ref())
                .map(|c| c.conv.clone())
                .unwrap_or_else(|| unreachable!("a supernet edge has every conv op"))
        };
        let sources = (0..3)
            .map(|j| {
                let stack = |op: Op| {
                    let mut c = conv_of(j + 1, j, op);
                    let w: Vec<Tensor<4>> =
                        targets(j).map(|i| conv_of(i, j, op).weight.val()).collect();
                    c.weight = Param::from_tensor(Tensor::cat(w, 0).detach());
                    c
                };
                SourceConvs {
                    conv3: stack(Op::Conv3x3),
                    conv1: stack(Op::Conv1x1),
                }
            })
            .collect();
        Self { sources, channels }
    }

    /// The per-edge kernel of `op` on edge `to ← from` (a slice of the stacked one).
    pub fn kernel(&self, to: usize, from: usize, op: Op) -> Tensor<4> {
        let s = &self.sources[from];
        let w = match op {
            Op::Conv3x3 => s.conv3.weight.val(),
            Op::Conv1x1 => s.conv1.weight.val(),
            Op::None | Op::Skip | Op::AvgPool3x3 => {
                unreachable!("only the convs have kernels")
            }
        };
        let c = self.channels;
        let b = to - from - 1;
        let [_, ci, kh, kw] = w.dims();
        w.slice([b * c..(b + 1) * c, 0..ci, 0..kh, 0..kw])
    }

    /// `betas` is the flat `[6·5]` mixing-weight vector (shared by every cell).
    ///
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`
    pub fn forward(&self, x: Tensor<4>, betas: &Tensor<1>) -> Tensor<4> {
        let c = self.channels;
        let mut nodes = vec![x];
        // Per source: (pooled, BN'd 3×3 blocks, BN'd 1×1 blocks), filled as nodes appear.
        let mut parts: Vec<(Tensor<4>, Tensor<4>, Tensor<4>)> = Vec::with_capacity(3);
        for to in 1..=3 {
            let from = to - 1;
            let x = nodes[from].clone();
            let r = relu(x.clone());
            let gathered = |op: Op| {
                let idx = targets(from).map(|i| weight(i, from, op)).collect();
                Some((betas.clone(), GammaLayout::Blocks(idx)))
            };
            let conv = &self.sources[from];
            let y3 = kernels::batch_norm(
                conv_fwd(&conv.conv3, r.clone()),
                gathered(Op::Conv3x3),
                None,
                1e-5,
            );
            let y1 =
                kernels::batch_norm(conv_fwd(&conv.conv1, r), gathered(Op::Conv1x1), None, 1e-5);
            parts.push((avg_pool3(x, 1), y3.output, y1.output));
            let mut terms = Vec::with_capacity(4 * to);
            let mut spec = MixSpec {
                channels: c,
                offsets: Vec::with_capacity(4 * to),
                weights: Vec::with_capacity(4 * to),
            };
            for (j, (pool, y3, y1)) in parts.iter().enumerate() {
                let block = (to - j - 1) * c;
                let mut add = |t: &Tensor<4>, offset: usize, w: Option<usize>| {
                    terms.push(t.clone());
                    spec.offsets.push(offset);
                    spec.weights.push(w);
                };
                for op in MIX_ORDER {
                    // Exhaustive: a new op is a compile error here until it is mixed.
                    match op {
                        Op::None => {}
                        Op::Skip => add(&nodes[j], 0, Some(weight(to, j, op))),
                        Op::AvgPool3x3 => add(pool, 0, Some(weight(to, j, op))),
                        // β is applied inside the BN (gathered γ), per stacked block.
                        Op::Conv3x3 => add(y3, block, None),
                        Op::Conv1x1 => add(y1, block, None),
                    }
                }
            }
            nodes.push(kernels::mix(terms, betas.clone(), spec));
        }
        nodes.pop().unwrap_or_else(|| unreachable!())
    }
}

/// The order the fused forward sums an edge's ops in (fixed: the sum's rounding depends on it);
/// it holds every op, which a test checks.
const MIX_ORDER: [Op; 5] = [Op::Skip, Op::AvgPool3x3, Op::Conv3x3, Op::Conv1x1, Op::None];

/// Whether every stacked kernel of `s` equals the one on its edge in `cell` (tests).
#[cfg(test)]
pub(crate) fn stacked_equals_cell(s: &SearchCell, cell: &Cell) -> bool {
    (1..=3).all(|to| {
        (0..to).all(|from| {
            [Op::Conv1x1, Op::Conv3x3].iter().all(|&op| {
                let edge = &cell.edges[edge_index(to, from)];
                let w = edge
                    .ops
                    .iter()
                    .find(|o| o.kind() == op)
                    .and_then(|o| o.conv.as_ref())
                    .map(|c| c.conv.weight.val().into_data().try_to_vec::<f32>().ok());
                w == Some(s.kernel(to, from, op).into_data().try_to_vec::<f32>().ok())
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fused_forward_mixes_every_op() {
        assert_eq!(MIX_ORDER.len(), Op::ALL.len());
        for op in Op::ALL {
            assert!(MIX_ORDER.contains(&op), "{} is not mixed", op.name());
        }
    }
}
