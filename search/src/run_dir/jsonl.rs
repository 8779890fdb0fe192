//! JSON-lines histories (`history.jsonl` of search and training): one record appended and
//! synced per epoch; on resume, the records past the checkpoint are cut off by truncating the
//! file at the first of them, so the lines before are never rewritten.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use betadarts_data::files;

use crate::{Error, Result};

/// Appends one JSON line and syncs it.
pub fn append_json_line<T: Serialize>(path: &Path, rec: &T) -> Result<()> {
    let mut line = serde_json::to_vec(rec)?;
    line.push(b'\n');
    append_synced(path, &line)
}

/// Appends `bytes` to `path` (created if missing) and syncs them: one record of a log.
pub(crate) fn append_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_data())
        .map_err(|e| Error::io(path, e))
}

/// The records of `path` (none when it does not exist), each with the byte offset where its
/// line starts. A malformed line is an error naming its number, except a last line with no
/// newline (an append cut short by a kill), which is left out.
fn records<T: DeserializeOwned>(path: &Path) -> Result<Vec<(usize, T)>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = files::read_file(path, files::DATA_LIMIT)?;
    let mut out = Vec::new();
    let mut start = 0;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let at = start;
        start += line.len();
        let complete = line.ends_with(b"\n");
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(r) => out.push((at, r)),
            Err(_) if !complete => break,
            Err(e) => return Err(Error::format(path, format!("line {}: {e}", i + 1))),
        }
    }
    Ok(out)
}

/// Every record of `path` (none when it does not exist).
pub fn read_json_lines<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    Ok(records(path)?.into_iter().map(|(_, r)| r).collect())
}

/// Keeps the records before the first that `keep` refuses, and cuts the file there (and any
/// torn last line): the bytes of the lines kept are not touched. Returns the records kept.
pub fn truncate_json_lines<T: DeserializeOwned>(
    path: &Path,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<T>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let all = records::<T>(path)?;
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len() as usize;
    let cut = all.iter().position(|(_, r)| !keep(r));
    // Where the kept lines end: the start of the first dropped one, else after the last kept.
    let end = match cut {
        Some(i) => all[i].0,
        None => complete_end(path, len)?,
    };
    if end < len {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        f.set_len(end as u64)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(path, e))?;
    }
    let n = cut.unwrap_or(all.len());
    Ok(all.into_iter().take(n).map(|(_, r)| r).collect())
}

/// The length of `path` up to and including its last newline.
fn complete_end(path: &Path, len: usize) -> Result<usize> {
    let bytes = files::read_file(path, files::DATA_LIMIT)?;
    Ok(bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
        .min(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct R {
        epoch: usize,
        x: f64,
    }

    #[test]
    fn truncation_keeps_earlier_bytes_exactly_and_drops_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.jsonl");
        // Hand-written lines in a layout serde would not produce (spaces, key order): a
        // rewrite would change them, a cut does not.
        let kept = "{ \"x\": 0.10000000000000001, \"epoch\": 0 }\n{\"epoch\":1,\"x\":2}\n";
        std::fs::write(
            &p,
            format!("{kept}{{\"epoch\":2,\"x\":3}}\n{{\"epoch\":3,\"x\""),
        )
        .unwrap();
        let r: Vec<R> = truncate_json_lines(&p, |r: &R| r.epoch < 2).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), kept);
        // Nothing to drop but a torn tail.
        std::fs::write(&p, format!("{kept}{{\"ep")).unwrap();
        let r: Vec<R> = truncate_json_lines(&p, |_: &R| true).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), kept);
        append_json_line(&p, &R { epoch: 2, x: 1.5 }).unwrap();
        assert_eq!(read_json_lines::<R>(&p).unwrap()[2], R { epoch: 2, x: 1.5 });
    }

    #[test]
    fn a_malformed_middle_line_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.jsonl");
        std::fs::write(
            &p,
            "{\"epoch\":0,\"x\":1}\nnot json\n{\"epoch\":1,\"x\":1}\n",
        )
        .unwrap();
        let e = read_json_lines::<R>(&p).unwrap_err().to_string();
        assert!(e.contains("history.jsonl") && e.contains("line 2"), "{e}");
        assert!(
            read_json_lines::<R>(&dir.path().join("none.jsonl"))
                .unwrap()
                .is_empty()
        );
    }
}
