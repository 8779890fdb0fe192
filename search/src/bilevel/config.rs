//! The resolved configuration of a search, saved as `config.json` in the run directory.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::darts::OpSet;
use crate::data::DatasetName;
use crate::data::folder_subset::ClassPick;
use crate::regularizer::{Aggregation, RegularizerKind};
use crate::schedule::LambdaSchedule;
use crate::space::{Space, SpaceKind};
use crate::temperature::TemperatureSchedule;

/// Every setting of a search run. Defaults follow the β-DARTS NB201 script (spec §2–3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    pub space: SpaceKind,
    /// DARTS op set: `darts` (8 ops) or `beta-darts` (7, no `none`); ignored by NB201.
    pub ops: OpSet,
    /// SDARTS-RS random smoothing of the mixing weights in the weight step (DARTS space).
    pub perturb: bool,
    pub dataset: DatasetName,
    pub data_dir: Option<PathBuf>,
    /// imagefolder only: the classes searched on, and at most this many images of each.
    #[serde(default)]
    pub classes: ClassPick,
    #[serde(default)]
    pub images_per_class: Option<usize>,
    /// Side of the (square) images fed to the network; `None` keeps the dataset's own size.
    pub image_size: Option<usize>,
    pub channels: usize,
    /// Cells per stage (NB201 N).
    pub cells: usize,
    pub epochs: usize,
    pub batch_size: usize,
    /// Caps the steps of an epoch (quick runs); `None` = one pass over the weight split.
    pub steps_per_epoch: Option<usize>,
    /// Fraction of the training set used for weights; the rest is the arch split.
    pub train_portion: f64,
    /// Crop + flip on both splits (as the reference, whose loaders share one dataset object).
    pub augment: bool,
    pub regularizer: RegularizerKind,
    pub aggregation: Aggregation,
    pub lambda: LambdaSchedule,
    /// TD-DARTS: β = softmax(α/T_e) in both steps (default T = 1).
    #[serde(default)]
    pub temperature: TemperatureSchedule,
    /// `beta-learned` only: step size of the per-edge strength and its upper bound θ_max.
    #[serde(default = "default_strength_lr")]
    pub strength_lr: f64,
    #[serde(default = "default_strength_max")]
    pub strength_max: f64,
    /// NAS-Bench-201 accuracy table: the derived arch is looked up after every epoch.
    #[serde(default)]
    pub nb201_table: Option<PathBuf>,
    pub w_lr: f64,
    pub w_lr_min: f64,
    pub w_momentum: f64,
    pub w_weight_decay: f64,
    pub grad_clip: f64,
    /// Cosine position e+1 (PyTorch ≥ 1.1, the reference) instead of e.
    pub lr_shift: bool,
    pub arch_lr: f64,
    pub arch_beta1: f64,
    pub arch_beta2: f64,
    pub arch_eps: f64,
    pub arch_weight_decay: f64,
    pub seed: u64,
}

fn default_strength_lr() -> f64 {
    0.01
}

fn default_strength_max() -> f64 {
    2.0
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            space: SpaceKind::Nb201,
            ops: OpSet::BetaDarts,
            perturb: false,
            dataset: DatasetName::FashionMnistMini,
            data_dir: None,
            classes: ClassPick::All,
            images_per_class: None,
            image_size: None,
            channels: 16,
            cells: 5,
            epochs: 100,
            batch_size: 64,
            steps_per_epoch: None,
            train_portion: 0.5,
            augment: true,
            regularizer: RegularizerKind::default(),
            aggregation: Aggregation::Mean,
            lambda: LambdaSchedule::default(),
            temperature: TemperatureSchedule::None,
            strength_lr: default_strength_lr(),
            strength_max: default_strength_max(),
            nb201_table: None,
            w_lr: 0.025,
            w_lr_min: 0.001,
            w_momentum: 0.9,
            w_weight_decay: 3e-4,
            grad_clip: 5.0,
            lr_shift: true,
            arch_lr: 3e-4,
            arch_beta1: 0.5,
            arch_beta2: 0.999,
            arch_eps: 1e-8,
            arch_weight_decay: 1e-3,
            seed: 2,
        }
    }
}

impl SearchConfig {
    pub fn space(&self) -> Space {
        Space {
            kind: self.space,
            ops: self.ops,
        }
    }

    /// Checks values that would otherwise fail deep inside the loop.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::Error::Invalid(m));
        if self.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("--batch-size must be at least 1".into());
        }
        if self.channels == 0 || self.cells == 0 {
            return bad("--channels and --cells must be at least 1".into());
        }
        if !(self.train_portion > 0.0 && self.train_portion < 1.0) {
            return bad(format!(
                "--train-portion {} must lie strictly between 0 and 1",
                self.train_portion
            ));
        }
        if let Some(s) = self.image_size
            && s < 4
        {
            return bad(format!(
                "--image-size {s} is too small (the supernet halves it twice)"
            ));
        }
        if !(self.strength_max > 0.0 && self.strength_lr >= 0.0) {
            return bad(format!(
                "--strength-max {} must be > 0 and --strength-lr {} ≥ 0",
                self.strength_max, self.strength_lr
            ));
        }
        if self.nb201_table.is_some() && self.space != SpaceKind::Nb201 {
            return bad("--table (NAS-Bench-201 accuracies) only applies to --space nb201".into());
        }
        let subset = self.classes != ClassPick::All || self.images_per_class.is_some();
        if subset && self.dataset != DatasetName::Imagefolder {
            return bad(format!(
                "--classes and --images-per-class choose images of an image folder; --dataset {} \
                 has fixed classes",
                self.dataset
            ));
        }
        if self.images_per_class == Some(0) {
            return bad("--images-per-class must be at least 1".into());
        }
        if self.steps_per_epoch == Some(0) {
            return bad("--steps-per-epoch must be at least 1".into());
        }
        use crate::bounds::{self, MAX_BATCH, MAX_CELLS, MAX_CHANNELS, MAX_IMAGE};
        bounds::size("--channels", self.channels, 1, MAX_CHANNELS, "")?;
        bounds::size("--cells", self.cells, 1, MAX_CELLS, "")?;
        bounds::size("--batch-size", self.batch_size, 1, MAX_BATCH, "")?;
        if let Some(s) = self.image_size {
            bounds::size(
                "--image-size",
                s,
                4,
                MAX_IMAGE,
                "the supernet halves it twice",
            )?;
        }
        for (flag, v) in [
            ("--w-lr", self.w_lr),
            ("--w-lr-min", self.w_lr_min),
            ("w_momentum (config.json)", self.w_momentum),
            ("--w-weight-decay", self.w_weight_decay),
            ("--arch-lr", self.arch_lr),
            ("--arch-weight-decay", self.arch_weight_decay),
        ] {
            bounds::rate(flag, v)?;
        }
        bounds::positive("--grad-clip", self.grad_clip)?;
        bounds::positive("arch_eps (config.json)", self.arch_eps)?;
        for (flag, v) in [
            ("arch_beta1 (config.json)", self.arch_beta1),
            ("arch_beta2 (config.json)", self.arch_beta2),
        ] {
            if !(0.0..1.0).contains(&v) {
                return bad(format!("{flag} {v} must be in [0, 1)"));
            }
        }
        Ok(())
    }
}
