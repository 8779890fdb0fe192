//! Per-epoch history (`history.jsonl`): losses, accuracies, λ, α, β and the derived cell.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::diagnostics::Diagnostics;
use crate::Result;

fn one() -> f64 {
    1.0
}

/// The table row of the derived arch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nb201Accuracy {
    pub index: usize,
    pub acc: crate::nb201::table::Accuracies,
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
    /// The regularizer's own fields ([`crate::regularizer::Regularizer::history`]), e.g.
    /// `beta-learned`'s `strength`: the per-edge θ after the epoch, `[tensor][edge]`.
    #[serde(flatten)]
    pub regularizer: std::collections::BTreeMap<String, serde_json::Value>,
    /// NAS-Bench-201 accuracies of the derived arch (with a table).
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
    crate::run_dir::append_json_line(path, rec)
}

/// Reads every record; a malformed line is an error naming its line number.
pub fn read_history(path: &Path) -> Result<Vec<EpochRecord>> {
    crate::run_dir::read_json_lines(path)
}

/// Keeps the records of epochs before `epoch` (used when resuming), cutting the file after them.
pub fn truncate_history(path: &Path, epoch: usize) -> Result<Vec<EpochRecord>> {
    crate::run_dir::truncate_json_lines(path, |r: &EpochRecord| r.epoch < epoch)
}
