//! Command-line arguments (clap derive), one file per subcommand; each args type that has a
//! library config owns its conversion (`SearchArgs::to_config`, `TrainArgs::to_config`), which
//! the commands and the study planner call before any work starts.

mod export;
mod genotype;
mod nb201;
mod run;
mod search;
mod study;
mod train;

pub use export::ExportArgs;
pub use genotype::{GenotypeArgs, GenotypeWhat};
pub use nb201::{Nb201Args, Nb201What};
pub use run::RunArgs;
pub use search::SearchArgs;
pub use study::{GridArgs, StudyArgs, StudyWhat};
pub use train::TrainArgs;

use clap::{Args, Parser, Subcommand};

pub use betadarts_deploy_cli::DeployWhat;
pub(crate) use betadarts_deploy_cli::parse::within;

pub use crate::commands::bench::BenchArgs;

#[derive(Parser, Debug)]
#[command(
    name = "betadarts",
    version,
    about = "β-DARTS differentiable architecture search: search a cell, record the run, benchmark",
    long_about = "β-DARTS differentiable architecture search (DARTS + Beta-Decay regularization).\n\n\
                  `betadarts search` with no arguments runs a short real NAS-Bench-201 search on the \
                  Fashion-MNIST subset built into the binary. Logs go to stderr (BETADARTS_LOG=debug \
                  for more); results go to the run directory.",
    after_help = "Exit codes: 0 success; 1 failure while running (I/O, a diverged run, a damaged \
                  checkpoint with no good one before it); 2 bad input or usage (flags, configs, \
                  data files, models, a run directory in use or already holding a run, an output \
                  file export will not replace)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output (debug level).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Only warnings and errors; no progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Search a cell with (β-)DARTS and record the run in a run directory.
    Search(SearchArgs),
    /// Print performance figures (median step time, peak memory).
    Bench(BenchArgs),
    /// Work with genotypes (DARTS cells) and NB201 arch strings.
    Genotype(GenotypeArgs),
    /// Train the network of a genotype or NB201 arch string from scratch (retraining).
    Train(TrainArgs),
    /// Export a trained network (or an untrained one of the right shape) as ONNX.
    Export(ExportArgs),
    /// Run exported ONNX models: predict, bench, serve over HTTP, evaluate accuracy.
    Deploy(DeployArgs),
    /// Query the NAS-Bench-201 accuracy table (a CSV given by --table or BETADARTS_NB201_TABLE).
    Nb201(Nb201Args),
    /// Regularizer studies: a grid of searches (regularizers × λ schedules × temperatures ×
    /// seeds) from a TOML plan, run locally or on Slurm, and reported side by side.
    Study(StudyArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub what: DeployWhat,
}
