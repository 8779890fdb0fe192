//! The batched supernet against the per-edge one (computed with burn's own operations): same
//! logits, same loss, same gradients for every weight and for the mixing weights.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::*;
use crate::kernels::reference::with_reference;
use crate::loss::cross_entropy;
use crate::nb201::{NUM_EDGES, Op, edge_index};
use crate::nn::count_params;
use crate::testing::{Rng, Worst, redraw, rel};

/// Every float parameter's gradient, in visiting order.
struct Grads<'a> {
    grads: &'a burn::tensor::Gradients,
    out: Vec<(String, Vec<f32>)>,
    path: Vec<String>,
}

impl ModuleVisitor for Grads<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        if let Some(g) = p.val().grad(self.grads) {
            self.out
                .push((self.path.join("."), g.into_data().try_to_vec().unwrap()));
        }
    }
}

fn grads_of<M: Module>(m: &M, g: &burn::tensor::Gradients) -> Vec<(String, Vec<f32>)> {
    let mut v = Grads {
        grads: g,
        out: Vec::new(),
        path: Vec::new(),
    };
    m.visit(&mut v);
    v.out
}

#[test]
fn has_the_reference_parameter_count() {
    let device = Device::flex();
    assert_eq!(
        count_params(&Nb201Supernet::new(3, 16, 5, 10, &device)),
        1_686_106
    );
}

#[test]
fn stacked_kernels_are_the_per_edge_kernels() {
    let device = Device::flex();
    let net = Nb201Network::supernet(3, 4, 1, 10, &device);
    let batched = Nb201Supernet::from_network(net.clone());
    for (b, p) in batched.cells.iter().zip(&net.cells) {
        assert!(crate::nb201::search_cell::stacked_equals_cell(b, p));
    }
}

#[test]
fn matches_the_per_edge_supernet_in_loss_and_every_gradient() {
    // The per-edge network on the same fused kernels: only the batching differs.
    compare_with_per_edge(false, 1).check(1e-5);
}

#[test]
fn matches_the_per_edge_supernet_on_burns_own_operations() {
    // Fully independent oracle (burn's pooling, BN and convolution).
    compare_with_per_edge(true, 1).check(1e-5);
}

/// Loss and every gradient of the batched supernet against the per-edge one, on weights and
/// inputs drawn from `seed` alone. Float reassociation moves activations by ~1e-7, and a ReLU
/// input that close to zero flips its derivative, which moves a small network's gradients by
/// ~1/√(elements), far above 1e-5: about one draw in thirty does this at these sizes. So the
/// draws are fixed (the sweep below shows the rest).
fn compare_with_per_edge(oracle_on_reference: bool, seed: u64) -> Worst {
    let mut worst = Worst::default();
    let mut rng = Rng::new(seed);
    let oracle = |f: &mut dyn FnMut()| {
        if oracle_on_reference {
            with_reference(f)
        } else {
            f()
        }
    };
    let device = Device::flex().autodiff();
    for (c, n, size, batch) in [(4, 1, 16, 4), (3, 2, 16, 4), (8, 1, 32, 2)] {
        let per_edge = redraw(Nb201Network::supernet(3, c, n, 10, &device), &mut rng);
        let batched = Nb201Supernet::from_network(per_edge.clone());
        let x = rng.tensor([batch, 3, size, size], 1.0, &device);
        let y = Tensor::<1, Int>::from_data(
            TensorData::from(
                (0..batch as i64)
                    .map(|i| i % 10)
                    .collect::<Vec<_>>()
                    .as_slice(),
            ),
            &device,
        );
        let alpha = rng
            .tensor([NUM_EDGES, Op::ALL.len()], 0.5, &device)
            .require_grad();
        let oracle_alpha = alpha.clone().detach().require_grad();

        let loss_b = cross_entropy(
            batched.forward(x.clone(), &softmax(alpha.clone(), 1)),
            y.clone(),
        );
        let mut loss_p = None;
        oracle(&mut || {
            let logits = per_edge.forward(x.clone(), Some(&softmax(oracle_alpha.clone(), 1)));
            loss_p = Some(cross_entropy(logits, y.clone()));
        });
        let loss_p = loss_p.unwrap();
        let (lb, lp) = (
            loss_b.clone().into_scalar::<f32>(),
            loss_p.clone().into_scalar::<f32>(),
        );
        worst.see((lb - lp).abs(), || {
            format!("C={c} N={n} {size}px: loss {lb} vs {lp}")
        });

        let gb = loss_b.backward();
        let mut gp = None;
        oracle(&mut || gp = Some(loss_p.clone().backward()));
        let gp = gp.unwrap();
        let da: Vec<f32> = alpha.grad(&gb).unwrap().into_data().try_to_vec().unwrap();
        let dp: Vec<f32> = oracle_alpha
            .grad(&gp)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        worst.see(rel(&da, &dp), || {
            format!("C={c} N={n} {size}px: α gradient")
        });

        // Macro weights (stem, reductions, head, classifier) keep their names in both.
        let mut wb = grads_of(&batched, &gb);
        let wp = grads_of(&per_edge, &gp);
        let macro_of = |v: &[(String, Vec<f32>)]| -> Vec<(String, Vec<f32>)> {
            v.iter()
                .filter(|(p, _)| !p.starts_with("cells"))
                .cloned()
                .collect()
        };
        let (mb, mp) = (macro_of(&wb), macro_of(&wp));
        assert_eq!(mb.len(), mp.len());
        for ((name, a), (_, b)) in mb.iter().zip(&mp) {
            worst.see(rel(a, b), || format!("C={c} N={n} {size}px: {name}"));
        }
        // Cell kernels: each stacked gradient is its edges' gradients, stacked.
        wb.retain(|(p, _)| p.starts_with("cells"));
        for (ci, (cell_b, cell_p)) in batched.cells.iter().zip(&per_edge.cells).enumerate() {
            for (j, src) in cell_b.sources.iter().enumerate() {
                for (op, conv) in [(Op::Conv3x3, &src.conv3), (Op::Conv1x1, &src.conv1)] {
                    let got: Vec<f32> = conv
                        .weight
                        .val()
                        .grad(&gb)
                        .unwrap()
                        .into_data()
                        .try_to_vec()
                        .unwrap();
                    let want: Vec<f32> = (j + 1..=3)
                        .flat_map(|i| {
                            let edge = &cell_p.edges[edge_index(i, j)];
                            let o = edge.ops.iter().find(|o| o.kind() == op).unwrap();
                            let w = o.conv.as_ref().unwrap().conv.weight.val();
                            w.grad(&gp)
                                .unwrap()
                                .into_data()
                                .try_to_vec::<f32>()
                                .unwrap()
                        })
                        .collect();
                    worst.see(rel(&got, &want), || {
                        format!("C={c} N={n} {size}px: cell {ci} source {j} {op:?}")
                    });
                }
            }
        }
    }
    worst
}

#[test]
#[ignore = "a sweep over draws: cargo test -p betadarts-search --lib sweep -- --ignored --nocapture"]
fn sweep_nb201() {
    for seed in 0..30 {
        let (a, b) = (
            compare_with_per_edge(false, seed),
            compare_with_per_edge(true, seed),
        );
        println!(
            "seed {seed}: same kernels {} ({}) | burn's ops {} ({})",
            a.0, a.1, b.0, b.1
        );
    }
}
