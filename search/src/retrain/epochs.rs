//! The retraining epoch loop: batches, steps, evaluation, checkpoints, history and curves.

use std::path::Path;
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

use super::TrainConfig;
use super::checkpoint::{State, TrainHeader, save};
use super::evaluate::evaluate;
use super::trainer::{
    BEST_CKPT, HISTORY_FILE, LAST_CKPT, TrainObserver, TrainOutcome, TrainRecord, workers,
};
use crate::data::folder::{Jitter, Prefetcher, Transform};
use crate::data::{Augment, Cutout, Source, make_batch_cutout, upload};
use crate::guard::{self, At};
use crate::loss::cross_entropy_smooth;
use crate::nn::clip_grad_norm;
use crate::run_dir::tensorboard::{self, EventWriter};
use crate::run_dir::{RunDir, append_json_line};
use crate::viz;
use crate::{Error, Result};

#[allow(clippy::too_many_arguments)]
pub(super) fn drive(
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
