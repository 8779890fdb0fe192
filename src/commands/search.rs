//! `betadarts search`: flags → `SearchConfig` → run directory.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use betadarts_search::bilevel::{self, SearchConfig};
use betadarts_search::device::parse_device;

use crate::cli::SearchArgs;
use crate::progress::EpochBars;

pub fn search(args: SearchArgs, quiet: bool) -> Result<()> {
    let device = parse_device(&args.run.device)?;
    let mut bars = EpochBars::new(quiet);
    let outcome = if let Some(dir) = &args.run.resume {
        bilevel::resume(dir, &device, args.run.stop_after, &mut bars)
            .with_context(|| format!("resuming {}", dir.display()))?
    } else {
        let config = args.to_config()?;
        let dir = args
            .run
            .out
            .clone()
            .unwrap_or_else(|| default_run_dir(&config));
        tracing::info!(
            run = %dir.display(),
            space = %config.space,
            dataset = %config.dataset,
            regularizer = %config.regularizer,
            lambda = %config.lambda,
            epochs = config.epochs,
            "search"
        );
        bilevel::run_search(config, &dir, &device, args.run.stop_after, &mut bars)
            .with_context(|| format!("search in {}", dir.display()))?
    };
    if let Some(arch) = outcome.final_arch.as_ref().filter(|_| outcome.finished) {
        println!("{arch}");
        if let Some(acc) = outcome.history.last().and_then(|r| r.nb201.as_ref()) {
            println!("NAS-Bench-201 index {}:", acc.index);
            for (c, v) in acc.acc.iter() {
                println!("  {:<17} {v:6.2}", c.name());
            }
        }
        eprintln!("run directory: {}", outcome.run_dir.display());
    } else {
        eprintln!(
            "stopped after epoch {}; continue with: betadarts search --resume {}",
            outcome.epochs_done,
            outcome.run_dir.display()
        );
    }
    Ok(())
}

fn default_run_dir(c: &SearchConfig) -> PathBuf {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from("runs").join(format!(
        "{}-{}-{}-s{}-{t}",
        c.space, c.dataset, c.regularizer, c.seed
    ))
}
