//! A search run and its directory (a [`RunDir`]: locked while the run lives): `config.json`,
//! `history.jsonl`, `checkpoint.bin` after every epoch (the one before kept as `.prev`), and at
//! the end `arch.txt` and `summary.json`. A run resumes from its checkpoint with the same result
//! as an uninterrupted run (data order and augmentation come from a checkpointed generator;
//! weights, α and both optimizer states are restored). A step whose loss or gradient is not
//! finite stops the run before anything of it is saved.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use super::SearchConfig;
use super::architect::Searcher;
use super::checkpoint::load_state;
use super::epochs::drive;
use super::history::{EpochRecord, truncate_history};
use super::progress::Observer;
use crate::Result;
use crate::data::{self, Dataset};
use crate::rng::Rng;
use crate::run_dir::RunDir;
use crate::space::SupernetShape;

pub use crate::run_dir::CONFIG_FILE;
pub const HISTORY_FILE: &str = "history.jsonl";
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";
pub const ARCH_FILE: &str = "arch.txt";
pub const SUMMARY_FILE: &str = "summary.json";
pub const GENOTYPE_FILE: &str = "genotype.json";

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
    let (start, rng) = load_state(&mut searcher, &dir.file(CHECKPOINT_FILE))?
        .unwrap_or_else(|| (0, Rng::new(config.seed)));
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
