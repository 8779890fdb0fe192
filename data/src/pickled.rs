//! Image batches stored as Python pickles: torchvision's CIFAR "python version"
//! (`cifar-10-batches-py/`, `cifar-100-python/`) and the downsampled-ImageNet files of
//! ImageNet16-120. Each file is a dict with `data` (uint8, N×(3·S·S), planar RGB) and its labels.

use std::path::Path;

use super::ImageSet;
use crate::pickle::{self, Value};
use crate::{Error, Result};

/// One batch file: its images (3×`side`×`side`) and the labels under `label_key`, unchecked.
pub fn read_batch(path: &Path, label_key: &str, side: usize) -> Result<(ImageSet, Vec<i64>)> {
    batch_of(path, &pickle::load(path)?, label_key, side)
}

fn batch_of(
    path: &Path,
    root: &Value,
    label_key: &str,
    side: usize,
) -> Result<(ImageSet, Vec<i64>)> {
    let bad = |m: String| Error::format(path, m);
    let field = |key: &str| {
        root.get(key).ok_or_else(|| {
            bad(format!(
                "no {key:?} entry (a {} with keys {:?})",
                root.describe(),
                root.keys()
            ))
        })
    };
    let data = field("data")?;
    let labels = field(label_key)?
        .int_vec()
        .map_err(|e| bad(format!("{label_key:?}: {e}")))?;
    let a = data.array().ok_or_else(|| {
        bad(format!(
            "\"data\" is {}, not a numpy array",
            data.describe()
        ))
    })?;
    let per = 3 * side * side;
    let n = a.shape.first().copied().unwrap_or(0);
    let planar = a.shape == [n, per] || a.shape == [n, 3, side, side];
    if a.dtype.kind != 'u' || a.dtype.size != 1 || !planar {
        return Err(bad(format!(
            "\"data\" is a {} array of shape {:?}; expected uint8 [N, {per}] (planar RGB {side}×{side})",
            a.dtype.name(),
            a.shape
        )));
    }
    if labels.len() != n {
        return Err(bad(format!(
            "{n} images but {} labels under {label_key:?}",
            labels.len()
        )));
    }
    let set = ImageSet {
        images: a.data.to_vec(),
        labels: vec![],
        channels: 3,
        height: side,
        width: side,
    };
    Ok((set, labels))
}

/// A test file as users have it, for evaluation: CIFAR-10 `test_batch` or CIFAR-100 `test`
/// (python version; fine labels), or ImageNet16 `val_data` (16×16, labels 1-based: the images
/// of the first `classes` labels are kept). The layout is told by the image size.
pub fn read_test_batch(path: &Path, classes: usize) -> Result<ImageSet> {
    let root = pickle::load(path)?;
    let row = root
        .get("data")
        .and_then(|d| d.array())
        .map_or(0, |a| a.shape.iter().skip(1).product::<usize>());
    let (side, first) = if row == 3 * 16 * 16 { (16, 1) } else { (32, 0) };
    let key = if root.get("fine_labels").is_some() {
        "fine_labels"
    } else {
        "labels"
    };
    let (batch, labels) = batch_of(path, &root, key, side)?;
    let mut out = empty(side);
    let last = first + classes as i64 - 1;
    let range = if side == 16 { 1..=1000 } else { first..=last };
    append_labelled(path, &mut out, batch, &labels, range, first..=last)?;
    Ok(out)
}

/// Keeps the images whose label is in `1..=keep` (or `0..keep` when `zero_based`), with the
/// label made zero-based, appending them to `out`. Labels out of `range` are an error.
pub(crate) fn append_labelled(
    path: &Path,
    out: &mut ImageSet,
    batch: ImageSet,
    labels: &[i64],
    range: std::ops::RangeInclusive<i64>,
    keep: std::ops::RangeInclusive<i64>,
) -> Result<()> {
    let per = batch.image_len();
    let offset = *keep.start();
    for (i, &l) in labels.iter().enumerate() {
        if !range.contains(&l) {
            return Err(Error::format(
                path,
                format!(
                    "image {i}: label {l} out of range {}..={}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        if keep.contains(&l) {
            out.images
                .extend_from_slice(&batch.images[i * per..(i + 1) * per]);
            out.labels.push((l - offset) as u32);
        }
    }
    Ok(())
}

/// Class names from a `meta` pickle's list under `key` (torchvision reads the same entry).
pub(crate) fn label_names(path: &Path, key: &str) -> Option<Vec<String>> {
    let meta = pickle::load(path).ok()?;
    let names: Option<Vec<String>> = meta.get(key)?.items()?.iter().map(Value::text).collect();
    names.filter(|n| !n.is_empty())
}

/// An empty 3-channel set of `side`×`side` images.
pub(crate) fn empty(side: usize) -> ImageSet {
    ImageSet {
        channels: 3,
        height: side,
        width: side,
        ..Default::default()
    }
}

/// CIFAR-10, python version: `data_batch_1` … `data_batch_5`, `test_batch`, `batches.meta`.
pub(crate) fn load_cifar10(root: &Path) -> Result<(ImageSet, ImageSet, Option<Vec<String>>)> {
    let mut train = empty(32);
    for i in 1..=5 {
        let p = root.join(format!("data_batch_{i}"));
        let (b, l) = read_batch(&p, "labels", 32)?;
        append_labelled(&p, &mut train, b, &l, 0..=9, 0..=9)?;
    }
    let mut test = empty(32);
    let p = root.join("test_batch");
    let (b, l) = read_batch(&p, "labels", 32)?;
    append_labelled(&p, &mut test, b, &l, 0..=9, 0..=9)?;
    Ok((
        train,
        test,
        label_names(&root.join("batches.meta"), "label_names"),
    ))
}

/// CIFAR-100, python version: `train`, `test` (fine labels) and `meta`.
pub(crate) fn load_cifar100(root: &Path) -> Result<(ImageSet, ImageSet, Option<Vec<String>>)> {
    let mut sets = [empty(32), empty(32)];
    for (set, name) in sets.iter_mut().zip(["train", "test"]) {
        let p = root.join(name);
        let (b, l) = read_batch(&p, "fine_labels", 32)?;
        append_labelled(&p, set, b, &l, 0..=99, 0..=99)?;
    }
    let [train, test] = sets;
    Ok((
        train,
        test,
        label_names(&root.join("meta"), "fine_label_names"),
    ))
}
