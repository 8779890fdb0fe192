//! The batched DARTS supernet against the per-edge one (on burn's own operations, and on the
//! same fused kernels): same loss, same α gradients, same gradient for every weight.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Gradients, Int, Tensor, TensorData};

use super::*;
use crate::darts::OpSet;
use crate::darts::ops::OpBody;
use crate::kernels::reference::with_reference;
use crate::loss::cross_entropy;
use crate::nn::count_params;
use crate::testing::{Rng, Worst, redraw, rel};

fn grad<const D: usize>(p: &Param<Tensor<D>>, g: &Gradients) -> Vec<f32> {
    p.val()
        .grad(g)
        .map_or_else(Vec::new, |t| t.into_data().try_to_vec().unwrap())
}

/// Gradients of every parameter, in module order, keyed by path.
struct All<'a>(&'a Gradients, Vec<(String, Vec<f32>)>, Vec<String>);

impl ModuleVisitor for All<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.2.push(name.into());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.2.pop();
    }
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        if let Some(g) = p.val().grad(self.0) {
            self.1
                .push((self.2.join("."), g.into_data().try_to_vec().unwrap()));
        }
    }
}

fn all<M: Module>(m: &M, g: &Gradients) -> Vec<(String, Vec<f32>)> {
    let mut v = All(g, Vec::new(), Vec::new());
    m.visit(&mut v);
    v.1
}

#[test]
fn has_the_reference_parameter_count_with_both_op_sets() {
    let device = Device::flex();
    for set in [OpSet::Darts, OpSet::BetaDarts] {
        let net = BatchedSupernet::new(&set.ops(), 3, 16, 8, 10, &device);
        assert_eq!(count_params(&net), 1_930_618, "{set:?}");
    }
}

/// Loss and every gradient, on weights and inputs drawn from `seed` alone (fixed draws: see
/// `nb201::supernet::tests::compare_with_per_edge` on ReLU kinks).
fn compare(set: OpSet, layers: usize, on_reference: bool, seed: u64) -> Worst {
    let mut worst = Worst::default();
    let mut rng = Rng::new(seed);
    let device = Device::flex().autodiff();
    let ops = set.ops();
    let k = ops.len();
    let per_edge = redraw(
        DartsSupernet::new(&ops, 3, 4, layers, 10, &device),
        &mut rng,
    );
    let batched = BatchedSupernet::from_network(per_edge.clone(), &ops);
    let x = rng.tensor([3, 3, 16, 16], 1.0, &device);
    let y = Tensor::<1, Int>::from_data(TensorData::from([1i64, 4, 7]), &device);
    let alphas: Vec<Tensor<2>> = (0..2)
        .map(|_| rng.tensor([14, k], 0.5, &device).require_grad())
        .collect();
    let oracle: Vec<Tensor<2>> = alphas
        .iter()
        .map(|a| a.clone().detach().require_grad())
        .collect();
    let betas = |a: &[Tensor<2>]| a.iter().map(|t| softmax(t.clone(), 1)).collect::<Vec<_>>();

    let lb = cross_entropy(batched.forward(x.clone(), &betas(&alphas)), y.clone());
    let run = |f: &mut dyn FnMut()| if on_reference { with_reference(f) } else { f() };
    let mut lp = None;
    run(&mut || {
        lp = Some(cross_entropy(
            per_edge.forward(x.clone(), &betas(&oracle)),
            y.clone(),
        ))
    });
    let lp = lp.unwrap();
    let (vb, vp) = (
        lb.clone().into_scalar::<f32>(),
        lp.clone().into_scalar::<f32>(),
    );
    worst.see((vb - vp).abs(), || {
        format!("{set:?} L={layers}: loss {vb} vs {vp}")
    });
    let gb = lb.backward();
    let mut gp = None;
    run(&mut || gp = Some(lp.clone().backward()));
    let gp = gp.unwrap();
    for (a, o) in alphas.iter().zip(&oracle) {
        let (da, dp): (Vec<f32>, Vec<f32>) = (
            a.grad(&gb).unwrap().into_data().try_to_vec().unwrap(),
            o.grad(&gp).unwrap().into_data().try_to_vec().unwrap(),
        );
        worst.see(rel(&da, &dp), || format!("{set:?} L={layers} α"));
    }
    // Stem and classifier keep their names in both.
    let pick = |v: Vec<(String, Vec<f32>)>| -> Vec<(String, Vec<f32>)> {
        v.into_iter()
            .filter(|(p, _)| !p.starts_with("cells"))
            .collect()
    };
    for ((name, a), (_, b)) in pick(all(&batched, &gb))
        .iter()
        .zip(&pick(all(&per_edge, &gp)))
    {
        worst.see(rel(a, b), || format!("{set:?} L={layers} {name}"));
    }
    // Per cell: preprocessing as is; each stacked conv = its edges' convs, stacked.
    for (ci, (cb, cp)) in batched.cells.iter().zip(&per_edge.cells).enumerate() {
        let (pb, pp) = (all(&cb.preprocess0, &gb), all(&cp.preprocess0, &gp));
        for ((name, a), (_, b)) in pb.iter().zip(&pp) {
            worst.see(rel(a, b), || {
                format!("{set:?} L={layers} cell {ci} preprocess0 {name}")
            });
        }
        for (j, src) in cb.sources.iter().enumerate() {
            let targets: Vec<usize> = (j.saturating_sub(1)..4).collect();
            let edge = |i: usize| i * (i + 3) / 2 + j;
            let convs: Vec<usize> = (0..k)
                .filter(|&o| {
                    matches!(
                        ops[o],
                        Op::SepConv3x3 | Op::SepConv5x5 | Op::DilConv3x3 | Op::DilConv5x5
                    )
                })
                .collect();
            for (stacked, &col) in src.convs.iter().zip(&convs) {
                for (b, block) in stacked.iter().enumerate() {
                    let parts = |dw: bool| -> Vec<f32> {
                        targets
                            .iter()
                            .flat_map(|&i| {
                                let op = &cp.edges[edge(i)].ops[col];
                                let blk = match &op.body {
                                    Some(OpBody::Sep(s)) => {
                                        if b == 0 {
                                            &s.first
                                        } else {
                                            &s.second
                                        }
                                    }
                                    Some(OpBody::Dil(d)) => d,
                                    _ => unreachable!(),
                                };
                                grad(
                                    if dw {
                                        &blk.depthwise.weight
                                    } else {
                                        &blk.pointwise.weight
                                    },
                                    &gp,
                                )
                            })
                            .collect()
                    };
                    let (d1, d2) = (grad(&block.depthwise, &gb), parts(true));
                    worst.see(rel(&d1, &d2), || {
                        format!("cell {ci} source {j} op {col} block {b} depthwise")
                    });
                    let (p1, p2) = (grad(&block.pointwise, &gb), parts(false));
                    worst.see(rel(&p1, &p2), || {
                        format!("cell {ci} source {j} op {col} block {b} pointwise")
                    });
                }
            }
            if let Some(skip) = ops.iter().position(|&o| o == Op::Skip) {
                for (fr, &i) in src.reduce.iter().zip(&targets) {
                    let Some(OpBody::Reduce(want)) = &cp.edges[edge(i)].ops[skip].body else {
                        panic!("a stride-2 skip is a FactorizedReduce");
                    };
                    let (a, b) = (grad(&fr.conv_1.weight, &gb), grad(&want.conv_1.weight, &gp));
                    worst.see(rel(&a, &b), || format!("cell {ci} source {j} FR"));
                }
            }
        }
    }
    worst
}

#[test]
fn matches_the_per_edge_supernet_on_burns_own_operations() {
    // 3 cells: normal, reduction, reduction after a reduction; 5: every cell kind.
    for set in [OpSet::Darts, OpSet::BetaDarts] {
        for layers in [3, 5] {
            compare(set, layers, true, 1).check(1e-5);
        }
    }
}

#[test]
fn matches_the_per_edge_supernet_on_the_same_kernels() {
    for set in [OpSet::Darts, OpSet::BetaDarts] {
        compare(set, 3, false, 1).check(1e-5);
    }
}

#[test]
#[ignore = "a sweep over draws: cargo test -p betadarts-search --lib sweep -- --ignored --nocapture"]
fn sweep_darts() {
    for seed in 0..20 {
        let a = compare(OpSet::Darts, 3, false, seed);
        let b = compare(OpSet::BetaDarts, 5, true, seed);
        println!(
            "seed {seed}: same kernels {} ({}) | burn's ops {} ({})",
            a.0, a.1, b.0, b.1
        );
    }
}
