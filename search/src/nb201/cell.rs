//! The NB201 cell: node_i = Σ_{j<i} edge(i←j)(node_j), output node 3. A supernet edge mixes
//! all five ops with the weights of its α row; a discrete edge holds one op.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::arch::{NUM_EDGES, edge_index};
use super::{Arch, Nb201Op, Op};
use crate::nn::EdgeWeights;

#[derive(Module, Debug)]
pub struct Edge {
    pub ops: Vec<Nb201Op>,
}

impl Edge {
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`, or `None` when every op is `none`.
    fn forward(&self, x: Tensor<4>, weights: Option<&[Tensor<4>]>) -> Option<Tensor<4>> {
        let mut sum: Option<Tensor<4>> = None;
        for op in &self.ops {
            let Some(y) = op.forward(x.clone()) else {
                continue;
            };
            let y = match weights {
                Some(w) => y * w[op.op].clone(),
                None => y,
            };
            sum = Some(match sum {
                Some(s) => s + y,
                None => y,
            });
        }
        sum
    }
}

#[derive(Module, Debug)]
pub struct Cell {
    pub edges: Vec<Edge>,
}

impl Cell {
    /// A supernet cell: every edge carries all five ops (BN without affine, as in search).
    pub fn search(channels: usize, device: &Device) -> Self {
        let edges = (0..NUM_EDGES)
            .map(|_| Edge {
                ops: Op::ALL
                    .iter()
                    .map(|&op| Nb201Op::new(op, channels, false, device))
                    .collect(),
            })
            .collect();
        Self { edges }
    }

    /// A discrete cell of `arch` (BN with affine, as in the NB201 training networks).
    pub fn discrete(arch: &Arch, channels: usize, device: &Device) -> Self {
        let edges = arch
            .0
            .iter()
            .map(|&op| Edge {
                ops: vec![Nb201Op::new(op, channels, true, device)],
            })
            .collect();
        Self { edges }
    }

    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`
    pub fn forward(&self, x: Tensor<4>, weights: Option<&EdgeWeights>) -> Tensor<4> {
        let mut nodes: Vec<Tensor<4>> = vec![x];
        for to in 1..=3 {
            let mut node: Option<Tensor<4>> = None;
            for from in 0..to {
                let e = edge_index(to, from);
                let w = weights.map(|w| w[e].as_slice());
                if let Some(y) = self.edges[e].forward(nodes[from].clone(), w) {
                    node = Some(match node {
                        Some(n) => n + y,
                        None => y,
                    });
                }
            }
            // A node whose inputs are all `none` is zero, as x·0 in the reference.
            let node = node.unwrap_or_else(|| nodes[0].clone().zeros_like());
            nodes.push(node);
        }
        nodes.pop().unwrap_or_else(|| unreachable!())
    }
}
