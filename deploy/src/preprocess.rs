//! Image preprocessing shared by both engines: decode PNG/JPEG, convert to the model's channel
//! count, resize the shorter side to S·256/224 and centre-crop S (ImageNet-style eval), or
//! resize straight to S for images already at about that size (CIFAR, MNIST), then normalise
//! with the model's own mean and std.

use betadarts_data::{ImageSet, resize_area};
use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView};

use crate::{Error, ModelMeta, Result};

/// Largest image side decoded, and most bytes a decoder may allocate: a small PNG can declare
/// 16000×16000 pixels (a decompression bomb: 2 GB and seconds per request), refused from its
/// header before anything is decoded.
pub use betadarts_data::folder::{MAX_DECODE_BYTES, MAX_SIDE};

/// Decodes image bytes within [`MAX_SIDE`] and [`MAX_DECODE_BYTES`]; a clear error for
/// undecodable or oversized data.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage> {
    let bad = |e: image::ImageError| match e {
        image::ImageError::Limits(l) => Error::TooLarge(format!(
            "image too large to decode ({l}; at most {MAX_SIDE}×{MAX_SIDE} pixels and \
             {MAX_DECODE_BYTES} bytes decoded)"
        )),
        e => Error::Input(format!("not a decodable PNG/JPEG image: {e}")),
    };
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Input(format!("not a decodable PNG/JPEG image: {e}")))?;
    reader.limits(betadarts_data::folder::limits());
    reader.decode().map_err(bad)
}

/// `[C, S, S]` normalised values for the model described by `meta`, prepared as its training
/// data was (`meta.preprocess`): area-resized whole (in-memory datasets), or the ImageNet eval
/// transform (image folders).
pub fn to_input(img: &DynamicImage, meta: &ModelMeta) -> Vec<f32> {
    let s = meta.input_size;
    let (w, h) = img.dimensions();
    let c = meta.input_channels;
    let planar = |img: &DynamicImage| -> (Vec<u8>, usize, usize) {
        let (w, h) = img.dimensions();
        let data = if c == 1 {
            img.to_luma8().into_raw()
        } else {
            let rgb = img.to_rgb8();
            (0..3)
                .flat_map(|ch| rgb.pixels().map(move |p| p[ch]).collect::<Vec<u8>>())
                .collect()
        };
        (data, h as usize, w as usize)
    };
    let (data, _, _) = if meta.preprocess != "center-crop" {
        let (data, h, w) = planar(img);
        let set = ImageSet {
            images: data,
            labels: vec![0],
            channels: c,
            height: h,
            width: w,
        };
        let set = if h == s && w == s {
            set
        } else {
            resize_area(&set, s)
        };
        (set.images, s, s)
    } else {
        let r = (s * 256 / 224) as f64 / w.min(h) as f64;
        let resized = img.resize_exact(
            (w as f64 * r).round() as u32,
            (h as f64 * r).round() as u32,
            FilterType::Triangle,
        );
        let (rw, rh) = resized.dimensions();
        planar(&resized.crop_imm((rw - s as u32) / 2, (rh - s as u32) / 2, s as u32, s as u32))
    };
    data.iter()
        .enumerate()
        .map(|(i, &p)| {
            let ch = i / (s * s);
            (p as f32 / 255.0 - meta.mean[ch]) / meta.std[ch]
        })
        .collect()
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
