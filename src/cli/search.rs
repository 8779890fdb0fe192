//! `betadarts search`'s flags, and their conversion to a [`SearchConfig`].

use std::path::PathBuf;

use anyhow::Result;
use betadarts_search::bilevel::SearchConfig;
use betadarts_search::darts::OpSet;
use betadarts_search::data::DatasetName;
use betadarts_search::data::folder_subset::ClassPick;
use betadarts_search::regularizer::{Aggregation, RegularizerKind};
use betadarts_search::schedule::LambdaSchedule;
use betadarts_search::space::SpaceKind;
use betadarts_search::temperature::TemperatureSchedule;
use clap::Args;

use super::RunArgs;

#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    /// Search space: nb201 (NAS-Bench-201 cell, writes arch.txt) or darts (normal + reduction
    /// cells, writes genotype.json).
    #[arg(long, default_value = "nb201", value_parser = ["nb201", "darts"])]
    pub space: String,
    /// DARTS op set: darts (the 8 original ops) or beta-darts (7 ops, without none, as the
    /// β-DARTS code searches).
    #[arg(long, default_value = "beta-darts", value_parser = ["darts", "beta-darts"])]
    pub ops: String,
    /// SDARTS-RS random smoothing of the mixing weights in the weight step (ε 0.03 → 0.3), for
    /// "β-DARTS + SDARTS-RS" runs.
    #[arg(long)]
    pub perturb: bool,
    /// Dataset: fashion-mnist-mini (built in), fashion-mnist, mnist, cifar10, cifar100,
    /// imagenet16-120 (NAS-Bench-201's 16×16 pickles), imagefolder (DIR/train/<class>/*.jpg,
    /// decoded into memory at --image-size, 32 by default).
    #[arg(long, default_value = "fashion-mnist-mini")]
    pub dataset: String,
    /// Dataset folder, or a folder holding the datasets' standard sub-folders
    /// (cifar-10-batches-bin/ or -py/, cifar-100-binary/ or -python/, ImageNet16/, MNIST/raw/,
    /// FashionMNIST/raw/). Fashion-MNIST falls back to /usr/share/datasets/fashion-mnist.
    #[arg(long, env = "BETADARTS_DATA")]
    pub data_dir: Option<PathBuf>,
    /// imagefolder: the classes to search on, a number (the first N class folders in sorted
    /// order) or folder names separated by commas [default: all].
    #[arg(long)]
    pub classes: Option<String>,
    /// imagefolder: at most this many images of each class (the first in sorted file order)
    /// [default: all].
    #[arg(long)]
    pub images_per_class: Option<usize>,
    /// Search epochs [default: 100 for nb201 and 50 for darts, as in the reference code; 10 on
    /// fashion-mnist-mini].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Batch size of both the weight and the arch batches.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Initial channels C [default: 16; 8 (nb201) or 4 (darts) on fashion-mnist-mini].
    #[arg(long)]
    pub channels: Option<usize>,
    /// NB201: cells per stage N [default: 5; 2 on fashion-mnist-mini]. DARTS: cells in all
    /// [default: 8; 5 on fashion-mnist-mini].
    #[arg(long)]
    pub cells: Option<usize>,
    /// Resize images to S×S (area averaging) before search [default: the dataset's own size;
    /// 16 on fashion-mnist-mini].
    #[arg(long)]
    pub image_size: Option<usize>,
    /// Cap the steps of every epoch (quick runs) [default: one pass over the weight split].
    #[arg(long)]
    pub steps_per_epoch: Option<usize>,
    /// Fraction of the training set for the weight step; the rest feeds the α step.
    #[arg(long, default_value_t = 0.5)]
    pub train_portion: f64,
    /// Turn off crop + flip augmentation.
    #[arg(long)]
    pub no_augment: bool,
    /// Regularizer of α in the arch step.
    #[arg(long, default_value = "beta", value_parser = regularizers())]
    pub regularizer: String,
    /// Temperature decay (TD-DARTS), β = softmax(α/T_e) in both steps: none, constant:T,
    /// exponential:T0:TMIN (T0·γ^e reaching TMIN at the last epoch) or linear:T0:TMIN.
    /// Combines with any --regularizer.
    #[arg(long, default_value = "none")]
    pub temperature: String,
    /// Starting temperature T0; overrides the one in --temperature (e.g. --temperature
    /// exponential --t0 1 --t-min 0.1).
    #[arg(long)]
    pub t0: Option<f64>,
    /// Final temperature TMIN of an exponential or linear --temperature.
    #[arg(long)]
    pub t_min: Option<f64>,
    /// beta-learned: step size of the per-edge strength (hypergradient, cosine-normalised).
    #[arg(long, default_value_t = 0.01)]
    pub strength_lr: f64,
    /// beta-learned: upper bound θ_max of the strength θ = θ_max·sigmoid(φ) (starts at 1).
    #[arg(long, default_value_t = 2.0)]
    pub strength_max: f64,
    /// NAS-Bench-201 accuracy table (CSV): the derived arch is looked up after every epoch,
    /// recorded in the history and printed at the end (nb201 space only).
    #[arg(long, env = "BETADARTS_NB201_TABLE")]
    pub table: Option<PathBuf>,
    /// λ schedule: constant:V, linear:START:END[:REF_EPOCHS], decrease:START:END[:REF_EPOCHS]
    /// (without REF_EPOCHS the ramp spans the run). Default: the code-literal 0→50 over 100.
    #[arg(long, default_value = "linear:0:50:100")]
    pub lambda_schedule: String,
    /// How the regularizer combines several α tensors: mean (over all rows) or sum.
    #[arg(long, default_value = "mean", value_parser = ["mean", "sum"])]
    pub aggregation: String,
    /// Initial learning rate of the weights (SGD, momentum 0.9, cosine).
    #[arg(long, default_value_t = 0.025)]
    pub w_lr: f64,
    /// Final learning rate of the cosine schedule.
    #[arg(long, default_value_t = 0.001)]
    pub w_lr_min: f64,
    /// Weight decay of the weights (coupled, as PyTorch SGD).
    #[arg(long, default_value_t = 3e-4)]
    pub w_weight_decay: f64,
    /// Global gradient-norm clip of the weight step.
    #[arg(long, default_value_t = 5.0)]
    pub grad_clip: f64,
    /// Learning rate of α (Adam, betas 0.5/0.999).
    #[arg(long, default_value_t = 3e-4)]
    pub arch_lr: f64,
    /// Weight decay of α (coupled L2 inside Adam, as the reference).
    #[arg(long, default_value_t = 1e-3)]
    pub arch_weight_decay: f64,
    /// Use cosine position e instead of e+1 (original DARTS on PyTorch 0.4).
    #[arg(long)]
    pub lr_no_shift: bool,
    /// Random seed (weights, α, data order, augmentation). The reference searches with seed 2.
    #[arg(long, default_value_t = 2)]
    pub seed: u64,
    #[command(flatten)]
    pub run: RunArgs,
}

impl SearchArgs {
    /// Turns flags into a validated config. The built-in mini dataset gets small defaults so
    /// that a bare `betadarts search` finishes in minutes on a laptop CPU.
    pub fn to_config(&self) -> Result<SearchConfig> {
        let a = self;
        let dataset: DatasetName = a.dataset.parse()?;
        let space: SpaceKind = a.space.parse()?;
        let darts = space == SpaceKind::Darts;
        let mini = dataset == DatasetName::FashionMnistMini;
        let epochs = a.epochs.unwrap_or(match (mini, darts) {
            (true, _) => 10,
            (false, false) => 100,
            (false, true) => 50,
        });
        let config = SearchConfig {
            space,
            ops: OpSet::parse(&a.ops)?,
            perturb: a.perturb,
            dataset,
            data_dir: a.data_dir.clone(),
            classes: match &a.classes {
                Some(c) => ClassPick::parse(c)?,
                None => ClassPick::All,
            },
            images_per_class: a.images_per_class,
            image_size: a
                .image_size
                .or(mini.then_some(16))
                .or((dataset == DatasetName::Imagefolder).then_some(32)),
            channels: a.channels.unwrap_or(match (mini, darts) {
                (true, false) => 8,
                (true, true) => 4,
                (false, _) => 16,
            }),
            cells: a.cells.unwrap_or(match (mini, darts) {
                (true, false) => 2,
                (true, true) => 5,
                (false, false) => 5,
                (false, true) => 8,
            }),
            epochs,
            batch_size: a.batch_size,
            steps_per_epoch: a.steps_per_epoch,
            train_portion: a.train_portion,
            augment: !a.no_augment,
            regularizer: a.regularizer.parse::<RegularizerKind>()?,
            aggregation: if a.aggregation == "sum" {
                Aggregation::Sum
            } else {
                Aggregation::Mean
            },
            lambda: LambdaSchedule::parse(&a.lambda_schedule, epochs)?,
            temperature: a.temperature()?,
            strength_lr: a.strength_lr,
            strength_max: a.strength_max,
            nb201_table: match (&a.table, darts) {
                (Some(t), true) => {
                    tracing::warn!(table = %t.display(), "the NB201 table is ignored in the DARTS space");
                    None
                }
                (None, true) => None,
                (t, false) => t.clone(),
            },
            w_lr: a.w_lr,
            w_lr_min: a.w_lr_min,
            w_weight_decay: a.w_weight_decay,
            grad_clip: a.grad_clip,
            lr_shift: !a.lr_no_shift,
            arch_lr: a.arch_lr,
            arch_weight_decay: a.arch_weight_decay,
            seed: a.seed,
            ..SearchConfig::default()
        };
        config.validate()?;
        Ok(config)
    }

    /// `--temperature` with `--t0`/`--t-min` overriding its numbers; a bare `exponential` or
    /// `linear` takes T0 = 1 and TMIN = 0.1 unless the flags say otherwise.
    fn temperature(&self) -> Result<TemperatureSchedule> {
        let a = self;
        let base = match a.temperature.trim() {
            t @ ("exponential" | "exp" | "linear") => format!("{t}:1:0.1"),
            t => t.to_string(),
        };
        let s = TemperatureSchedule::parse(&base)?;
        let (t0, t_min) = (a.t0, a.t_min);
        let spelled = match s {
            TemperatureSchedule::Exponential { t0: a0, t_min: m } => {
                format!("exponential:{}:{}", t0.unwrap_or(a0), t_min.unwrap_or(m))
            }
            TemperatureSchedule::Linear { t0: a0, t_min: m } => {
                format!("linear:{}:{}", t0.unwrap_or(a0), t_min.unwrap_or(m))
            }
            TemperatureSchedule::Constant { t } if t_min.is_none() => {
                format!("constant:{}", t0.unwrap_or(t))
            }
            _ if t0.is_some() || t_min.is_some() => {
                return Err(betadarts_search::Error::Invalid(
                    "--t0/--t-min need an exponential or linear --temperature (--t0 alone: constant)"
                        .into(),
                )
                .into());
            }
            _ => return Ok(s),
        };
        Ok(TemperatureSchedule::parse(&spelled)?)
    }
}

/// `--regularizer`'s values and their one-line help, from the registry.
fn regularizers() -> clap::builder::PossibleValuesParser {
    RegularizerKind::all()
        .map(|k| clap::builder::PossibleValue::new(k.name()).help(k.about()))
        .collect::<Vec<_>>()
        .into()
}
