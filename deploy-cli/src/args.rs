//! The deploy subcommands' flags, shared by `betadarts deploy …` and `betadarts-deploy …`.

use std::path::PathBuf;

use betadarts_deploy::EngineKind;
use clap::Subcommand;

use crate::parse::{count, seconds, within};

#[derive(Subcommand, Debug, Clone)]
pub enum DeployWhat {
    /// Top-k classes of images (PNG/JPEG), preprocessed with the model's own size and mean/std.
    Predict {
        /// Exported ONNX model.
        model: PathBuf,
        /// Image files (PNG/JPEG).
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// The runtime.
        #[arg(long, default_value = "tract", value_parser = engines(false))]
        engine: String,
        /// Threads for the engine (tract's matrix products, ONNX Runtime's intra-op pool)
        /// [default: every core].
        #[arg(long, value_parser = within::<1, 1024>)]
        threads: Option<usize>,
        /// Classes to report per image.
        #[arg(long, default_value_t = 5, value_parser = count)]
        top_k: usize,
        /// One JSON object per image: {"file", "top": [{"class", "index", "prob"}], "logits"}.
        #[arg(long)]
        json: bool,
    },
    /// Latency p50/p90/p99 and throughput per engine, batch size (1, 8, 32) and thread count
    /// (1 and every core).
    Bench {
        /// Exported ONNX model.
        model: PathBuf,
        /// The runtime, or all (every engine that can run here).
        #[arg(long, default_value = "all", value_parser = engines(true))]
        engine: String,
        /// Batch sizes.
        #[arg(long, value_delimiter = ',', default_value = "1,8,32", value_parser = within::<1, 4096>)]
        batch: Vec<usize>,
        /// Thread counts to time each engine at [default: 1 and every core].
        #[arg(long, value_delimiter = ',', value_parser = within::<1, 1024>)]
        threads: Vec<usize>,
        /// Minimum timed seconds per configuration.
        #[arg(long, default_value_t = 1.0, value_parser = seconds)]
        seconds: f64,
        /// Print one JSON object (rows of engine, threads, batch, p50/p90/p99, images/s, GFLOP/s).
        #[arg(long)]
        json: bool,
    },
    /// HTTP server: POST /v1/predict (image body or JSON tensor), GET /v1/model, GET /healthz.
    Serve {
        /// Exported ONNX model.
        model: PathBuf,
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// The runtime.
        #[arg(long, default_value = "tract", value_parser = engines(false))]
        engine: String,
        /// Threads for the engine (tract's matrix products, ONNX Runtime's intra-op pool)
        /// [default: every core].
        #[arg(long, value_parser = within::<1, 1024>)]
        threads: Option<usize>,
        /// Largest request body in bytes (413 above).
        #[arg(long, default_value_t = 8 << 20, value_parser = within::<1, 1073741824>)]
        max_body: usize,
        /// Seconds before a request is answered 504.
        #[arg(long, default_value_t = 30.0, value_parser = seconds)]
        timeout: f64,
        /// Seconds a client has to send a request's headers (and a keep-alive connection may
        /// sit idle) before the connection is closed.
        #[arg(long, default_value_t = 10.0, value_parser = seconds)]
        header_timeout: f64,
        /// Requests queued for the engine before new ones get 503.
        #[arg(long, default_value_t = 64, value_parser = within::<1, 1048576>)]
        queue: usize,
        /// Largest micro-batch (images).
        #[arg(long, default_value_t = 32, value_parser = within::<1, 4096>)]
        max_batch: usize,
        /// Open connections at most (more wait in the kernel's backlog); under the usual limit
        /// of 1024 open files.
        #[arg(long, default_value_t = 512, value_parser = within::<1, 65536>)]
        max_connections: usize,
        /// The model's name in the Open Inference Protocol (KServe v2) paths,
        /// `/v2/models/NAME/infer` [default: the model file's name without .onnx].
        #[arg(long)]
        model_name: Option<String>,
    },
    /// Top-1 / top-5 accuracy on a CIFAR test file, IDX test files, an ImageNet-style folder
    /// (one sub-folder per class), or a folder with labels.csv (file,label columns).
    Eval {
        /// Exported ONNX model.
        model: PathBuf,
        /// Labelled data: a CIFAR .bin file, a python-version CIFAR test file (test_batch, test) or
        /// ImageNet16 val_data, a folder of IDX files, class folders, or a labels.csv folder.
        #[arg(long)]
        data: PathBuf,
        /// The runtime.
        #[arg(long, default_value = "tract", value_parser = engines(false))]
        engine: String,
        /// Threads for the engine (tract's matrix products, ONNX Runtime's intra-op pool)
        /// [default: every core].
        #[arg(long, value_parser = within::<1, 1024>)]
        threads: Option<usize>,
        /// Images per engine run.
        #[arg(long, default_value_t = 32, value_parser = within::<1, 4096>)]
        batch: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// A second model evaluated on the same data with the same engine (the float model
        /// beside its INT8 version, say): both accuracies, their difference and how often the
        /// two predict the same class.
        #[arg(long)]
        baseline: Option<PathBuf>,
    },
}

/// `--engine`'s values from the engine table (aliases accepted, not listed); `all` for bench.
fn engines(all: bool) -> clap::builder::PossibleValuesParser {
    use clap::builder::PossibleValue;
    let mut v: Vec<PossibleValue> = EngineKind::ALL
        .into_iter()
        .map(|k| {
            let s = k.spec();
            PossibleValue::new(s.name)
                .help(s.about)
                .aliases(s.aliases.iter().copied())
        })
        .collect();
    if all {
        v.push(PossibleValue::new("all").help("every engine that can run here"));
    }
    v.into()
}
