//! One interface over the runtimes, and [`EngineKind`]'s table: its names, what it needs on the
//! machine, and how it is loaded. tract (pure Rust) is always available; ONNX Runtime is loaded
//! at run time from `ORT_DYLIB_PATH` or the `onnxruntime` Python package, so builds never need
//! its library. Adding a runtime: a file with its [`Engine`], one variant, one arm in
//! [`EngineKind::spec`]; parsing, `--engine` help, the parity check and `bench --engine all`
//! follow.

mod onnxruntime;
mod tract;

use crate::{Error, Result};

pub use onnxruntime::{OrtEngine, find_onnxruntime};
pub use tract::TractEngine;

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

/// Loads a model (ONNX bytes) with `threads` (`None` = the engine's default).
pub type Loader = fn(&[u8], Option<usize>) -> Result<Box<dyn Engine>>;

/// What the rest of the code knows about an engine.
pub struct EngineSpec {
    /// `--engine` value (also the serialised name); `aliases` are accepted too.
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// One line for `--engine`'s help.
    pub about: &'static str,
    /// `Err(why)` when this machine cannot run it (a missing library).
    pub available: fn() -> std::result::Result<(), String>,
    /// `threads`: `None` = the engine's default (every core).
    pub load: Loader,
}

impl EngineKind {
    /// Every engine, in the order they are tried and reported.
    pub const ALL: [EngineKind; 2] = [EngineKind::Tract, EngineKind::Ort];

    pub fn spec(self) -> EngineSpec {
        match self {
            EngineKind::Tract => EngineSpec {
                name: "tract",
                aliases: &[],
                about: "pure Rust, built in",
                available: || Ok(()),
                load: |onnx, threads| Ok(Box::new(TractEngine::new(onnx, threads)?)),
            },
            EngineKind::Ort => EngineSpec {
                name: "ort",
                aliases: &["onnxruntime"],
                about: "ONNX Runtime: ORT_DYLIB_PATH or `pip install onnxruntime`",
                available: onnxruntime::availability,
                load: |onnx, threads| Ok(Box::new(OrtEngine::new(onnx, threads)?)),
            },
        }
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// `Err(why)` when this machine cannot run it.
    pub fn available(self) -> std::result::Result<(), String> {
        (self.spec().available)()
    }

    /// The engines this machine can run, and why each other one cannot.
    pub fn usable() -> (Vec<EngineKind>, Vec<(EngineKind, String)>) {
        let (mut ok, mut missing) = (Vec::new(), Vec::new());
        for kind in Self::ALL {
            match kind.available() {
                Ok(()) => ok.push(kind),
                Err(why) => missing.push((kind, why)),
            }
        }
        (ok, missing)
    }
}

impl std::str::FromStr for EngineKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        EngineKind::ALL
            .into_iter()
            .find(|k| k.name() == s || k.spec().aliases.contains(&s))
            .ok_or_else(|| {
                let names: Vec<&str> = EngineKind::ALL.iter().map(|k| k.name()).collect();
                Error::Input(format!(
                    "unknown engine {s:?}; choose {}",
                    names.join(" or ")
                ))
            })
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

pub fn load_engine(
    kind: EngineKind,
    onnx: &[u8],
    threads: Option<usize>,
) -> Result<Box<dyn Engine>> {
    (kind.spec().load)(onnx, threads)
}

/// The input holds `shape`'s values.
pub(crate) fn check_len(input: &[f32], shape: [usize; 4]) -> Result<()> {
    if input.len() != shape.iter().product::<usize>() {
        return Err(Error::Input(format!(
            "input has {} values, shape {shape:?} needs {}",
            input.len(),
            shape.iter().product::<usize>()
        )));
    }
    Ok(())
}
