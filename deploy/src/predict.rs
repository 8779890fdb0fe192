//! Top-k classification of images with an engine.

use serde::Serialize;

use crate::preprocess::{decode, softmax, to_input, top_k};
use crate::{Engine, ModelMeta, Result};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopClass {
    pub class: String,
    pub index: usize,
    pub prob: f32,
}

/// Runs a batch of already-preprocessed inputs and returns the top `k` classes per image.
pub fn classify(
    engine: &mut dyn Engine,
    meta: &ModelMeta,
    inputs: &[f32],
    n: usize,
    k: usize,
) -> Result<Vec<Vec<TopClass>>> {
    let s = meta.input_size;
    let (logits, classes) = engine.run(inputs, [n, meta.input_channels, s, s])?;
    Ok(top_classes(meta, &logits, classes, k))
}

/// The top `k` classes of each row of `logits` (`classes` per row), by softmax probability.
pub fn top_classes(
    meta: &ModelMeta,
    logits: &[f32],
    classes: usize,
    k: usize,
) -> Vec<Vec<TopClass>> {
    logits
        .chunks(classes.max(1))
        .map(|row| {
            top_k(&softmax(row), k)
                .into_iter()
                .map(|(index, prob)| TopClass {
                    class: meta
                        .class_names
                        .get(index)
                        .cloned()
                        .unwrap_or_else(|| index.to_string()),
                    index,
                    prob,
                })
                .collect()
        })
        .collect()
}

/// Decodes, preprocesses and runs image files' bytes: the logits, `classes` per image.
pub fn logits_of_images(
    engine: &mut dyn Engine,
    meta: &ModelMeta,
    images: &[Vec<u8>],
) -> Result<(Vec<f32>, usize)> {
    let mut input = Vec::new();
    for bytes in images {
        input.extend(to_input(&decode(bytes)?, meta));
    }
    let s = meta.input_size;
    engine.run(&input, [images.len(), meta.input_channels, s, s])
}

/// Decodes, preprocesses and classifies image files' bytes.
pub fn classify_images(
    engine: &mut dyn Engine,
    meta: &ModelMeta,
    images: &[Vec<u8>],
    k: usize,
) -> Result<Vec<Vec<TopClass>>> {
    let (logits, classes) = logits_of_images(engine, meta, images)?;
    Ok(top_classes(meta, &logits, classes, k))
}
