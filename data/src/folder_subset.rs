//! An image folder decoded into memory at a small size, for search: a subset of its classes and
//! of the images of each (an ImageNet-100 at 32 px, say). Train images come from `DIR/train/`
//! (or `DIR/` itself when it holds the class folders), test images from `DIR/val/` when present.
//! Each image: shorter side resized to S, centre crop S×S.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ImageSet;
use crate::folder::{FolderSplit, decode, eval_transform};
use crate::{Error, Result};

/// Which classes of the folder to use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ClassPick {
    #[default]
    All,
    /// The first N class folders in sorted order.
    First(usize),
    /// These class folders, in this order (label i = the i-th name).
    Named(Vec<String>),
}

impl ClassPick {
    /// `N` or `name,name,…` (the `--classes` flag).
    pub fn parse(s: &str) -> Result<ClassPick> {
        let s = s.trim();
        if let Ok(n) = s.parse::<usize>() {
            return match n {
                0 => Err(Error::Invalid(
                    "--classes 0: choose at least one class".into(),
                )),
                n => Ok(ClassPick::First(n)),
            };
        }
        let names: Vec<String> = s
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if names.is_empty() {
            return Err(Error::Invalid(format!(
                "--classes {s:?}: give a number of classes or class folder names separated by commas"
            )));
        }
        Ok(ClassPick::Named(names))
    }

    fn pick(&self, dir: &Path, found: &[String]) -> Result<Vec<String>> {
        match self {
            ClassPick::All => Ok(found.to_vec()),
            ClassPick::First(n) if *n <= found.len() => Ok(found[..*n].to_vec()),
            ClassPick::First(n) => Err(Error::format(
                dir,
                format!("--classes {n}: the folder has only {} classes", found.len()),
            )),
            ClassPick::Named(names) => {
                if let Some(m) = names.iter().find(|n| !found.contains(n)) {
                    return Err(Error::format(
                        dir,
                        format!(
                            "--classes: no class folder {m:?} (the folder has {} classes)",
                            found.len()
                        ),
                    ));
                }
                Ok(names.clone())
            }
        }
    }
}

/// Train set, test set (empty without `val/`) and class names.
pub fn load(
    dir: &Path,
    classes: &ClassPick,
    per_class: Option<usize>,
    size: usize,
) -> Result<(ImageSet, ImageSet, Vec<String>)> {
    let train_dir = if dir.join("train").is_dir() {
        dir.join("train")
    } else {
        dir.to_path_buf()
    };
    let all = FolderSplit::scan(&train_dir, None)?;
    let names = classes.pick(&train_dir, &all.classes)?;
    let train = read(&train_dir, &all, &names, per_class, size)?;
    let val_dir = dir.join("val");
    let test = if val_dir.is_dir() {
        // Every validation image of the chosen classes; other class folders are left out.
        let val = FolderSplit::scan(&val_dir, Some(&all.classes))?;
        read(&val_dir, &val, &names, None, size)?
    } else {
        ImageSet {
            channels: 3,
            height: size,
            width: size,
            ..Default::default()
        }
    };
    Ok((train, test, names))
}

/// Decodes the chosen images of `split` (labels renumbered to `names`' order) on all cores.
fn read(
    dir: &Path,
    split: &FolderSplit,
    names: &[String],
    per_class: Option<usize>,
    size: usize,
) -> Result<ImageSet> {
    let mut chosen: Vec<(&Path, u32)> = Vec::new();
    for (label, name) in names.iter().enumerate() {
        let Some(k) = split.classes.iter().position(|c| c == name) else {
            continue;
        };
        let files = split.samples.iter().filter(|(_, l)| *l as usize == k);
        let files: Vec<_> = files.take(per_class.unwrap_or(usize::MAX)).collect();
        if files.is_empty() {
            return Err(Error::format(
                dir.join(name),
                "no images in this class folder",
            ));
        }
        chosen.extend(files.into_iter().map(|(p, _)| (p.as_path(), label as u32)));
    }
    let per = 3 * size * size;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = chosen.len().div_ceil(workers).max(1);
    let parts: Vec<Result<Vec<u8>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chosen
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> Result<Vec<u8>> {
                    let mut out = Vec::with_capacity(part.len() * per);
                    for (path, _) in part {
                        let img = eval_transform(&decode(path)?, size, size);
                        // Planar RGB, as the other in-memory datasets.
                        for c in 0..3 {
                            out.extend(img.pixels().map(|p| p[c]));
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        let join = |h: std::thread::ScopedJoinHandle<'_, Result<Vec<u8>>>| {
            h.join()
                .unwrap_or_else(|_| Err(Error::Invalid("image worker panicked".into())))
        };
        handles.into_iter().map(join).collect()
    });
    let mut images = Vec::with_capacity(chosen.len() * per);
    for p in parts {
        images.extend(p?);
    }
    Ok(ImageSet {
        images,
        labels: chosen.iter().map(|(_, l)| *l).collect(),
        channels: 3,
        height: size,
        width: size,
    })
}
