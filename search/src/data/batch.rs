//! Host-side batch assembly: random crop with zero padding and horizontal flip (the CIFAR
//! search augmentation, applied to both splits as in the reference), normalisation, and the
//! upload to the device as one tensor.

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::ImageSet;
use crate::rng::Rng;

/// Training augmentation: `RandomCrop(size, padding = pad)` then `RandomHorizontalFlip(0.5)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Augment {
    pub pad: usize,
    pub flip: bool,
}

impl Augment {
    /// The reference's pad 4 at 32 px, scaled with the image size (pad = size/8, at least 1).
    pub fn standard(size: usize) -> Self {
        Augment {
            pad: (size as f64 / 8.0).round().max(1.0) as usize,
            flip: true,
        }
    }
}

/// Cutout (DeVries & Taylor): a `length`×`length` square, centred uniformly over the image and
/// clipped at the borders, is zeroed after normalisation, with probability `prob`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cutout {
    pub length: usize,
    pub prob: f64,
}

/// Zeroes the cutout square of one normalised `[C, H, W]` image; returns the (y0, y1, x0, x1)
/// rows and columns it cleared.
pub fn apply_cutout(
    img: &mut [f32],
    c: usize,
    h: usize,
    w: usize,
    length: usize,
    rng: &mut Rng,
) -> (usize, usize, usize, usize) {
    let cy = rng.below(h) as isize;
    let cx = rng.below(w) as isize;
    let half = (length / 2) as isize;
    let y0 = (cy - half).clamp(0, h as isize) as usize;
    let y1 = (cy + half).clamp(0, h as isize) as usize;
    let x0 = (cx - half).clamp(0, w as isize) as usize;
    let x1 = (cx + half).clamp(0, w as isize) as usize;
    for ch in 0..c {
        for y in y0..y1 {
            img[ch * h * w + y * w + x0..ch * h * w + y * w + x1].fill(0.0);
        }
    }
    (y0, y1, x0, x1)
}

/// A batch on the device.
pub struct Batch {
    pub images: Tensor<4>,
    pub targets: Tensor<1, Int>,
    pub len: usize,
}

/// Builds a normalised batch from `indices` of `set`.
pub fn make_batch(
    set: &ImageSet,
    indices: &[usize],
    augment: Option<Augment>,
    rng: &mut Rng,
    mean: &[f32],
    std: &[f32],
    device: &Device,
) -> Batch {
    make_batch_cutout(set, indices, augment, None, rng, mean, std, device)
}

/// [`make_batch`] with optional cutout after normalisation.
#[allow(clippy::too_many_arguments)]
pub fn make_batch_cutout(
    set: &ImageSet,
    indices: &[usize],
    augment: Option<Augment>,
    cutout: Option<Cutout>,
    rng: &mut Rng,
    mean: &[f32],
    std: &[f32],
    device: &Device,
) -> Batch {
    let (c, h, w) = (set.channels, set.height, set.width);
    let mut data = Vec::with_capacity(indices.len() * c * h * w);
    let mut labels = Vec::with_capacity(indices.len());
    for &i in indices {
        let img = set.image(i);
        // Offsets into the zero-padded image, and whether to mirror.
        let (dy, dx, flip) = match augment {
            Some(a) => (
                rng.below(2 * a.pad + 1) as isize - a.pad as isize,
                rng.below(2 * a.pad + 1) as isize - a.pad as isize,
                a.flip && rng.coin(0.5),
            ),
            None => (0, 0, false),
        };
        for ch in 0..c {
            let plane = &img[ch * h * w..(ch + 1) * h * w];
            let (m, s) = (mean[ch.min(mean.len() - 1)], std[ch.min(std.len() - 1)]);
            for y in 0..h {
                let sy = y as isize + dy;
                for x in 0..w {
                    let xx = if flip { w - 1 - x } else { x };
                    let sx = xx as isize + dx;
                    let v = if sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize {
                        plane[sy as usize * w + sx as usize] as f32 / 255.0
                    } else {
                        0.0 // padding is black before normalisation, as torchvision pads the image
                    };
                    data.push((v - m) / s);
                }
            }
        }
        if let Some(cut) = cutout
            && rng.coin(cut.prob)
        {
            let start = data.len() - c * h * w;
            apply_cutout(&mut data[start..], c, h, w, cut.length, rng);
        }
        labels.push(set.labels[i] as i64);
    }
    let n = indices.len();
    Batch {
        images: Tensor::from_data(TensorData::new(data, [n, c, h, w]), device),
        targets: Tensor::from_data(TensorData::new(labels, [n]), device),
        len: n,
    }
}

/// Uploads a host batch (from the folder loader) as tensors.
pub fn upload(hb: super::folder::HostBatch, channels: usize, device: &Device) -> Batch {
    let n = hb.labels.len();
    Batch {
        images: Tensor::from_data(
            TensorData::new(hb.data, [n, channels, hb.size, hb.size]),
            device,
        ),
        targets: Tensor::from_data(TensorData::new(hb.labels, [n]), device),
        len: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_augment_is_plain_normalisation() {
        let set = ImageSet {
            images: vec![0, 255, 51, 102],
            labels: vec![3],
            channels: 1,
            height: 2,
            width: 2,
        };
        let device = Device::flex();
        let mut rng = Rng::new(0);
        let b = make_batch(&set, &[0], None, &mut rng, &[0.5], &[0.5], &device);
        let v: Vec<f32> = b.images.into_data().try_to_vec().unwrap();
        let want = [-1.0, 1.0, 0.2 / 0.5 - 1.0, 0.4 / 0.5 - 1.0];
        for (a, b) in v.iter().zip(want) {
            assert!((a - b).abs() < 1e-6);
        }
        let t: Vec<i64> = b.targets.into_data().convert::<i64>().try_to_vec().unwrap();
        assert_eq!(t, vec![3]);
    }

    #[test]
    fn cutout_zeroes_exactly_the_clipped_square() {
        let (c, h, w) = (2, 10, 10);
        for seed in 0..50 {
            let mut img = vec![1.0f32; c * h * w];
            let mut rng = Rng::new(seed);
            let (y0, y1, x0, x1) = apply_cutout(&mut img, c, h, w, 6, &mut rng);
            // Replay the centre draw: the square is centre ± 3, clipped to the image.
            let mut r = Rng::new(seed);
            let (cy, cx) = (r.below(h) as isize, r.below(w) as isize);
            assert_eq!(
                (y0, y1),
                ((cy - 3).max(0) as usize, (cy + 3).min(10) as usize)
            );
            assert_eq!(
                (x0, x1),
                ((cx - 3).max(0) as usize, (cx + 3).min(10) as usize)
            );
            for ch in 0..c {
                for y in 0..h {
                    for x in 0..w {
                        let inside = (y0..y1).contains(&y) && (x0..x1).contains(&x);
                        assert_eq!(img[ch * h * w + y * w + x], if inside { 0.0 } else { 1.0 });
                    }
                }
            }
        }
    }

    #[test]
    fn crops_are_shifted_copies_with_black_borders() {
        // A 4×4 image of 255s: any crop keeps 255s inside and zeros where it left the image.
        let set = ImageSet {
            images: vec![255; 16],
            labels: vec![0],
            channels: 1,
            height: 4,
            width: 4,
        };
        let device = Device::flex();
        let mut rng = Rng::new(3);
        let mut saw_border = false;
        for _ in 0..20 {
            let b = make_batch(
                &set,
                &[0],
                Some(Augment { pad: 1, flip: true }),
                &mut rng,
                &[0.0],
                &[1.0],
                &device,
            );
            let v: Vec<f32> = b.images.into_data().try_to_vec().unwrap();
            let zeros = v.iter().filter(|&&p| p == 0.0).count();
            assert!(v.iter().all(|&p| p == 0.0 || p == 1.0));
            // A shift by (dy, dx) blanks |dy|·4 + |dx|·4 − |dy·dx| pixels: 0, 4 or 7.
            assert!([0, 4, 7].contains(&zeros), "{zeros}");
            saw_border |= zeros > 0;
        }
        assert!(saw_border);
    }
}
