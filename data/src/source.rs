//! Training data: in memory, or streamed from an image folder (`betadarts train`).

use std::path::Path;

use crate::{Dataset, DatasetName, Error, FOLDER_HINT, Result, folder, load};

/// Training data: in memory (CIFAR, IDX, built-in) or streamed from an ImageNet-style folder.
#[derive(Debug, Clone)]
pub enum Source {
    Memory(Dataset),
    Folder {
        train: folder::FolderSplit,
        val: folder::FolderSplit,
        size: usize,
    },
}

impl Source {
    /// `image_size` resizes in-memory sets, and is the crop side of folder images (default 224).
    pub fn load(
        name: DatasetName,
        dir: Option<&Path>,
        image_size: Option<usize>,
    ) -> Result<Source> {
        if name == DatasetName::Imagefolder {
            let default = name.default_dir();
            let dir = dir
                .or(default.as_deref())
                .ok_or_else(|| Error::MissingData(FOLDER_HINT.into()))?;
            let train = folder::FolderSplit::scan(&dir.join("train"), None)?;
            let val = folder::FolderSplit::scan(&dir.join("val"), Some(&train.classes))?;
            return Ok(Source::Folder {
                train,
                val,
                size: image_size.unwrap_or(224),
            });
        }
        let ds = load(name, dir)?;
        Ok(Source::Memory(match image_size {
            Some(s) => ds.resized(s),
            None => ds,
        }))
    }

    pub fn train_len(&self) -> usize {
        match self {
            Source::Memory(d) => d.train.len(),
            Source::Folder { train, .. } => train.samples.len(),
        }
    }
    pub fn test_len(&self) -> usize {
        match self {
            Source::Memory(d) => d.test.len(),
            Source::Folder { val, .. } => val.samples.len(),
        }
    }
    pub fn channels(&self) -> usize {
        match self {
            Source::Memory(d) => d.channels(),
            Source::Folder { .. } => 3,
        }
    }
    pub fn image_size(&self) -> usize {
        match self {
            Source::Memory(d) => d.image_size(),
            Source::Folder { size, .. } => *size,
        }
    }
    pub fn class_names(&self) -> Vec<String> {
        match self {
            Source::Memory(d) => d.class_names.clone(),
            Source::Folder { train, .. } => train.classes.clone(),
        }
    }
    pub fn mean_std(&self) -> (Vec<f32>, Vec<f32>) {
        match self {
            Source::Memory(d) => (d.mean.clone(), d.std.clone()),
            Source::Folder { .. } => (
                folder::IMAGENET_MEAN.to_vec(),
                folder::IMAGENET_STD.to_vec(),
            ),
        }
    }
}
