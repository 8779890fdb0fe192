//! Latency and throughput of a model per engine, batch size and thread count.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{EngineKind, ModelMeta, Result, load_engine};

#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    pub engine: String,
    pub threads: Option<usize>,
    pub batch: usize,
    pub runs: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub images_per_s: f64,
    /// 2 × multiply-adds per second, from the model's recorded multiply-adds.
    pub gflops: Option<f64>,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Times `engine` on a batch of zeros: 2 warm-up runs, then at least `min_runs` runs and at
/// least `min_time`, at most 1,000 runs.
pub fn bench(
    kind: EngineKind,
    threads: Option<usize>,
    onnx: &[u8],
    meta: &ModelMeta,
    batch: usize,
    min_runs: usize,
    min_time: Duration,
) -> Result<BenchRow> {
    let mut engine = load_engine(kind, onnx, threads)?;
    let s = meta.input_size;
    let shape = [batch, meta.input_channels, s, s];
    let input = vec![0.0f32; shape.iter().product()];
    for _ in 0..2 {
        engine.run(&input, shape)?;
    }
    let mut times = Vec::new();
    let t0 = Instant::now();
    while (times.len() < min_runs || t0.elapsed() < min_time) && times.len() < 1000 {
        let t = Instant::now();
        engine.run(&input, shape)?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let p50 = percentile(&times, 0.5);
    Ok(BenchRow {
        engine: kind.to_string(),
        threads,
        batch,
        runs: times.len(),
        p50_ms: p50 * 1e3,
        p90_ms: percentile(&times, 0.9) * 1e3,
        p99_ms: percentile(&times, 0.99) * 1e3,
        images_per_s: batch as f64 / p50,
        gflops: meta
            .madds
            .map(|m| 2.0 * m as f64 * batch as f64 / p50 / 1e9),
    })
}
