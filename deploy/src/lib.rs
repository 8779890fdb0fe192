//! Run exported betadarts models on the edge: one [`Engine`] interface over tract (pure Rust,
//! the default) and ONNX Runtime (ort, loaded at run time), the model's own metadata (classes,
//! input size, normalisation), and the image preprocessing both share. No burn dependency: only
//! the ONNX file and a runtime.

pub mod bench;
pub mod connections;
pub mod depthwise;
pub mod engine;
pub mod error;
pub mod eval;
pub mod kserve;
pub mod meta;
pub mod metrics;
pub mod pointwise;
pub mod pool;
pub mod predict;
pub mod preprocess;
pub mod quant_pair;
pub mod serve;
pub mod subsample;
pub mod tract_isa;
pub mod tract_parallel;
pub mod tract_plan;
mod v1;
pub mod worker;

pub use engine::{Engine, EngineKind, OrtEngine, TractEngine, find_onnxruntime, load_engine};
pub use error::{Error, Result};
pub use meta::ModelMeta;
