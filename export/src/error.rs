//! Errors of the exporter.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Search(#[from] betadarts_search::Error),
    #[error(transparent)]
    Deploy(#[from] betadarts_deploy::Error),
    #[error("export: {0}")]
    Unsupported(String),
    #[error("parity: {0}")]
    Parity(String),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
