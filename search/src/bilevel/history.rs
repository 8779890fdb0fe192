//! Per-epoch history (`history.jsonl`): losses, accuracies, λ, α, β and the derived cell.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::diagnostics::Diagnostics;
use crate::{Error, Result};

fn one() -> f64 {
    1.0
}

/// The table row of the derived arch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nb201Accuracy {
    pub index: usize,
    /// Top-1 % in [`crate::nb201::table::COLUMNS`] order.
    pub acc: [f64; 6],
}

/// One line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0-based epoch.
    pub epoch: usize,
    pub steps: usize,
    /// Learning rate of the weight step.
    pub lr: f64,
    pub lambda: f64,
    /// Mean CE and accuracy (%) of the weight batches (train mode).
    pub train_loss: f64,
    pub train_acc: f64,
    /// Mean CE and accuracy (%) of the arch batches, before each α step.
    pub arch_loss: f64,
    pub arch_acc: f64,
    /// Mean regularizer value (without λ).
    pub reg: f64,
    /// Mean global gradient norm of the weight step, before clipping.
    pub grad_norm: f64,
    /// α after the epoch, one `[E][K]` matrix per α tensor.
    pub alpha: Vec<Vec<Vec<f32>>>,
    /// β = softmax(α/T) per row: the mixing weights the network used this epoch.
    pub beta: Vec<Vec<Vec<f32>>>,
    /// Temperature T of this epoch (1 without temperature decay).
    #[serde(default = "one")]
    pub temperature: f64,
    /// β entropy, max, ‖β‖₂ per edge, std of α and β, gradient norms on α.
    #[serde(default)]
    pub diagnostics: Diagnostics,
    /// `beta-learned`: the per-edge strengths θ after the epoch, `[tensor][edge]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<Vec<Vec<f64>>>,
    /// NAS-Bench-201 accuracies of the derived arch (with a table), in
    /// [`crate::nb201::table::COLUMNS`] order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nb201: Option<Nb201Accuracy>,
    /// The derived cell: NB201 arch string, or the DARTS genotype in its Python form.
    pub arch: String,
    /// The derived DARTS genotype (absent for NB201).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genotype: Option<crate::darts::Genotype>,
    pub skip_share: f64,
    pub none_share: f64,
    pub seconds: f64,
}

pub fn append_record(path: &Path, rec: &EpochRecord) -> Result<()> {
    append_json_line(path, rec)
}

/// Appends one JSON line and syncs it (history files of search and training).
pub fn append_json_line<T: Serialize>(path: &Path, rec: &T) -> Result<()> {
    let mut line = serde_json::to_vec(rec)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(&line)
        .and_then(|_| f.sync_data())
        .map_err(|e| Error::io(path, e))
}

/// Reads every record; a malformed line is an error naming its line number.
pub fn read_history(path: &Path) -> Result<Vec<EpochRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::format(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// Keeps the records of epochs before `epoch` (used when resuming), rewriting atomically.
pub fn truncate_history(path: &Path, epoch: usize) -> Result<Vec<EpochRecord>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let kept: Vec<EpochRecord> = read_history(path)?
        .into_iter()
        .filter(|r| r.epoch < epoch)
        .collect();
    let mut text = Vec::new();
    for r in &kept {
        text.extend(serde_json::to_vec(r)?);
        text.push(b'\n');
    }
    super::write_atomic(path, &text)?;
    Ok(kept)
}
