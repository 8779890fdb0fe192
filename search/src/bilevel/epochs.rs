//! The epoch loop of a search: steps, the epoch's record, checkpoint, pictures, and at the
//! end the final cell and its summary.

use std::path::Path;
use std::time::Instant;

use super::architect::Searcher;
use super::checkpoint::save;
use super::diagnostics::Diagnostics;
use super::history::{EpochRecord, Nb201Accuracy, append_record};
use super::pictures::{dashboard, write_pictures};
use super::progress::{Observer, Running};
use super::run::{
    ARCH_FILE, CHECKPOINT_FILE, GENOTYPE_FILE, HISTORY_FILE, RunOutcome, SUMMARY_FILE,
};
use crate::Result;
use crate::arch_params::softmax_rows;
use crate::darts::perturb_epsilon;
use crate::data::{Augment, Dataset, make_batch};
use crate::guard;
use crate::nb201::table::{Column, Table};
use crate::rng::Rng;
use crate::run_dir::tensorboard::EventWriter;
use crate::run_dir::{RunDir, write_atomic};
use crate::schedule::cosine_lr;
use crate::space::Derived;

/// `count` distinct indices from `pool`, uniformly (a fresh arch batch every step).
fn sample(pool: &[usize], count: usize, rng: &mut Rng) -> Vec<usize> {
    if count >= pool.len() {
        let mut all = pool.to_vec();
        rng.shuffle(&mut all);
        return all;
    }
    let mut picked: Vec<usize> = Vec::with_capacity(count);
    while picked.len() < count {
        let i = pool[rng.below(pool.len())];
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked
}

#[allow(clippy::too_many_arguments)]
pub(super) fn drive(
    mut s: Searcher,
    data: &Dataset,
    dir: &RunDir,
    start: usize,
    mut rng: Rng,
    mut history: Vec<EpochRecord>,
    stop_after: Option<usize>,
    observer: &mut dyn Observer,
) -> Result<RunOutcome> {
    let run_dir = dir.path();
    let cfg = s.config.clone();
    let n = data.train.len();
    let n_w =
        ((n as f64 * cfg.train_portion).floor() as usize).clamp(1, n.saturating_sub(1).max(1));
    let weight_pool: Vec<usize> = (0..n_w).collect();
    let arch_pool: Vec<usize> = if n_w < n {
        (n_w..n).collect()
    } else {
        (0..n).collect()
    };
    let full_steps = n_w.div_ceil(cfg.batch_size);
    let steps = cfg
        .steps_per_epoch
        .map_or(full_steps, |k| k.min(full_steps));
    let augment = cfg.augment.then(|| Augment::standard(data.image_size()));
    let k = cfg.space().op_names().len();
    let mut tb = EventWriter::new(run_dir);
    let end = stop_after.map_or(cfg.epochs, |m| (start + m).min(cfg.epochs));
    let table = cfg.nb201_table.as_deref().map(Table::load).transpose()?;

    for epoch in start..end {
        let t0 = Instant::now();
        let lr = cosine_lr(epoch, cfg.epochs, cfg.w_lr, cfg.w_lr_min, cfg.lr_shift);
        let lambda = cfg.lambda.value(epoch);
        let temperature = cfg.temperature.value(epoch, cfg.epochs);
        observer.epoch_start(epoch, cfg.epochs, steps);
        let mut order = weight_pool.clone();
        rng.shuffle(&mut order);
        let (mut train, mut arch) = (Running::default(), Running::default());
        for (step, chunk) in order.chunks(cfg.batch_size).take(steps).enumerate() {
            let arch_idx = sample(&arch_pool, cfg.batch_size, &mut rng);
            let arch_batch = make_batch(
                &data.train,
                &arch_idx,
                augment,
                &mut rng,
                &data.mean,
                &data.std,
                &s.device,
            );
            let weight_batch = make_batch(
                &data.train,
                chunk,
                augment,
                &mut rng,
                &data.mean,
                &data.std,
                &s.device,
            );
            let perturb = cfg
                .perturb
                .then(|| (perturb_epsilon(epoch, cfg.epochs), &mut rng));
            let report = s.step(&arch_batch, &weight_batch, lambda, temperature, lr, perturb);
            guard::check_step(&report, epoch, step + 1)?;
            arch.add(&report.arch);
            train.add(&report.weights);
            observer.step(step + 1, &train, &arch);
        }
        let alphas = s.arch.to_host();
        guard::check_alpha(&alphas, epoch)?;
        let derived = cfg.space().derive(&alphas)?;
        let rows = |v: &[f32]| v.chunks(k).map(|r| r.to_vec()).collect::<Vec<_>>();
        let betas: Vec<Vec<f32>> = alphas
            .iter()
            .map(|a| softmax_rows(a, k, temperature))
            .collect();
        let steps_a = arch.steps.max(1) as f64;
        let diagnostics = Diagnostics::compute(
            &alphas,
            &betas,
            k,
            arch.alpha_ce_sum / steps_a,
            arch.alpha_reg_sum / steps_a,
        );
        let nb201 = match (&table, &derived) {
            (Some(t), Derived::Nb201(a)) => t.lookup(&a.to_string()).map(|r| Nb201Accuracy {
                index: r.index,
                acc: r.acc,
            }),
            _ => None,
        };
        let record = EpochRecord {
            epoch,
            steps: train.steps,
            lr,
            lambda,
            train_loss: train.loss(),
            train_acc: train.acc(),
            arch_loss: arch.loss(),
            arch_acc: arch.acc(),
            reg: arch.reg_sum / arch.steps.max(1) as f64,
            grad_norm: train.norm_sum / train.steps.max(1) as f64,
            alpha: alphas.iter().map(|a| rows(a)).collect(),
            beta: betas.iter().map(|b| rows(b)).collect(),
            temperature,
            diagnostics,
            regularizer: s
                .reg
                .history()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            nb201,
            arch: derived.to_string(),
            genotype: match &derived {
                Derived::Darts(g) => Some(g.clone()),
                Derived::Nb201(_) => None,
            },
            skip_share: derived.skip_share(),
            none_share: derived.none_share(),
            seconds: t0.elapsed().as_secs_f64(),
        };
        append_record(&run_dir.join(HISTORY_FILE), &record)?;
        dashboard(&mut tb, &cfg, &record);
        save(&s, &run_dir.join(CHECKPOINT_FILE), epoch + 1, rng)?;
        history.push(record);
        write_pictures(run_dir, &cfg, &history, &derived)?;
        let record = history.last().cloned().unwrap_or_else(|| unreachable!());
        observer.epoch_end(&record);
        tracing::info!(
            epoch,
            train_acc = format!("{:.2}", record.train_acc),
            arch_acc = format!("{:.2}", record.arch_acc),
            lambda,
            arch = %record.arch,
            nb201_c10_test = record.nb201.as_ref().map(|a| a.acc[Column::Cifar10Test]),
            "epoch done"
        );
    }

    let epochs_done = end;
    let finished = epochs_done >= cfg.epochs;
    let final_arch = history.last().map(|r| r.arch.clone());
    if finished && let Some(arch) = &final_arch {
        match history.last().and_then(|r| r.genotype.as_ref()) {
            Some(g) => g.save(&run_dir.join(GENOTYPE_FILE))?,
            None => write_atomic(&run_dir.join(ARCH_FILE), format!("{arch}\n").as_bytes())?,
        }
        write_summary(run_dir, arch, &history, epochs_done)?;
    }
    Ok(RunOutcome {
        run_dir: run_dir.to_path_buf(),
        history,
        epochs_done,
        finished,
        final_arch,
    })
}

/// `summary.json`: the final cell, accuracies and shares, and the files of the run.
pub(super) fn write_summary(
    run_dir: &Path,
    arch: &str,
    history: &[EpochRecord],
    epochs_done: usize,
) -> Result<()> {
    let mut files = crate::run_dir::run_files(run_dir)?;
    if !files.iter().any(|f| f == SUMMARY_FILE) {
        files.push(SUMMARY_FILE.into());
        files.sort();
    }
    let summary = serde_json::json!({
        "about": crate::run_dir::about(serde_json::json!({"kind": "search summary"})),
        "files": files,
        "final_arch": arch,
        "epochs": epochs_done,
        "search_seconds": history.iter().map(|r| r.seconds).sum::<f64>(),
        "skip_share": history.last().map(|r| r.skip_share),
        "none_share": history.last().map(|r| r.none_share),
        "final_train_acc": history.last().map(|r| r.train_acc),
        "final_arch_acc": history.last().map(|r| r.arch_acc),
        "mean_beta_norm": history.last().map(|r| r.diagnostics.mean_beta_norm()),
        "nb201": history.last().and_then(|r| r.nb201.as_ref()).map(|a| {
            let mut m = serde_json::Map::new();
            m.insert("index".into(), a.index.into());
            for (c, v) in a.acc.iter() {
                m.insert(c.name().to_string(), v.into());
            }
            m
        }),
    });
    write_atomic(
        &run_dir.join(SUMMARY_FILE),
        &serde_json::to_vec_pretty(&summary)?,
    )?;
    Ok(())
}
