//! Errors of the deploy crate; file errors carry the path.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not a (usable) betadarts ONNX model.
    #[error("model: {0}")]
    Model(String),
    #[error("tract: {0:#}")]
    Tract(anyhow::Error),
    #[error("onnxruntime: {0}")]
    Ort(String),
    /// Bad input data (image, tensor shape).
    #[error("{0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, Error>;
