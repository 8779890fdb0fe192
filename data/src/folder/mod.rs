//! ImageNet-style folders: `ROOT/train/<class>/*.jpg|png` and `ROOT/val/<class>/*` (classes are
//! the sorted sub-folder names, as torchvision's `ImageFolder`). Images are decoded and
//! augmented on worker threads, one batch ahead of the model.
//!
//! Train transform: RandomResizedCrop(S, scale 0.08–1, ratio 3/4–4/3) → horizontal flip →
//! ColorJitter(brightness 0.4, contrast 0.4, saturation 0.4, hue 0.2 by default).
//! Eval transform: resize the shorter side to S·256/224 → centre crop S.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

mod prefetch;
#[cfg(test)]
mod tests;
mod transform;

pub use prefetch::{HostBatch, Prefetcher, Transform, load_batch};
pub use transform::{
    Jitter, MAX_DECODE_BYTES, MAX_SIDE, decode, eval_transform, limits, train_transform,
};

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
