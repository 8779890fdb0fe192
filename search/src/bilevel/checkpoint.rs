//! The search checkpoint: network, α, both optimizers, the data generator and the
//! regularizer's state, written after every epoch and restored exactly.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use super::architect::{Searcher, build_optimizers};
use crate::rng::Rng;
use crate::run_dir::{Checkpoint, load_checkpoint, save_checkpoint};
use crate::{Error, Result};

/// Checkpoint layout version. 2: the supernets are stored batched by source node (checkpoints
/// of format 1 hold per-edge parameters and cannot be resumed).
const FORMAT: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointHeader {
    format: u32,
    epochs_done: usize,
    rng: Rng,
    /// The regularizer's learned state ([`crate::regularizer::Regularizer::state`]), restored on
    /// resume. (Named `strength` when `beta-learned` was the only regularizer with state.)
    #[serde(default, alias = "strength")]
    regularizer: Option<serde_json::Value>,
}

fn restore(s: &mut Searcher, ckpt: &Checkpoint, path: &Path) -> Result<()> {
    let err = |m: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message: m,
    };
    let blob = |name: &str| ckpt.part(name, path);
    let record = |name: &str| ckpt.record(name, path);
    s.net = s
        .net
        .clone()
        .try_load_record(record("net")?)
        .map_err(|e| err(format!("network does not match this run's config: {e:?}")))?;
    s.arch = s
        .arch
        .clone()
        .try_load_record(record("arch")?)
        .map_err(|e| err(format!("α: {e:?}")))?;
    let (w, a) = build_optimizers(&s.config);
    s.optim_w = w
        .from_bytes(blob("optim_w")?)
        .map_err(|e| err(format!("weight optimizer: {e:?}")))?;
    s.optim_a = a
        .from_bytes(blob("optim_a")?)
        .map_err(|e| err(format!("α optimizer: {e:?}")))?;
    Ok(())
}

pub(super) fn save(s: &Searcher, path: &Path, epochs_done: usize, rng: Rng) -> Result<()> {
    let err = |m: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message: m,
    };
    let bytes = |r: std::result::Result<Bytes, burn::store::RecordError>, name: &str| {
        r.map(|b| b.to_vec())
            .map_err(|e| err(format!("serialising {name}: {e:?}")))
    };
    let header = serde_json::to_value(CheckpointHeader {
        format: FORMAT,
        epochs_done,
        rng,
        regularizer: s.reg.state(),
    })?;
    let blobs = vec![
        (
            "net".to_string(),
            bytes(s.net.clone().into_record().into_bytes(), "network")?,
        ),
        (
            "arch".to_string(),
            bytes(s.arch.clone().into_record().into_bytes(), "α")?,
        ),
        (
            "optim_w".to_string(),
            bytes(s.optim_w.into_bytes(), "weight optimizer")?,
        ),
        (
            "optim_a".to_string(),
            bytes(s.optim_a.into_bytes(), "α optimizer")?,
        ),
    ];
    save_checkpoint(path, &Checkpoint { header, blobs })
}

/// Restores `searcher` from the checkpoint at `path` (or the `.prev` before it when that one is
/// damaged): the epochs done and the data generator to continue with; `None` without one.
pub(super) fn load_state(searcher: &mut Searcher, path: &Path) -> Result<Option<(usize, Rng)>> {
    let Some((ckpt, ckpt_path)) = load_checkpoint(path)? else {
        return Ok(None);
    };
    let header: CheckpointHeader =
        serde_json::from_value(ckpt.header.clone()).map_err(|e| Error::Checkpoint {
            path: ckpt_path.clone(),
            message: format!("bad header: {e}"),
        })?;
    if header.format < FORMAT {
        return Err(Error::Checkpoint {
            path: ckpt_path.clone(),
            message: format!(
                "written by an earlier betadarts (checkpoint format {}, per-edge \
                 supernet); this version stores the supernet batched (format {FORMAT}) \
                 and cannot continue it: resume with the version that wrote it, or start \
                 a new run (its history.jsonl and α per epoch are kept)",
                header.format
            ),
        });
    }
    restore(searcher, &ckpt, &ckpt_path)?;
    if let Some(state) = header.regularizer {
        searcher.reg.restore(state).map_err(|m| Error::Checkpoint {
            path: ckpt_path.clone(),
            message: format!("regularizer state: {m}"),
        })?;
    }
    Ok(Some((header.epochs_done, header.rng)))
}
