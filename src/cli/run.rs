//! The flags of a long run, shared by `search` and `train`: where it runs, where it is written,
//! and how it stops and continues.

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Device: cpu (pure-Rust flex backend), tch-cpu or cuda:N (libtorch; build with
    /// --features tch).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Run directory [default: a new folder under runs/ named after the run and the time].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint (its config.json wins over
    /// other flags, except --device and --stop-after).
    #[arg(long, conflicts_with = "out")]
    pub resume: Option<PathBuf>,
    /// Stop after this many epochs in this process, resumable later with --resume (for jobs
    /// under a scheduler's time limit).
    #[arg(long)]
    pub stop_after: Option<usize>,
}
