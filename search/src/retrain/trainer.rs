//! The retraining loop (spec §5): SGD with momentum and weight decay, cosine or ImageNet-linear
//! learning rate, global gradient-norm clipping, drop-path ramp, auxiliary loss, cutout (with
//! the β-DARTS probability ramp), label smoothing; test-split evaluation after every epoch;
//! `last.ckpt` every epoch (the one before kept as `.prev`) and `best.ckpt` on improvement, in a
//! locked [`RunDir`]; resumable; stopped by the numerical guard on a non-finite loss or gradient;
//! per-epoch history and training-curve plots.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{TrainConfig, TrainNet, TrainNetwork};
use crate::data::folder::{Jitter, Prefetcher, Transform};
use crate::data::{Augment, Batch, Cutout, Source, make_batch_cutout, upload};
use crate::guard::{self, At};
use crate::loss::{cross_entropy, cross_entropy_smooth};
use crate::nn::clip_grad_norm;
use crate::rng::Rng;
use crate::run_dir::tensorboard::{self, EventWriter};
use crate::run_dir::{
    Checkpoint, RunDir, append_json_line, load_checkpoint, read_checkpoint, read_json_lines,
    save_checkpoint, truncate_json_lines, write_checkpoint,
};
use crate::viz;
use crate::{Error, Result};

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
    let bytes = ckpt
        .blob("net")
        .ok_or_else(|| err("missing part \"net\"".into()))?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| err(format!("{e:?}")))?;
    let net = net.try_load_record(record).map_err(|e| {
        err(format!(
            "weights do not match the network of its config (genotype/arch): {e:?}"
        ))
    })?;
    Ok(LoadedModel { net, header })
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

fn load_data(cfg: &TrainConfig) -> Result<Source> {
    Ok(Source::load(
        cfg.dataset,
        cfg.data_dir.as_deref(),
        cfg.image_size,
    )?)
}

/// Folder loading threads per batch (the producer runs one batch ahead of the model).
fn workers() -> usize {
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
    if let Some((ckpt, ckpt_path)) = load_checkpoint(&dir.file(LAST_CKPT))? {
        let err = |m: String| Error::Checkpoint {
            path: ckpt_path.clone(),
            message: m,
        };
        let header: TrainHeader = serde_json::from_value(ckpt.header.clone())
            .map_err(|e| err(format!("bad header: {e}")))?;
        let blob = |n: &str| {
            ckpt.blob(n)
                .map(|b| Bytes::from_bytes_vec(b.to_vec()))
                .ok_or_else(|| err(format!("missing part {n:?}")))
        };
        let record = ModuleRecord::from_bytes(blob("net")?).map_err(|e| err(format!("{e:?}")))?;
        state.net = state
            .net
            .try_load_record(record)
            .map_err(|e| err(format!("{e:?}")))?;
        state.optim = optimizer(&cfg)
            .from_bytes(blob("optim")?)
            .map_err(|e| err(format!("{e:?}")))?;
        state.rng = header.rng;
        state.epoch = header.epochs_done;
        state.best_acc = header.best_acc;
    }
    let epoch = state.epoch;
    let history = truncate_json_lines(&dir.file(HISTORY_FILE), |r: &TrainRecord| r.epoch < epoch)?;
    drive(cfg, state, &data, &dir, &ad, history, stop_after, obs)
}

pub fn read_train_history(path: &Path) -> Result<Vec<TrainRecord>> {
    read_json_lines(path)
}

struct State {
    net: TrainNet,
    optim: ModuleOptimizer,
    rng: Rng,
    epoch: usize,
    best_acc: f64,
}

/// `last.ckpt` keeps the one before it (`rotate`); `best.ckpt` is replaced.
fn save(state: &State, path: &Path, header: &TrainHeader, rotate: bool) -> Result<()> {
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

/// Mean loss and accuracy (%) over the test split, in eval mode.
pub fn evaluate(
    net: &TrainNet,
    data: &Source,
    batch_size: usize,
    device: &Device,
) -> Result<(f64, f64)> {
    let plain = device.clone().without_autodiff();
    let net = net.valid();
    let (mut loss, mut correct, mut n) = (0.0, 0usize, 0usize);
    let idx: Vec<usize> = (0..data.test_len()).collect();
    let mut score = |b: Batch| {
        let (logits, _) = net.forward(b.images, 0.0, false);
        loss += cross_entropy(logits.clone(), b.targets.clone()).into_scalar::<f32>() as f64
            * b.len as f64;
        correct += crate::loss::correct(logits, b.targets);
        n += b.len;
    };
    match data {
        Source::Memory(ds) => {
            let mut rng = Rng::new(0);
            for chunk in idx.chunks(batch_size.max(1)) {
                score(make_batch_cutout(
                    &ds.test, chunk, None, None, &mut rng, &ds.mean, &ds.std, &plain,
                ));
            }
        }
        Source::Folder { val, size, .. } => {
            let batches = idx
                .chunks(batch_size.max(1))
                .map(<[usize]>::to_vec)
                .collect();
            let t = Transform::Eval {
                resize: size * 256 / 224,
                size: *size,
            };
            for hb in Prefetcher::start(val.clone(), batches, t, 0, workers()) {
                score(upload(hb?, 3, &plain));
            }
        }
    }
    Ok((
        loss / n.max(1) as f64,
        100.0 * correct as f64 / n.max(1) as f64,
    ))
}

#[allow(clippy::too_many_arguments)]
fn drive(
    cfg: TrainConfig,
    mut state: State,
    data: &Source,
    dir: &RunDir,
    device: &Device,
    mut history: Vec<TrainRecord>,
    stop_after: Option<usize>,
    obs: &mut dyn TrainObserver,
) -> Result<TrainOutcome> {
    let run_dir = dir.path();
    let n = data.train_len();
    let (mean, std) = data.mean_std();
    let full = n.div_ceil(cfg.batch_size);
    let steps = cfg.steps_per_epoch.map_or(full, |k| k.min(full));
    let augment = cfg.augment.then(|| Augment::standard(data.image_size()));
    let end = stop_after.map_or(cfg.epochs, |m| (state.epoch + m).min(cfg.epochs));
    let with_aux = cfg.auxiliary && cfg.aux_weight > 0.0;
    let mut tb = EventWriter::new(run_dir);
    for epoch in state.epoch..end {
        let t0 = Instant::now();
        // Drop-path masks come from the device generator: reseed it per epoch so that a resumed
        // run draws the same masks as an uninterrupted one.
        device.seed(
            cfg.seed
                .wrapping_mul(1_000_003)
                .wrapping_add(epoch as u64 + 1),
        );
        let lr = cfg.lr_at(epoch);
        let drop = cfg.drop_path_at(epoch);
        let cutout = cfg.cutout.map(|length| Cutout {
            length,
            prob: cfg.cutout_prob_at(epoch),
        });
        obs.epoch_start(epoch, cfg.epochs, steps);
        let mut order: Vec<usize> = (0..n).collect();
        state.rng.shuffle(&mut order);
        let mut folder = match data {
            Source::Folder { train, size, .. } => {
                let batches = order
                    .chunks(cfg.batch_size)
                    .take(steps)
                    .map(<[usize]>::to_vec)
                    .collect();
                let jitter = cfg.augment.then(Jitter::default);
                let seed = state.rng.next_u64();
                Some(Prefetcher::start(
                    train.clone(),
                    batches,
                    Transform::Train {
                        size: *size,
                        jitter,
                    },
                    seed,
                    workers(),
                ))
            }
            Source::Memory(_) => None,
        };
        let (mut loss_sum, mut correct, mut count) = (0.0, 0usize, 0usize);
        for (step, chunk) in order.chunks(cfg.batch_size).take(steps).enumerate() {
            let b = match (data, folder.as_mut()) {
                (Source::Memory(ds), _) => make_batch_cutout(
                    &ds.train,
                    chunk,
                    augment,
                    cutout,
                    &mut state.rng,
                    &mean,
                    &std,
                    device,
                ),
                (Source::Folder { .. }, Some(f)) => {
                    let mut hb = f
                        .next()
                        .ok_or_else(|| Error::Invalid("image loader stopped early".into()))??;
                    if let Some(cut) = cutout {
                        let per = 3 * hb.size * hb.size;
                        for img in hb.data.chunks_mut(per) {
                            if state.rng.coin(cut.prob) {
                                crate::data::apply_cutout(
                                    img,
                                    3,
                                    hb.size,
                                    hb.size,
                                    cut.length,
                                    &mut state.rng,
                                );
                            }
                        }
                    }
                    upload(hb, 3, device)
                }
                (Source::Folder { .. }, None) => unreachable!("the folder loader is started above"),
            };
            let (logits, aux) = state.net.forward(b.images, drop, with_aux);
            let mut loss =
                cross_entropy_smooth(logits.clone(), b.targets.clone(), cfg.label_smoothing);
            if let Some(aux) = aux {
                loss = loss
                    + cross_entropy_smooth(aux, b.targets.clone(), cfg.label_smoothing)
                        * cfg.aux_weight;
            }
            let mut grads = loss.backward();
            let mut g = GradientsParams::from_module(&mut grads, &state.net);
            let norm = clip_grad_norm(&state.net, &mut g, cfg.grad_clip, &[])
                .unwrap_or_else(|| Tensor::zeros([1], device));
            state.net = state.optim.step(lr, state.net.clone(), g);
            // The step's one host transfer: loss, correct count and gradient norm together.
            let hits = logits
                .detach()
                .argmax(1)
                .reshape([b.len])
                .equal(b.targets)
                .float()
                .sum();
            let v: Vec<f32> = Tensor::cat(vec![loss.detach(), hits, norm], 0)
                .into_data()
                .convert::<f32>()
                .try_to_vec()
                .unwrap_or_default();
            let step_loss = v.first().copied().unwrap_or(f32::NAN) as f64;
            let at = At {
                epoch,
                step: Some(step + 1),
            };
            let step_norm = v.get(2).copied().unwrap_or(f32::NAN) as f64;
            guard::check_train_step(step_loss, step_norm, at)?;
            loss_sum += step_loss * b.len as f64;
            correct += v.get(1).copied().unwrap_or(0.0).round() as usize;
            count += b.len;
            obs.step(
                step + 1,
                loss_sum / count as f64,
                100.0 * correct as f64 / count as f64,
            );
        }
        let (test_loss, test_acc) = evaluate(&state.net, data, cfg.batch_size.max(64), device)?;
        let record = TrainRecord {
            epoch,
            steps: steps.min(order.len().div_ceil(cfg.batch_size)),
            lr,
            drop_path: drop,
            train_loss: loss_sum / count.max(1) as f64,
            train_acc: 100.0 * correct as f64 / count.max(1) as f64,
            test_loss,
            test_acc,
            seconds: t0.elapsed().as_secs_f64(),
        };
        let end = At { epoch, step: None };
        let cause = "weights that diverged without a NaN loss in training (check --lr)";
        guard::finite("the test loss", test_loss, end, cause)?;
        append_json_line(&run_dir.join(HISTORY_FILE), &record)?;
        let scalars = serde_json::to_value(&record)
            .map(|v| tensorboard::scalars_of(&v, &["epoch", "seconds"]))
            .unwrap_or_default();
        // Dashboards never stop a run.
        if let Err(e) = tb.write(epoch as u64, &scalars, &[]) {
            tracing::warn!(error = %e, "could not write the TensorBoard events");
        }
        state.epoch = epoch + 1;
        let improved = test_acc > state.best_acc || epoch == 0;
        if improved {
            state.best_acc = test_acc;
        }
        let header = TrainHeader {
            format: 1,
            kind: "train".into(),
            epochs_done: state.epoch,
            rng: state.rng,
            best_acc: state.best_acc,
            test_acc,
            in_channels: data.channels(),
            class_names: data.class_names(),
            mean: mean.clone(),
            std: std.clone(),
            image_size: data.image_size(),
            config: cfg.clone(),
        };
        save(&state, &run_dir.join(LAST_CKPT), &header, true)?;
        if improved {
            save(&state, &run_dir.join(BEST_CKPT), &header, false)?;
        }
        history.push(record.clone());
        write_curves(run_dir, &history)?;
        obs.epoch_end(&record);
        tracing::info!(
            epoch,
            lr,
            train_acc = format!("{:.2}", record.train_acc),
            test_acc = format!("{:.2}", test_acc),
            "epoch done"
        );
    }
    let finished = state.epoch >= cfg.epochs;
    Ok(TrainOutcome {
        run_dir: run_dir.to_path_buf(),
        history,
        epochs_done: state.epoch,
        finished,
        best_acc: state.best_acc,
    })
}

/// `loss` and `accuracy` (SVG + PNG): train and test curves over epochs.
fn write_curves(run_dir: &Path, h: &[TrainRecord]) -> Result<()> {
    let col = |f: fn(&TrainRecord) -> f64| h.iter().map(f).collect::<Vec<f64>>();
    let train_test = ["train", "test"];
    viz::line_chart(
        "Loss",
        "cross-entropy",
        &train_test,
        &[col(|r| r.train_loss), col(|r| r.test_loss)],
    )?
    .write(run_dir, "loss")?;
    viz::line_chart(
        "Accuracy",
        "top-1 %",
        &train_test,
        &[col(|r| r.train_acc), col(|r| r.test_acc)],
    )?
    .write(run_dir, "accuracy")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_mode_uses_running_statistics() {
        // After training steps, evaluation on the plain device runs and gives finite numbers.
        let mut cfg = TrainConfig::recipe(TrainNetwork::Nb201);
        cfg.arch = Some("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|".into());
        cfg.dataset = crate::data::DatasetName::FashionMnistMini;
        cfg.channels = 4;
        cfg.layers = 1;
        cfg.image_size = Some(8);
        let data = load_data(&cfg).unwrap();
        let device = Device::flex().autodiff();
        let net = TrainNet::new(&cfg, 1, 10, &device).unwrap();
        let (loss, acc) = evaluate(&net, &data, 100, &device).unwrap();
        assert!(loss.is_finite() && (0.0..=100.0).contains(&acc));
    }
}
