//! ImageNet16-120 as NAS-Bench-201 uses it (spec §7.3): the downsampled-ImageNet 16×16 pickles
//! `train_data_batch_1` … `train_data_batch_10` and `val_data` (dicts with `data`, N×768 uint8
//! planar RGB, and `labels`, 1-based 1..=1000), keeping the images of labels 1..=120 with
//! target = label − 1: 151,700 train and 6,000 validation images.

use std::path::{Path, PathBuf};

use super::ImageSet;
use crate::pickled::{append_labelled, empty, read_batch};
use crate::{Error, Result};

pub const CLASSES: usize = 120;
const SIDE: usize = 16;

/// Where a file lives: `dir` itself, AutoDL's `ImageNet16/`, or the folders the official
/// archives extract to (`Imagenet16_train/`, `Imagenet16_val/`).
fn find(dir: &Path, file: &str) -> Option<PathBuf> {
    ["", "ImageNet16", "Imagenet16_train", "Imagenet16_val"]
        .iter()
        .map(|sub| dir.join(sub).join(file))
        .find(|p| p.is_file())
}

pub(crate) fn missing(dir: Option<&Path>) -> Error {
    let place = match dir {
        Some(d) => format!(
            "not found in {} (nor in its ImageNet16/, Imagenet16_train/ or Imagenet16_val/ sub-folders)",
            d.display()
        ),
        None => "need --data-dir (or BETADARTS_DATA)".into(),
    };
    Error::MissingData(format!(
        "imagenet16-120: {place}. Expected train_data_batch_1 … train_data_batch_10 and val_data, \
         the 16×16 pickles of the downsampled ImageNet (Imagenet16_train.zip and Imagenet16_val.zip \
         from image-net.org, as NAS-Bench-201 uses them)"
    ))
}

fn read_into(out: &mut ImageSet, path: &Path) -> Result<()> {
    let (batch, labels) = read_batch(path, "labels", SIDE)?;
    append_labelled(path, out, batch, &labels, 1..=1000, 1..=CLASSES as i64)
}

/// Class names: the third column of `map_clsloc.txt` (`n02119789 1 kit_fox`) when the folder
/// has it, else `label_N` with the files' 1-based label.
fn class_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = (1..=CLASSES).map(|l| format!("label_{l}")).collect();
    if let Some(text) = find(dir, "map_clsloc.txt").and_then(|p| crate::files::read_text(&p).ok()) {
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if let [_, l, name, ..] = f[..]
                && let Ok(l) = l.parse::<usize>()
                && (1..=CLASSES).contains(&l)
            {
                names[l - 1] = name.to_string();
            }
        }
    }
    names
}

/// (train, validation, class names).
pub(crate) fn load(dir: &Path) -> Result<(ImageSet, ImageSet, Vec<String>)> {
    let first = find(dir, "train_data_batch_1").ok_or_else(|| missing(Some(dir)))?;
    let mut train = empty(SIDE);
    read_into(&mut train, &first)?;
    for i in 2..=10 {
        let p = find(dir, &format!("train_data_batch_{i}")).ok_or_else(|| missing(Some(dir)))?;
        read_into(&mut train, &p)?;
    }
    let mut val = empty(SIDE);
    read_into(
        &mut val,
        &find(dir, "val_data").ok_or_else(|| missing(Some(dir)))?,
    )?;
    Ok((train, val, class_names(dir)))
}
