//! The resolved configuration of a training run (`config.json`, also stored in checkpoints so
//! that an exported or resumed network can be rebuilt from the checkpoint alone).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::darts::Genotype;
use crate::data::DatasetName;
use crate::{Error, Result};

/// Which network to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainNetwork {
    Cifar,
    Imagenet,
    Nb201,
}

impl std::str::FromStr for TrainNetwork {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cifar" => Ok(TrainNetwork::Cifar),
            "imagenet" => Ok(TrainNetwork::Imagenet),
            "nb201" => Ok(TrainNetwork::Nb201),
            _ => Err(Error::Invalid(format!(
                "unknown network {s:?}; choose cifar, imagenet or nb201"
            ))),
        }
    }
}

/// Learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LrSchedule {
    /// Cosine from `lr` to `lr_min` over the run, stepped at epoch start (position e+1).
    Cosine,
    /// The ImageNet recipe of β-DARTS/SDARTS: linear decay, the last 5 epochs slower, after a
    /// linear warm-up of `warmup` epochs.
    ImagenetLinear { warmup: usize },
}

/// Whether cutout is always applied or with the β-DARTS probability ramp e/(E−1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CutoutProb {
    Always,
    Ramp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub network: TrainNetwork,
    /// The DARTS cell (cifar/imagenet networks).
    pub genotype: Option<Genotype>,
    /// The NB201 arch string (nb201 network).
    pub arch: Option<String>,
    pub dataset: DatasetName,
    pub data_dir: Option<PathBuf>,
    pub image_size: Option<usize>,
    pub channels: usize,
    /// Cells in all (cifar/imagenet) or per stage (nb201).
    pub layers: usize,
    pub epochs: usize,
    pub batch_size: usize,
    /// Caps the steps of an epoch (quick runs).
    pub steps_per_epoch: Option<usize>,
    pub lr: f64,
    pub lr_min: f64,
    pub schedule: LrSchedule,
    pub momentum: f64,
    pub nesterov: bool,
    pub weight_decay: f64,
    pub grad_clip: f64,
    /// Maximum drop-path probability, reached linearly at the last epoch (p_e = p·e/E).
    pub drop_path: f64,
    pub auxiliary: bool,
    pub aux_weight: f64,
    /// Cutout square side; `None` = no cutout.
    pub cutout: Option<usize>,
    pub cutout_prob: CutoutProb,
    pub label_smoothing: f64,
    pub augment: bool,
    pub seed: u64,
}

impl TrainConfig {
    /// The paper recipe for `network` (spec §5; NB201: its own 200-epoch recipe, §3.4).
    pub fn recipe(network: TrainNetwork) -> Self {
        let base = TrainConfig {
            network,
            genotype: None,
            arch: None,
            dataset: DatasetName::Cifar10,
            data_dir: None,
            image_size: None,
            channels: 36,
            layers: 20,
            epochs: 600,
            batch_size: 96,
            steps_per_epoch: None,
            lr: 0.025,
            lr_min: 0.0,
            schedule: LrSchedule::Cosine,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 3e-4,
            grad_clip: 5.0,
            drop_path: 0.2,
            auxiliary: true,
            aux_weight: 0.4,
            cutout: Some(16),
            cutout_prob: CutoutProb::Ramp,
            label_smoothing: 0.0,
            augment: true,
            seed: 0,
        };
        match network {
            TrainNetwork::Cifar => base,
            TrainNetwork::Imagenet => TrainConfig {
                channels: 48,
                layers: 14,
                epochs: 250,
                batch_size: 1024,
                lr: 0.5,
                schedule: LrSchedule::ImagenetLinear { warmup: 5 },
                weight_decay: 3e-5,
                drop_path: 0.0,
                auxiliary: false,
                cutout: None,
                label_smoothing: 0.1,
                ..base
            },
            TrainNetwork::Nb201 => TrainConfig {
                channels: 16,
                layers: 5,
                epochs: 200,
                batch_size: 256,
                lr: 0.1,
                nesterov: true,
                weight_decay: 5e-4,
                drop_path: 0.0,
                auxiliary: false,
                cutout: None,
                ..base
            },
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        match self.network {
            TrainNetwork::Nb201 if self.arch.is_none() => {
                return bad("--network nb201 needs --arch STRING".into());
            }
            TrainNetwork::Cifar | TrainNetwork::Imagenet if self.genotype.is_none() => {
                return bad(
                    format!("--network {:?} needs --genotype FILE", self.network).to_lowercase(),
                );
            }
            _ => {}
        }
        if self.epochs == 0 || self.batch_size == 0 || self.channels == 0 || self.layers == 0 {
            return bad(
                "--epochs, --batch-size, --channels and --layers must be at least 1".into(),
            );
        }
        if self.network != TrainNetwork::Nb201 && !self.channels.is_multiple_of(2) {
            return bad(format!(
                "--channels {} must be even (FactorizedReduce halves it)",
                self.channels
            ));
        }
        use crate::bounds::{self, MAX_BATCH, MAX_CELLS, MAX_CHANNELS, MAX_IMAGE};
        bounds::size("--channels", self.channels, 1, MAX_CHANNELS, "")?;
        bounds::size("--layers", self.layers, 1, MAX_CELLS, "")?;
        bounds::size("--batch-size", self.batch_size, 1, MAX_BATCH, "")?;
        if let Some(s) = self.image_size {
            let (lo, why) = match self.network {
                // The stem's three stride-2 convs and two reduction cells: 32× smaller.
                TrainNetwork::Imagenet => (32, "the ImageNet network reduces it 32-fold"),
                _ => (8, "the network reduces it 4-fold"),
            };
            bounds::size("--image-size", s, lo, MAX_IMAGE, why)?;
        }
        for (flag, v) in [
            ("--lr", self.lr),
            ("lr_min (config.json)", self.lr_min),
            ("--weight-decay", self.weight_decay),
            ("momentum (config.json)", self.momentum),
            ("--aux-weight", self.aux_weight),
        ] {
            bounds::rate(flag, v)?;
        }
        bounds::positive("--grad-clip", self.grad_clip)?;
        if self.steps_per_epoch == Some(0) {
            return bad("--steps-per-epoch must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.drop_path) {
            return bad(format!("--drop-path {} must be in [0, 1)", self.drop_path));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad(format!(
                "--label-smoothing {} must be in [0, 1)",
                self.label_smoothing
            ));
        }
        Ok(())
    }

    /// Learning rate of epoch `e`.
    pub fn lr_at(&self, e: usize) -> f64 {
        match self.schedule {
            LrSchedule::Cosine => {
                crate::schedule::cosine_lr(e, self.epochs, self.lr, self.lr_min, true)
            }
            LrSchedule::ImagenetLinear { warmup } => {
                let total = self.epochs as f64;
                let e_f = e as f64;
                if self.epochs <= 1 {
                    // No decay to run over (the formula below divides by total − tail = 0).
                    return self.lr;
                }
                let tail = 5.0f64.min(total - 1.0).max(1.0);
                let lr = if total - e_f > tail {
                    self.lr * (total - tail - e_f) / (total - tail)
                } else {
                    self.lr * (total - e_f) / ((total - tail) * tail)
                };
                if e < warmup && self.batch_size > 256 {
                    self.lr * (e_f + 1.0) / warmup as f64
                } else {
                    lr
                }
            }
        }
    }

    pub fn drop_path_at(&self, e: usize) -> f64 {
        self.drop_path * e as f64 / self.epochs as f64
    }

    pub fn cutout_prob_at(&self, e: usize) -> f64 {
        match self.cutout_prob {
            CutoutProb::Always => 1.0,
            CutoutProb::Ramp => e as f64 / (self.epochs.max(2) - 1) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_the_recipes() {
        let c = TrainConfig::recipe(TrainNetwork::Cifar);
        assert!((c.lr_at(599) - 0.0).abs() < 1e-12, "cosine ends at 0");
        assert!((c.drop_path_at(300) - 0.1).abs() < 1e-12);
        assert_eq!(c.cutout_prob_at(0), 0.0);
        assert!((c.cutout_prob_at(599) - 1.0).abs() < 1e-12);
        let i = TrainConfig::recipe(TrainNetwork::Imagenet);
        // Warm-up: 0.5·(e+1)/5; then 0.5·(245−e)/245; last 5 epochs 0.5·(250−e)/(245·5).
        assert!((i.lr_at(0) - 0.1).abs() < 1e-12);
        assert!((i.lr_at(100) - 0.5 * 145.0 / 245.0).abs() < 1e-12);
        assert!((i.lr_at(247) - 0.5 * 3.0 / (245.0 * 5.0)).abs() < 1e-12);
        // Short runs (a smoke test): finite and positive at every epoch (1 epoch gave inf).
        for epochs in 1..8 {
            let short = TrainConfig {
                epochs,
                ..i.clone()
            };
            for e in 0..epochs {
                let lr = short.lr_at(e);
                assert!(
                    lr.is_finite() && lr > 0.0,
                    "{epochs} epochs, epoch {e}: {lr}"
                );
            }
        }
    }
}
