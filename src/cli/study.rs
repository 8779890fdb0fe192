//! `betadarts study`'s subcommands and flags.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args, Debug, Clone)]
pub struct StudyArgs {
    #[command(subcommand)]
    pub what: StudyWhat,
}

/// Changes to a plan's grid given on the command line (also recorded in the study folder).
#[derive(Args, Debug, Clone)]
pub struct GridArgs {
    /// Set a search flag for every run, overriding the plan's [search] (repeatable), e.g.
    /// --set epochs=2 --set steps-per-epoch=1.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Seeds to run instead of the plan's, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Device of every search (cpu, tch-cpu, cuda:N).
    #[arg(long)]
    pub device: Option<String>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum StudyWhat {
    /// Run a plan's searches here, N at a time; rerun to resume a half-done grid (finished runs
    /// are kept, cut-off ones resume from their checkpoints). Writes DIR/report at the end.
    Run {
        /// A plan file (TOML), or a built-in plan: cpu-mini, paper-ablation.
        plan: String,
        /// The study folder (runs/, logs/, study.json, report/).
        #[arg(long)]
        out: PathBuf,
        /// Searches running at once.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        #[command(flatten)]
        grid: GridArgs,
        /// NB201 table for the report (the searches read BETADARTS_NB201_TABLE themselves).
        #[arg(long, env = "BETADARTS_NB201_TABLE")]
        table: Option<PathBuf>,
        /// Skip the report at the end.
        #[arg(long)]
        no_report: bool,
    },
    /// Write the plan as a Slurm array job (one task per configuration × seed, each a plain
    /// `betadarts search` into the study folder) and print the script's path.
    Slurm {
        /// A plan file (TOML), or a built-in plan: cpu-mini, paper-ablation.
        plan: String,
        /// The study folder; the script goes to DIR/slurm/study.sbatch.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        grid: GridArgs,
        /// Device of the tasks unless --device is given [each task sees its own GPU as cuda:0].
        #[arg(long, default_value = "cuda:0")]
        task_device: String,
        /// Slurm partition.
        #[arg(long)]
        partition: Option<String>,
        /// Time limit per task (searches past it resume when the array is resubmitted).
        #[arg(long, default_value = "24:00:00")]
        time: String,
        /// GPUs per task (--gres=gpu:N; 0 for CPU-only tasks).
        #[arg(long, default_value_t = 1)]
        gpus: u32,
        /// CPU cores per task.
        #[arg(long, default_value_t = 8)]
        cpus_per_task: u32,
        /// Memory per task (e.g. 32G).
        #[arg(long)]
        mem: Option<String>,
        /// Most tasks running at once.
        #[arg(long)]
        max_parallel: Option<usize>,
        /// Slurm account.
        #[arg(long)]
        account: Option<String>,
        /// The betadarts binary the tasks run [default: this one; BETADARTS=… at run time wins].
        #[arg(long)]
        binary: Option<PathBuf>,
    },
    /// Gather what has finished in a study folder into a Markdown table and plots.
    Report {
        /// The study folder.
        dir: PathBuf,
        /// NB201 table to look the final cells up in (else the accuracies the runs recorded).
        #[arg(long, env = "BETADARTS_NB201_TABLE")]
        table: Option<PathBuf>,
        /// Report folder [default: DIR/report].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List the configurations and runs a plan expands to.
    Show {
        /// A plan file (TOML), or a built-in plan: cpu-mini, paper-ablation.
        plan: String,
        #[command(flatten)]
        grid: GridArgs,
    },
}
