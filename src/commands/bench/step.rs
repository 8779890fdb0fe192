//! `betadarts bench search-step` and `train-step`: median wall time of one real step on
//! synthetic data, and the process's peak memory. `bench compare` runs these as child
//! processes next to the PyTorch references.

use std::time::Instant;

use anyhow::Result;
use betadarts_search::bilevel::{SearchConfig, Searcher};
use betadarts_search::darts::{Genotype, OpSet};
use betadarts_search::data::{Batch, ImageSet, make_batch};
use betadarts_search::device::parse_device;
use betadarts_search::loss::cross_entropy;
use betadarts_search::nn::clip_grad_norm;
use betadarts_search::retrain::{TrainConfig, TrainNet, TrainNetwork, optimizer};
use betadarts_search::rng::Rng;
use betadarts_search::space::{SpaceKind, SupernetShape};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

use super::args::{SearchStepBench, TrainStepBench};

/// Random bytes and labels: a step's cost does not depend on pixel values.
pub fn synthetic_batch(n: usize, size: usize, classes: usize, device: &Device) -> Batch {
    let mut rng = Rng::new(0);
    let px = 3 * size * size;
    let set = ImageSet {
        images: (0..n * px).map(|_| rng.below(256) as u8).collect(),
        labels: (0..n).map(|_| rng.below(classes) as u32).collect(),
        channels: 3,
        height: size,
        width: size,
    };
    let idx: Vec<usize> = (0..n).collect();
    make_batch(&set, &idx, None, &mut rng, &[0.5; 3], &[0.25; 3], device)
}

/// Wall times of `warmup + repeats` calls of `step` (each must sync the device), timed part.
fn time(warmup: usize, repeats: usize, mut step: impl FnMut()) -> Vec<f64> {
    let mut times = Vec::with_capacity(repeats);
    for i in 0..warmup + repeats {
        let t0 = Instant::now();
        step();
        if i >= warmup {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times
}

fn median(times: &[f64]) -> f64 {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    t.get(t.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn search_step(b: SearchStepBench) -> Result<()> {
    let space: SpaceKind = b.space.parse()?;
    let cells = b.cells.unwrap_or(match space {
        SpaceKind::Nb201 => 5,
        SpaceKind::Darts => 8,
    });
    let device = parse_device(&b.device)?;
    let config = SearchConfig {
        space,
        ops: OpSet::parse(&b.ops)?,
        channels: b.channels,
        cells,
        batch_size: b.batch_size,
        ..SearchConfig::default()
    };
    let shape = SupernetShape {
        in_channels: 3,
        channels: b.channels,
        cells,
        classes: b.classes,
    };
    let mut s = Searcher::new(config, shape, &device);
    let batch = synthetic_batch(b.batch_size, b.image_size, b.classes, &s.device);
    // The step reads its figures back at the end, so the device is synced.
    let times = time(b.warmup, b.repeats, || {
        s.step(&batch, &batch, 1.0, 1.0, 0.025, None);
    });
    let what = format!(
        "search step (α + w), {} supernet C={} cells={cells}{}, batch {} at {}×{}, {} classes, device {}",
        b.space,
        b.channels,
        if space == SpaceKind::Darts {
            format!(" ops={}", b.ops)
        } else {
            String::new()
        },
        b.batch_size,
        b.image_size,
        b.image_size,
        b.classes,
        b.device
    );
    report(
        "search-step",
        &what,
        b.json,
        b.batch_size,
        &times,
        serde_json::json!({
            "space": b.space, "ops": b.ops, "channels": b.channels, "cells": cells,
            "image_size": b.image_size, "classes": b.classes, "device": b.device,
        }),
    );
    Ok(())
}

/// One retraining step of a genotype's CIFAR network, as the trainer runs it: drop-path,
/// CE + aux_weight·CE(aux), global norm clip, SGD with momentum and weight decay.
pub fn train_step(b: TrainStepBench) -> Result<()> {
    let device = parse_device(&b.device)?.autodiff();
    device.seed(0);
    let genotype = match &b.genotype {
        Some(p) => Genotype::load(p)?,
        None => Genotype::parse(include_str!("../../../models/genotypes/DARTS_V2.json"))?,
    };
    let mut cfg = TrainConfig::recipe(TrainNetwork::Cifar);
    cfg.genotype = Some(genotype);
    cfg.channels = b.channels;
    cfg.layers = b.layers;
    let mut net = TrainNet::new(&cfg, 3, 10, &device)?;
    let mut optim = optimizer(&cfg);
    let batch = synthetic_batch(b.batch_size, b.image_size, 10, &device);
    let times = time(b.warmup, b.repeats, || {
        let (logits, aux) = net.forward(batch.images.clone(), cfg.drop_path, cfg.auxiliary);
        let mut loss = cross_entropy(logits, batch.targets.clone());
        if let Some(a) = aux {
            loss = loss + cross_entropy(a, batch.targets.clone()) * cfg.aux_weight;
        }
        let mut grads = loss.backward();
        let mut g = GradientsParams::from_module(&mut grads, &net);
        clip_grad_norm(&net, &mut g, cfg.grad_clip, &[]);
        net = optim.step(cfg.lr, net.clone(), g);
        let _ = Tensor::cat(vec![loss.detach()], 0).into_scalar::<f32>(); // sync
    });
    let what = format!(
        "train step, CIFAR network C={} L={} (aux head, drop-path {}), batch {} at {}×{}, device {}",
        b.channels, b.layers, cfg.drop_path, b.batch_size, b.image_size, b.image_size, b.device
    );
    report(
        "train-step",
        &what,
        b.json,
        b.batch_size,
        &times,
        serde_json::json!({
            "channels": b.channels, "layers": b.layers, "image_size": b.image_size, "device": b.device,
        }),
    );
    Ok(())
}

fn report(
    bench: &str,
    what: &str,
    json: bool,
    batch: usize,
    times: &[f64],
    extra: serde_json::Value,
) {
    let med = median(times);
    let (min, max) = times
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), &t| (a.min(t), b.max(t)));
    let peak = peak_rss_bytes();
    if json {
        let mut v = serde_json::json!({
            "bench": bench, "impl": "betadarts", "batch_size": batch, "repeats": times.len(),
            "threads": rayon_threads(), "median_s": med, "min_s": min, "max_s": max,
            "times_s": times, "images_per_s": batch as f64 / med, "peak_rss_bytes": peak,
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        println!("{v}");
    } else {
        println!("{what}");
        println!(
            "  median {med:.4} s over {} steps (min {min:.4}, max {max:.4}); {:.1} images/s",
            times.len(),
            batch as f64 / med
        );
        if let Some(p) = peak {
            println!("  peak resident memory {:.1} MiB", p as f64 / 1048576.0);
        }
    }
}

/// Threads of flex's pool (RAYON_NUM_THREADS, else all cores).
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Peak resident set size (VmHWM) of this process, on Linux.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
