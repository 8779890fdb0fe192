//! Training checkpoints: what their header holds, saving (`last.ckpt` rotated, `best.ckpt`
//! replaced), restoring a run, and loading a trained network for export.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::trainer::{BEST_CKPT, optimizer};
use super::{TrainConfig, TrainNet};
use crate::rng::Rng;
use crate::run_dir::{
    Checkpoint, load_checkpoint, read_checkpoint, save_checkpoint, write_checkpoint,
};
use crate::{Error, Result};

/// What a training checkpoint's header holds; enough to rebuild the network.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainHeader {
    pub format: u32,
    pub kind: String,
    pub epochs_done: usize,
    pub rng: Rng,
    pub best_acc: f64,
    pub test_acc: f64,
    pub in_channels: usize,
    pub class_names: Vec<String>,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub image_size: usize,
    pub config: TrainConfig,
}

/// A trained network loaded from a checkpoint, with what is needed to use it.
pub struct LoadedModel {
    pub net: TrainNet,
    pub header: TrainHeader,
}

/// Loads the network of a training checkpoint (`last.ckpt`/`best.ckpt`, or a run directory,
/// which means its `best.ckpt`). The auxiliary head is kept if the checkpoint has it.
pub fn load_trained(path: &Path, device: &Device) -> Result<LoadedModel> {
    let path = if path.is_dir() {
        path.join(BEST_CKPT)
    } else {
        path.to_path_buf()
    };
    let ckpt = read_checkpoint(&path)?;
    let err = |m: String| Error::Checkpoint {
        path: path.clone(),
        message: m,
    };
    let header: TrainHeader = serde_json::from_value(ckpt.header.clone())
        .map_err(|e| err(format!("not a training checkpoint ({e})")))?;
    if header.kind != "train" {
        return Err(err(format!(
            "a {:?} checkpoint, not a training checkpoint",
            header.kind
        )));
    }
    let net = TrainNet::new(
        &header.config,
        header.in_channels,
        header.class_names.len(),
        device,
    )?;
    let net = net
        .try_load_record(ckpt.record("net", &path)?)
        .map_err(|e| {
            err(format!(
                "weights do not match the network of its config (genotype/arch): {e:?}"
            ))
        })?;
    Ok(LoadedModel { net, header })
}

pub(super) struct State {
    pub(super) net: TrainNet,
    pub(super) optim: ModuleOptimizer,
    pub(super) rng: Rng,
    pub(super) epoch: usize,
    pub(super) best_acc: f64,
}

/// `last.ckpt` keeps the one before it (`rotate`); `best.ckpt` is replaced.
pub(super) fn save(state: &State, path: &Path, header: &TrainHeader, rotate: bool) -> Result<()> {
    let err = |m: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message: m,
    };
    let net = state
        .net
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| err(format!("{e:?}")))?
        .to_vec();
    let optim = state
        .optim
        .into_bytes()
        .map_err(|e| err(format!("{e:?}")))?
        .to_vec();
    let ckpt = Checkpoint {
        header: serde_json::to_value(header)?,
        blobs: vec![("net".into(), net), ("optim".into(), optim)],
    };
    if rotate {
        save_checkpoint(path, &ckpt)
    } else {
        write_checkpoint(path, &ckpt)
    }
}

/// Restores `state` from the checkpoint at `path` (or the `.prev` before it when that one is
/// damaged); without one it is left as it is (a fresh start).
pub(super) fn load_into(state: &mut State, cfg: &TrainConfig, path: &Path) -> Result<()> {
    let Some((ckpt, ckpt_path)) = load_checkpoint(path)? else {
        return Ok(());
    };
    let err = |m: String| Error::Checkpoint {
        path: ckpt_path.clone(),
        message: m,
    };
    let header: TrainHeader =
        serde_json::from_value(ckpt.header.clone()).map_err(|e| err(format!("bad header: {e}")))?;
    state.net = state
        .net
        .clone()
        .try_load_record(ckpt.record("net", &ckpt_path)?)
        .map_err(|e| err(format!("{e:?}")))?;
    state.optim = optimizer(cfg)
        .from_bytes(ckpt.part("optim", &ckpt_path)?)
        .map_err(|e| err(format!("{e:?}")))?;
    state.rng = header.rng;
    state.epoch = header.epochs_done;
    state.best_acc = header.best_acc;
    Ok(())
}
