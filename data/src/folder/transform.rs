//! Decoding within limits, and the torchvision transforms: RandomResizedCrop, flip and
//! ColorJitter for training; resize and centre crop for evaluation.

use std::path::Path;

use image::imageops::FilterType;
use image::{RgbImage, imageops};

use crate::rng::Rng;
use crate::{Error, Result};

/// Train-time photometric augmentation strengths.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Jitter {
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    pub hue: f32,
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter {
            brightness: 0.4,
            contrast: 0.4,
            saturation: 0.4,
            hue: 0.2,
        }
    }
}

/// Largest side and decoded size of any image read: a decompression bomb (a small PNG whose
/// header declares 16000×16000) is refused from its header, before anything is allocated.
pub const MAX_SIDE: u32 = 8192;
pub const MAX_DECODE_BYTES: u64 = 256 << 20;

/// The decoder limits of [`MAX_SIDE`] and [`MAX_DECODE_BYTES`].
pub fn limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

/// Decodes an image file as RGB within [`limits`]; the error names the file.
pub fn decode(path: &Path) -> Result<RgbImage> {
    let bad = |e: String| Error::format(path, format!("cannot decode image: {e}"));
    let mut reader = image::ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?;
    reader.limits(limits());
    Ok(reader.decode().map_err(|e| bad(e.to_string()))?.to_rgb8())
}

/// Resize the shorter side to `resize`, centre-crop `size`×`size`.
pub fn eval_transform(img: &RgbImage, resize: usize, size: usize) -> RgbImage {
    let (w, h) = img.dimensions();
    let scale = resize as f64 / w.min(h) as f64;
    let (nw, nh) = (
        ((w as f64 * scale).round() as u32).max(size as u32),
        ((h as f64 * scale).round() as u32).max(size as u32),
    );
    let resized = imageops::resize(img, nw, nh, FilterType::Triangle);
    let (x, y) = ((nw - size as u32) / 2, (nh - size as u32) / 2);
    imageops::crop_imm(&resized, x, y, size as u32, size as u32).to_image()
}

/// RandomResizedCrop + flip + colour jitter.
pub fn train_transform(
    img: &RgbImage,
    size: usize,
    jitter: Option<Jitter>,
    rng: &mut Rng,
) -> RgbImage {
    let (w, h) = img.dimensions();
    let area = (w * h) as f64;
    let mut crop = None;
    for _ in 0..10 {
        let target = area * (0.08 + rng.uniform() * 0.92);
        let log_r = (0.75f64).ln() + rng.uniform() * ((4.0f64 / 3.0).ln() - (0.75f64).ln());
        let ratio = log_r.exp();
        let cw = (target * ratio).sqrt().round() as u32;
        let ch = (target / ratio).sqrt().round() as u32;
        if cw > 0 && ch > 0 && cw <= w && ch <= h {
            let x = rng.below((w - cw + 1) as usize) as u32;
            let y = rng.below((h - ch + 1) as usize) as u32;
            crop = Some((x, y, cw, ch));
            break;
        }
    }
    // Fallback: centre crop of the whole image (torchvision's behaviour after 10 misses).
    let (x, y, cw, ch) = crop.unwrap_or_else(|| {
        let s = w.min(h);
        ((w - s) / 2, (h - s) / 2, s, s)
    });
    let mut out = imageops::resize(
        &imageops::crop_imm(img, x, y, cw, ch).to_image(),
        size as u32,
        size as u32,
        FilterType::Triangle,
    );
    if rng.coin(0.5) {
        imageops::flip_horizontal_in_place(&mut out);
    }
    if let Some(j) = jitter {
        color_jitter(&mut out, j, rng);
    }
    out
}

fn color_jitter(img: &mut RgbImage, j: Jitter, rng: &mut Rng) {
    let factor = |s: f32, rng: &mut Rng| 1.0 + (rng.uniform() as f32 * 2.0 - 1.0) * s;
    let (b, c, s) = (
        factor(j.brightness, rng),
        factor(j.contrast, rng),
        factor(j.saturation, rng),
    );
    let hue = (rng.uniform() as f32 * 2.0 - 1.0) * j.hue;
    let gray = |p: [f32; 3]| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    let mean_gray = img
        .pixels()
        .map(|p| gray([p[0] as f32, p[1] as f32, p[2] as f32]))
        .sum::<f32>()
        / (img.width() * img.height()).max(1) as f32;
    for p in img.pixels_mut() {
        let mut v = [p[0] as f32, p[1] as f32, p[2] as f32];
        v.iter_mut().for_each(|x| *x *= b);
        let m = mean_gray * b;
        v.iter_mut().for_each(|x| *x = (*x - m) * c + m);
        let g = gray(v);
        v.iter_mut().for_each(|x| *x = g + (*x - g) * s);
        if hue != 0.0 {
            v = rotate_hue(v, hue);
        }
        for (o, x) in p.0.iter_mut().zip(v) {
            *o = x.round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// Rotates the hue of an RGB pixel by `shift` turns (in HSV).
pub(super) fn rotate_hue(v: [f32; 3], shift: f32) -> [f32; 3] {
    let [r, g, b] = v.map(|x| x.clamp(0.0, 255.0) / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    if d == 0.0 {
        return v;
    }
    let mut h = if max == r {
        ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        (b - r) / d + 2.0
    } else {
        (r - g) / d + 4.0
    } / 6.0;
    h = (h + shift).rem_euclid(1.0);
    let (s, val) = (d / max, max);
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let (p, q, t) = (
        val * (1.0 - s),
        val * (1.0 - s * f),
        val * (1.0 - s * (1.0 - f)),
    );
    let out = match i as i32 % 6 {
        0 => [val, t, p],
        1 => [q, val, p],
        2 => [p, val, t],
        3 => [p, q, val],
        4 => [t, p, val],
        _ => [val, p, q],
    };
    out.map(|x| x * 255.0)
}
