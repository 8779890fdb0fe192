//! `betadarts search`: flags → [`SearchConfig`] → run directory.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use betadarts_search::bilevel::{self, SearchConfig};
use betadarts_search::darts::OpSet;
use betadarts_search::data::DatasetName;
use betadarts_search::data::folder_subset::ClassPick;
use betadarts_search::device::parse_device;
use betadarts_search::regularizer::{Aggregation, RegularizerKind};
use betadarts_search::schedule::LambdaSchedule;
use betadarts_search::space::SpaceKind;
use betadarts_search::temperature::TemperatureSchedule;

use crate::cli::SearchArgs;
use crate::progress::EpochBars;

/// Turns flags into a validated config. The built-in mini dataset gets small defaults so
/// that a bare `betadarts search` finishes in minutes on a laptop CPU.
pub fn config_from_args(a: &SearchArgs) -> Result<SearchConfig> {
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
        temperature: temperature_from_args(a)?,
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
fn temperature_from_args(a: &SearchArgs) -> Result<TemperatureSchedule> {
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

pub fn search(args: SearchArgs, quiet: bool) -> Result<()> {
    let device = parse_device(&args.device)?;
    let mut bars = EpochBars::new(quiet);
    let outcome = if let Some(dir) = &args.resume {
        bilevel::resume(dir, &device, args.stop_after, &mut bars)
            .with_context(|| format!("resuming {}", dir.display()))?
    } else {
        let config = config_from_args(&args)?;
        let dir = args.out.clone().unwrap_or_else(|| default_run_dir(&config));
        tracing::info!(
            run = %dir.display(),
            space = %config.space,
            dataset = %config.dataset,
            regularizer = %config.regularizer,
            lambda = %config.lambda,
            epochs = config.epochs,
            "search"
        );
        bilevel::run_search(config, &dir, &device, args.stop_after, &mut bars)
            .with_context(|| format!("search in {}", dir.display()))?
    };
    if let Some(arch) = outcome.final_arch.as_ref().filter(|_| outcome.finished) {
        println!("{arch}");
        if let Some(acc) = outcome.history.last().and_then(|r| r.nb201.as_ref()) {
            println!("NAS-Bench-201 index {}:", acc.index);
            for (c, v) in betadarts_search::nb201::table::COLUMNS.iter().zip(acc.acc) {
                println!("  {c:<17} {v:6.2}");
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
