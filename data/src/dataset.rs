//! A dataset in memory: u8 images with labels, class names and normalisation.

use crate::*;

/// Images stored planar `[N, C, H, W]` as bytes, with one label per image.
#[derive(Debug, Clone, Default)]
pub struct ImageSet {
    pub images: Vec<u8>,
    pub labels: Vec<u32>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ImageSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.images[i * n..(i + 1) * n]
    }
}

/// A dataset: train and test sets, classes and normalisation.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: DatasetName,
    pub train: ImageSet,
    pub test: ImageSet,
    pub class_names: Vec<String>,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Dataset {
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }
    pub fn channels(&self) -> usize {
        self.train.channels
    }
    pub fn image_size(&self) -> usize {
        self.train.height
    }

    /// Resizes both splits to `size`×`size` (area averaging) when it differs.
    pub fn resized(mut self, size: usize) -> Self {
        if size != self.train.height || size != self.train.width {
            self.train = resize_area(&self.train, size);
            self.test = resize_area(&self.test, size);
        }
        self
    }
}
