//! Reading a file a user named, bounded: regular files only (a FIFO or a device such as
//! `/dev/zero` given as a genotype, table or model would block or never end, and was read until
//! memory ran out), and at most a limit of bytes, checked before reading. Every reader of outside
//! data in the project goes through here.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// Text files: genotypes, configs, plans, CSV tables, label lists.
pub const TEXT_LIMIT: u64 = 256 << 20;
/// ONNX models (protobuf's own limit is 2 GiB).
pub const MODEL_LIMIT: u64 = 2 << 30;
/// One image file.
pub const IMAGE_LIMIT: u64 = 256 << 20;
/// Dataset files, checkpoints and run histories.
pub const DATA_LIMIT: u64 = 64 << 30;

/// The bytes of `path`, refused (naming the file) when it is not a regular file or is larger
/// than `limit`.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>> {
    // metadata, not open: opening a FIFO blocks until a writer comes.
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(Error::format(path, format!("{what}; expected a file")));
    }
    let too_big = |n: u64| {
        Error::format(
            path,
            format!("{n} bytes or more, over the {limit}-byte limit for this kind of file"),
        )
    };
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow while it is read: never past the limit.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Whether the regular file `path` begins with `prefix` (false for anything else, unreadable
/// files included; nothing is opened but a regular file).
pub fn starts_with(path: &Path, prefix: &[u8]) -> bool {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = vec![0u8; prefix.len()];
    std::fs::File::open(path)
        .is_ok_and(|f| f.take(prefix.len() as u64).read_exact(&mut head).is_ok())
        && head == prefix
}

/// [`read_file`] as UTF-8 text within [`TEXT_LIMIT`].
pub fn read_text(path: &Path) -> Result<String> {
    String::from_utf8(read_file(path, TEXT_LIMIT)?).map_err(|e| {
        Error::format(
            path,
            format!(
                "not UTF-8 text (byte {} is not valid)",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_within_the_limit_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, "héllo").unwrap();
        assert_eq!(read_text(&p).unwrap(), "héllo");
        assert_eq!(read_file(&p, 6).unwrap().len(), 6);
        let e = read_file(&p, 5).unwrap_err().to_string();
        assert!(e.contains("a.txt") && e.contains("5-byte limit"), "{e}");
        let e = read_text(dir.path()).unwrap_err().to_string();
        assert!(e.contains("a folder"), "{e}");
        let e = read_file(Path::new("/dev/zero"), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/dev/zero") && e.contains("not a regular file"),
            "{e}"
        );
        std::fs::write(&p, [b'a', 0xff, b'b']).unwrap();
        let e = read_text(&p).unwrap_err().to_string();
        assert!(e.contains("not UTF-8") && e.contains("byte 1"), "{e}");
        let e = read_file(&dir.path().join("missing"), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
