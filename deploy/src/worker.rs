//! The engine's thread: one engine behind a bounded queue. Jobs that arrive together are run as
//! one micro-batch (up to `max_batch` images, waiting at most `batch_window` for more); each
//! job gets its own rows of logits back. A panicking engine is replaced.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;
use crate::serve::ServeConfig;
use crate::{Error, ModelMeta, Result, load_engine};

/// Logits `[images, classes]` (flattened) and the number of classes.
pub type Logits = (Vec<f32>, usize);

pub struct Job {
    pub input: Vec<f32>,
    pub images: usize,
    pub reply: oneshot::Sender<Result<Logits>>,
}

/// Runs until every sender is dropped. `ready` gets the engine's load result first.
pub fn run(
    onnx: Vec<u8>,
    meta: ModelMeta,
    cfg: ServeConfig,
    mut rx: mpsc::Receiver<Job>,
    ready: std::sync::mpsc::Sender<Result<()>>,
    panics: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
) {
    let mut engine = match load_engine(cfg.engine, &onnx, cfg.threads) {
        Ok(e) => {
            let _ = ready.send(Ok(()));
            e
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let shape = |n| [n, meta.input_channels, meta.input_size, meta.input_size];
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        let deadline = Instant::now() + cfg.batch_window;
        while jobs.iter().map(|j| j.images).sum::<usize>() < cfg.max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_micros(200))
                }
                Err(_) => break,
            }
        }
        let n: usize = jobs.iter().map(|j| j.images).sum();
        metrics.batch(n);
        let input: Vec<f32> = jobs.iter().flat_map(|j| j.input.iter().copied()).collect();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.run(&input, shape(n))
        }));
        let result = match run {
            Ok(r) => r,
            Err(_) => {
                // The engine's state is unknown after a panic: answer 500 and load a fresh one.
                panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!("the engine panicked; answering 500 and reloading it");
                match load_engine(cfg.engine, &onnx, cfg.threads) {
                    Ok(e) => engine = e,
                    Err(e) => {
                        tracing::error!(error = %e, "reloading the engine failed; stopping");
                        return;
                    }
                }
                Err(Error::Model("the engine panicked on this batch".into()))
            }
        };
        match result {
            Ok((logits, k)) => {
                let mut rows = logits.chunks(k.max(1));
                for j in jobs {
                    let mine: Vec<f32> = rows.by_ref().take(j.images).flatten().copied().collect();
                    let _ = j.reply.send(Ok((mine, k)));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for j in jobs {
                    let _ = j.reply.send(Err(Error::Model(msg.clone())));
                }
            }
        }
    }
}
