//! `betadarts train`: flags → `TrainConfig` (the network's paper recipe, then overrides) →
//! run directory.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use betadarts_search::device::parse_device;
use betadarts_search::retrain;

use crate::cli::TrainArgs;
use crate::progress::TrainBars;

pub fn train(args: TrainArgs, quiet: bool) -> Result<()> {
    let device = parse_device(&args.run.device)?;
    let mut bars = TrainBars::new(quiet);
    let outcome = if let Some(dir) = &args.run.resume {
        retrain::resume_training(dir, &device, args.run.stop_after, &mut bars)
            .with_context(|| format!("resuming {}", dir.display()))?
    } else {
        let config = args.to_config()?;
        let dir = args.run.out.clone().unwrap_or_else(|| {
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
        retrain::train(config, &dir, &device, args.run.stop_after, &mut bars)
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
