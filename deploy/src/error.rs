//! Errors of the deploy crate; file errors carry the path.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The cause is part of the message and deliberately not a `source()`: error reporters print
    // both, which showed every I/O cause twice.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
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
    /// Input over a size limit (an image's declared pixels or its decoded bytes).
    #[error("{0}")]
    TooLarge(String),
}

pub type Result<T> = std::result::Result<T, Error>;
