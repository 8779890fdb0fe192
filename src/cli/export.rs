//! `betadarts export`'s flags.

use std::path::PathBuf;

use clap::Args;

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
