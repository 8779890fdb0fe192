//! `betadarts train`'s flags, and their conversion to a [`TrainConfig`].

use std::path::PathBuf;

use anyhow::Result;
use betadarts_search::darts::Genotype;
use betadarts_search::data::DatasetName;
use betadarts_search::retrain::{CutoutProb, LrSchedule, TrainConfig, TrainNetwork};
use clap::Args;

use super::RunArgs;

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// DARTS-space genotype file (JSON or Python form) for the cifar/imagenet networks.
    #[arg(long, conflicts_with = "arch")]
    pub genotype: Option<PathBuf>,
    /// NB201 arch string for the nb201 network.
    #[arg(long)]
    pub arch: Option<String>,
    /// cifar (C=36, 20 cells, 600 epochs), imagenet (C=48, 14 cells, 250 epochs) or nb201
    /// [default: nb201 with --arch, else cifar].
    #[arg(long, value_parser = ["cifar", "imagenet", "nb201"])]
    pub network: Option<String>,
    /// Dataset: fashion-mnist-mini (built in), fashion-mnist, mnist, cifar10, cifar100,
    /// imagenet16-120, imagefolder (DIR/train/<class>/* and DIR/val/<class>/*, streamed).
    #[arg(long, default_value = "fashion-mnist-mini")]
    pub dataset: String,
    /// Dataset folder (CIFAR binary or python files, ImageNet16 pickles, IDX files, or
    /// DIR/train + DIR/val for imagefolder), or a folder holding their standard sub-folders.
    #[arg(long, env = "BETADARTS_DATA")]
    pub data_dir: Option<PathBuf>,
    /// Epochs [default: the network's recipe: 600 cifar, 250 imagenet, 200 nb201; 10 on fashion-mnist-mini]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Initial channels [default: recipe; 8 on fashion-mnist-mini]
    #[arg(long)]
    pub channels: Option<usize>,
    /// Cells (per stage for nb201) [default: recipe; 5 (cifar/imagenet) or 1 (nb201) on fashion-mnist-mini]
    #[arg(long)]
    pub layers: Option<usize>,
    /// Batch size [default: 96 cifar, 1024 imagenet, 256 nb201; 64 on fashion-mnist-mini]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Resize images to S×S first [default: the dataset's; 16 on fashion-mnist-mini].
    #[arg(long)]
    pub image_size: Option<usize>,
    /// Cap the steps of every epoch (quick runs).
    #[arg(long)]
    pub steps_per_epoch: Option<usize>,
    /// Initial learning rate [default: 0.025 cifar, 0.5 imagenet, 0.1 nb201].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Weight decay [default: 3e-4 cifar, 3e-5 imagenet, 5e-4 nb201].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Learning-rate schedule: cosine, or imagenet (linear decay after a 5-epoch warm-up)
    /// [default: imagenet for the imagenet network, else cosine].
    #[arg(long, value_parser = ["cosine", "imagenet"])]
    pub schedule: Option<String>,
    /// Global gradient-norm clip.
    #[arg(long, default_value_t = 5.0)]
    pub grad_clip: f64,
    /// Maximum drop-path probability, ramped linearly over the epochs [default: 0.2 cifar, 0 otherwise].
    #[arg(long)]
    pub drop_path: Option<f64>,
    /// Turn the auxiliary head off (on by default for cifar, weight 0.4).
    #[arg(long)]
    pub no_auxiliary: bool,
    /// Auxiliary head for the imagenet network.
    #[arg(long)]
    pub auxiliary: bool,
    /// Weight of the auxiliary loss.
    #[arg(long, default_value_t = 0.4)]
    pub aux_weight: f64,
    /// Cutout square side; 0 turns it off [default: 16 for cifar, off otherwise].
    #[arg(long)]
    pub cutout: Option<usize>,
    /// Cutout probability: ramp (β-DARTS: e/(E−1)) or always (DARTS).
    #[arg(long, default_value = "ramp", value_parser = ["ramp", "always"])]
    pub cutout_prob: String,
    /// Label smoothing ε [default: 0.1 imagenet, 0 otherwise].
    #[arg(long)]
    pub label_smoothing: Option<f64>,
    /// Random seed (weights, data order, augmentation, drop-path); the reference trains with 0.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub run: RunArgs,
}

impl TrainArgs {
    /// Turns flags into a validated config (the recipe of the network, then the flags given).
    pub fn to_config(&self) -> Result<TrainConfig> {
        let a = self;
        let network: TrainNetwork = match (&a.network, &a.arch) {
            (Some(n), _) => n.parse()?,
            (None, Some(_)) => TrainNetwork::Nb201,
            (None, None) => TrainNetwork::Cifar,
        };
        let mut c = TrainConfig::recipe(network);
        c.dataset = a.dataset.parse()?;
        c.data_dir = a.data_dir.clone();
        if let Some(path) = &a.genotype {
            c.genotype = Some(Genotype::load(path)?);
        }
        c.arch = a.arch.clone();
        if c.dataset == DatasetName::FashionMnistMini {
            // Small defaults so that a bare run on the built-in data takes minutes.
            c.epochs = 10;
            c.channels = 8;
            c.layers = if network == TrainNetwork::Nb201 { 1 } else { 5 };
            c.batch_size = 64;
            c.image_size = Some(16);
        }
        let set = |v: Option<usize>, d: &mut usize| {
            if let Some(v) = v {
                *d = v;
            }
        };
        set(a.epochs, &mut c.epochs);
        set(a.channels, &mut c.channels);
        set(a.layers, &mut c.layers);
        set(a.batch_size, &mut c.batch_size);
        if a.image_size.is_some() {
            c.image_size = a.image_size;
        }
        c.steps_per_epoch = a.steps_per_epoch;
        c.lr = a.lr.unwrap_or(c.lr);
        c.weight_decay = a.weight_decay.unwrap_or(c.weight_decay);
        c.schedule = match a.schedule.as_deref() {
            Some("cosine") => LrSchedule::Cosine,
            Some("imagenet") => LrSchedule::ImagenetLinear { warmup: 5 },
            _ => c.schedule,
        };
        c.grad_clip = a.grad_clip;
        c.drop_path = a.drop_path.unwrap_or(c.drop_path);
        c.auxiliary =
            (c.auxiliary || a.auxiliary) && !a.no_auxiliary && network != TrainNetwork::Nb201;
        c.aux_weight = a.aux_weight;
        c.cutout = match a.cutout {
            Some(0) => None,
            Some(l) => Some(l),
            None => c.cutout,
        };
        c.cutout_prob = if a.cutout_prob == "always" {
            CutoutProb::Always
        } else {
            CutoutProb::Ramp
        };
        c.label_smoothing = a.label_smoothing.unwrap_or(c.label_smoothing);
        c.seed = a.seed;
        c.validate()?;
        Ok(c)
    }
}
