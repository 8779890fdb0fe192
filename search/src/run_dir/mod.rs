//! A run's directory, one module for search and retraining alike: created or reopened under an
//! exclusive lock held for the life of the process, files replaced atomically, checkpoints
//! checksummed with the previous good one kept, histories appended and cut back byte-exactly,
//! and the temporary files of killed runs removed.

mod atomic;
mod checkpoint;
mod jsonl;
mod lock;
pub mod tensorboard;

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

/// The key of `config.json` (and `summary.json`) that describes the file rather than the run's
/// settings: the tool and its version, the schema version, the kind of run, and for searches
/// the layout of α and β in `history.jsonl` (tensor, edge and op names).
pub const ABOUT_KEY: &str = "about";
/// Bumped when a run file changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// `about` (an object) with the tool, its version and the schema version added.
pub fn about(extra: serde_json::Value) -> serde_json::Value {
    let mut a = serde_json::json!({
        "tool": "betadarts",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "schema_version": SCHEMA_VERSION,
    });
    if let (Some(a), serde_json::Value::Object(extra)) = (a.as_object_mut(), extra) {
        a.extend(extra);
    }
    a
}

/// The files and folders of the run in `dir` (names, sorted; folders end in `/`), without the
/// lock and temporary files.
pub fn run_files(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let folder = e.file_type().is_ok_and(|t| t.is_dir());
            let skip = name == LOCK_FILE || atomic::is_temporary(&name);
            (!skip).then(|| if folder { format!("{name}/") } else { name })
        })
        .collect();
    names.sort();
    Ok(names)
}

/// A configuration from `config.json`'s text, its `about` left out.
pub fn parse_config<T: serde::de::DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    let mut v: serde_json::Value = serde_json::from_str(text)?;
    if let Some(m) = v.as_object_mut() {
        m.remove(ABOUT_KEY);
    }
    serde_json::from_value(v)
}

/// An open run directory; its lock is held while this lives.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    _lock: lock::Lock,
    /// Made by [`RunDir::create`]: whether the folder itself was made then.
    new: Option<bool>,
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
        let made = !path.exists();
        // A run writes config.json, history.jsonl, checkpoints and pictures: in a folder of
        // other files it would replace any of the same name. Only an empty folder (or one a
        // killed start left its lock in) becomes a new run.
        if !made && !path.join(CONFIG_FILE).exists() {
            let others: Vec<String> = std::fs::read_dir(path)
                .map_err(|e| Error::io(path, e))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != LOCK_FILE && !atomic::is_temporary(n))
                .take(3)
                .collect();
            if !others.is_empty() {
                return Err(Error::Invalid(format!(
                    "{} is not empty ({}…) and holds no run: a run's files would replace files \
                     there; choose a new or empty --out",
                    path.display(),
                    others.join(", ")
                )));
            }
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
        let mut dir = Self::opened(path, lock)?;
        dir.new = Some(made);
        Ok(dir)
    }

    /// Undoes [`RunDir::create`] for a run that failed before it saved anything (bad data, a
    /// bad table): its config and lock are removed, and the folder when this run made it, so
    /// the same `--out` can be used again and no empty run is left behind. A run that wrote
    /// anything else is left as it is.
    pub fn discard_if_unstarted(&self) {
        let Some(made) = self.new else { return };
        let ours = [CONFIG_FILE, LOCK_FILE];
        let Ok(entries) = std::fs::read_dir(&self.path) else {
            return;
        };
        let names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if names
            .iter()
            .any(|n| !ours.contains(&n.as_str()) && !atomic::is_temporary(n))
        {
            return;
        }
        for n in &names {
            let _ = std::fs::remove_file(self.path.join(n));
        }
        if made {
            let _ = std::fs::remove_dir(&self.path);
        }
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
            new: None,
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
        let text = betadarts_data::files::read_text(&p)?;
        parse_config(&text).map_err(|e| Error::format(&p, format!("not a {what}: {e}")))
    }

    /// Writes `config` with an `about` object ([`about`] of `extra`) beside its settings.
    pub fn write_config<T: serde::Serialize>(
        &self,
        config: &T,
        extra: serde_json::Value,
    ) -> Result<()> {
        let mut v = serde_json::to_value(config)?;
        if let Some(m) = v.as_object_mut() {
            m.insert(ABOUT_KEY.into(), about(extra));
        }
        write_atomic(&self.file(CONFIG_FILE), &serde_json::to_vec_pretty(&v)?)
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
