//! CIFAR binary files (spec §7.1). CIFAR-10: records of 1 label byte + 3,072 planar RGB bytes,
//! 10,000 per batch file. CIFAR-100: coarse label, fine label (used), 3,072 bytes.

use std::path::{Path, PathBuf};

use super::{DatasetName, ImageSet};
use crate::{Error, Result};

pub const CIFAR10_RECORD: usize = 3073;
pub const CIFAR100_RECORD: usize = 3074;
const PIXELS: usize = 3 * 32 * 32;

/// Reads one CIFAR binary file. `record` selects the layout (3,073 or 3,074 bytes); the label
/// is the last label byte (the fine label for CIFAR-100).
///
/// # Errors
/// A file whose size is not a whole number of records (naming the incomplete record), or a
/// label outside `0..classes`.
pub fn read_cifar_file(path: &Path, record: usize, classes: u32) -> Result<ImageSet> {
    let bytes = crate::files::read_file(path, crate::files::DATA_LIMIT)?;
    let whole = bytes.len() / record;
    if bytes.len() % record != 0 || bytes.is_empty() {
        return Err(Error::format(
            path,
            format!(
                "truncated or not a CIFAR binary file: {} bytes is not a whole number of {record}-byte records \
                 (record {whole} has {} of {record} bytes; a full batch file is {} bytes)",
                bytes.len(),
                bytes.len() % record,
                10_000 * record
            ),
        ));
    }
    let label_at = record - PIXELS - 1;
    let mut images = Vec::with_capacity(whole * PIXELS);
    let mut labels = Vec::with_capacity(whole);
    for (i, rec) in bytes.chunks_exact(record).enumerate() {
        let label = rec[label_at] as u32;
        if label >= classes {
            return Err(Error::format(
                path,
                format!("record {i}: label {label} out of range 0..{}", classes - 1),
            ));
        }
        labels.push(label);
        images.extend_from_slice(&rec[record - PIXELS..]);
    }
    Ok(ImageSet {
        images,
        labels,
        channels: 3,
        height: 32,
        width: 32,
    })
}

fn concat(sets: Vec<ImageSet>) -> ImageSet {
    let mut out = ImageSet {
        channels: 3,
        height: 32,
        width: 32,
        ..Default::default()
    };
    for s in sets {
        out.images.extend(s.images);
        out.labels.extend(s.labels);
    }
    out
}

/// The folder that holds the files: `dir` itself or its standard sub-folder.
fn locate(dir: &Path, sub: &str, probe: &str) -> Option<PathBuf> {
    [dir.to_path_buf(), dir.join(sub)]
        .into_iter()
        .find(|d| d.join(probe).is_file())
}

pub(super) fn missing(name: DatasetName, dir: Option<&Path>) -> Error {
    let (files, subs, archive) = match name {
        DatasetName::Cifar100 => (
            "train.bin and test.bin (binary version) or train, test and meta (python version)",
            "cifar-100-binary/ or cifar-100-python/",
            "cifar-100-binary.tar.gz or cifar-100-python.tar.gz",
        ),
        _ => (
            "data_batch_1.bin … data_batch_5.bin and test_batch.bin (binary version) or \
             data_batch_1 … data_batch_5 and test_batch (python version, as torchvision downloads it)",
            "cifar-10-batches-bin/ or cifar-10-batches-py/",
            "cifar-10-binary.tar.gz or cifar-10-python.tar.gz",
        ),
    };
    let place = match dir {
        Some(d) => format!(
            "not found in {} (nor in its {subs} sub-folder)",
            d.display()
        ),
        None => "need --data-dir (or BETADARTS_DATA)".to_string(),
    };
    Error::MissingData(format!(
        "{name}: {place}. Expected the files {files}. Get {archive} from the CIFAR page of the \
         University of Toronto (www.cs.toronto.edu/~kriz/cifar.html), extract it, and pass the \
         folder with --data-dir"
    ))
}

/// Train set, test set and the class names the files carry, from whichever layout `dir` (or
/// its standard sub-folder) holds: the binary version first, else torchvision's python version.
pub(super) type Loaded = (ImageSet, ImageSet, Option<Vec<String>>);

pub(super) fn load_cifar10(dir: &Path) -> Result<Loaded> {
    if let Some(root) = locate(dir, "cifar-10-batches-bin", "data_batch_1.bin") {
        let mut train = Vec::new();
        for i in 1..=5 {
            let p = root.join(format!("data_batch_{i}.bin"));
            if !p.is_file() {
                return Err(missing(DatasetName::Cifar10, Some(dir)));
            }
            train.push(read_cifar_file(&p, CIFAR10_RECORD, 10)?);
        }
        let test = read_cifar_file(&root.join("test_batch.bin"), CIFAR10_RECORD, 10)?;
        return Ok((concat(train), test, read_names(&root, "batches.meta.txt")));
    }
    if let Some(root) = locate(dir, "cifar-10-batches-py", "data_batch_1") {
        return crate::pickled::load_cifar10(&root);
    }
    Err(missing(DatasetName::Cifar10, Some(dir)))
}

pub(super) fn load_cifar100(dir: &Path) -> Result<Loaded> {
    if let Some(root) = locate(dir, "cifar-100-binary", "train.bin") {
        let train = read_cifar_file(&root.join("train.bin"), CIFAR100_RECORD, 100)?;
        let test = read_cifar_file(&root.join("test.bin"), CIFAR100_RECORD, 100)?;
        return Ok((train, test, read_names(&root, "fine_label_names.txt")));
    }
    if let Some(root) = locate(dir, "cifar-100-python", "train") {
        return crate::pickled::load_cifar100(&root);
    }
    Err(missing(DatasetName::Cifar100, Some(dir)))
}

/// Class names, one per line, from the dataset's text file, when present.
fn read_names(root: &Path, file: &str) -> Option<Vec<String>> {
    let text = crate::files::read_text(&root.join(file)).ok()?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    (!names.is_empty()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `n` CIFAR-10 records whose pixels encode (record, channel) and whose label is i % 10.
    fn write_batch(path: &Path, n: usize) {
        let mut b = Vec::new();
        for i in 0..n {
            b.push((i % 10) as u8);
            for c in 0..3 {
                b.extend(std::iter::repeat_n((i * 3 + c) as u8, 1024));
            }
        }
        std::fs::write(path, b).unwrap();
    }

    #[test]
    fn reads_the_official_layout() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("cifar-10-batches-bin");
        std::fs::create_dir(&sub).unwrap();
        for i in 1..=5 {
            write_batch(&sub.join(format!("data_batch_{i}.bin")), 4);
        }
        write_batch(&sub.join("test_batch.bin"), 3);
        let ds = super::super::load(DatasetName::Cifar10, Some(dir.path())).unwrap();
        assert_eq!(ds.train.len(), 20);
        assert_eq!(ds.test.len(), 3);
        assert_eq!(ds.train.labels[..5], [0, 1, 2, 3, 0]);
        // Planar: first 1,024 bytes are R of record 1 = 3, then G = 4, B = 5.
        let img = ds.train.image(1);
        assert_eq!((img[0], img[1024], img[2048]), (3, 4, 5));
        assert_eq!(ds.class_names[0], "airplane");
    }

    #[test]
    fn truncated_file_is_an_error_naming_file_record_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data_batch_1.bin");
        write_batch(&p, 3);
        let mut b = std::fs::read(&p).unwrap();
        b.truncate(b.len() - 100);
        std::fs::write(&p, b).unwrap();
        let e = read_cifar_file(&p, CIFAR10_RECORD, 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("data_batch_1.bin"), "{e}");
        assert!(e.contains("record 2 has 2973 of 3073 bytes"), "{e}");
        assert!(e.contains("30730000"), "{e}");
    }

    #[test]
    fn bad_label_and_missing_files_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bin");
        let mut rec = vec![12u8];
        rec.extend(vec![0u8; 3072]);
        std::fs::write(&p, rec).unwrap();
        let e = read_cifar_file(&p, CIFAR10_RECORD, 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("record 0: label 12"), "{e}");
        let e = super::super::load(DatasetName::Cifar10, Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("data_batch_1.bin") && e.contains("cifar-10-binary.tar.gz"),
            "{e}"
        );
        assert!(e.contains("cifar-10-batches-py/"), "{e}");
    }
}
