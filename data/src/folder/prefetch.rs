//! Batches decoded and transformed on worker threads, one batch ahead of the model.

use std::sync::mpsc;

use image::RgbImage;

use super::*;
use crate::rng::Rng;
use crate::{Error, Result};

/// A batch assembled on the host: normalised `[N, 3, S, S]` values and labels.
#[derive(Debug, Clone)]
pub struct HostBatch {
    pub data: Vec<f32>,
    pub labels: Vec<i64>,
    pub size: usize,
}

fn normalise_into(img: &RgbImage, out: &mut Vec<f32>) {
    let (w, h) = img.dimensions();
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                out.push(
                    (img.get_pixel(x, y)[c] as f32 / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c],
                );
            }
        }
    }
}

/// What to do to each image of a batch.
#[derive(Debug, Clone, Copy)]
pub enum Transform {
    Train { size: usize, jitter: Option<Jitter> },
    Eval { resize: usize, size: usize },
}

/// Decodes and transforms the batch `indices` of `split` with `workers` threads. Image i of
/// the batch uses a generator seeded from (`seed`, i), so results do not depend on `workers`.
pub fn load_batch(
    split: &FolderSplit,
    indices: &[usize],
    t: Transform,
    seed: u64,
    workers: usize,
) -> Result<HostBatch> {
    let size = match t {
        Transform::Train { size, .. } | Transform::Eval { size, .. } => size,
    };
    let per = 3 * size * size;
    let workers = workers.clamp(1, indices.len().max(1));
    let chunk = indices.len().div_ceil(workers).max(1);
    let parts: Vec<Result<Vec<f32>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = indices
            .chunks(chunk)
            .enumerate()
            .map(|(ci, part)| {
                scope.spawn(move || -> Result<Vec<f32>> {
                    let mut out = Vec::with_capacity(part.len() * per);
                    for (k, &i) in part.iter().enumerate() {
                        let img = decode(&split.samples[i].0)?;
                        let img = match t {
                            Transform::Eval { resize, size } => eval_transform(&img, resize, size),
                            Transform::Train { size, jitter } => {
                                let mut rng = Rng::new(
                                    seed ^ ((ci * chunk + k) as u64).wrapping_mul(0x9E37_79B9),
                                );
                                train_transform(&img, size, jitter, &mut rng)
                            }
                        };
                        normalise_into(&img, &mut out);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Invalid("image worker panicked".into())))
            })
            .collect()
    });
    let mut data = Vec::with_capacity(indices.len() * per);
    for p in parts {
        data.extend(p?);
    }
    let labels = indices.iter().map(|&i| split.samples[i].1 as i64).collect();
    Ok(HostBatch { data, labels, size })
}

/// Loads the batches of one epoch one ahead of the consumer, on a producer thread.
pub struct Prefetcher {
    rx: mpsc::Receiver<Result<HostBatch>>,
}

impl Prefetcher {
    pub fn start(
        split: FolderSplit,
        batches: Vec<Vec<usize>>,
        t: Transform,
        seed: u64,
        workers: usize,
    ) -> Self {
        let (tx, rx) = mpsc::sync_channel(2);
        std::thread::spawn(move || {
            for (b, idx) in batches.iter().enumerate() {
                let r = load_batch(&split, idx, t, seed.wrapping_add(b as u64), workers);
                if tx.send(r).is_err() {
                    break;
                }
            }
        });
        Prefetcher { rx }
    }
}

impl Iterator for Prefetcher {
    type Item = Result<HostBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        self.rx.recv().ok()
    }
}
