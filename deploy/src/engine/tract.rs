//! tract: the pure-Rust engine, always built in.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;
use tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;

use super::{Engine, check_len};
use crate::tract_parallel::Parallel;
use crate::{Error, Result};

/// tract: the model is optimised for one image of each input shape (shapes concrete, 1×1 and
/// depthwise convs ours: [`crate::tract_plan`]), then cached. A batch runs on its own rayon
/// pool of `threads`; one image on the calling thread and `threads − 1` scoped ones.
pub struct TractEngine {
    model: InferenceModel,
    plans: HashMap<[usize; 4], Plan>,
    executor: Executor,
    threads: usize,
}

/// A fixed-shape plan, and its nodes on several threads when there are several.
#[derive(Clone)]
struct Plan {
    plan: Arc<TypedRunnableModel>,
    parallel: Option<Arc<Parallel>>,
}

/// Runs a tract call, turning a panic inside tract (a malformed model can reach one: an
/// out-of-range index in its padding code was found by fuzzing) into an error on the model.
fn tract<T>(
    what: &'static str,
    f: impl FnOnce() -> tract_onnx::prelude::TractResult<T>,
) -> Result<T> {
    quiet_panics();
    QUIET.set(Some(what));
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.set(None);
    match run {
        Ok(r) => r.map_err(Error::Tract),
        Err(payload) => {
            let why = panic_text(payload.as_ref());
            Err(Error::Model(format!(
                "tract failed while {what} (the model is malformed or unsupported): {why}"
            )))
        }
    }
}

thread_local! {
    /// Set while a panic is caught and reported as an error: the default hook's message and
    /// backtrace would only repeat it, louder.
    static QUIET: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// The panic's message, when it has one.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Installs (once) a panic hook that stays silent on a thread inside [`tract`].
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match QUIET.get() {
            None => previous(info),
            // A `panic = "abort"` build (`--profile device-min`) cannot catch it: say what
            // failed, as the error would have, before the process ends.
            Some(what) if cfg!(panic = "abort") => eprintln!(
                "error: tract failed while {what} (the model is malformed or unsupported): {}",
                panic_text(info.payload())
            ),
            Some(_) => {}
        }));
    });
}

impl TractEngine {
    /// `threads`: None for every core.
    pub fn new(onnx: &[u8], threads: Option<usize>) -> Result<Self> {
        crate::tract_isa::choose();
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
            threads: n,
        })
    }

    fn plan(&mut self, shape: [usize; 4]) -> Result<Plan> {
        if let Some(p) = self.plans.get(&shape) {
            return Ok(p.clone());
        }
        let plan = tract("optimising the model", || {
            crate::tract_plan::optimised_plan(self.model.clone(), shape)
        })?;
        let parallel = tract("spreading the model over threads", || {
            checked_parallel(&plan, shape, self.threads)
        })?;
        let plan = Plan { plan, parallel };
        self.plans.insert(shape, plan.clone());
        Ok(plan)
    }
}

/// The plan on `threads` threads when its nodes allow it and it gives tract's own outputs, bit
/// for bit, on a test image (checked once per shape, so that a node this runner mishandles
/// costs speed, not results).
fn checked_parallel(
    plan: &Arc<TypedRunnableModel>,
    shape: [usize; 4],
    threads: usize,
) -> TractResult<Option<Arc<Parallel>>> {
    let Some(parallel) = Parallel::new(plan.clone(), threads)? else {
        return Ok(None);
    };
    let n: usize = shape.iter().product();
    let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let x = Tensor::from_shape(&shape, &x)?.into_tvalue();
    let want = plan.run(tvec!(x.clone()))?;
    let got = parallel.run(tvec!(x))?;
    let same = want.len() == got.len()
        && want
            .iter()
            .zip(&got)
            .all(|(a, b)| a.shape() == b.shape() && a.as_bytes() == b.as_bytes());
    if !same {
        tracing::warn!(
            "tract: this model's nodes on {threads} threads gave other outputs than in order; running them in order"
        );
        return Ok(None);
    }
    Ok(Some(Arc::new(parallel)))
}

impl Engine for TractEngine {
    fn name(&self) -> &'static str {
        "tract"
    }

    /// A batch runs image by image on the batch-1 plan: tract's plans for N > 1 move axes and
    /// walk depthwise convs per (image, channel) plane, and ran 1.4–1.8× slower per image than
    /// N single-image runs (DARTS_V2, batch 8 and 32, `examples/tract_profile.rs`). With several
    /// threads, a batch runs its images in parallel, each on one thread, and a single image its
    /// independent nodes side by side (`tract_parallel.rs`), none of them split across the pool:
    /// that cost more than it saved (DARTS_V2, 2 threads: 14.2–14.3 ms with tract's own ops
    /// split, 13.7–13.9 without, in order; ours: `depthwise.rs`).
    fn run(&mut self, input: &[f32], shape: [usize; 4]) -> Result<(Vec<f32>, usize)> {
        check_len(input, shape)?;
        let [n, c, h, w] = shape;
        let Plan { plan, parallel } = self.plan([1, c, h, w])?;
        // A single image spreads its nodes over the threads; a batch, its images.
        let parallel = parallel.filter(|_| n == 1);
        // One image's output and its last dimension (the classes, for logits).
        let one = |x: &[f32]| -> TractResult<(Vec<f32>, usize)> {
            let x = Tensor::from_shape(&[1, c, h, w], x)?.into_tvalue();
            let out = match &parallel {
                Some(p) => p.run_with(tvec!(x), &|| QUIET.set(Some("running the model")))?,
                None => plan.run(tvec!(x))?,
            };
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
                        QUIET.set(Some("running the model"));
                        one(x)
                    })
                    .collect()
            }),
            _ => input.chunks(per).map(one).collect(),
        })?;
        let k = outs.first().map_or(1, |o| o.1);
        Ok((outs.into_iter().flat_map(|o| o.0).collect(), k))
    }
}
