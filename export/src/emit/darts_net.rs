//! DARTS building blocks as ONNX: each op, the evaluation cell, stem, head and network.

use betadarts_search::darts::ops::OpBody;
use betadarts_search::darts::{DartsOp, Op, Preprocess};
use betadarts_search::retrain::{EvalCell, EvalNetwork, Stem};
use burn::nn::Linear;

use crate::graph::int;

use super::*;

impl Emitter {
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

    pub(super) fn preprocess(&mut self, x: &str, p: &Preprocess) -> String {
        match p {
            Preprocess::Reduce(m) => self.factorized_reduce(x, m),
            Preprocess::Conv(m) => self.relu_conv_bn(x, m),
        }
    }

    pub(super) fn zeros_like(&mut self, x: &str) -> String {
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

    pub(super) fn stem(&mut self, x: &str, s: &Stem) -> String {
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

    pub(super) fn head(&mut self, x: &str, linear: &Linear) -> String {
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
}
