//! Area-average resizing (as OpenCV's INTER_AREA), used to shrink datasets for quick runs
//! (`--image-size 8`) without aliasing.

use super::ImageSet;

/// Resizes every image to `size`×`size`. Each output pixel is the overlap-weighted mean of the
/// input pixels its footprint covers (also correct for up-scaling, where it is nearest-like).
pub fn resize_area(set: &ImageSet, size: usize) -> ImageSet {
    let (h, w) = (set.height, set.width);
    let wy = weights(h, size);
    let wx = weights(w, size);
    let mut images = Vec::with_capacity(set.len() * set.channels * size * size);
    for i in 0..set.len() {
        let img = set.image(i);
        for c in 0..set.channels {
            let plane = &img[c * h * w..(c + 1) * h * w];
            for ry in &wy {
                for rx in &wx {
                    let mut acc = 0.0f64;
                    let mut total = 0.0f64;
                    for &(y, fy) in ry {
                        for &(x, fx) in rx {
                            acc += plane[y * w + x] as f64 * fy * fx;
                            total += fy * fx;
                        }
                    }
                    images.push((acc / total).round().clamp(0.0, 255.0) as u8);
                }
            }
        }
    }
    ImageSet {
        images,
        labels: set.labels.clone(),
        channels: set.channels,
        height: size,
        width: size,
    }
}

/// For each output index, the input indices it covers with their overlap lengths.
fn weights(input: usize, output: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = input as f64 / output as f64;
    (0..output)
        .map(|o| {
            let (a, b) = (o as f64 * scale, (o + 1) as f64 * scale);
            let mut v = Vec::new();
            let mut i = a.floor() as usize;
            while (i as f64) < b && i < input {
                let overlap = (b.min(i as f64 + 1.0) - a.max(i as f64)).max(0.0);
                if overlap > 1e-12 {
                    v.push((i, overlap));
                }
                i += 1;
            }
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_2x2_blocks() {
        let set = ImageSet {
            images: vec![0, 4, 8, 12, 2, 6, 10, 14, 1, 1, 3, 3, 1, 1, 3, 3],
            labels: vec![5],
            channels: 1,
            height: 4,
            width: 4,
        };
        let r = resize_area(&set, 2);
        assert_eq!(r.images, vec![3, 11, 1, 3]);
        assert_eq!(r.labels, vec![5]);
    }

    #[test]
    fn non_integer_factor_keeps_constant_images_constant() {
        let set = ImageSet {
            images: vec![77; 28 * 28],
            labels: vec![0],
            channels: 1,
            height: 28,
            width: 28,
        };
        assert!(resize_area(&set, 8).images.iter().all(|&p| p == 77));
    }
}
