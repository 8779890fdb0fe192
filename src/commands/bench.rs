//! `betadarts bench search-step`: median wall time of one full search step (α step + weight
//! step) of the NB201 supernet, and the process's peak memory.

use std::time::Instant;

use anyhow::Result;
use betadarts_search::bilevel::{SearchConfig, Searcher};
use betadarts_search::data::{ImageSet, make_batch};
use betadarts_search::device::parse_device;
use betadarts_search::rng::Rng;
use betadarts_search::space::SupernetShape;

use crate::cli::SearchStepBench;

pub fn search_step(b: SearchStepBench) -> Result<()> {
    let device = parse_device(&b.device)?;
    let config = SearchConfig {
        channels: b.channels,
        cells: b.cells,
        batch_size: b.batch_size,
        ..SearchConfig::default()
    };
    let shape = SupernetShape {
        in_channels: 3,
        channels: b.channels,
        cells: b.cells,
        classes: b.classes,
    };
    let mut s = Searcher::new(config, shape, &device);
    // Synthetic images and labels: the step's cost does not depend on pixel values.
    let mut rng = Rng::new(0);
    let n = b.batch_size;
    let px = 3 * b.image_size * b.image_size;
    let set = ImageSet {
        images: (0..n * px).map(|_| rng.below(256) as u8).collect(),
        labels: (0..n).map(|_| rng.below(b.classes) as u32).collect(),
        channels: 3,
        height: b.image_size,
        width: b.image_size,
    };
    let idx: Vec<usize> = (0..n).collect();
    let batch = make_batch(&set, &idx, None, &mut rng, &[0.5; 3], &[0.25; 3], &s.device);
    let mut times = Vec::with_capacity(b.repeats);
    for i in 0..b.warmup + b.repeats {
        let t0 = Instant::now();
        s.arch_step(&batch, 1.0, 1.0);
        s.weight_step(&batch, 0.025, 1.0, None); // both steps read values back, so the device is synced
        if i >= b.warmup {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let peak_rss = peak_rss_bytes();
    if b.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "search-step", "device": b.device, "channels": b.channels, "cells": b.cells,
                "batch_size": n, "image_size": b.image_size, "classes": b.classes, "repeats": b.repeats,
                "median_s": median, "min_s": times[0], "max_s": times[times.len() - 1],
                "images_per_s": n as f64 / median, "peak_rss_bytes": peak_rss,
            })
        );
    } else {
        println!(
            "search step (α + w), NB201 supernet C={} N={}, batch {} at {}×{}, {} classes, device {}",
            b.channels, b.cells, n, b.image_size, b.image_size, b.classes, b.device
        );
        println!(
            "  median {:.3} s over {} steps (min {:.3}, max {:.3}); {:.1} images/s per direction",
            median,
            b.repeats,
            times[0],
            times[times.len() - 1],
            n as f64 / median
        );
        if let Some(p) = peak_rss {
            println!("  peak resident memory {:.1} MiB", p as f64 / 1048576.0);
        }
    }
    Ok(())
}

/// Peak resident set size (VmHWM) of this process, on Linux.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Images per second of one training step of a genotype's CIFAR network (with auxiliary head).
pub fn train_step(b: crate::cli::TrainStepBench) -> Result<()> {
    use betadarts_search::darts::Genotype;
    use betadarts_search::retrain::{TrainConfig, TrainNet, TrainNetwork};
    use burn::optim::{GradientsParams, SgdConfig};

    let device = parse_device(&b.device)?.autodiff();
    device.seed(0);
    let genotype = match &b.genotype {
        Some(p) => Genotype::load(p)?,
        None => Genotype::parse(include_str!("../../models/genotypes/DARTS_V2.json"))?,
    };
    let mut cfg = TrainConfig::recipe(TrainNetwork::Cifar);
    cfg.genotype = Some(genotype);
    cfg.channels = b.channels;
    cfg.layers = b.layers;
    let mut net = TrainNet::new(&cfg, 3, 10, &device)?;
    let mut optim = SgdConfig::new().init();
    let mut rng = Rng::new(0);
    let n = b.batch_size;
    let px = 3 * b.image_size * b.image_size;
    let set = ImageSet {
        images: (0..n * px).map(|_| rng.below(256) as u8).collect(),
        labels: (0..n).map(|_| rng.below(10) as u32).collect(),
        channels: 3,
        height: b.image_size,
        width: b.image_size,
    };
    let idx: Vec<usize> = (0..n).collect();
    let batch = make_batch(&set, &idx, None, &mut rng, &[0.5; 3], &[0.25; 3], &device);
    let mut times = Vec::new();
    for i in 0..b.warmup + b.repeats {
        let t0 = Instant::now();
        let (logits, aux) = net.forward(batch.images.clone(), 0.2, true);
        let mut loss = betadarts_search::loss::cross_entropy(logits, batch.targets.clone());
        if let Some(a) = aux {
            loss = loss + betadarts_search::loss::cross_entropy(a, batch.targets.clone()) * 0.4;
        }
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(0.025, net, grads);
        let _ = loss.into_scalar::<f32>(); // sync
        if i >= b.warmup {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    if b.json {
        println!(
            "{}",
            serde_json::json!({"bench": "train-step", "device": b.device, "channels": b.channels, "layers": b.layers,
            "batch_size": n, "image_size": b.image_size, "median_s": median, "images_per_s": n as f64 / median, "peak_rss_bytes": peak_rss_bytes()})
        );
    } else {
        println!(
            "train step, CIFAR network C={} L={} (aux head, drop-path 0.2), batch {n} at {}×{}, device {}",
            b.channels, b.layers, b.image_size, b.image_size, b.device
        );
        println!(
            "  median {:.3} s over {} steps; {:.1} images/s",
            median,
            b.repeats,
            n as f64 / median
        );
        if let Some(p) = peak_rss_bytes() {
            println!("  peak resident memory {:.1} MiB", p as f64 / 1048576.0);
        }
    }
    Ok(())
}
