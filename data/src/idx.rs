//! IDX files (MNIST, Fashion-MNIST): big-endian magic `0x0000_08NN`, dims, then u8 data.
//! Plain or gzip-compressed (detected by the gzip magic, not the file name).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::ImageSet;
use crate::{Error, Result};

/// Largest decompressed IDX file accepted (MNIST's largest is 47 MB): a gzip bomb stops here.
const MAX_DECOMPRESSED: u64 = 4 << 30;

fn decompress(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .take(MAX_DECOMPRESSED + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("corrupt gzip stream: {e}")))?;
        if out.len() as u64 > MAX_DECOMPRESSED {
            return Err(Error::format(
                path,
                format!("decompresses to more than {MAX_DECOMPRESSED} bytes: refused"),
            ));
        }
        Ok(out)
    } else {
        Ok(bytes)
    }
}

fn parse(path: &Path, bytes: &[u8], want_dims: usize) -> Result<(Vec<usize>, usize)> {
    if bytes.len() < 4 {
        return Err(Error::format(path, "too short for an IDX header (4 bytes)"));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 {
        return Err(Error::format(
            path,
            format!(
                "not an unsigned-byte IDX file (magic {:02x}{:02x}{:02x}{:02x})",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    let ndims = bytes[3] as usize;
    if ndims != want_dims {
        return Err(Error::format(
            path,
            format!("expected {want_dims} dimensions, header says {ndims}"),
        ));
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(Error::format(path, "truncated IDX header"));
    }
    let dims: Vec<usize> = (0..ndims)
        .map(|i| {
            u32::from_be_bytes([
                bytes[4 + 4 * i],
                bytes[5 + 4 * i],
                bytes[6 + 4 * i],
                bytes[7 + 4 * i],
            ]) as usize
        })
        .collect();
    if dims.contains(&0) {
        return Err(Error::format(
            path,
            format!("header announces an empty set (dimensions {dims:?})"),
        ));
    }
    // Checked: four u32 sizes can multiply past usize (a hostile header would otherwise wrap
    // to a small length, or abort on allocation).
    let sizes = dims[1..]
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .and_then(|r| Some((r, dims[0].checked_mul(r)?.checked_add(header)?)));
    let Some((record, expected)) = sizes else {
        return Err(Error::format(
            path,
            format!("header sizes {dims:?} overflow: not a real IDX file"),
        ));
    };
    if bytes.len() < expected {
        let have = (bytes.len() - header) / record.max(1);
        return Err(Error::format(
            path,
            format!(
                "truncated: header announces {} records of {} bytes ({} bytes in all) but record {} is incomplete (file has {} bytes)",
                dims[0],
                record,
                expected,
                have,
                bytes.len()
            ),
        ));
    }
    Ok((dims, header))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    let bytes = crate::files::read_file(path, crate::files::DATA_LIMIT)?;
    decompress(path, bytes)
}

/// Reads an IDX3 image file into `[N, 1, H, W]`.
pub fn read_idx_images(path: &Path) -> Result<ImageSet> {
    images_from_bytes(path, read(path)?)
}

pub(super) fn images_from_bytes(path: &Path, bytes: Vec<u8>) -> Result<ImageSet> {
    let bytes = decompress(path, bytes)?;
    let (dims, header) = parse(path, &bytes, 3)?;
    let n = dims[0] * dims[1] * dims[2];
    Ok(ImageSet {
        images: bytes[header..header + n].to_vec(),
        labels: vec![0; dims[0]],
        channels: 1,
        height: dims[1],
        width: dims[2],
    })
}

/// Reads an IDX1 label file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u32>> {
    labels_from_bytes(path, read(path)?)
}

pub(super) fn labels_from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Vec<u32>> {
    let bytes = decompress(path, bytes)?;
    let (dims, header) = parse(path, &bytes, 1)?;
    let labels: Vec<u32> = bytes[header..header + dims[0]]
        .iter()
        .map(|&b| b as u32)
        .collect();
    if let Some((i, l)) = labels.iter().enumerate().find(|(_, l)| **l > 9) {
        return Err(Error::format(
            path,
            format!("record {i}: label {l} out of range 0..9"),
        ));
    }
    Ok(labels)
}

/// Joins images and labels, checking that their counts agree.
pub(super) fn join(images: ImageSet, labels: Vec<u32>, labels_path: &Path) -> Result<ImageSet> {
    if images.len() != labels.len() {
        return Err(Error::format(
            labels_path,
            format!("{} labels for {} images", labels.len(), images.len()),
        ));
    }
    Ok(ImageSet { labels, ..images })
}

fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    [stem.to_string(), format!("{stem}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Loads `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` from `dir`.
pub(super) fn load_idx_dir(dir: &Path) -> Result<(ImageSet, ImageSet)> {
    let mut sets = Vec::new();
    for split in ["train", "t10k"] {
        let img = find(dir, &format!("{split}-images-idx3-ubyte"));
        let lab = find(dir, &format!("{split}-labels-idx1-ubyte"));
        let (Some(img), Some(lab)) = (img, lab) else {
            return Err(Error::MissingData(String::new()));
        };
        sets.push(join(read_idx_images(&img)?, read_idx_labels(&lab)?, &lab)?);
    }
    let test = sets.pop().unwrap_or_default();
    let train = sets.pop().unwrap_or_default();
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx_images(n: u32, h: u32, w: u32) -> Vec<u8> {
        let mut b = vec![0, 0, 8, 3];
        for d in [n, h, w] {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend((0..n * h * w).map(|i| i as u8));
        b
    }

    #[test]
    fn reads_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let raw = idx_images(3, 2, 2);
        std::fs::write(dir.path().join("a"), &raw).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        std::fs::write(dir.path().join("a.gz"), gz.finish().unwrap()).unwrap();
        let a = read_idx_images(&dir.path().join("a")).unwrap();
        let b = read_idx_images(&dir.path().join("a.gz")).unwrap();
        assert_eq!(a.images, b.images);
        assert_eq!((a.len(), a.height, a.width), (3, 2, 2));
        assert_eq!(a.image(2), &[8, 9, 10, 11]);
    }

    #[test]
    fn truncated_file_names_file_record_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = idx_images(3, 2, 2);
        raw.truncate(raw.len() - 2);
        let p = dir.path().join("imgs");
        std::fs::write(&p, &raw).unwrap();
        let e = read_idx_images(&p).unwrap_err().to_string();
        assert!(
            e.contains("imgs")
                && e.contains("record 2 is incomplete")
                && e.contains("3 records of 4 bytes"),
            "{e}"
        );
    }

    #[test]
    fn hostile_headers_are_errors_not_panics_or_huge_allocations() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("imgs");
        let header = |dims: [u32; 3]| {
            let mut b = vec![0, 0, 8, 3];
            dims.iter()
                .for_each(|d| b.extend_from_slice(&d.to_be_bytes()));
            b
        };
        for (dims, needle) in [
            ([0, 28, 28], "empty set"),
            ([5, 0, 28], "empty set"),
            ([u32::MAX, u32::MAX, u32::MAX], "overflow"),
            ([u32::MAX, 65536, 65536], "truncated"), // 1.8e19 bytes: fits in u64, checked against the file
            ([1_000_000, 28, 28], "truncated"),
        ] {
            std::fs::write(&p, header(dims)).unwrap();
            let e = read_idx_images(&p).unwrap_err().to_string();
            assert!(e.contains("imgs") && e.contains(needle), "{dims:?}: {e}");
        }
        let mut labels = vec![0, 0, 8, 1];
        labels.extend_from_slice(&0u32.to_be_bytes());
        std::fs::write(&p, &labels).unwrap();
        assert!(
            read_idx_labels(&p)
                .unwrap_err()
                .to_string()
                .contains("empty set")
        );
    }
}
