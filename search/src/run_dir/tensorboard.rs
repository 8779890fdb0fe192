//! TensorBoard event files in a run's `tb/` folder, so `tensorboard --logdir runs/` (and
//! `wandb sync --sync-tensorboard`) show searches and trainings. The format: TFRecord framing
//! (length, masked CRC-32C of the length, an `Event` protobuf, its masked CRC-32C) of
//! `tensorflow.Event` messages, the first naming the file version; scalars as `simple_value`,
//! text (the derived cell) as a string tensor of the `text` plugin. Each process writes its own
//! file (`events.out.tfevents.<secs>.<host>.<pid>.betadarts`): a resumed run re-logs the epochs
//! past its checkpoint in a new file, and TensorBoard keeps the later events of a step that goes
//! backwards (it purges the orphaned ones).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Error, Result};

pub const DIR: &str = "tb";

/// CRC-32C (Castagnoli), bitwise: event records are small.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fn masked(bytes: &[u8]) -> u32 {
    let c = crc32c(bytes);
    (c.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// Protobuf wire format, the few field kinds an event needs.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u64, wire: u64) {
        self.varint(field << 3 | wire);
    }
    fn double(mut self, field: u64, v: f64) -> Self {
        self.key(field, 1);
        self.0.extend(v.to_le_bytes());
        self
    }
    fn float(mut self, field: u64, v: f32) -> Self {
        self.key(field, 5);
        self.0.extend(v.to_le_bytes());
        self
    }
    fn int(mut self, field: u64, v: u64) -> Self {
        self.key(field, 0);
        self.varint(v);
        self
    }
    fn bytes(mut self, field: u64, b: &[u8]) -> Self {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    fn msg(self, field: u64, m: Pb) -> Self {
        self.bytes(field, &m.0)
    }
}

fn scalar(tag: &str, v: f64) -> Pb {
    Pb::default().bytes(1, tag.as_bytes()).float(2, v as f32)
}

fn text(tag: &str, s: &str) -> Pb {
    let plugin = Pb::default().bytes(1, b"text");
    let meta = Pb::default().msg(1, plugin);
    // DT_STRING = 7, a scalar (empty shape).
    let tensor = Pb::default()
        .int(1, 7)
        .msg(2, Pb::default())
        .bytes(8, s.as_bytes());
    Pb::default()
        .bytes(1, tag.as_bytes())
        .msg(9, meta)
        .msg(8, tensor)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One event file, created at the first write.
pub struct EventWriter {
    dir: PathBuf,
    file: Option<PathBuf>,
}

impl EventWriter {
    /// Events of the run in `run_dir` (its `tb/` folder).
    pub fn new(run_dir: &Path) -> Self {
        Self {
            dir: run_dir.join(DIR),
            file: None,
        }
    }

    fn append(&self, path: &Path, event: &Pb) -> Result<()> {
        let data = &event.0;
        let len = (data.len() as u64).to_le_bytes();
        let mut rec = Vec::with_capacity(data.len() + 16);
        rec.extend_from_slice(&len);
        rec.extend(masked(&len).to_le_bytes());
        rec.extend_from_slice(data);
        rec.extend(masked(data).to_le_bytes());
        super::jsonl::append_synced(path, &rec)
    }

    fn file(&mut self) -> Result<PathBuf> {
        if let Some(p) = &self.file {
            return Ok(p.clone());
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().replace(['/', ' '], "_"))
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let name = format!(
            "events.out.tfevents.{}.{host}.{}.betadarts",
            now() as u64,
            std::process::id()
        );
        let path = self.dir.join(name);
        let first = Pb::default().double(1, now()).bytes(3, b"brain.Event:2");
        self.append(&path, &first)?;
        self.file = Some(path.clone());
        Ok(path)
    }

    /// One step's scalars and texts.
    pub fn write(
        &mut self,
        step: u64,
        scalars: &[(String, f64)],
        texts: &[(&str, &str)],
    ) -> Result<()> {
        let mut summary = Pb::default();
        for (tag, v) in scalars.iter().filter(|(_, v)| v.is_finite()) {
            summary = summary.msg(1, scalar(tag, *v));
        }
        for (tag, s) in texts {
            summary = summary.msg(1, text(tag, s));
        }
        let event = Pb::default().double(1, now()).int(2, step).msg(5, summary);
        let path = self.file()?;
        self.append(&path, &event)
    }
}

/// Every number of a JSON record, tagged by its path (`diagnostics/entropy/3`); `skip` names
/// top-level fields left out.
pub fn scalars_of(record: &Value, skip: &[&str]) -> Vec<(String, f64)> {
    fn walk(v: &Value, tag: String, out: &mut Vec<(String, f64)>) {
        match v {
            Value::Number(n) => out.extend(n.as_f64().map(|x| (tag, x))),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, format!("{tag}/{i}"), out);
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    let t = if tag.is_empty() {
                        k.clone()
                    } else {
                        format!("{tag}/{k}")
                    };
                    walk(x, t, out);
                }
            }
            _ => {}
        }
    }
    let mut out = vec![];
    if let Value::Object(m) = record {
        for (k, v) in m.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
            walk(v, k.clone(), &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_and_its_mask_match_the_published_values() {
        // The CRC-32C check value (RFC 3720 / iSCSI).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        // TensorFlow's masking of CRC 0.
        assert_eq!(masked(b""), 0xa282_ead8);
    }

    #[test]
    fn numbers_are_tagged_by_path() {
        let r = serde_json::json!({"epoch": 2, "lr": 0.1, "d": {"h": [1.0, 2.5]}, "arch": "x", "seconds": 3});
        let mut s = scalars_of(&r, &["seconds"]);
        s.sort_by(|a, b| a.0.cmp(&b.0));
        let tags: Vec<(&str, f64)> = s.iter().map(|(t, v)| (t.as_str(), *v)).collect();
        assert_eq!(
            tags,
            [("d/h/0", 1.0), ("d/h/1", 2.5), ("epoch", 2.0), ("lr", 0.1)]
        );
    }
}
