//! `betadarts train`: flags → [`TrainConfig`] (the network's paper recipe, then overrides) →
//! run directory.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use betadarts_search::darts::Genotype;
use betadarts_search::data::DatasetName;
use betadarts_search::device::parse_device;
use betadarts_search::retrain::{self, CutoutProb, LrSchedule, TrainConfig, TrainNetwork};

use crate::cli::TrainArgs;
use crate::progress::TrainBars;

pub fn config_from_args(a: &TrainArgs) -> Result<TrainConfig> {
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
    c.auxiliary = (c.auxiliary || a.auxiliary) && !a.no_auxiliary && network != TrainNetwork::Nb201;
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

pub fn train(args: TrainArgs, quiet: bool) -> Result<()> {
    let device = parse_device(&args.device)?;
    let mut bars = TrainBars::new(quiet);
    let outcome = if let Some(dir) = &args.resume {
        retrain::resume_training(dir, &device, args.stop_after, &mut bars)
            .with_context(|| format!("resuming {}", dir.display()))?
    } else {
        let config = config_from_args(&args)?;
        let dir = args.out.clone().unwrap_or_else(|| {
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            PathBuf::from("runs").join(
                format!(
                    "train-{:?}-{}-s{}-{t}",
                    config.network, config.dataset, config.seed
                )
                .to_lowercase(),
            )
        });
        tracing::info!(run = %dir.display(), network = ?config.network, dataset = %config.dataset, epochs = config.epochs, "train");
        retrain::train(config, &dir, &device, args.stop_after, &mut bars)
            .with_context(|| format!("training in {}", dir.display()))?
    };
    if let Some(last) = outcome.history.last() {
        println!(
            "epoch {}: train {:.2}%, test {:.2}% (best {:.2}%)",
            last.epoch + 1,
            last.train_acc,
            last.test_acc,
            outcome.best_acc
        );
    }
    if outcome.finished {
        eprintln!("run directory: {}", outcome.run_dir.display());
    } else {
        eprintln!(
            "stopped after epoch {}; continue with: betadarts train --resume {}",
            outcome.epochs_done,
            outcome.run_dir.display()
        );
    }
    Ok(())
}
