//! Accuracy of an exported model on labelled data: a CIFAR test file, IDX test files, an
//! ImageNet-style validation folder (one sub-folder per class), or a flat folder with a
//! `labels.csv` (`file` and `label` columns; label = class index or class name). This is how
//! ImageNet-transfer accuracy of an exported model is validated.

mod data;

pub use data::{EvalData, Inputs, open};
use serde::Serialize;

use crate::preprocess::top_k;
use crate::{Engine, ModelMeta, Result};

#[derive(Debug, Clone, Serialize)]
pub struct ClassResult {
    pub class: String,
    pub count: usize,
    pub correct: usize,
    pub accuracy: f64,
    /// The class this one is most often mistaken for, with the count.
    pub most_confused_with: Option<(String, usize)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub images: usize,
    /// The predicted class of each image, in data order (compared across models).
    #[serde(skip)]
    pub predictions: Vec<usize>,
    pub top1: f64,
    pub top5: f64,
    pub per_class: Vec<ClassResult>,
}

/// Runs the model over `data` in batches, calling `progress(done, total)`.
pub fn evaluate(
    engine: &mut dyn Engine,
    meta: &ModelMeta,
    data: &EvalData,
    batch: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<EvalReport> {
    let (c, s) = (meta.input_channels, meta.input_size);
    let k = meta.class_names.len();
    let mut confusion = vec![vec![0usize; k]; k];
    let (mut top1, mut top5, mut done) = (0usize, 0usize, 0usize);
    let n = data.len();
    let inputs = Inputs::new(meta, data)?;
    let mut predictions = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        let (input, labels) = inputs.batch(start, end)?;
        let (logits, kk) = engine.run(&input, [end - start, c, s, s])?;
        for (row, &label) in logits.chunks(kk).zip(&labels) {
            let best = top_k(row, 5.min(kk));
            if label < k {
                confusion[label][best[0].0.min(k - 1)] += 1;
            }
            predictions.push(best[0].0);
            top1 += (best[0].0 == label) as usize;
            top5 += best.iter().any(|(i, _)| *i == label) as usize;
        }
        done = end;
        progress(done, n);
        start = end;
    }
    let per_class = (0..k)
        .filter(|&i| confusion[i].iter().sum::<usize>() > 0)
        .map(|i| {
            let count: usize = confusion[i].iter().sum();
            let correct = confusion[i][i];
            let confused = (0..k)
                .filter(|&j| j != i && confusion[i][j] > 0)
                .max_by_key(|&j| confusion[i][j]);
            ClassResult {
                class: meta.class_names[i].clone(),
                count,
                correct,
                accuracy: 100.0 * correct as f64 / count as f64,
                most_confused_with: confused
                    .map(|j| (meta.class_names[j].clone(), confusion[i][j])),
            }
        })
        .collect();
    Ok(EvalReport {
        images: done,
        predictions,
        top1: 100.0 * top1 as f64 / done.max(1) as f64,
        top5: 100.0 * top5 as f64 / done.max(1) as f64,
        per_class,
    })
}
