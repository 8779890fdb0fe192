//! Labelled data for evaluation, in the layouts users have, and the model inputs made of it.

use std::path::{Path, PathBuf};

use betadarts_data::folder::FolderSplit;
use betadarts_data::{ImageSet, read_cifar_file, read_idx_images, read_idx_labels, resize_area};

use crate::preprocess::{decode, to_input};
use crate::{Error, ModelMeta, Result};

/// Labelled examples, in memory (datasets) or as files (folders).
pub enum EvalData {
    Memory(ImageSet),
    Files(Vec<(PathBuf, usize)>),
}

impl EvalData {
    pub fn len(&self) -> usize {
        match self {
            EvalData::Memory(s) => s.len(),
            EvalData::Files(f) => f.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn data_err(e: betadarts_data::Error) -> Error {
    Error::Input(e.to_string())
}

/// Recognises what `path` holds, and checks it against the model: as many labels as images,
/// every label one of the model's classes.
pub fn open(path: &Path, meta: &ModelMeta) -> Result<EvalData> {
    let data = read(path, meta)?;
    let k = meta.class_names.len();
    let bad = |label: usize| {
        Err(Error::Input(format!(
            "{}: label {label} is not a class of the model (it has {k}: 0..={})",
            path.display(),
            k.saturating_sub(1)
        )))
    };
    match &data {
        EvalData::Memory(set) => {
            let per = set.channels * set.height * set.width;
            let images = set.images.len().checked_div(per).unwrap_or(0);
            if images != set.labels.len() || images * per != set.images.len() {
                return Err(Error::Input(format!(
                    "{}: {} images but {} labels: the image and label files do not belong \
                     together",
                    path.display(),
                    images,
                    set.labels.len()
                )));
            }
            if let Some(&l) = set.labels.iter().find(|&&l| l as usize >= k) {
                return bad(l as usize);
            }
        }
        EvalData::Files(files) => {
            if let Some(&(_, l)) = files.iter().find(|(_, l)| *l >= k) {
                return bad(l);
            }
        }
    }
    Ok(data)
}

fn read(path: &Path, meta: &ModelMeta) -> Result<EvalData> {
    let classes = meta.class_names.len() as u32;
    if path.is_file() {
        // Python pickles (protocol 2+ starts with 0x80): torchvision's CIFAR, ImageNet16.
        if betadarts_data::files::starts_with(path, &[0x80]) {
            return betadarts_data::read_pickled_test_batch(path, classes as usize)
                .map(EvalData::Memory)
                .map_err(data_err);
        }
        let record = if classes > 10 {
            betadarts_data::CIFAR100_RECORD
        } else {
            betadarts_data::CIFAR10_RECORD
        };
        return read_cifar_file(path, record, classes)
            .map(EvalData::Memory)
            .map_err(data_err);
    }
    if !path.is_dir() {
        return Err(Error::Input(format!(
            "{}: no such file or folder",
            path.display()
        )));
    }
    for stem in ["t10k", "test", "train"] {
        let find = |kind: &str| {
            ["", ".gz"]
                .iter()
                .map(|x| path.join(format!("{stem}-{kind}-ubyte{x}")))
                .find(|p| p.is_file())
        };
        if let (Some(img), Some(lab)) = (find("images-idx3"), find("labels-idx1")) {
            let mut set = read_idx_images(&img).map_err(data_err)?;
            set.labels = read_idx_labels(&lab).map_err(data_err)?;
            return Ok(EvalData::Memory(set));
        }
    }
    for labels in ["labels.csv", "labels.txt"] {
        if path.join(labels).is_file() {
            return flat(path, &path.join(labels), meta);
        }
    }
    // One sub-folder per class: match folder names to the model's classes ('/' in a class name
    // written as '_'), else sorted order.
    let split = FolderSplit::scan(path, None).map_err(data_err)?;
    let norm = |c: &str| c.replace('/', "_");
    let by_name = split
        .classes
        .iter()
        .all(|c| meta.class_names.iter().any(|m| norm(m) == *c));
    let files = split
        .samples
        .into_iter()
        .map(|(p, l)| {
            let name = &split.classes[l as usize];
            let idx = if by_name {
                meta.class_names
                    .iter()
                    .position(|c| norm(c) == *name)
                    .unwrap_or(l as usize)
            } else {
                l as usize
            };
            (p, idx)
        })
        .collect();
    Ok(EvalData::Files(files))
}

/// A flat folder's `labels.csv`: `file` and `label` columns found by name (so a pandas index
/// column or others may stand beside them), fields quoted as CSV writers quote them.
fn flat(dir: &Path, labels: &Path, meta: &ModelMeta) -> Result<EvalData> {
    let at = |line: u64, m: String| Error::Input(format!("{}: line {line}: {m}", labels.display()));
    let text = betadarts_data::files::read_file(labels, betadarts_data::files::TEXT_LIMIT)
        .map_err(data_err)?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_slice());
    let header = reader
        .headers()
        .map_err(|e| Error::Input(format!("{}: {e}", labels.display())))?
        .clone();
    let col = |n: &str| {
        header.iter().position(|c| c == n).ok_or_else(|| {
            Error::Input(format!("{}: header needs a {n:?} column", labels.display()))
        })
    };
    let (fc, lc) = (col("file")?, col("label")?);
    let mut files = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            at(line, e.to_string())
        })?;
        let line = r.position().map_or(0, |p| p.line());
        if r.iter().all(str::is_empty) {
            continue;
        }
        let (Some(file), Some(label)) = (r.get(fc), r.get(lc)) else {
            return Err(at(line, format!("expected {} columns", header.len())));
        };
        let idx = match label.parse::<usize>() {
            Ok(v) => v,
            Err(_) => meta
                .class_names
                .iter()
                .position(|c| c == label)
                .ok_or_else(|| at(line, format!("unknown class {label:?}")))?,
        };
        files.push((dir.join(file), idx));
    }
    if files.is_empty() {
        return Err(Error::Input(format!("{}: no rows", labels.display())));
    }
    Ok(EvalData::Files(files))
}

/// Per-class result.
/// Model inputs made from evaluation data: images resized and normalised as the model's
/// metadata says (what `evaluate`, and calibration for quantization, feed the model).
pub struct Inputs<'a> {
    meta: &'a ModelMeta,
    data: &'a EvalData,
    /// In-memory images brought to the input size once.
    mem: Option<ImageSet>,
}

impl<'a> Inputs<'a> {
    pub fn new(meta: &'a ModelMeta, data: &'a EvalData) -> Result<Self> {
        let (c, s) = (meta.input_channels, meta.input_size);
        let mem = match data {
            EvalData::Memory(set) => {
                if set.channels != c {
                    return Err(Error::Input(format!(
                        "data has {} channels, the model takes {c}",
                        set.channels
                    )));
                }
                Some(if set.height != s || set.width != s {
                    resize_area(set, s)
                } else {
                    set.clone()
                })
            }
            EvalData::Files(_) => None,
        };
        Ok(Inputs { meta, data, mem })
    }

    /// Images `start..end` as one `[N, C, S, S]` input, and their labels.
    pub fn batch(&self, start: usize, end: usize) -> Result<(Vec<f32>, Vec<usize>)> {
        let (meta, s) = (self.meta, self.meta.input_size);
        let mut input = Vec::with_capacity((end - start) * meta.input_channels * s * s);
        let mut labels = Vec::with_capacity(end - start);
        for i in start..end {
            match (&self.mem, self.data) {
                (Some(set), _) => {
                    for (j, &p) in set.image(i).iter().enumerate() {
                        let ch = j / (s * s);
                        input.push((p as f32 / 255.0 - meta.mean[ch]) / meta.std[ch]);
                    }
                    labels.push(set.labels[i] as usize);
                }
                (None, EvalData::Files(files)) => {
                    let (path, label) = &files[i];
                    let bytes =
                        betadarts_data::files::read_file(path, betadarts_data::files::IMAGE_LIMIT)
                            .map_err(data_err)?;
                    let img = decode(&bytes)
                        .map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
                    input.extend(to_input(&img, meta));
                    labels.push(*label);
                }
                (None, EvalData::Memory(_)) => unreachable!("in-memory data is prepared"),
            }
        }
        Ok((input, labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example model, with named classes (labels may name them).
    fn meta() -> ModelMeta {
        ModelMeta {
            class_names: vec!["cat".into(), "dog".into()],
            ..crate::meta::example()
        }
    }

    #[test]
    fn labels_csv_as_pandas_writes_it_and_its_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels.csv");
        // pandas' to_csv with its index column, a quoted name with a comma, a class by name.
        std::fs::write(&p, ",file,label\n0,\"a, 1.png\",dog\n1,b.png,0\n\n").unwrap();
        let EvalData::Files(f) = flat(dir.path(), &p, &meta()).unwrap() else {
            panic!("files expected")
        };
        assert_eq!(
            f,
            vec![
                (dir.path().join("a, 1.png"), 1),
                (dir.path().join("b.png"), 0)
            ]
        );
        for (text, needle) in [
            ("file,label\na.png,bird\n", "line 2: unknown class \"bird\""),
            ("file,label\na.png,0,extra\n", "line 2"),
            ("name,label\na.png,0\n", "needs a \"file\" column"),
            ("file,label\n", "no rows"),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = flat(dir.path(), &p, &meta()).err().unwrap().to_string();
            assert!(
                e.contains("labels.csv") && e.contains(needle),
                "{text:?}: {e}"
            );
        }
    }
}
