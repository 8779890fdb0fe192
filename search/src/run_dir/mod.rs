//! A run's directory, one module for search and retraining alike: created or reopened under an
//! exclusive lock held for the life of the process, files replaced atomically, checkpoints
//! checksummed with the previous good one kept, histories appended and cut back byte-exactly,
//! and the temporary files of killed runs removed.

mod atomic;
mod checkpoint;
mod jsonl;
mod lock;

use std::path::{Path, PathBuf};

pub use atomic::write_atomic;
pub use checkpoint::{
    Checkpoint, load_checkpoint, previous_of, read_checkpoint, save_checkpoint, write_checkpoint,
};
pub use jsonl::{append_json_line, read_json_lines, truncate_json_lines};
pub use lock::LOCK_FILE;

use crate::{Error, Result};

/// Every run directory's configuration file: its presence is what makes a folder a run.
pub const CONFIG_FILE: &str = "config.json";

/// An open run directory; its lock is held while this lives.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    _lock: lock::Lock,
}

impl RunDir {
    /// A new run in `path` (created when missing); refused when it holds a run already.
    pub fn create(path: &Path) -> Result<RunDir> {
        if path.exists() && !path.is_dir() {
            return Err(Error::Invalid(format!(
                "{} exists and is not a directory: choose another --out",
                path.display()
            )));
        }
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        // Lock before looking, so that two processes starting at once cannot both see an
        // empty folder.
        let lock = lock::Lock::acquire(path)?;
        if path.join(CONFIG_FILE).exists() {
            return Err(Error::Invalid(format!(
                "{} already holds a run: use --resume {} to continue it, or choose another --out",
                path.display(),
                path.display()
            )));
        }
        Self::opened(path, lock)
    }

    /// The run in `path`, to continue it.
    pub fn open(path: &Path) -> Result<RunDir> {
        if !path.join(CONFIG_FILE).is_file() {
            return Err(Error::Invalid(format!(
                "{} holds no run (no {CONFIG_FILE}): start one with --out {}",
                path.display(),
                path.display()
            )));
        }
        let lock = lock::Lock::acquire(path)?;
        Self::opened(path, lock)
    }

    fn opened(path: &Path, lock: lock::Lock) -> Result<RunDir> {
        let dir = RunDir {
            path: path.to_path_buf(),
            _lock: lock,
        };
        dir.remove_leftovers()?;
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The run's configuration.
    pub fn read_config<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T> {
        let p = self.file(CONFIG_FILE);
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        serde_json::from_str(&text).map_err(|e| Error::format(&p, format!("not a {what}: {e}")))
    }

    pub fn write_config<T: serde::Serialize>(&self, config: &T) -> Result<()> {
        write_atomic(&self.file(CONFIG_FILE), &serde_json::to_vec_pretty(config)?)
    }

    /// Temporary files of writes a killed process did not finish (we hold the lock, so no
    /// live process is writing them).
    fn remove_leftovers(&self) -> Result<()> {
        let entries = std::fs::read_dir(&self.path).map_err(|e| Error::io(&self.path, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if atomic::is_temporary(&name) && entry.file_type().is_ok_and(|t| t.is_file()) {
                tracing::debug!(file = %name, "removing the temporary file of an interrupted write");
                let p = entry.path();
                std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
