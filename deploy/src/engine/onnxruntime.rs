//! ONNX Runtime, loaded at run time (`load-dynamic`): the library is found, never linked.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::{Engine, check_len};
use crate::{Error, Result};

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

/// `Err(why)` when ONNX Runtime cannot be used on this machine.
pub(super) fn availability() -> std::result::Result<(), String> {
    environment().map(|_| ()).map_err(|e| match e {
        Error::Ort(why) => why,
        other => other.to_string(),
    })
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
