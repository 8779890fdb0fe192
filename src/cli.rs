//! Command-line arguments (clap derive). Raw flags are turned into typed configs in
//! `commands::*` before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "betadarts",
    version,
    about = "β-DARTS differentiable architecture search: search a cell, record the run, benchmark",
    long_about = "β-DARTS differentiable architecture search (DARTS + Beta-Decay regularization).\n\n\
                  `betadarts search` with no arguments runs a short real NAS-Bench-201 search on the \
                  Fashion-MNIST subset built into the binary. Logs go to stderr (BETADARTS_LOG=debug \
                  for more); results go to the run directory."
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
}

#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    /// Search space: nb201 (NAS-Bench-201 cell, writes arch.txt) or darts (normal + reduction
    /// cells, writes genotype.json).
    #[arg(long, default_value = "nb201", value_parser = ["nb201", "darts"])]
    pub space: String,
    /// DARTS op set: darts (the 8 original ops) or beta-darts (7 ops, without none, as the
    /// β-DARTS code searches).
    #[arg(long, default_value = "beta-darts", value_parser = ["darts", "beta-darts"])]
    pub ops: String,
    /// SDARTS-RS random smoothing of the mixing weights in the weight step (ε 0.03 → 0.3), for
    /// "β-DARTS + SDARTS-RS" runs.
    #[arg(long)]
    pub perturb: bool,
    /// Dataset: fashion-mnist-mini (built in), fashion-mnist, mnist, cifar10, cifar100.
    #[arg(long, default_value = "fashion-mnist-mini")]
    pub dataset: String,
    /// Folder with the dataset files (CIFAR binary version, or the four (Fashion-)MNIST IDX
    /// files). Fashion-MNIST defaults to /usr/share/datasets/fashion-mnist (Debian package).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Search epochs [default: 100 for nb201 and 50 for darts, as in the reference code; 10 on
    /// fashion-mnist-mini].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Batch size of both the weight and the arch batches.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Initial channels C [default: 16; 8 (nb201) or 4 (darts) on fashion-mnist-mini].
    #[arg(long)]
    pub channels: Option<usize>,
    /// NB201: cells per stage N [default: 5; 2 on fashion-mnist-mini]. DARTS: cells in all
    /// [default: 8; 5 on fashion-mnist-mini].
    #[arg(long)]
    pub cells: Option<usize>,
    /// Resize images to S×S (area averaging) before search [default: the dataset's own size;
    /// 16 on fashion-mnist-mini].
    #[arg(long)]
    pub image_size: Option<usize>,
    /// Cap the steps of every epoch (quick runs) [default: one pass over the weight split].
    #[arg(long)]
    pub steps_per_epoch: Option<usize>,
    /// Fraction of the training set for the weight step; the rest feeds the α step.
    #[arg(long, default_value_t = 0.5)]
    pub train_portion: f64,
    /// Turn off crop + flip augmentation.
    #[arg(long)]
    pub no_augment: bool,
    /// Regularizer of α in the arch step: none, l2, beta (β-decay), beta-global, beta-zero.
    #[arg(long, default_value = "beta")]
    pub regularizer: String,
    /// λ schedule: constant:V, linear:START:END[:REF_EPOCHS], decrease:START:END[:REF_EPOCHS]
    /// (without REF_EPOCHS the ramp spans the run). Default: the code-literal 0→50 over 100.
    #[arg(long, default_value = "linear:0:50:100")]
    pub lambda_schedule: String,
    /// How the regularizer combines several α tensors: mean (over all rows) or sum.
    #[arg(long, default_value = "mean", value_parser = ["mean", "sum"])]
    pub aggregation: String,
    /// Initial learning rate of the weights (SGD, momentum 0.9, cosine).
    #[arg(long, default_value_t = 0.025)]
    pub w_lr: f64,
    /// Final learning rate of the cosine schedule.
    #[arg(long, default_value_t = 0.001)]
    pub w_lr_min: f64,
    /// Weight decay of the weights (coupled, as PyTorch SGD).
    #[arg(long, default_value_t = 3e-4)]
    pub w_weight_decay: f64,
    /// Global gradient-norm clip of the weight step.
    #[arg(long, default_value_t = 5.0)]
    pub grad_clip: f64,
    /// Learning rate of α (Adam, betas 0.5/0.999).
    #[arg(long, default_value_t = 3e-4)]
    pub arch_lr: f64,
    /// Weight decay of α (coupled L2 inside Adam, as the reference).
    #[arg(long, default_value_t = 1e-3)]
    pub arch_weight_decay: f64,
    /// Use cosine position e instead of e+1 (original DARTS on PyTorch 0.4).
    #[arg(long)]
    pub lr_no_shift: bool,
    /// Device: cpu (pure-Rust flex backend), tch-cpu or cuda:N (libtorch; build with
    /// --features tch).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Random seed (weights, α, data order, augmentation). The reference searches with seed 2.
    #[arg(long, default_value_t = 2)]
    pub seed: u64,
    /// Run directory [default: runs/<space>-<dataset>-<regularizer>-s<seed>-<time>].
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

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(Subcommand, Debug, Clone)]
pub enum BenchWhat {
    /// One full search step (α step + weight step) of the NB201 supernet on synthetic data.
    SearchStep(SearchStepBench),
}

#[derive(Args, Debug, Clone)]
pub struct SearchStepBench {
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long, default_value_t = 16)]
    pub channels: usize,
    #[arg(long, default_value_t = 5)]
    pub cells: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 32)]
    pub image_size: usize,
    #[arg(long, default_value_t = 10)]
    pub classes: usize,
    /// Timed steps (after the warm-up).
    #[arg(long, default_value_t = 10)]
    pub repeats: usize,
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct GenotypeArgs {
    #[command(subcommand)]
    pub what: GenotypeWhat,
}

#[derive(Subcommand, Debug, Clone)]
pub enum GenotypeWhat {
    /// Draw a cell as SVG and Graphviz DOT (cell.svg, cell.dot): inputs left, output right,
    /// edges labelled by op. FILE is a genotype (JSON or Python `Genotype(...)` form) or an
    /// NB201 arch string such as |nor_conv_3x3~0|+|…|.
    Draw {
        /// Genotype file, or an NB201 arch string.
        file: String,
        /// Output folder.
        #[arg(short, long, default_value = ".")]
        out: PathBuf,
    },
    /// Check a genotype file and print it as JSON.
    Show {
        /// Genotype file (JSON or Python form).
        file: PathBuf,
    },
}
