//! Flags of `betadarts bench`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(Subcommand, Debug, Clone)]
pub enum BenchWhat {
    /// One full search step (α step + weight step) of a supernet on synthetic data.
    SearchStep(SearchStepBench),
    /// One training step (forward with auxiliary head and drop-path, backward, clipping, SGD
    /// with momentum) of the network of a genotype (DARTS V2 by default), on synthetic data.
    TrainStep(TrainStepBench),
    /// betadarts and the PyTorch reference scripts side by side: the same workloads, run
    /// alternately in one session at the same thread count; median step time, peak memory,
    /// and the ratio betadarts/PyTorch.
    Compare(CompareBench),
    /// Write an NB201 supernet's weights, α and one batch (safetensors), and what one search
    /// step gives here, for the PyTorch reference to check (`nb201_search.py --check DIR`).
    Dump(DumpBench),
    /// Forward + both gradients of one depthwise conv in each implementation: the fused
    /// kernel, burn's grouped conv, and the shifted-product form of earlier versions.
    Depthwise(DepthwiseBench),
}

#[derive(Args, Debug, Clone)]
pub struct DepthwiseBench {
    /// Device: cpu, tch-cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long, default_value_t = 64, value_parser = crate::cli::within::<1, 65536>)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 16, value_parser = crate::cli::within::<1, 1024>)]
    pub channels: usize,
    #[arg(long, default_value_t = 32, value_parser = crate::cli::within::<1, 1024>)]
    pub image_size: usize,
    /// Kernel sizes (DARTS: 3 and 5).
    #[arg(long, value_delimiter = ',', default_value = "3,5")]
    pub kernel: Vec<usize>,
    /// Dilations (DARTS: 1 for sep convs, 2 for dil convs).
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub dilation: Vec<usize>,
    #[arg(long, default_value_t = 5, value_parser = crate::cli::within::<1, 100000>)]
    pub repeats: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct SearchStepBench {
    /// Device: cpu, tch-cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Search space: nb201 or darts.
    #[arg(long, default_value = "nb201", value_parser = ["nb201", "darts"])]
    pub space: String,
    /// DARTS space op set: darts (8 ops) or beta-darts (7, no none).
    #[arg(long, default_value = "darts")]
    pub ops: String,
    /// Initial channels C (the reference supernets: 16).
    #[arg(long, default_value_t = 16, value_parser = crate::cli::within::<1, 1024>)]
    pub channels: usize,
    /// Cells: per stage N for nb201 (reference 5), in all for darts (reference 8)
    /// [default: 5 for nb201, 8 for darts].
    #[arg(long)]
    pub cells: Option<usize>,
    /// Images per α batch and per weight batch.
    #[arg(long, default_value_t = 64, value_parser = crate::cli::within::<1, 65536>)]
    pub batch_size: usize,
    /// Image side.
    #[arg(long, default_value_t = 32, value_parser = crate::cli::within::<1, 1024>)]
    pub image_size: usize,
    /// Classes of the classifier.
    #[arg(long, default_value_t = 10, value_parser = crate::cli::within::<1, 1048576>)]
    pub classes: usize,
    /// Timed steps (after the warm-up).
    #[arg(long, default_value_t = 10, value_parser = crate::cli::within::<1, 100000>)]
    pub repeats: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TrainStepBench {
    /// Device: cpu, tch-cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Genotype file [default: DARTS V2, built in].
    #[arg(long)]
    pub genotype: Option<PathBuf>,
    /// Initial channels (paper: 36).
    #[arg(long, default_value_t = 36, value_parser = crate::cli::within::<1, 1024>)]
    pub channels: usize,
    /// Cells (paper: 20).
    #[arg(long, default_value_t = 20, value_parser = crate::cli::within::<1, 128>)]
    pub layers: usize,
    /// Images per step (paper: 96).
    #[arg(long, default_value_t = 96, value_parser = crate::cli::within::<1, 65536>)]
    pub batch_size: usize,
    /// Image side.
    #[arg(long, default_value_t = 32, value_parser = crate::cli::within::<1, 1024>)]
    pub image_size: usize,
    /// Timed steps (after the warm-up).
    #[arg(long, default_value_t = 5, value_parser = crate::cli::within::<1, 100000>)]
    pub repeats: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CompareBench {
    /// Workloads: nb201 (C=16 N=5 b64 32²), nb201-tiny (C=4 N=5 b2 8², one thread: counts
    /// per-operation cost), darts (C=16, 8 cells, 8 ops, b64), darts-train (DARTS_V2, C=36,
    /// 20 cells, aux head, b96), or all.
    #[arg(long, value_delimiter = ',', default_value = "nb201,nb201-tiny")]
    pub workload: Vec<String>,
    /// Threads for both sides (flex's pool and torch's intra-op pool) [default: all cores;
    /// nb201-tiny always runs on 1].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Device for both sides: cpu, or cuda:N (needs a tch build here and CUDA PyTorch there).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Override the workloads' batch size (repeatable: one comparison per size).
    #[arg(long, value_delimiter = ',')]
    pub batch_size: Vec<usize>,
    /// Alternating rounds per workload (ours, theirs, ours, …).
    #[arg(long, default_value_t = 3, value_parser = crate::cli::within::<1, 1000>)]
    pub rounds: usize,
    /// Timed steps per round and side.
    #[arg(long, default_value_t = 3, value_parser = crate::cli::within::<1, 100000>)]
    pub repeats: usize,
    /// Untimed warm-up steps per round and side.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// PyTorch side: reference (the α step also computes weight gradients, as the original
    /// code does), lean (it does not, as betadarts), or both.
    #[arg(long, default_value = "reference", value_parser = ["reference", "lean", "both"])]
    pub pytorch: String,
    /// Python with torch installed [default: $BETADARTS_TORCH_PYTHON, else python3].
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// PyTorch: torch.backends.cudnn.benchmark on (GPU runs).
    #[arg(long)]
    pub cudnn_benchmark: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DumpBench {
    /// Output folder (created).
    #[arg(long)]
    pub out: PathBuf,
    /// Initial channels C.
    #[arg(long, default_value_t = 4, value_parser = crate::cli::within::<1, 1024>)]
    pub channels: usize,
    /// Cells per stage N.
    #[arg(long, default_value_t = 1, value_parser = crate::cli::within::<1, 128>)]
    pub cells: usize,
    /// Images in the batch.
    #[arg(long, default_value_t = 4, value_parser = crate::cli::within::<1, 65536>)]
    pub batch_size: usize,
    /// Image side.
    #[arg(long, default_value_t = 8, value_parser = crate::cli::within::<1, 1024>)]
    pub image_size: usize,
    /// λ of the α step.
    #[arg(long, default_value_t = 1.0)]
    pub lambda: f64,
    /// Seed of the weights, α and batch.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}
