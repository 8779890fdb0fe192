//! Checkpoint files: a JSON header plus named binary blobs (burnpack records of modules and
//! optimizers), with a CRC-32 over everything, written atomically. Saving keeps the previous
//! checkpoint as `<name>.prev`, so that one damaged on disk can be stepped back from.
//!
//! Layout: `BDCKPT02`, u64 LE header length, header JSON, u64 LE blob count, then per blob
//! u64 LE name length, name, u64 LE data length, data; last, u32 LE CRC-32 of all bytes before
//! it. `BDCKPT01` files (no checksum, earlier versions) are still read.

use std::path::{Path, PathBuf};

use super::atomic::{rename_synced, write_atomic, write_temporary};
use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"BDCKPT02";
const MAGIC_V1: &[u8; 8] = b"BDCKPT01";

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

    /// Part `name` as burn bytes (an optimizer state); missing, an error naming the file.
    pub fn part(&self, name: &str, path: &Path) -> Result<burn::tensor::Bytes> {
        self.blob(name)
            .map(|b| burn::tensor::Bytes::from_bytes_vec(b.to_vec()))
            .ok_or_else(|| Error::Checkpoint {
                path: path.to_path_buf(),
                message: format!("missing part {name:?}"),
            })
    }

    /// Part `name` as a module record; missing or unreadable, an error naming the file.
    pub fn record(&self, name: &str, path: &Path) -> Result<burn::store::ModuleRecord> {
        burn::store::ModuleRecord::from_bytes(self.part(name, path)?).map_err(|e| {
            Error::Checkpoint {
                path: path.to_path_buf(),
                message: format!("part {name:?}: {e:?}"),
            }
        })
    }

    fn encode(&self) -> Result<Vec<u8>> {
        let header = serde_json::to_vec(&self.header)?;
        let size = 64 + header.len() + self.blobs.iter().map(|(_, b)| b.len() + 32).sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&(self.blobs.len() as u64).to_le_bytes());
        for (name, data) in &self.blobs {
            out.extend_from_slice(&(name.len() as u64).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            out.extend_from_slice(data);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Ok(out)
    }
}

/// Where the previous checkpoint of `path` is kept.
pub fn previous_of(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".prev");
    path.with_file_name(name)
}

/// Writes `ckpt` to `path` atomically (no previous one kept: e.g. `best.ckpt`).
pub fn write_checkpoint(path: &Path, ckpt: &Checkpoint) -> Result<()> {
    write_atomic(path, &ckpt.encode()?)
}

/// Writes `ckpt` to `path`, moving the checkpoint there to `<path>.prev`. A kill between the
/// two renames leaves only `.prev`, which [`load_checkpoint`] then reads.
pub fn save_checkpoint(path: &Path, ckpt: &Checkpoint) -> Result<()> {
    let tmp = write_temporary(path, &ckpt.encode()?)?;
    let moved = if path.exists() {
        rename_synced(path, &previous_of(path))
    } else {
        Ok(())
    };
    moved
        .and_then(|_| rename_synced(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// The checkpoint to resume from: `path`, or when it is damaged or missing, `<path>.prev`
/// (warning, and moving the damaged file to `<path>.corrupt`, kept, so that the next save does
/// not push it into `.prev`). `None` when there is neither.
pub fn load_checkpoint(path: &Path) -> Result<Option<(Checkpoint, PathBuf)>> {
    let prev = previous_of(path);
    if !path.exists() {
        if prev.exists() {
            tracing::warn!(missing = %path.display(), using = %prev.display(),
                "checkpoint missing (a run killed while saving); resuming from the previous one");
            return Ok(Some((read_checkpoint(&prev)?, prev)));
        }
        return Ok(None);
    }
    match read_checkpoint(path) {
        Ok(c) => Ok(Some((c, path.to_path_buf()))),
        // Damage only (what read_checkpoint reports); an I/O error is not a reason to step back.
        Err(e @ Error::Checkpoint { .. }) if prev.exists() => {
            let older = read_checkpoint(&prev).map_err(|p| {
                Error::Invalid(format!(
                    "{e}; and its previous checkpoint is damaged too: {p}"
                ))
            })?;
            let mut corrupt = path.file_name().unwrap_or_default().to_os_string();
            corrupt.push(".corrupt");
            let corrupt = path.with_file_name(corrupt);
            rename_synced(path, &corrupt)?;
            tracing::warn!(error = %e, moved_to = %corrupt.display(), using = %prev.display(),
                "damaged checkpoint set aside; resuming from the previous one");
            Ok(Some((older, prev)))
        }
        Err(e) => Err(e),
    }
}

pub fn read_checkpoint(path: &Path) -> Result<Checkpoint> {
    let bytes = betadarts_data::files::read_file(path, betadarts_data::files::DATA_LIMIT)?;
    let bad = |m: &str| Error::Checkpoint {
        path: path.to_path_buf(),
        message: m.to_string(),
    };
    let body = match bytes.get(..8) {
        Some(m) if m == MAGIC => {
            if bytes.len() < 12 {
                return Err(bad("truncated file"));
            }
            let (body, crc) = bytes.split_at(bytes.len() - 4);
            let stored = u32::from_le_bytes(crc.try_into().unwrap_or([0; 4]));
            if crc32fast::hash(body) != stored {
                return Err(bad(
                    "checksum mismatch: the file is damaged or truncated (its bytes changed \
                     after betadarts wrote it)",
                ));
            }
            body
        }
        Some(m) if m == MAGIC_V1 => &bytes[..],
        _ => return Err(bad("not a betadarts checkpoint (missing BDCKPT magic)")),
    };
    parse(body)
        .ok_or_else(|| bad("truncated or malformed file"))?
        .map_err(|m| bad(&m))
}

/// A cursor over the fields after the magic.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(usize::try_from(n).ok()?)?;
        let s = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn len(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// The fields after the magic; `None` when a length runs past the end.
fn parse(bytes: &[u8]) -> Option<std::result::Result<Checkpoint, String>> {
    let mut r = Reader { bytes, pos: 8 };
    let hlen = r.len()?;
    let header = match serde_json::from_slice(r.take(hlen)?) {
        Ok(h) => h,
        Err(e) => return Some(Err(format!("corrupt header: {e}"))),
    };
    let count = r.len()?;
    let mut blobs = Vec::with_capacity(count.min(64) as usize);
    for _ in 0..count {
        let nlen = r.len()?;
        let name = String::from_utf8_lossy(r.take(nlen)?).into_owned();
        let dlen = r.len()?;
        blobs.push((name, r.take(dlen)?.to_vec()));
    }
    if r.pos != bytes.len() {
        return Some(Err(format!(
            "{} unexpected bytes after the last part",
            bytes.len() - r.pos
        )));
    }
    Some(Ok(Checkpoint { header, blobs }))
}
