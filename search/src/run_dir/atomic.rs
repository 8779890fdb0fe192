//! Atomic file replacement: write a temporary file beside the target, fsync it, rename it over
//! the target, fsync the folder. A process killed at any moment leaves either the old file or
//! the new one, never a mix; what it may leave is a temporary file, which [`super::RunDir`]
//! removes when it next opens the folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The folder holding `path` (`.` for a bare file name).
pub(super) fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Whether `name` is one of our temporary files (`.{name}.{pid}.tmp`).
pub(super) fn is_temporary(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.').and_then(|r| r.strip_suffix(".tmp")) else {
        return false;
    };
    rest.rsplit_once('.')
        .is_some_and(|(stem, pid)| !stem.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Writes `bytes` to a fresh temporary file beside `path` and syncs it; returns its path.
pub(super) fn write_temporary(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent(path).join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(tmp)
}

/// Renames `from` to `to`, then syncs their folder so that the rename itself persists.
pub(super) fn rename_synced(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::io(to, e))?;
    if let Ok(d) = std::fs::File::open(parent(to)) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = write_temporary(path, bytes)?;
    rename_synced(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_recognised_and_nothing_else() {
        assert!(is_temporary(".checkpoint.bin.4242.tmp"));
        assert!(is_temporary(".history.jsonl.1.tmp"));
        for other in [
            "checkpoint.bin",
            ".tmp",
            "..1.tmp",
            ".notes.tmp",
            "a.1.tmp",
            ".x.1a.tmp",
        ] {
            assert!(!is_temporary(other), "{other}");
        }
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
