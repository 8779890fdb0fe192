//! NAS-Bench-201 as ONNX: each op, the cell, the residual block and the network.

use betadarts_search::nb201::{self, Cell as Nb201Cell, Nb201Network, Nb201Op, ResBlock};

use crate::graph::ints;

use super::*;

impl Emitter {
    pub fn nb201_op(&mut self, x: &str, op: &Nb201Op) -> Option<String> {
        match op.kind() {
            nb201::Op::None => None,
            nb201::Op::Skip => Some(x.to_string()),
            nb201::Op::AvgPool3x3 => Some(self.avg_pool(x, 3, 1, 1)),
            nb201::Op::Conv1x1 | nb201::Op::Conv3x3 => Some(self.relu_conv_bn(x, op.conv())),
        }
    }

    pub(super) fn nb201_cell(&mut self, x: &str, cell: &Nb201Cell) -> String {
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

    pub(super) fn res_block(&mut self, x: &str, b: &ResBlock) -> String {
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
}
