//! The crate's one error type: every variant says which file or input was wrong and how.

use std::path::PathBuf;

/// Errors of the search library. File errors always carry the path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The cause is part of the message and deliberately not a `source()`: error reporters print
    // both, which showed every I/O cause twice.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// A data file whose content does not match its format.
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    /// A dataset that is not on disk, with instructions to get it.
    #[error("{0}")]
    MissingData(String),
    /// Bad user input (flags, arch strings, configs).
    #[error("{0}")]
    Invalid(String),
    /// A backend that this build does not contain.
    #[error("{0}")]
    Backend(String),
    #[error("{path}: checkpoint: {message}")]
    Checkpoint { path: PathBuf, message: String },
    /// A loss, gradient or α that is not finite (the run was stopped; see [`crate::guard`]).
    #[error("{0}")]
    Diverged(String),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Data(#[from] betadarts_data::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}
