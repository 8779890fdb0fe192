//! Image preprocessing shared by both engines: decode PNG/JPEG, convert to the model's channel
//! count, resize the shorter side to S·256/224 and centre-crop S (ImageNet-style eval), or
//! resize straight to S for images already at about that size (CIFAR, MNIST), then normalise
//! with the model's own mean and std.

use image::imageops::{self, FilterType};
use image::{DynamicImage, GenericImageView};

use crate::{Error, ModelMeta, Result};

/// Decodes image bytes; a clear error for undecodable data.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage> {
    image::load_from_memory(bytes)
        .map_err(|e| Error::Input(format!("not a decodable PNG/JPEG image: {e}")))
}

/// `[C, S, S]` normalised values for the model described by `meta`.
pub fn to_input(img: &DynamicImage, meta: &ModelMeta) -> Vec<f32> {
    let s = meta.input_size as u32;
    let (w, h) = img.dimensions();
    // Small images (dataset-sized) are resized directly; large photos get resize + centre crop.
    let img = if w.min(h) <= s * 256 / 224 {
        img.resize_exact(s, s, FilterType::Triangle)
    } else {
        let r = (s * 256 / 224) as f64 / w.min(h) as f64;
        let resized = img.resize_exact(
            (w as f64 * r).round() as u32,
            (h as f64 * r).round() as u32,
            FilterType::Triangle,
        );
        let (rw, rh) = resized.dimensions();
        resized.crop_imm((rw - s) / 2, (rh - s) / 2, s, s)
    };
    let c = meta.input_channels;
    let mut out = Vec::with_capacity(c * (s * s) as usize);
    if c == 1 {
        let g = img.to_luma8();
        out.extend(
            g.pixels()
                .map(|p| (p[0] as f32 / 255.0 - meta.mean[0]) / meta.std[0]),
        );
    } else {
        let rgb = img.to_rgb8();
        for ch in 0..3 {
            out.extend(
                rgb.pixels()
                    .map(|p| (p[ch] as f32 / 255.0 - meta.mean[ch]) / meta.std[ch]),
            );
        }
    }
    let _ = imageops::FilterType::Nearest;
    out
}

/// Softmax of one row of logits.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let m = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let e: Vec<f32> = logits.iter().map(|&v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// The `k` most probable classes: (index, probability), best first.
pub fn top_k(probs: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    idx.into_iter().take(k).map(|i| (i, probs[i])).collect()
}
