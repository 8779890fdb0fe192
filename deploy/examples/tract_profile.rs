//! Where tract spends its time on an exported model, and what `tract_plan` changes.
//!
//! `cargo run --release -p betadarts-deploy --example tract_profile -- MODEL.onnx [BATCH] [RUNS] [NODES]`
//!
//! Builds single-threaded plans of the model for `[BATCH, C, S, S]` (C, S from the model's
//! metadata): tract's own optimisation, and ours (`tract_plan`'s rewrites first, as the engine
//! does). It runs them alternately with the engine's way of running a batch (image by image on our
//! batch-1 plan), since this machine is noisy: medians of alternated runs. Then the time per op
//! kind of our plan with its multiply-adds and rate, and the slowest nodes.
use std::collections::HashMap;
use std::time::Instant;

use betadarts_deploy::{ModelMeta, tract_plan};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::Cost;
use tract_onnx::tract_core::plan::{SimpleState, eval};

type Plan = Arc<TypedRunnableModel>;

fn plan(path: &str, shape: &[usize], ours: bool) -> TractResult<Plan> {
    let model = tract_onnx::onnx().model_for_path(path)?;
    let shape: [usize; 4] = shape.try_into()?;
    if ours {
        // Exactly the engine's plan.
        return tract_plan::optimised_plan(model, shape);
    }
    model
        .with_input_fact(0, f32::fact(shape).into())?
        .into_optimized()?
        .into_runnable()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> TractResult<()> {
    // Both plans on the kernels the engine uses (tract settles them at its first use).
    betadarts_deploy::tract_isa::choose();
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: tract_profile MODEL.onnx [BATCH] [RUNS]");
    let batch: usize = args.get(2).map_or(Ok(1), |s| s.parse())?;
    let runs: usize = args.get(3).map_or(Ok(15), |s| s.parse())?;
    let meta = ModelMeta::from_onnx(&std::fs::read(path)?)?;
    let shape = [batch, meta.input_channels, meta.input_size, meta.input_size];
    let plans = [plan(path, &shape, false)?, plan(path, &shape, true)?];
    let x = Tensor::zero::<f32>(&shape)?;
    let one = plan(path, &[1, shape[1], shape[2], shape[3]], true)?;
    let x1 = Tensor::zero::<f32>(&[1, shape[1], shape[2], shape[3]])?;
    let mut times = [vec![], vec![], vec![]];
    for r in 0..=runs {
        for (p, t) in plans.iter().zip(&mut times) {
            let t0 = Instant::now();
            p.run(tvec!(x.clone().into_tvalue()))?;
            if r > 0 {
                t.push(t0.elapsed().as_secs_f64() * 1e3);
            }
        }
        let t0 = Instant::now();
        for _ in 0..batch {
            one.run(tvec!(x1.clone().into_tvalue()))?;
        }
        if r > 0 {
            times[2].push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    let [tract, ours, split] = times.map(median);
    println!(
        "image by image on our batch-1 plan: {split:.2} ms ({:.2}x)",
        tract / split
    );
    println!(
        "batch {batch}, {runs} alternated runs, medians: tract's plan {tract:.2} ms, ours {ours:.2} ms ({:.2}x)",
        tract / ours
    );

    // Per node, on our plan.
    let model = plans[1].model();
    let fma: HashMap<usize, f64> = model
        .nodes()
        .iter()
        .map(|n| {
            let facts = model.node_input_facts(n.id).unwrap_or_default();
            let cost = n.op.cost(&facts).unwrap_or_default();
            let f = cost
                .iter()
                .filter(|(k, _)| matches!(k, Cost::FMA(_)))
                .map(|(_, d)| d.to_i64().unwrap_or(0) as f64)
                .sum();
            (n.id, f)
        })
        .collect();
    let mut by_node: HashMap<usize, f64> = HashMap::new();
    for _ in 0..runs {
        let mut state = SimpleState::new(&plans[1])?;
        state.run_plan_with_eval(tvec!(x.clone().into_tvalue()), |ctx, st, node, inputs| {
            let t = Instant::now();
            let out = eval(ctx, st, node, inputs);
            *by_node.entry(node.id).or_default() += t.elapsed().as_secs_f64() * 1e3 / runs as f64;
            out
        })?;
    }
    let mut by_op: HashMap<String, (f64, usize, f64)> = HashMap::new();
    for (id, t) in &by_node {
        let e = by_op
            .entry(model.node(*id).op.name().to_string())
            .or_default();
        (e.0, e.1, e.2) = (e.0 + t, e.1 + 1, e.2 + fma[id]);
    }
    let total: f64 = by_node.values().sum();
    let mut ops: Vec<_> = by_op.into_iter().collect();
    ops.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
    println!(
        "{:>9} {:>6} {:>5} {:>8} {:>7}  op",
        "ms", "share", "nodes", "M FMA", "GFMA/s"
    );
    for (op, (t, n, f)) in ops {
        let rate = if f > 0.0 {
            format!("{:.2}", f / t / 1e6)
        } else {
            "-".into()
        };
        println!(
            "{t:>9.3} {:>5.1}% {n:>5} {:>8.1} {rate:>7}  {op}",
            100.0 * t / total,
            f / 1e6
        );
    }
    let mut nodes: Vec<_> = by_node.into_iter().collect();
    nodes.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!("slowest nodes:");
    for (id, t) in nodes
        .into_iter()
        .take(args.get(4).map_or(Ok(12), |s| s.parse())?)
    {
        let n = model.node(id);
        println!(
            "{t:>9.3} ms {:>6.1} GFMA/s  {} {} {:?}",
            fma[&id] / t / 1e6,
            n.op.name(),
            n.name,
            n.outputs[0].fact.shape
        );
    }
    Ok(())
}
