//! One interface over two runtimes. tract (pure Rust) is always available; ONNX Runtime is
//! loaded at run time from `ORT_DYLIB_PATH` or the `onnxruntime` Python package, so builds
//! never need its library.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use tract_linalg::multithread::{Executor, multithread_tract_scope};
use tract_onnx::prelude::*;

use crate::{Error, Result};

/// Runs a batch of images `[N, C, S, S]` (flattened, normalised) to logits `[N, K]`.
pub trait Engine: Send {
    fn name(&self) -> &'static str;
    /// Returns the flattened logits and the number of classes.
    fn run(&mut self, input: &[f32], shape: [usize; 4]) -> Result<(Vec<f32>, usize)>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Tract,
    Ort,
}

impl std::str::FromStr for EngineKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tract" => Ok(EngineKind::Tract),
            "ort" | "onnxruntime" => Ok(EngineKind::Ort),
            _ => Err(Error::Input(format!(
                "unknown engine {s:?}; choose tract or ort"
            ))),
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Tract => "tract",
            EngineKind::Ort => "ort",
        })
    }
}

pub fn load_engine(
    kind: EngineKind,
    onnx: &[u8],
    threads: Option<usize>,
) -> Result<Box<dyn Engine>> {
    Ok(match kind {
        EngineKind::Tract => Box::new(TractEngine::new(onnx, threads)?),
        EngineKind::Ort => Box::new(OrtEngine::new(onnx, threads)?),
    })
}

/// tract: the model is optimised for one image of each input shape (shapes concrete, small
/// depthwise convs channel-last: [`crate::tract_layout`]), then cached. Runs on its own rayon
/// pool of `threads`; one thread runs inline.
pub struct TractEngine {
    model: InferenceModel,
    plans: HashMap<[usize; 4], Arc<TypedRunnableModel>>,
    executor: Executor,
}

/// Runs a tract call, turning a panic inside tract (a malformed model can reach one: an
/// out-of-range index in its padding code was found by fuzzing) into an error on the model.
fn tract<T>(what: &str, f: impl FnOnce() -> tract_onnx::prelude::TractResult<T>) -> Result<T> {
    quiet_panics();
    QUIET.set(true);
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.set(false);
    match run {
        Ok(r) => r.map_err(Error::Tract),
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Error::Model(format!(
                "tract failed while {what} (the model is malformed or unsupported): {why}"
            )))
        }
    }
}

thread_local! {
    /// Set while a panic is caught and reported as an error: the default hook's message and
    /// backtrace would only repeat it, louder.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs (once) a panic hook that stays silent on a thread inside [`tract`].
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.get() {
                previous(info)
            }
        }));
    });
}

impl TractEngine {
    /// `threads`: None for every core.
    pub fn new(onnx: &[u8], threads: Option<usize>) -> Result<Self> {
        let model = tract("reading the model", || {
            tract_onnx::onnx().model_for_read(&mut &onnx[..])
        })?;
        let n =
            threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let executor = if n > 1 {
            tract("starting its threads", || Ok(Executor::multithread(n)))?
        } else {
            Executor::SingleThread
        };
        Ok(Self {
            model,
            plans: HashMap::new(),
            executor,
        })
    }

    fn plan(&mut self, shape: [usize; 4]) -> Result<Arc<TypedRunnableModel>> {
        if let Some(p) = self.plans.get(&shape) {
            return Ok(p.clone());
        }
        let plan = tract("optimising the model", || {
            crate::tract_layout::optimised_plan(self.model.clone(), shape)
        })?;
        self.plans.insert(shape, plan.clone());
        Ok(plan)
    }
}

impl Engine for TractEngine {
    fn name(&self) -> &'static str {
        "tract"
    }

    /// A batch runs image by image on the batch-1 plan: tract's plans for N > 1 move axes and
    /// walk depthwise convs per (image, channel) plane, and ran 1.4–1.8× slower per image than
    /// N single-image runs (DARTS_V2, batch 8 and 32, `examples/tract_profile.rs`). With several
    /// threads, one image runs with its matrix products split across the pool; a batch runs its
    /// images in parallel, each on one thread.
    fn run(&mut self, input: &[f32], shape: [usize; 4]) -> Result<(Vec<f32>, usize)> {
        check_len(input, shape)?;
        let [n, c, h, w] = shape;
        let plan = self.plan([1, c, h, w])?;
        // One image's output and its last dimension (the classes, for logits).
        let one = |x: &[f32]| -> TractResult<(Vec<f32>, usize)> {
            let x = Tensor::from_shape(&[1, c, h, w], x)?;
            let out = plan.run(tvec!(x.into_tvalue()))?;
            let y = out[0].to_plain_array_view::<f32>()?;
            Ok((y.iter().copied().collect(), *y.shape().last().unwrap_or(&1)))
        };
        let per = c * h * w;
        if per == 0 {
            return Err(Error::Input(format!(
                "input shape {shape:?} has no values per image"
            )));
        }
        let outs: Vec<(Vec<f32>, usize)> = tract("running the model", || match &self.executor {
            Executor::MultiThread(pool) if n > 1 => pool.install(|| {
                input
                    .par_chunks(per)
                    .map(|x| {
                        QUIET.set(true);
                        one(x)
                    })
                    .collect()
            }),
            executor if n == 1 => {
                multithread_tract_scope(executor.clone(), || one(input)).map(|y| vec![y])
            }
            _ => input.chunks(per).map(one).collect(),
        })?;
        let k = outs.first().map_or(1, |o| o.1);
        Ok((outs.into_iter().flat_map(|o| o.0).collect(), k))
    }
}

fn check_len(input: &[f32], shape: [usize; 4]) -> Result<()> {
    if input.len() != shape.iter().product::<usize>() {
        return Err(Error::Input(format!(
            "input has {} values, shape {shape:?} needs {}",
            input.len(),
            shape.iter().product::<usize>()
        )));
    }
    Ok(())
}

/// Where the ONNX Runtime shared library is: `ORT_DYLIB_PATH`, else the library inside the
/// `onnxruntime` Python package (`pip install onnxruntime`), if either exists.
pub fn find_onnxruntime() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi'))"])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let mut libs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))
        })
        .collect();
    libs.sort();
    libs.pop()
}

fn environment() -> Result<&'static ort::environment::Environment> {
    static ENV: OnceLock<std::result::Result<ort::environment::Environment, String>> =
        OnceLock::new();
    ENV.get_or_init(|| {
        let path = find_onnxruntime().ok_or_else(|| {
            "library not found: set ORT_DYLIB_PATH to libonnxruntime.so (pip install onnxruntime ships one)".to_string()
        })?;
        ort::init_from(&path).map_err(|e| format!("{}: {e}", path.display()))?.with_name("betadarts").build().map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Error::Ort(e.clone()))
}

/// Whether ONNX Runtime can be used on this machine.
pub fn ort_available() -> bool {
    environment().is_ok()
}

pub struct OrtEngine {
    session: ort::session::Session,
}

impl OrtEngine {
    pub fn new(onnx: &[u8], threads: Option<usize>) -> Result<Self> {
        let env = environment()?;
        let mut b = ort::session::Session::builder(env).map_err(|e| Error::Ort(e.to_string()))?;
        if let Some(t) = threads {
            b = b
                .with_intra_threads(t)
                .map_err(|e| Error::Ort(e.to_string()))?;
        }
        let session = b
            .commit_from_memory(onnx)
            .map_err(|e| Error::Ort(e.to_string()))?;
        Ok(Self { session })
    }
}

impl Engine for OrtEngine {
    fn name(&self) -> &'static str {
        "ort"
    }

    fn run(&mut self, input: &[f32], shape: [usize; 4]) -> Result<(Vec<f32>, usize)> {
        check_len(input, shape)?;
        let x = ort::value::Tensor::from_array((shape.map(|d| d as i64).to_vec(), input.to_vec()))
            .map_err(|e| Error::Ort(e.to_string()))?;
        let out = self
            .session
            .run(ort::inputs!["image" => x])
            .map_err(|e| Error::Ort(e.to_string()))?;
        let (s, data) = out["logits"]
            .try_extract_tensor::<f32>()
            .map_err(|e| Error::Ort(e.to_string()))?;
        let k = s.last().copied().unwrap_or(1) as usize;
        Ok((data.to_vec(), k))
    }
}
