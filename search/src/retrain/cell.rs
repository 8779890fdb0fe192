//! The discrete DARTS cell (quark0 `model.py` `Cell`): each intermediate node is
//! op₁(input a) + op₂(input b) from the genotype; output = concat of the listed nodes.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::drop_path;
use crate::darts::{DartsOp, Genotype, Op, Preprocess, node_or_zeros};
use crate::nn::ReluConvBn;

#[derive(Module, Debug)]
pub struct EvalCell {
    pub preprocess0: Preprocess,
    pub preprocess1: ReluConvBn,
    pub ops: Vec<DartsOp>,
    pub inputs: Vec<usize>,
    pub concat: Vec<usize>,
    pub reduction: bool,
}

impl EvalCell {
    pub fn new(
        g: &Genotype,
        c_pp: usize,
        c_p: usize,
        c: usize,
        reduction: bool,
        reduction_prev: bool,
        device: &Device,
    ) -> Self {
        let (pairs, concat) = if reduction {
            (&g.reduce, &g.reduce_concat)
        } else {
            (&g.normal, &g.normal_concat)
        };
        let ops = pairs
            .iter()
            .map(|(name, input)| {
                let stride = if reduction && *input < 2 { 2 } else { 1 };
                // Genotypes are validated on load, so the name is known.
                let op = Op::from_name(name).unwrap_or(Op::Skip);
                DartsOp::new(op, c, stride, true, false, device)
            })
            .collect();
        Self {
            preprocess0: Preprocess::new(c_pp, c, reduction_prev, true, device),
            preprocess1: ReluConvBn::new(c_p, c, 1, 1, 0, 1, true, device),
            ops,
            inputs: pairs.iter().map(|(_, i)| *i).collect(),
            concat: concat.clone(),
            reduction,
        }
    }

    pub fn multiplier(&self) -> usize {
        self.concat.len()
    }

    /// `drop_prob` > 0 applies drop-path to every op output except identities (training only).
    ///
    /// # Shapes
    /// `s0: [N, C_pp, H', W']`, `s1: [N, C_p, H, W]` → `[N, m·C, H/s, W/s]`
    pub fn forward(&self, s0: Tensor<4>, s1: Tensor<4>, drop_prob: f64) -> Tensor<4> {
        let mut states = vec![self.preprocess0.forward(s0), self.preprocess1.forward(s1)];
        for pair in self.ops.chunks(2).zip(self.inputs.chunks(2)) {
            let (ops, inputs) = pair;
            let mut node: Option<Tensor<4>> = None;
            for (op, &i) in ops.iter().zip(inputs) {
                let Some(mut h) = op.forward(states[i].clone()) else {
                    continue;
                };
                let identity = op.kind() == Op::Skip && op.stride == 1;
                if drop_prob > 0.0 && !identity {
                    h = drop_path(h, drop_prob);
                }
                node = Some(match node {
                    Some(n) => n + h,
                    None => h,
                });
            }
            let node = node_or_zeros(node, &states[1], self.reduction);
            states.push(node);
        }
        Tensor::cat(self.concat.iter().map(|&i| states[i].clone()).collect(), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn drop_path_skips_identities_and_hits_other_ops() {
        let device = Device::flex();
        let all = |op: &str| {
            let pairs: Vec<(String, usize)> = (0..4)
                .flat_map(|_| [(op.to_string(), 0), (op.to_string(), 1)])
                .collect();
            Genotype {
                normal: pairs.clone(),
                normal_concat: vec![2, 3, 4, 5],
                reduce: pairs,
                reduce_concat: vec![2, 3, 4, 5],
            }
        };
        let s0 = Tensor::<4>::random([8, 4, 6, 6], Distribution::Normal(0.0, 1.0), &device);
        let s1 = Tensor::<4>::random([8, 4, 6, 6], Distribution::Normal(0.0, 1.0), &device);
        // Identity edges: drop-path must leave the output unchanged, whatever the probability.
        let cell = EvalCell::new(&all("skip_connect"), 4, 4, 4, false, false, &device);
        let a = cell.forward(s0.clone(), s1.clone(), 0.0).into_data();
        let b = cell.forward(s0.clone(), s1.clone(), 0.9).into_data();
        a.assert_approx_eq::<f32>(&b, burn::tensor::Tolerance::absolute(1e-6));
        // Pools are dropped: with p = 0.9 some samples lose their node outputs.
        let cell = EvalCell::new(&all("avg_pool_3x3"), 4, 4, 4, false, false, &device);
        let a: Vec<f32> = cell
            .forward(s0.clone(), s1.clone(), 0.0)
            .into_data()
            .try_to_vec()
            .unwrap();
        let b: Vec<f32> = cell.forward(s0, s1, 0.9).into_data().try_to_vec().unwrap();
        assert_ne!(a, b);
    }
}
