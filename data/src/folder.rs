//! ImageNet-style folders: `ROOT/train/<class>/*.jpg|png` and `ROOT/val/<class>/*` (classes are
//! the sorted sub-folder names, as torchvision's `ImageFolder`). Images are decoded and
//! augmented on worker threads, one batch ahead of the model.
//!
//! Train transform: RandomResizedCrop(S, scale 0.08–1, ratio 3/4–4/3) → horizontal flip →
//! ColorJitter(brightness 0.4, contrast 0.4, saturation 0.4, hue 0.2 by default).
//! Eval transform: resize the shorter side to S·256/224 → centre crop S.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use image::imageops::FilterType;
use image::{RgbImage, imageops};

use crate::rng::Rng;
use crate::{Error, Result};

/// ImageNet normalisation (spec §5.2).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

const EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "JPEG"];

/// The files of one split, with their class indices.
#[derive(Debug, Clone)]
pub struct FolderSplit {
    pub samples: Vec<(PathBuf, u32)>,
    pub classes: Vec<String>,
}

impl FolderSplit {
    /// Scans `dir/<class>/*`. `classes` fixes the class order (the train split's), so that val
    /// labels agree with train labels.
    pub fn scan(dir: &Path, classes: Option<&[String]>) -> Result<Self> {
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        let classes: Vec<String> = classes.map(<[String]>::to_vec).unwrap_or(found.clone());
        if classes.is_empty() {
            return Err(Error::format(
                dir,
                "no class sub-folders (expected DIR/<class>/<image>.jpg)",
            ));
        }
        let mut samples = Vec::new();
        for name in &found {
            let Some(label) = classes.iter().position(|c| c == name) else {
                return Err(Error::format(
                    dir,
                    format!("class folder {name:?} is not a training class"),
                ));
            };
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(name))
                .map_err(|e| Error::io(dir.join(name), e))?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| EXTENSIONS.contains(&x.to_string_lossy().as_ref()))
                })
                // Regular files only: a FIFO or device named `*.png` would block the reader.
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            samples.extend(files.into_iter().map(|f| (f, label as u32)));
        }
        if samples.is_empty() {
            return Err(Error::format(
                dir,
                "no .jpg/.jpeg/.png images in the class folders",
            ));
        }
        Ok(FolderSplit { samples, classes })
    }
}

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
fn rotate_hue(v: [f32; 3], shift: f32) -> [f32; 3] {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write_folder(root: &Path) {
        for (c, colour) in [("cat", [200u8, 30, 30]), ("dog", [30, 30, 200])] {
            let d = root.join(c);
            std::fs::create_dir_all(&d).unwrap();
            for i in 0..3 {
                let img = RgbImage::from_pixel(40 + i * 7, 30 + i * 5, image::Rgb(colour));
                img.save(d.join(format!("{i}.png"))).unwrap();
            }
        }
    }

    #[test]
    fn scans_classes_and_loads_batches_identically_with_any_worker_count() {
        let dir = tempfile::tempdir().unwrap();
        write_folder(dir.path());
        let split = FolderSplit::scan(dir.path(), None).unwrap();
        assert_eq!(split.classes, vec!["cat", "dog"]);
        assert_eq!(split.samples.len(), 6);
        let idx = [0, 3, 5, 1];
        let t = Transform::Train {
            size: 16,
            jitter: Some(Jitter::default()),
        };
        let a = load_batch(&split, &idx, t, 7, 1).unwrap();
        let b = load_batch(&split, &idx, t, 7, 3).unwrap();
        assert_eq!(a.data.len(), 4 * 3 * 16 * 16);
        assert_eq!(a.labels, vec![0, 1, 1, 0]);
        assert_eq!(a.data, b.data, "worker count does not change results");
        // Eval: a uniform red image stays uniform red after resize + crop.
        let e = load_batch(
            &split,
            &[0],
            Transform::Eval {
                resize: 18,
                size: 16,
            },
            0,
            1,
        )
        .unwrap();
        let r = (200.0 / 255.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
        assert!(e.data[..256].iter().all(|v| (v - r).abs() < 1e-5));
        let batches: Vec<_> =
            Prefetcher::start(split, vec![vec![0, 1], vec![2]], t, 1, 2).collect();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[1].as_ref().unwrap().labels, vec![0]);
    }

    #[test]
    fn corrupt_image_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write_folder(dir.path());
        std::fs::write(
            dir.path().join("dog/bad.png"),
            b"\x89PNG\r\n\x1a\nnot really",
        )
        .unwrap();
        let split = FolderSplit::scan(dir.path(), None).unwrap();
        let bad = split
            .samples
            .iter()
            .position(|(p, _)| p.ends_with("bad.png"))
            .unwrap();
        let e = load_batch(
            &split,
            &[bad],
            Transform::Eval {
                resize: 18,
                size: 16,
            },
            0,
            1,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("bad.png") && e.contains("cannot decode"), "{e}");
    }

    #[test]
    fn hue_rotation_by_a_third_turns_red_into_green() {
        let v = rotate_hue([255.0, 0.0, 0.0], 1.0 / 3.0);
        assert!(
            (v[0] - 0.0).abs() < 1e-3 && (v[1] - 255.0).abs() < 1e-3 && v[2].abs() < 1e-3,
            "{v:?}"
        );
    }
}
