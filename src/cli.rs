//! Command-line arguments (clap derive). Raw flags are turned into typed configs in
//! `commands::*` before any work starts.

use std::path::PathBuf;

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
    /// Dataset: fashion-mnist-mini (built in), fashion-mnist, mnist, cifar10, cifar100,
    /// imagenet16-120 (NAS-Bench-201's 16×16 pickles), imagefolder (DIR/train/<class>/*.jpg,
    /// decoded into memory at --image-size, 32 by default).
    #[arg(long, default_value = "fashion-mnist-mini")]
    pub dataset: String,
    /// Dataset folder, or a folder holding the datasets' standard sub-folders
    /// (cifar-10-batches-bin/ or -py/, cifar-100-binary/ or -python/, ImageNet16/, MNIST/raw/,
    /// FashionMNIST/raw/). Fashion-MNIST falls back to /usr/share/datasets/fashion-mnist.
    #[arg(long, env = "BETADARTS_DATA")]
    pub data_dir: Option<PathBuf>,
    /// imagefolder: the classes to search on, a number (the first N class folders in sorted
    /// order) or folder names separated by commas [default: all].
    #[arg(long)]
    pub classes: Option<String>,
    /// imagefolder: at most this many images of each class (the first in sorted file order)
    /// [default: all].
    #[arg(long)]
    pub images_per_class: Option<usize>,
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
    /// Regularizer of α in the arch step: none, l2, beta (β-decay), beta-global, beta-zero, or
    /// beta-learned (experimental: β-decay with a per-edge strength learned on the arch split).
    #[arg(long, default_value = "beta")]
    pub regularizer: String,
    /// Temperature decay (TD-DARTS), β = softmax(α/T_e) in both steps: none, constant:T,
    /// exponential:T0:TMIN (T0·γ^e reaching TMIN at the last epoch) or linear:T0:TMIN.
    /// Combines with any --regularizer.
    #[arg(long, default_value = "none")]
    pub temperature: String,
    /// Starting temperature T0; overrides the one in --temperature (e.g. --temperature
    /// exponential --t0 1 --t-min 0.1).
    #[arg(long)]
    pub t0: Option<f64>,
    /// Final temperature TMIN of an exponential or linear --temperature.
    #[arg(long)]
    pub t_min: Option<f64>,
    /// beta-learned: step size of the per-edge strength (hypergradient, cosine-normalised).
    #[arg(long, default_value_t = 0.01)]
    pub strength_lr: f64,
    /// beta-learned: upper bound θ_max of the strength θ = θ_max·sigmoid(φ) (starts at 1).
    #[arg(long, default_value_t = 2.0)]
    pub strength_max: f64,
    /// NAS-Bench-201 accuracy table (CSV): the derived arch is looked up after every epoch,
    /// recorded in the history and printed at the end (nb201 space only).
    #[arg(long, env = "BETADARTS_NB201_TABLE")]
    pub table: Option<PathBuf>,
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
        /// Replace cell.svg / cell.dot even when they were not drawn by betadarts.
        #[arg(long)]
        force: bool,
    },
    /// Check a genotype file and print it as JSON.
    Show {
        /// Genotype file (JSON or Python form).
        file: PathBuf,
    },
    /// Parameters and multiply-adds of the network built from a genotype.
    ///
    /// `params` excludes the auxiliary head, as the papers report it; `aux_params` is the
    /// head alone. `madds` counts the multiply-adds of convolutions and linear layers for one
    /// image (BN, pooling, additions and activations not counted): the convention behind the
    /// 528 M usually cited for DARTS on CIFAR-10. Published ImageNet tables mix conventions
    /// (574 M is also quoted for DARTS; this tool gives 530 M at 224×224).
    Info {
        /// Genotype file (JSON or Python form).
        file: PathBuf,
        /// cifar (C=36, 20 cells) or imagenet (C=48, 14 cells).
        #[arg(long, default_value = "cifar", value_parser = ["cifar", "imagenet"])]
        network: String,
        /// Classes of the classifier.
        #[arg(long, default_value_t = 10)]
        classes: usize,
        /// Initial channels [default: 36 for cifar, 48 for imagenet].
        #[arg(long)]
        channels: Option<usize>,
        /// Cells [default: 20 for cifar, 14 for imagenet].
        #[arg(long)]
        layers: Option<usize>,
        /// Input side [default: 32 for cifar, 224 for imagenet].
        #[arg(long)]
        image_size: Option<usize>,
        /// Print one JSON object (keys params, aux_params, madds, …).
        #[arg(long)]
        json: bool,
    },
}

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
    /// Device: cpu, tch-cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Random seed (weights, data order, augmentation, drop-path); the reference trains with 0.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run directory [default: runs/train-<network>-<dataset>-s<seed>-<time>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the training run in this directory from last.ckpt.
    #[arg(long, conflicts_with = "out")]
    pub resume: Option<PathBuf>,
    /// Stop after this many epochs in this process (resumable).
    #[arg(long)]
    pub stop_after: Option<usize>,
}

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// A training run directory (its best.ckpt) or a checkpoint file (last.ckpt, best.ckpt).
    #[arg(required_unless_present = "random_init")]
    pub checkpoint: Option<PathBuf>,
    /// Output file. An existing file is replaced only when betadarts wrote it (re-exporting),
    /// or with --force.
    #[arg(short, long)]
    pub output: PathBuf,
    /// onnx (for tract / ONNX Runtime) or safetensors (the weights under the names of the
    /// PyTorch reference networks, with the genotype; load with python/betadarts_torch.py)
    /// [default: safetensors when -o ends in .safetensors, else onnx].
    #[arg(long, value_parser = ["onnx", "safetensors"])]
    pub format: Option<String>,
    /// Replace the output file whatever it holds.
    #[arg(long)]
    pub force: bool,
    /// Keep BN as BatchNormalization nodes instead of folding it into the convolutions.
    #[arg(long)]
    pub no_fold: bool,
    /// Write a statically quantized INT8 model (QDQ: int8 per-channel weights, uint8
    /// activations calibrated on --calibrate); compare it with the float model by
    /// `deploy eval INT8.onnx --baseline FLOAT.onnx --data …`.
    #[arg(long, requires = "calibrate")]
    pub int8: bool,
    /// Calibration images for --int8: anything `deploy eval --data` reads (class folders, a
    /// labels.csv folder, a CIFAR test file, IDX files).
    #[arg(long, requires = "int8")]
    pub calibrate: Option<PathBuf>,
    /// How activation ranges are chosen: minmax, or percentile[:P] (clip to the P and 100 − P
    /// percentiles; P = 99.99 by default).
    #[arg(long, default_value = "minmax")]
    pub calibration: String,
    /// At most this many calibration images (spread evenly over the data).
    #[arg(long, default_value_t = 512)]
    pub calibration_images: usize,
    /// Check the exported file against the burn network in tract and ONNX Runtime (when its
    /// library is found: ORT_DYLIB_PATH or `pip install onnxruntime`); fails on a mismatch.
    #[arg(long)]
    pub check: bool,
    /// Also check on the PNG/JPEG images of this folder (e.g. lossless dataset samples).
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// Export an untrained network of the right shape (for latency work before training).
    #[arg(long, requires = "network_source")]
    pub random_init: bool,
    /// With --random-init: the genotype file of a cifar/imagenet network.
    #[arg(long, group = "network_source", conflicts_with = "checkpoint")]
    pub genotype: Option<PathBuf>,
    /// With --random-init: the NB201 arch string.
    #[arg(long, group = "network_source", conflicts_with = "checkpoint")]
    pub arch: Option<String>,
    /// With --random-init: cifar, imagenet or nb201 [default: nb201 with --arch, else cifar].
    #[arg(long, value_parser = ["cifar", "imagenet", "nb201"])]
    pub network: Option<String>,
    /// With --random-init: classes of the classifier.
    #[arg(long, default_value_t = 10)]
    pub classes: usize,
    /// With --random-init: the seed of the weights (the same seed gives the same file).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// With --random-init: initial channels [default: the network's recipe].
    #[arg(long)]
    pub channels: Option<usize>,
    /// With --random-init: cells [default: the network's recipe].
    #[arg(long)]
    pub layers: Option<usize>,
    /// Input side [default: 32, or 224 for imagenet].
    #[arg(long)]
    pub image_size: Option<usize>,
}

#[derive(Args, Debug, Clone)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub what: DeployWhat,
}

#[derive(Args, Debug, Clone)]
pub struct Nb201Args {
    /// The accuracy table (CSV: index, arch, cifar10_valid, cifar10_test, cifar100_valid,
    /// cifar100_test, imagenet16_valid, imagenet16_test).
    #[arg(long, env = "BETADARTS_NB201_TABLE", global = true)]
    pub table: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub what: Nb201What,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Nb201What {
    /// The six accuracies and the index of an arch string or index.
    Lookup { arch: String },
    /// The best architecture of each column.
    Best,
    /// Percentile of an arch per column (share of architectures with lower accuracy).
    Rank { arch: String },
}

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
