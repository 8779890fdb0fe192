//! A search run and its directory (a [`RunDir`]: locked while the run lives): `config.json`,
//! `history.jsonl`, `checkpoint.bin` after every epoch (the one before kept as `.prev`), and at
//! the end `arch.txt` and `summary.json`. A run resumes from its checkpoint with the same result
//! as an uninterrupted run (data order and augmentation come from a checkpointed generator;
//! weights, α and both optimizer states are restored). A step whose loss or gradient is not
//! finite stops the run before anything of it is saved.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};

use super::SearchConfig;
use super::architect::{Searcher, StepStats, build_optimizers};
use super::diagnostics::Diagnostics;
use super::history::{EpochRecord, Nb201Accuracy, append_record, truncate_history};
use crate::arch_params::softmax_rows;
use crate::darts::perturb_epsilon;
use crate::data::{self, Augment, Dataset, make_batch};
use crate::guard;
use crate::nb201::table::{COLUMNS, Table};
use crate::rng::Rng;
use crate::run_dir::tensorboard::{self, EventWriter};
use crate::run_dir::{Checkpoint, RunDir, load_checkpoint, save_checkpoint, write_atomic};
use crate::schedule::cosine_lr;
use crate::space::{Derived, SupernetShape};
use crate::viz;
use crate::{Error, Result};

pub use crate::run_dir::CONFIG_FILE;
pub const HISTORY_FILE: &str = "history.jsonl";
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";
pub const ARCH_FILE: &str = "arch.txt";
pub const SUMMARY_FILE: &str = "summary.json";
pub const GENOTYPE_FILE: &str = "genotype.json";

/// Running means over an epoch, for progress display.
#[derive(Debug, Clone, Copy, Default)]
pub struct Running {
    pub loss_sum: f64,
    pub reg_sum: f64,
    pub norm_sum: f64,
    pub alpha_ce_sum: f64,
    pub alpha_reg_sum: f64,
    pub correct: usize,
    pub count: usize,
    pub steps: usize,
}

impl Running {
    fn add(&mut self, s: &StepStats) {
        self.loss_sum += s.loss * s.count as f64;
        self.reg_sum += s.reg;
        self.norm_sum += s.grad_norm;
        self.alpha_ce_sum += s.alpha_grad_ce;
        self.alpha_reg_sum += s.alpha_grad_reg;
        self.correct += s.correct;
        self.count += s.count;
        self.steps += 1;
    }
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.count.max(1) as f64
    }
    pub fn acc(&self) -> f64 {
        100.0 * self.correct as f64 / self.count.max(1) as f64
    }
}

/// Receives progress; the CLI draws bars from it.
pub trait Observer {
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _steps: usize) {}
    fn step(&mut self, _step: usize, _train: &Running, _arch: &Running) {}
    fn epoch_end(&mut self, _record: &EpochRecord) {}
}

pub struct SilentObserver;
impl Observer for SilentObserver {}

/// What a finished (or stopped) run leaves.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run_dir: PathBuf,
    pub history: Vec<EpochRecord>,
    /// Epochs completed so far.
    pub epochs_done: usize,
    /// Whether all configured epochs ran.
    pub finished: bool,
    pub final_arch: Option<String>,
}

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

/// Starts a new run in `run_dir` (created; it must not hold a run already).
/// `stop_after` ends the process's share after that many epochs (resumable), as a job that
/// has to fit a scheduler's time limit would.
pub fn run_search(
    config: SearchConfig,
    run_dir: &Path,
    device: &Device,
    stop_after: Option<usize>,
    observer: &mut dyn Observer,
) -> Result<RunOutcome> {
    config.validate()?;
    let dir = RunDir::create(run_dir)?;
    let mut run = || {
        let data = load_data(&config)?;
        dir.write_config(&config, layout(&config))?;
        let searcher = Searcher::new(config.clone(), shape_of(&config, &data), device);
        let rng = Rng::new(config.seed);
        drive(
            searcher,
            &data,
            &dir,
            0,
            rng,
            Vec::new(),
            stop_after,
            observer,
        )
    };
    let outcome = run();
    if outcome.is_err() {
        dir.discard_if_unstarted();
    }
    outcome
}

/// Continues the run in `run_dir` from its last checkpoint.
pub fn resume(
    run_dir: &Path,
    device: &Device,
    stop_after: Option<usize>,
    observer: &mut dyn Observer,
) -> Result<RunOutcome> {
    let dir = RunDir::open(run_dir)?;
    let config: SearchConfig = dir.read_config("search config")?;
    config.validate()?;
    let data = load_data(&config)?;
    let mut searcher = Searcher::new(config.clone(), shape_of(&config, &data), device);
    let (start, rng) = match load_checkpoint(&dir.file(CHECKPOINT_FILE))? {
        Some((ckpt, ckpt_path)) => {
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
            restore(&mut searcher, &ckpt, &ckpt_path)?;
            if let Some(state) = header.regularizer.filter(|v| !v.is_null()) {
                searcher.reg.restore(state).map_err(|m| Error::Checkpoint {
                    path: ckpt_path.clone(),
                    message: format!("regularizer state: {m}"),
                })?;
            }
            (header.epochs_done, header.rng)
        }
        None => (0, Rng::new(config.seed)),
    };
    let history = truncate_history(&dir.file(HISTORY_FILE), start)?;
    tracing::info!(epoch = start, run = %run_dir.display(), "resuming");
    drive(
        searcher, &data, &dir, start, rng, history, stop_after, observer,
    )
}

fn load_data(config: &SearchConfig) -> Result<Dataset> {
    if config.dataset == data::DatasetName::Imagefolder {
        let size = config.image_size.unwrap_or(32);
        let dir = config.data_dir.as_deref();
        tracing::info!(size, "decoding the image folder into memory (all cores)");
        return Ok(data::load_folder(
            dir,
            &config.classes,
            config.images_per_class,
            size,
        )?);
    }
    let ds = data::load(config.dataset, config.data_dir.as_deref())?;
    Ok(match config.image_size {
        Some(s) => ds.resized(s),
        None => ds,
    })
}

fn shape_of(config: &SearchConfig, data: &Dataset) -> SupernetShape {
    SupernetShape {
        in_channels: data.channels(),
        channels: config.channels,
        cells: config.cells,
        classes: data.num_classes(),
    }
}

fn restore(s: &mut Searcher, ckpt: &Checkpoint, path: &Path) -> Result<()> {
    let err = |m: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message: m,
    };
    let blob = |name: &str| -> Result<Bytes> {
        ckpt.blob(name)
            .map(|b| Bytes::from_bytes_vec(b.to_vec()))
            .ok_or_else(|| err(format!("missing part {name:?}")))
    };
    let record = |name: &str| -> Result<ModuleRecord> {
        ModuleRecord::from_bytes(blob(name)?).map_err(|e| err(format!("part {name:?}: {e:?}")))
    };
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

fn save(s: &Searcher, path: &Path, epochs_done: usize, rng: Rng) -> Result<()> {
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
fn drive(
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
            nb201_c10_test = record.nb201.as_ref().map(|a| a.acc[1]),
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
                for (c, v) in COLUMNS.iter().zip(a.acc) {
                    m.insert(c.to_string(), v.into());
                }
                m
            }),
        });
        write_atomic(
            &run_dir.join(SUMMARY_FILE),
            &serde_json::to_vec_pretty(&summary)?,
        )?;
    }
    Ok(RunOutcome {
        run_dir: run_dir.to_path_buf(),
        history,
        epochs_done,
        finished,
        final_arch,
    })
}

/// `cell.svg`/`cell.dot` of the current derived cell, and as SVG + PNG `beta` (β per edge over
/// epochs), `skip_share`, `beta_norm` and `nb201`, refreshed after every epoch so a running
/// search can be watched.
fn write_pictures(
    run_dir: &Path,
    cfg: &SearchConfig,
    history: &[EpochRecord],
    derived: &Derived,
) -> Result<()> {
    let space = cfg.space();
    let cells = match derived {
        Derived::Nb201(a) => vec![viz::nb201_cell(a)],
        Derived::Darts(g) => viz::darts_cells(g),
    };
    write_atomic(&run_dir.join("cell.svg"), viz::cells_svg(&cells).as_bytes())?;
    write_atomic(&run_dir.join("cell.dot"), viz::cells_dot(&cells).as_bytes())?;
    let beta: Vec<_> = history.iter().map(|r| r.beta.clone()).collect();
    let title = format!(
        "{} search, {} regularizer, λ {}",
        cfg.space, cfg.regularizer, cfg.lambda
    );
    viz::beta_trajectories(
        &title,
        &beta,
        &space.alpha_names(),
        &space.edge_labels(),
        &space.op_names(),
    )?
    .write(run_dir, "beta")?;
    let skip: Vec<f64> = history.iter().map(|r| r.skip_share).collect();
    let none: Vec<f64> = history.iter().map(|r| r.none_share).collect();
    viz::line_chart(
        "Derived cell: share of skip-connections and none",
        "share of edges",
        &["skip_connect", "none"],
        &[skip, none],
    )?
    .write(run_dir, "skip_share")?;
    // ‖β‖₂ per edge of the first α tensor (NB201's only one; DARTS' normal cell).
    let edges = space.edge_labels().first().cloned().unwrap_or_default();
    let norms: Vec<Vec<f64>> = (0..edges.len())
        .map(|e| {
            history
                .iter()
                .map(|r| {
                    r.diagnostics
                        .beta_norm
                        .first()
                        .and_then(|t| t.get(e))
                        .copied()
                        .unwrap_or(f64::NAN)
                })
                .collect()
        })
        .collect();
    let names: Vec<&str> = edges.iter().map(String::as_str).collect();
    let k = space.op_names().len() as f64;
    viz::line_chart(
        &format!(
            "‖β‖₂ per edge of {} (1/√K = {:.2} uniform, 1 one-hot)",
            space.alpha_names().first().copied().unwrap_or("α"),
            1.0 / k.sqrt()
        ),
        "‖β‖₂",
        &names,
        &norms,
    )?
    .write(run_dir, "beta_norm")?;
    if history.iter().any(|r| r.nb201.is_some()) {
        let cols = [1usize, 3, 5];
        let series: Vec<Vec<f64>> = cols
            .iter()
            .map(|&c| {
                history
                    .iter()
                    .map(|r| r.nb201.as_ref().map_or(f64::NAN, |a| a.acc[c]))
                    .collect()
            })
            .collect();
        let names: Vec<&str> = cols.iter().map(|&c| COLUMNS[c]).collect();
        viz::line_chart(
            "NAS-Bench-201 test accuracy of the derived arch",
            "top-1 %",
            &names,
            &series,
        )?
        .write(run_dir, "nb201")?;
    }
    Ok(())
}

/// The epoch's record as TensorBoard events: every number of the record, β per edge and op
/// (named), and the derived cell as text. A failure is a warning: dashboards never stop a run.
fn dashboard(tb: &mut EventWriter, cfg: &SearchConfig, record: &EpochRecord) {
    let space = cfg.space();
    let (tensors, ops) = (space.alpha_names(), space.op_names());
    let mut scalars = match serde_json::to_value(record) {
        Ok(v) => tensorboard::scalars_of(&v, &["epoch", "alpha", "beta", "seconds"]),
        Err(_) => vec![],
    };
    for (t, beta) in record.beta.iter().enumerate() {
        let name = tensors.get(t).copied().unwrap_or("beta");
        for (e, row) in beta.iter().enumerate() {
            for (o, &b) in row.iter().enumerate() {
                let op = ops.get(o).copied().unwrap_or("op");
                scalars.push((format!("beta/{name}/edge{e:02}/{op}"), f64::from(b)));
            }
        }
    }
    if let Err(e) = tb.write(record.epoch as u64, &scalars, &[("cell", &record.arch)]) {
        tracing::warn!(error = %e, "could not write the TensorBoard events");
    }
}

/// What `config.json` says about a search beyond its settings: the layout of α and β in
/// `history.jsonl` (`alpha[t][edge][op]`), by name.
fn layout(cfg: &SearchConfig) -> serde_json::Value {
    let space = cfg.space();
    let (ops, edges) = (space.op_names(), space.edge_labels());
    let tensors: Vec<serde_json::Value> = space
        .alpha_names()
        .iter()
        .enumerate()
        .map(|(t, name)| serde_json::json!({"tensor": name, "edges": edges.get(t), "ops": ops}))
        .collect();
    serde_json::json!({"kind": "search", "alpha": tensors})
}
