//! The retraining loop (spec §5): SGD with momentum and weight decay, cosine or ImageNet-linear
//! learning rate, global gradient-norm clipping, drop-path ramp, auxiliary loss, cutout (with
//! the β-DARTS probability ramp), label smoothing; test-split evaluation after every epoch;
//! `last.ckpt` every epoch (the one before kept as `.prev`) and `best.ckpt` on improvement, in a
//! locked [`RunDir`]; resumable; stopped by the numerical guard on a non-finite loss or gradient;
//! per-epoch history and training-curve plots.

use std::path::{Path, PathBuf};

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{ModuleOptimizer, SgdConfig};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::checkpoint::{State, load_into};
use super::epochs::drive;
use super::{TrainConfig, TrainNet, TrainNetwork};
use crate::Result;
use crate::data::Source;
use crate::rng::Rng;
use crate::run_dir::{RunDir, read_json_lines, truncate_json_lines};

pub const LAST_CKPT: &str = "last.ckpt";
pub const BEST_CKPT: &str = "best.ckpt";
pub const HISTORY_FILE: &str = "history.jsonl";

/// One line of the training `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRecord {
    pub epoch: usize,
    pub steps: usize,
    pub lr: f64,
    pub drop_path: f64,
    pub train_loss: f64,
    pub train_acc: f64,
    pub test_loss: f64,
    pub test_acc: f64,
    pub seconds: f64,
}

/// Progress callbacks for the CLI.
pub trait TrainObserver {
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _steps: usize) {}
    fn step(&mut self, _step: usize, _loss: f64, _acc: f64) {}
    fn epoch_end(&mut self, _record: &TrainRecord) {}
}

pub struct Silent;
impl TrainObserver for Silent {}

#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub run_dir: PathBuf,
    pub history: Vec<TrainRecord>,
    pub epochs_done: usize,
    pub finished: bool,
    pub best_acc: f64,
}

/// The retraining optimizer of `cfg`: SGD with momentum (no dampening) and coupled weight decay.
pub fn optimizer(cfg: &TrainConfig) -> ModuleOptimizer {
    SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new()
                .with_momentum(cfg.momentum)
                .with_dampening(0.0)
                .with_nesterov(cfg.nesterov),
        ))
        .with_weight_decay(Some(WeightDecayConfig::new(cfg.weight_decay as f32)))
        .init()
}

pub(super) fn load_data(cfg: &TrainConfig) -> Result<Source> {
    Ok(Source::load(
        cfg.dataset,
        cfg.data_dir.as_deref(),
        cfg.image_size,
    )?)
}

/// Folder loading threads per batch (the producer runs one batch ahead of the model).
pub(super) fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The auxiliary head pools 5×5 (stride 3 CIFAR, 2 ImageNet) and then convolves 2×2, so the
/// pool must leave at least 2×2: features of side ≥ 5 + stride at the second reduction (8 for
/// CIFAR's 32 px). Smaller images train without it (with a warning) rather than fail: at 28 px
/// (Fashion-MNIST) the 7×7 features pooled to 1×1 and the head's conv gave an empty map, NaN.
fn effective(mut cfg: TrainConfig, image: usize) -> TrainConfig {
    let (at_aux, stride) = match cfg.network {
        TrainNetwork::Cifar => (image.div_ceil(4), 3),
        TrainNetwork::Imagenet => (image.div_ceil(16), 2),
        TrainNetwork::Nb201 => (0, 1),
    };
    if cfg.auxiliary && at_aux < 5 + stride {
        tracing::warn!(
            image,
            "auxiliary head disabled: images too small for its 5×5 pooling and 2×2 conv"
        );
        cfg.auxiliary = false;
    }
    // Cutout 16 is meant for 32-pixel images; a square over half the image would erase it.
    if let Some(l) = cfg.cutout
        && l > image / 2
    {
        let scaled = (image / 2).max(1);
        tracing::warn!(
            image,
            from = l,
            to = scaled,
            "cutout square shrunk to half the image side"
        );
        cfg.cutout = Some(scaled);
    }
    cfg
}

/// Starts a training run in `run_dir`.
pub fn train(
    cfg: TrainConfig,
    run_dir: &Path,
    device: &Device,
    stop_after: Option<usize>,
    obs: &mut dyn TrainObserver,
) -> Result<TrainOutcome> {
    cfg.validate()?;
    let dir = RunDir::create(run_dir)?;
    let run = || {
        let data = load_data(&cfg)?;
        let cfg = effective(cfg, data.image_size());
        dir.write_config(&cfg, serde_json::json!({"kind": "train"}))?;
        let ad = device.clone().autodiff();
        ad.seed(cfg.seed);
        let net = TrainNet::new(&cfg, data.channels(), data.class_names().len(), &ad)?;
        let state = State {
            net,
            optim: optimizer(&cfg),
            rng: Rng::new(cfg.seed),
            epoch: 0,
            best_acc: 0.0,
        };
        drive(cfg, state, &data, &dir, &ad, Vec::new(), stop_after, obs)
    };
    let outcome = run();
    if outcome.is_err() {
        dir.discard_if_unstarted();
    }
    outcome
}

/// Continues the run in `run_dir` from `last.ckpt`.
pub fn resume_training(
    run_dir: &Path,
    device: &Device,
    stop_after: Option<usize>,
    obs: &mut dyn TrainObserver,
) -> Result<TrainOutcome> {
    let dir = RunDir::open(run_dir)?;
    let cfg: TrainConfig = dir.read_config("training config")?;
    let data = load_data(&cfg)?;
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let mut state = State {
        net: TrainNet::new(&cfg, data.channels(), data.class_names().len(), &ad)?,
        optim: optimizer(&cfg),
        rng: Rng::new(cfg.seed),
        epoch: 0,
        best_acc: 0.0,
    };
    load_into(&mut state, &cfg, &dir.file(LAST_CKPT))?;
    let epoch = state.epoch;
    let history = truncate_json_lines(&dir.file(HISTORY_FILE), |r: &TrainRecord| r.epoch < epoch)?;
    drive(cfg, state, &data, &dir, &ad, history, stop_after, obs)
}

pub fn read_train_history(path: &Path) -> Result<Vec<TrainRecord>> {
    read_json_lines(path)
}
