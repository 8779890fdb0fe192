//! The bilevel β-DARTS loop (first order, spec §2): per step an Adam step on α over an arch
//! batch (CE + λ·regularizer), then an SGD step on the weights over a weight batch with
//! softmax(α) as fixed mixing weights. Runs are recorded in a run directory and resume from
//! their last checkpoint.

mod architect;
mod checkpoint;
mod config;
mod diagnostics;
mod epochs;
mod history;
mod pictures;
mod progress;
mod run;

pub use architect::{Searcher, StepReport, StepStats, build_optimizers};
pub use config::SearchConfig;
pub use diagnostics::Diagnostics;
pub use history::{EpochRecord, Nb201Accuracy, read_history};
pub use progress::{Observer, Running, SilentObserver};
pub use run::{
    ARCH_FILE, CHECKPOINT_FILE, CONFIG_FILE, GENOTYPE_FILE, HISTORY_FILE, RunOutcome, SUMMARY_FILE,
    resume, run_search,
};
