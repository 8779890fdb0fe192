//! The built-in default dataset: the first 1,000 train / 200 test Fashion-MNIST images
//! (MIT, Zalando SE; see `search/data/fashion-mnist-mini/NOTICE.md`).

use std::path::Path;

use super::ImageSet;
use super::idx::{images_from_bytes, join, labels_from_bytes};
use crate::Result;

const TRAIN_IMAGES: &[u8] =
    include_bytes!("../../data/fashion-mnist-mini/train-1000-images-idx3-ubyte.gz");
const TRAIN_LABELS: &[u8] =
    include_bytes!("../../data/fashion-mnist-mini/train-1000-labels-idx1-ubyte.gz");
const TEST_IMAGES: &[u8] =
    include_bytes!("../../data/fashion-mnist-mini/t10k-200-images-idx3-ubyte.gz");
const TEST_LABELS: &[u8] =
    include_bytes!("../../data/fashion-mnist-mini/t10k-200-labels-idx1-ubyte.gz");

pub(super) fn fashion_mnist_mini() -> Result<(ImageSet, ImageSet)> {
    let name = |f: &str| Path::new("<embedded fashion-mnist-mini>").join(f);
    let set = |img: &[u8], lab: &[u8], stem: &str| -> Result<ImageSet> {
        let images = images_from_bytes(&name(stem), img.to_vec())?;
        let labels = labels_from_bytes(&name(stem), lab.to_vec())?;
        join(images, labels, &name(stem))
    };
    Ok((
        set(TRAIN_IMAGES, TRAIN_LABELS, "train")?,
        set(TEST_IMAGES, TEST_LABELS, "t10k")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_subset_is_complete_and_balanced_enough() {
        let (train, test) = fashion_mnist_mini().unwrap();
        assert_eq!((train.len(), test.len()), (1000, 200));
        assert_eq!((train.channels, train.height, train.width), (1, 28, 28));
        let mut counts = [0usize; 10];
        for &l in &train.labels {
            counts[l as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 50), "{counts:?}");
        // The first Fashion-MNIST test image is an ankle boot (class 9).
        assert_eq!(test.labels[0], 9);
    }
}
