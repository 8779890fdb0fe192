//! Checkpoint files: a JSON header plus named binary blobs (burnpack records of modules and
//! optimizers), written atomically (temp file, fsync, rename, fsync of the folder) so that a
//! killed job never leaves a half-written checkpoint.
//!
//! Layout: `BDCKPT01`, u64 LE header length, header JSON, u64 LE blob count, then per blob
//! u64 LE name length, name, u64 LE data length, data.

use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"BDCKPT01";

#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub header: serde_json::Value,
    pub blobs: Vec<(String, Vec<u8>)>,
}

impl Checkpoint {
    pub fn blob(&self, name: &str) -> Option<&[u8]> {
        self.blobs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Persist the rename itself.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| Error::io(path, e))
}

pub fn write_checkpoint(path: &Path, ckpt: &Checkpoint) -> Result<()> {
    let header = serde_json::to_vec(&ckpt.header)?;
    let mut out = Vec::with_capacity(
        64 + header.len() + ckpt.blobs.iter().map(|(_, b)| b.len() + 32).sum::<usize>(),
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&(ckpt.blobs.len() as u64).to_le_bytes());
    for (name, data) in &ckpt.blobs {
        out.extend_from_slice(&(name.len() as u64).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(data);
    }
    write_atomic(path, &out)
}

pub fn read_checkpoint(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |m: &str| Error::Checkpoint {
        path: path.to_path_buf(),
        message: m.to_string(),
    };
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(bad("not a betadarts checkpoint (missing BDCKPT01 magic)"));
    }
    let mut pos = 8usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let end = pos
            .checked_add(n)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| bad("truncated file"))?;
        let s = &bytes[pos..end];
        pos = end;
        Ok(s)
    };
    let len = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize;
    let hlen = len(take(8)?);
    let header: serde_json::Value =
        serde_json::from_slice(take(hlen)?).map_err(|e| bad(&format!("corrupt header: {e}")))?;
    let count = len(take(8)?);
    let mut blobs = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let nlen = len(take(8)?);
        let name = String::from_utf8_lossy(take(nlen)?).into_owned();
        let dlen = len(take(8)?);
        blobs.push((name, take(dlen)?.to_vec()));
    }
    Ok(Checkpoint { header, blobs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checkpoint.bin");
        let c = Checkpoint {
            header: serde_json::json!({"epoch": 3}),
            blobs: vec![("net".into(), vec![1, 2, 3]), ("empty".into(), vec![])],
        };
        write_checkpoint(&p, &c).unwrap();
        assert_eq!(read_checkpoint(&p).unwrap(), c);
        // No temp file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 2]).unwrap();
        let e = read_checkpoint(&p).unwrap_err().to_string();
        assert!(
            e.contains("checkpoint.bin") && e.contains("truncated"),
            "{e}"
        );
        std::fs::write(&p, b"hello world").unwrap();
        assert!(
            read_checkpoint(&p)
                .unwrap_err()
                .to_string()
                .contains("not a betadarts checkpoint")
        );
    }
}
